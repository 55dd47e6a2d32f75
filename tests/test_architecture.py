"""Dependencies point one way: bot -> classifiers, storage; never back, never across."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "classifiers": {"bot", "storage", "pywikibot", "sqlalchemy", "alembic", "mwparserfromhell"},
    "storage": {"bot", "classifiers", "pywikibot"},
}


def imported_top_levels(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_it_may(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_top_levels(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    offenders = {path: names for path, names in offenders.items() if names}
    assert not offenders, f"{package}/ must not import these: {offenders}"


def test_the_check_sees_an_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    import pywikibot\n    from sqlalchemy import orm\n")
    assert {"pywikibot", "sqlalchemy"} <= imported_top_levels(bad)


# -- the house: no import cycles, no module over 500 lines --------------------------

PACKAGES = ("bot", "classifiers", "storage")
MAX_LINES = 500


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for package in PACKAGES for p in (root / package).rglob("*.py")}


def imported_modules(path: Path, modules: dict[str, Path], root: Path = ROOT) -> set[str]:
    """Project modules that ``path`` imports anywhere in its body (lazy imports and
    ``importlib.import_module("literal")`` included: a cycle through a function is still a cycle)."""
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()

    def add(name: str, names: tuple[str, ...] = ()) -> None:
        targets = [f"{name}.{n}" for n in names if f"{name}.{n}" in modules]
        if len(targets) < len(names) or not names:
            targets.append(name)
        found.update(t for t in targets if t in modules)

    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            add(base, tuple(alias.name for alias in node.names))
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              == "import_module" and node.args and isinstance(node.args[0], ast.Constant)):
            add(str(node.args[0].value))
    found.discard(here)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = project_modules(root)
    return {name: imported_modules(path, modules, root) for name, path in modules.items()}


def test_no_import_cycles():
    from graphlib import CycleError, TopologicalSorter

    try:
        tuple(TopologicalSorter(import_graph()).static_order())
    except CycleError as e:
        pytest.fail(f"import cycle: {' -> '.join(e.args[1])}")


def test_the_cycle_check_sees_a_lazy_cycle(tmp_path):
    from graphlib import CycleError, TopologicalSorter

    pkg = tmp_path / "bot"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n")
    (pkg / "b.py").write_text("import importlib\ndef g():\n    importlib.import_module('bot.a')\n")
    assert import_graph(tmp_path)["bot.b"] == {"bot.a"}
    with pytest.raises(CycleError):
        tuple(TopologicalSorter(import_graph(tmp_path)).static_order())


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_over_500_lines(package):
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / package).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by concern): {long}"


def test_benchmarks_import_what_exists():
    """Benchmarks run by hand only, so a moved module would rot there unseen: every project
    name they import (lazily too) must exist."""
    import importlib
    import importlib.util

    missing = []
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                    and node.module.split(".")[0] in PACKAGES):
                try:
                    module = importlib.import_module(node.module)
                except ImportError as e:
                    missing.append(f"{path.name}: {node.module} ({e})")
                    continue
                missing += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                            if not hasattr(module, a.name)
                            and importlib.util.find_spec(f"{node.module}.{a.name}") is None]
    assert not missing, missing
