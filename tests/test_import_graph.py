"""The import graph of detbench/ and trackers/, read from every module's AST (imports inside
functions count; ``if TYPE_CHECKING:`` blocks never run and do not): no cycle between files, and
trackers/ is a leaf that uses nothing of the harness outside ``detbench.core``."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("detbench", "trackers")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == "TYPE_CHECKING"


def _import_nodes(tree: ast.AST):
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules that ``name`` imports: ``from P import M`` of a submodule is M,
    of any other name it is P; ``import a.b`` is a.b."""
    out = set()
    is_package = path.name == "__init__.py"
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
            continue
        base = node.module or ""
        if node.level:
            parts = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
            base = ".".join(parts + ([node.module] if node.module else []))
        for a in node.names:
            if f"{base}.{a.name}" in known:
                out.add(f"{base}.{a.name}")
            elif base in known:
                out.add(base)
    out.discard(name)
    return out


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        work = [(v, iter(sorted(graph[v])))]
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_between_files():
    assert cycles(import_graph()) == []


def test_trackers_import_nothing_of_the_harness_but_its_core():
    outside = {f"{m} -> {t}" for m, targets in import_graph().items() if m.startswith("trackers")
               for t in targets if t.startswith("detbench") and not (t == "detbench.core" or t.startswith("detbench.core."))}
    assert sorted(outside) == []


def test_trackers_never_find_files_by_run_name():
    """Where runs live (``detbench.core.paths``: runs/motion/<name>, the latest model) is the
    harness's to know; a tracker is given a resolved path."""
    users = sorted(m for m, targets in import_graph().items() if m.startswith("trackers") and "detbench.core.paths" in targets)
    assert users == []


def test_the_graph_sees_lazy_relative_and_submodule_imports(tmp_path, monkeypatch):
    """On a small package written for the test: a cycle through a lazy import is found, a
    TYPE_CHECKING import is not an edge."""
    pkg = tmp_path / "detbench"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from detbench.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import g\n    return g\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from detbench import d\n"
                              "def g():\n    import detbench.a\n")
    (pkg / "d.py").write_text("from detbench.c import g\n")
    (tmp_path / "trackers").mkdir()
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    graph = import_graph()
    assert graph["detbench.sub.b"] == {"detbench.c"} and graph["detbench.c"] == {"detbench.a"}
    assert cycles(graph) == [["detbench.a", "detbench.c", "detbench.sub.b"]]
