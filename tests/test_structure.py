"""The package's shape: stages as subpackages, imports flowing one way, no import cycles.

Every import statement of every module is read from source (module level and inside functions, where
lazy imports hide; ``if TYPE_CHECKING:`` blocks excepted, they never run), so a cycle cannot hide
behind a deferred import. The stages are ordered as data flows through them (read → check →
render/write): a module may import its own stage and earlier ones, never a later one.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gxsheet"

#: the stages in the order a Record flows through them; the faces (command line, add-in, web page)
#: come last and may use everything before them
STAGES = ("core", "xlsx", "read", "check", "render", "merge", ("cli", "excel", "serve"))


def _rank(stage: str) -> int:
    for i, s in enumerate(STAGES):
        if stage == s or (isinstance(s, tuple) and stage in s):
            return i
    raise AssertionError(f"gxsheet/{stage}/ is not a known stage; add it to STAGES in {__file__}")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py") if "workbook_templates" not in p.parts
            and "macros" not in p.parts}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The package modules ``name`` imports (resolved: ``from gxsheet.core import spec`` → gxsheet.core.spec)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "gxsheet":
                    out.add(_longest_known(a.name, known))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            if base.split(".")[0] != "gxsheet":
                return
            for a in node.names:
                full = f"{base}.{a.name}"
                out.add(full if full in known else _longest_known(base, known))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    out.discard(name)
    return out


def _longest_known(dotted: str, known: set[str]) -> str:
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in known:
            return ".".join(parts[:n])
    return dotted


@cache
def graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {m: _imports(p, m, known) & known for m, p in mods.items()}


def _cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            strong(v)
    return out


def test_no_import_cycle() -> None:
    assert _cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The test above could pass by finding nothing at all: show it finds a planted cycle."""
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(g) == [["a", "b", "c"]]


def test_the_import_walker_sees_deferred_imports(tmp_path: Path) -> None:
    src = tmp_path / "gxsheet" / "x" / "m.py"
    src.parent.mkdir(parents=True)
    src.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gxsheet.core import spec\n"
                   "def f():\n    from gxsheet.read.workbook import read_report\n    from ..core import record\n",
                   encoding="utf-8")
    known = {"gxsheet.core.spec", "gxsheet.read.workbook", "gxsheet.core.record", "gxsheet.x.m"}
    assert _imports(src, "gxsheet.x.m", known) == {"gxsheet.read.workbook", "gxsheet.core.record"}


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) >= 2 and parts[1] != "__main__" else None


def test_every_module_lives_in_a_stage() -> None:
    loose = [m for m in _modules() if _stage(m) is None and m not in ("gxsheet", "gxsheet.__main__")]
    assert loose == [], "modules belong in a stage subpackage"


@pytest.mark.parametrize("module", sorted(_modules()))
def test_imports_flow_one_way(module: str) -> None:
    stage = _stage(module)
    if stage is None:
        return
    later = [m for m in graph()[module] if _stage(m) and _rank(_stage(m)) > _rank(stage)]
    assert later == [], f"{module} ({stage}) imports a later stage"
