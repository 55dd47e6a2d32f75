"""mutmut 2 hook (copied into the scratch tree by scripts/mutate): run only the tests that run
the mutated line, as recorded by coverage.py's per-test contexts (pytest-cov --cov-context=test).

A line no test runs past the import (module-level constants, signatures, dataclass fields, or
code only a subprocess reaches) gets every test that runs any line of the module. A test that
only reads a constant through another module is then left out: the score is a lower bound
(a mutant may be reported as surviving that a wider run would kill), never an overstatement.

``MUTATE_LINES=120-260,300-340`` (in the environment of scripts/mutate) mutates only those
lines of the module; the others are reported as skipped.
"""
from __future__ import annotations

import os
import shlex

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


def _wanted(line: int) -> bool:
    spans = os.environ.get("MUTATE_LINES")
    if not spans:
        return True
    return any(int(a) <= line <= int(b) for a, b in (span.split("-") for span in spans.split(",")))


def pre_mutation(context) -> None:
    if not _wanted(context.current_line_index + 1):
        context.skip = True
        return
    by_line = _tests_by_line(context.filename)
    tests = by_line.get(context.current_line_index + 1) or sorted({t for ts in by_line.values() for t in ts})
    if not tests:  # no test runs this module at all
        context.skip = True
        return
    context.config.test_command = "./mutrun.sh " + " ".join(shlex.quote(t) for t in tests)
