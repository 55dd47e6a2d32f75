"""mutmut 2 hook (copied into the scratch tree by scripts/mutate): run only the tests that run
the mutated line, as recorded by coverage.py's per-test contexts (pytest-cov --cov-context=test).

A line whose only context is the import (module level: constants, signatures) or that no test
reached in this process (a subprocess ran it) gets every test path given to scripts/mutate.
"""
from __future__ import annotations

import os
import shlex
from pathlib import Path

import coverage

_by_line: dict[str, dict[int, list[str]]] = {}


def _tests_by_line(path: str) -> dict[int, list[str]]:
    if path not in _by_line:
        data = coverage.CoverageData(".coverage")
        data.read()
        lines = data.contexts_by_lineno(os.path.abspath(path))
        # contexts look like "tests/x.py::test_y[p]|run" (also |setup, |teardown); "" is the import
        _by_line[path] = {n: sorted({c.rsplit("|", 1)[0] for c in ctxs if c}) for n, ctxs in lines.items()}
    return _by_line[path]


def pre_mutation(context) -> None:
    tests = _tests_by_line(context.filename).get(context.current_line_index + 1)
    if tests:
        context.config.test_command = "./mutrun.sh " + " ".join(shlex.quote(t) for t in tests)
    else:
        paths = Path("mutate-tests.txt").read_text().split()
        context.config.test_command = "./mutrun.sh " + " ".join(shlex.quote(p) for p in paths)
