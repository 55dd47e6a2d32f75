"""Plant each bug of ``planted.py`` in a scratch copy of HEAD and run the tests meant to catch it.

A bug is *caught* when pytest exits 1 (a test failed); a collection error or a pass counts as
missed. Exit status: 0 when every bug planted was caught, 1 otherwise. The scratch copy
(``PLANT_DIR``, default /tmp/plant) is made fresh from ``git archive HEAD`` each run.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from planted import PLANTED  # noqa: E402


def scratch_copy(target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    (target / ".venv").symlink_to(ROOT / ".venv")


def plant_and_run(target: Path, bug) -> tuple[str, float]:
    path = target / bug.file
    original = path.read_text()
    if original.count(bug.old) != 1:
        return f"NOT PLANTED ({bug.old!r} occurs {original.count(bug.old)} times)", 0.0
    path.write_text(original.replace(bug.old, bug.new))
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(target))
    started = time.monotonic()
    try:
        result = subprocess.run([str(target / ".venv/bin/python"), "-m", "pytest", "-q", "-x",
                                 "-p", "no:cacheprovider", *bug.tests],
                                cwd=target, env=env, capture_output=True, text=True)
    finally:
        path.write_text(original)
    seconds = time.monotonic() - started
    if result.returncode == 1:
        failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
        return "caught" + (f": {failed[0][7:].split(' - ')[0]}" if failed else ""), seconds
    tail = result.stdout.strip().splitlines()[-1:] or [""]
    return f"MISSED (pytest exit {result.returncode}: {tail[0]})", seconds


def main(names: list[str]) -> int:
    unknown = set(names) - {b.name for b in PLANTED}
    if unknown:
        print(f"unknown planted bugs: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    target = Path(os.environ.get("PLANT_DIR", "/tmp/plant"))
    scratch_copy(target)
    missed = 0
    for bug in PLANTED:
        if names and bug.name not in names:
            continue
        outcome, seconds = plant_and_run(target, bug)
        missed += not outcome.startswith("caught")
        print(f"{bug.name:<40} {seconds:6.1f} s  {outcome}", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
