"""A project module parsed into its top-level statements, each with what it binds, reads and imports.

One :class:`Statement` per top-level statement of a module (:func:`parse`, cached per source
text): the names it binds (a def, class, assignment or import; None for one that runs on import
whatever is used, such as an ``if`` or a call), the module-level names it reads (a def's or a
class's body through :mod:`symtable`, so a local that shares a module-level name is not a read
of it), the attributes read of each name, the project modules and names it imports (inside
functions too: many imports are lazy), and the third-party packages it imports. The body of
``if TYPE_CHECKING:`` never runs and is skipped.

Its :attr:`~Statement.shape` is its behaviour as a normalised AST: no docstrings (comments are
not in an AST), each run of imports sorted, and each import of project code taken out and kept
as a binding (:attr:`~Statement.bindings`), so where a name comes from is not part of the shape.
Which statements a key needs and how they are hashed is :mod:`detbench.codeclosure`'s job.
"""
from __future__ import annotations

import ast
import functools
import symtable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("detbench", "trackers")


@dataclass(eq=False)
class Statement:
    """One top-level statement of a module: what it binds, reads and imports, and (on first use)
    its shape and project imports."""

    node: ast.stmt | None      # its AST until normalised (on first use: most statements never are)
    context: tuple             # (module, whether it is a package's __init__)
    project_import: bool       # a top-level import of project code: only bindings, no code
    binds: frozenset | None    # the names it binds; None: it runs on import, whatever is used
    uses: frozenset            # every name it reads
    imports: tuple             # ((project module, names or None for all of it), ...)
    libraries: frozenset       # top-level names of the third-party modules it imports
    top_import: bool           # a top-level import: its modules run on import even when unused
    attrs: dict                # {name read: attributes read of it, None: read bare too}
    _normalised: tuple | None = None

    @property
    def shape(self) -> str | None:
        """Its normalised AST without project imports (None for a project import)."""
        return self._normalise()[0]

    @property
    def bindings(self) -> tuple:
        """Its project imports: ((local name, module, name or None: the module), ...)."""
        return self._normalise()[1]

    def _normalise(self) -> tuple:
        if self._normalised is None:
            norm = _Normalise(*self.context)
            shaped = norm.visit(self.node)
            self._normalised = (None if shaped is None else ast.dump(shaped, include_attributes=False),
                                tuple(norm.bindings))
            self.node = None
        return self._normalised


def module_file(name: str) -> Path | None:
    """The file of project module ``name`` under :data:`ROOT` (None: not a project module)."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = ROOT.joinpath(*name.split("."))
    for path in (base.parent / f"{base.name}.py", base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _nodes(node: ast.AST):
    """Every node under ``node``; the body of ``if TYPE_CHECKING:`` never runs and is skipped."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, ast.If) and _is_type_checking(n.test):
            stack.extend(n.orelse)
        else:
            stack.extend(ast.iter_child_nodes(n))


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _names(target: ast.expr) -> set[str] | None:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        parts = [_names(t) for t in target.elts]
        return None if any(p is None for p in parts) else set().union(*parts)
    return None


def _binds(node: ast.stmt) -> set[str] | None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Import):
        return {a.asname or a.name.split(".")[0] for a in node.names}
    if isinstance(node, ast.ImportFrom):
        if node.module == "__future__" or any(a.name == "*" for a in node.names):
            return None
        return {a.asname or a.name for a in node.names}
    if isinstance(node, ast.Assign):
        parts = [_names(t) for t in node.targets]
        return None if any(p is None for p in parts) else set().union(*parts)
    if isinstance(node, ast.AnnAssign):
        return _names(node.target)
    return None


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")[: len(module.split(".")) - (node.level - (1 if is_package else 0))]
    return ".".join(parts + ([node.module] if node.module else []))


def _scoped_uses(node: ast.stmt, tables: dict, uses: set) -> set:
    """The module-level names a def or class reads: those its decorators, defaults and bases read,
    and those its body and nested scopes read as globals (:mod:`symtable`), so a local variable
    that shares a module-level name is not a use of it; a function's annotations are not (no code
    reads them). Other statements: ``uses``."""
    table = tables.get((node.name, node.lineno)) if isinstance(
        node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else None
    if table is None:
        return uses
    outside = [*node.decorator_list]
    if isinstance(node, ast.ClassDef):
        outside += [*node.bases, *(k.value for k in node.keywords)]
    else:
        a = node.args
        outside += [*a.defaults, *(d for d in a.kw_defaults if d is not None)]
    out = {n.id for part in outside if part is not None for n in ast.walk(part) if isinstance(n, ast.Name)}
    todo = [table]
    while todo:
        t = todo.pop()
        out |= {sym.get_name() for sym in t.get_symbols() if sym.is_global() and sym.is_referenced()}
        todo.extend(t.get_children())
    return out


def _scan(module: str, is_package: bool, node: ast.stmt) -> tuple[list, set, set, dict, set]:
    """(project imports [(module, names or None)], third-party top-level names, names read,
    {name read: the attributes read of it, or None when it is also read bare}, the names of the
    module objects it imports inside itself) inside ``node``.
    A module object imported by name is a module whose statements are chosen by the attributes
    its users read (``paths.runs_root()`` needs ``runs_root``), see :func:`detbench.codeclosure.walk`."""
    project, libraries, uses, attrs, attribute_of, module_locals = [], set(), set(), {}, {}, set()
    for n in _nodes(node):
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name):
            attribute_of[id(n.value)] = n.attr
        if isinstance(n, ast.Name):
            uses.add(n.id)
            if id(n) in attribute_of and attrs.get(n.id, set()) is not None:
                attrs.setdefault(n.id, set()).add(attribute_of[id(n)])
            else:
                attrs[n.id] = None
        elif isinstance(n, ast.Import):
            for a in n.names:
                if module_file(a.name):
                    project.append((a.name, None))
                else:
                    libraries.add(a.name.split(".")[0])
        elif isinstance(n, ast.ImportFrom):
            base = _resolve(module, is_package, n)
            if base == "__future__":
                continue
            if not module_file(base):
                libraries.add(base.split(".")[0])
                continue
            for a in n.names:
                if a.name == "*":
                    project.append((base, None))
                elif module_file(f"{base}.{a.name}"):          # a submodule: the module object
                    module_locals.add(a.asname or a.name)        # read through its attributes
                    project += [(base, frozenset()), (f"{base}.{a.name}", frozenset())]   # + what users read
                else:
                    project.append((base, frozenset({a.name})))
    return project, libraries, uses, {k: None if v is None else frozenset(v) for k, v in attrs.items()}, module_locals


class _Normalise(ast.NodeTransformer):
    """A statement's AST as its behaviour: docstrings and ``if TYPE_CHECKING:`` bodies dropped,
    each import of project code replaced by a placeholder and recorded in :attr:`bindings`."""

    def __init__(self, module: str, is_package: bool):
        self.module, self.is_package, self.bindings = module, is_package, []

    def _undocumented(self, node):
        if node.body and _is_docstring(node.body[0]):
            node.body = node.body[1:]
        return self.generic_visit(node)

    def generic_visit(self, node):
        node = super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            if isinstance(getattr(node, field, None), list):
                setattr(node, field, _imports_sorted(getattr(node, field)))
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _undocumented

    def visit_If(self, node: ast.If):
        if _is_type_checking(node.test):       # never runs
            node.body = []
        return self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom):
        base = _resolve(self.module, self.is_package, node)
        if base == "__future__" or not module_file(base):
            return node
        for a in node.names:
            if a.name == "*":
                self.bindings.append(("*", base, None))
            elif module_file(f"{base}.{a.name}"):
                self.bindings.append((a.asname or a.name, f"{base}.{a.name}", None))
            else:
                self.bindings.append((a.asname or a.name, base, a.name))
        return None          # a binding, wherever it is in the body and however it is grouped


def _imports_sorted(body: list) -> list:
    """``body`` with each run of consecutive imports as one name per statement, sorted: how
    imports are ordered and grouped is not what the code does."""
    out, run = [], []
    for node in body + [None]:
        if isinstance(node, ast.Import):
            run += [ast.Import(names=[a]) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            run += [ast.ImportFrom(module=node.module, names=[a], level=node.level) for a in node.names]
        else:
            out += sorted(run, key=ast.dump) + ([node] if node is not None else [])
            run = []
    return out


@functools.lru_cache(maxsize=None)
def parse(module: str, path: Path, text: str) -> tuple[Statement, ...]:
    body, out = ast.parse(text, str(path)).body, []
    is_package = path.name == "__init__.py"
    tables = {(t.get_name(), t.get_lineno()): t for t in symtable.symtable(text, str(path), "exec").get_children()}
    for i, node in enumerate(body):
        project, libraries, uses, attrs, module_locals = _scan(module, is_package, node)
        uses = _scoped_uses(node, tables, uses) | module_locals
        binds = {"__doc__"} if i == 0 and _is_docstring(node) else _binds(node)  # read by no key
        top_import = isinstance(node, (ast.Import, ast.ImportFrom))
        project_import = isinstance(node, ast.ImportFrom) and _resolve(module, is_package, node) != "__future__" \
            and module_file(_resolve(module, is_package, node)) is not None
        out.append(Statement(node, (module, is_package), project_import, None if binds is None else frozenset(binds),
                         frozenset(uses), tuple(project), frozenset(libraries), top_import, attrs))
    return tuple(out)
