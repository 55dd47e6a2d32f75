"""The catalogue of planted bugs (scripts/mutation/planted.py, run by hand with scripts/plant)
stays plantable: each bug's text occurs exactly once in its file and each test it names
exists. A refactor that moves a guarded line makes this fail, so the catalogue is updated
with the code instead of silently reporting "NOT PLANTED" the next time someone runs it."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "mutation"))
from planted import PLANTED  # noqa: E402

sys.path.pop(0)


def test_names_are_unique():
    names = [bug.name for bug in PLANTED]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("bug", PLANTED, ids=[bug.name for bug in PLANTED])
def test_each_bug_can_be_planted_and_names_real_tests(bug):
    source = (ROOT / bug.file).read_text()
    assert source.count(bug.old) == 1, f"{bug.file}: the text to replace occurs {source.count(bug.old)} times"
    planted = source.replace(bug.old, bug.new)
    assert planted != source
    ast.parse(planted)  # a bug, not a syntax error: the tests must run to catch it
    for test in bug.tests:
        path, _, name = test.partition("::")
        assert (ROOT / path).exists(), test
        if name:
            functions = {node.name for node in ast.walk(ast.parse((ROOT / path).read_text()))
                         if isinstance(node, ast.FunctionDef)}
            assert name.split("[")[0] in functions, test
