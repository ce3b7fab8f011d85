"""The project code that entry points use: a static closure over ``detbench/`` and ``trackers/``.

Found from each module's AST (imports inside functions count: many are lazy), at the level of a
module's top-level statements:

- ``from M import a, b`` needs the statements of ``M`` that bind ``a`` and ``b`` (a def, class,
  assignment or import), then those binding every top-level name these read, and so on;
- ``from P import M`` (a module object) needs the statements binding the attributes its users
  read (``M.f()`` needs ``f``), all of ``M`` where one uses it bare; ``import M`` needs all of ``M``;
- a module that is imported runs its other statements (``if``, calls, its top-level imports'
  modules) whatever is used, and so does each package ``__init__`` above it: always in (its
  docstring is not: no code reads it); the body of ``if TYPE_CHECKING:`` never runs: never in.

Each chosen statement is hashed by what it does, not where it lives: its AST without docstrings
(comments are not in an AST) and with each run of imports sorted, plus what every project name
it reads stands for, whether imported (at the top or inside a function, followed through
re-exports; a module object by the attributes read of it) or defined in the same module: the
AST of the statement that binds it, never a module path. A stage's key is the sorted set of its
statements' hashes, so moving a definition to another module, renaming a module, rewriting or
reordering imports, or editing a comment or a docstring keeps every key; changing code changes
the keys of what uses it. An entry outside the project (a tracker class registered from
elsewhere) is taken whole and its project imports are followed. :mod:`detbench.codekeys` says
which entries make which artifact.
"""
from __future__ import annotations

import ast
import functools
import importlib.util
import symtable
import sys
from dataclasses import dataclass
from pathlib import Path

from detbench.core.fileio import sha256_json

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("detbench", "trackers")
NOT_HASHED = frozenset({"detbench.codekeys", "detbench.codeclosure"})   # what a key holds, not what made it


def read_source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@dataclass(eq=False)
class _Stmt:
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


def _module_file(name: str) -> Path | None:
    if name.split(".")[0] not in PACKAGES:
        return None
    base = ROOT.joinpath(*name.split("."))
    for path in (base.parent / f"{base.name}.py", base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _entry_file(module: str) -> Path | None:
    """A project module's file; for an entry outside the project (a tracker registered from
    elsewhere), its own file, hashed whole."""
    path = _module_file(module)
    if path is None:
        mod = sys.modules.get(module)
        if mod is None:
            try:
                spec = importlib.util.find_spec(module)
            except (ImportError, ValueError):
                spec = None
            origin = spec.origin if spec else None
        else:
            origin = getattr(mod, "__file__", None)
        path = Path(origin) if origin and origin.endswith(".py") else None
    return path


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
    its users read (``paths.runs_root()`` needs ``runs_root``), see :func:`walk`."""
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
                if _module_file(a.name):
                    project.append((a.name, None))
                else:
                    libraries.add(a.name.split(".")[0])
        elif isinstance(n, ast.ImportFrom):
            base = _resolve(module, is_package, n)
            if base == "__future__":
                continue
            if not _module_file(base):
                libraries.add(base.split(".")[0])
                continue
            for a in n.names:
                if a.name == "*":
                    project.append((base, None))
                elif _module_file(f"{base}.{a.name}"):          # a submodule: the module object
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
        if base == "__future__" or not _module_file(base):
            return node
        for a in node.names:
            if a.name == "*":
                self.bindings.append(("*", base, None))
            elif _module_file(f"{base}.{a.name}"):
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
def _parse(module: str, path: Path, text: str) -> tuple[_Stmt, ...]:
    body, out = ast.parse(text, str(path)).body, []
    is_package = path.name == "__init__.py"
    tables = {(t.get_name(), t.get_lineno()): t for t in symtable.symtable(text, str(path), "exec").get_children()}
    for i, node in enumerate(body):
        project, libraries, uses, attrs, module_locals = _scan(module, is_package, node)
        uses = _scoped_uses(node, tables, uses) | module_locals
        binds = {"__doc__"} if i == 0 and _is_docstring(node) else _binds(node)  # read by no key
        top_import = isinstance(node, (ast.Import, ast.ImportFrom))
        project_import = isinstance(node, ast.ImportFrom) and _resolve(module, is_package, node) != "__future__" \
            and _module_file(_resolve(module, is_package, node)) is not None
        out.append(_Stmt(node, (module, is_package), project_import, None if binds is None else frozenset(binds),
                         frozenset(uses), tuple(project), frozenset(libraries), top_import, attrs))
    return tuple(out)


def _chosen(stmts: tuple[_Stmt, ...], names: frozenset | None) -> list[int] | None:
    """Indices of the statements that ``names`` of the module need (None: a name is bound by no
    statement, e.g. a module ``__getattr__``: take it all)."""
    if names is None:
        return list(range(len(stmts)))
    if names - frozenset().union(*(s.binds for s in stmts if s.binds)):
        return None
    chosen = {i for i, s in enumerate(stmts) if s.binds is None}
    need = set(names).union(*(stmts[i].uses for i in chosen))
    grew = True
    while grew:
        grew = False
        for i, s in enumerate(stmts):
            if i not in chosen and s.binds & need:
                chosen.add(i)
                need |= s.uses
                grew = True
    return sorted(chosen)


@functools.lru_cache(maxsize=None)
def walk(entries: tuple[str, ...]) -> dict[str, tuple[tuple[str, ...], frozenset]]:
    """``{module: (the sorted hashes of its chosen statements, top-level names of the third-party
    modules they import)}`` for ``entries`` (``"module:name"`` or ``"module"``; cached: :func:`walk`'s
    ``cache_clear`` forgets). ValueError when an entry names no module or no definition in it."""
    want: dict[str, frozenset | None] = {}
    files: dict[str, Path] = {}
    parsed: dict[str, tuple[_Stmt, ...]] = {}
    todo: list[str] = []

    def statements(module: str) -> tuple[_Stmt, ...]:
        if module not in parsed:
            parsed[module] = _parse(module, files[module], read_source(files[module]))
        return parsed[module]

    def lookup(module: str) -> tuple[_Stmt, ...] | None:
        if module not in files:
            files[module] = _module_file(module)
        return None if files[module] is None else statements(module)

    def request(module: str, names: frozenset | None) -> None:
        parts = module.split(".")
        for k in range(1, len(parts)):                      # its packages run on import
            request(".".join(parts[:k]), frozenset())
        if module not in files:
            files[module] = _module_file(module)
        if module in NOT_HASHED or files[module] is None:
            return
        old = want.get(module, frozenset())
        new = None if names is None or old is None else old | names
        if module not in want or new != old:
            want[module] = new
            todo.append(module)

    for entry in entries:
        module, _, name = entry.partition(":")
        files[module] = _entry_file(module)
        if files[module] is None:
            raise ValueError(f"code key entry {entry!r}: no Python source for module {module}")
        if name and not any(s.binds and name in s.binds for s in statements(module)):
            raise ValueError(f"code key entry {entry!r}: {module} defines no {name}")
        request(module, frozenset({name}) if name and _module_file(module) else None)
    while todo:
        module = todo.pop()
        stmts = statements(module)
        chosen = _chosen(stmts, want[module])
        if chosen is None:
            want[module] = None
            chosen = list(range(len(stmts)))
        modules_bound = _module_objects(stmts)
        need = None if want[module] is None else set(want[module]).union(*(stmts[i].uses for i in chosen))
        for i, s in enumerate(stmts):
            if i in chosen and s.project_import:   # the names used; the others' modules run on import
                for local, target, name in s.bindings:
                    used = need is None or local in need or local == "*"
                    request(target, None if local == "*" else frozenset({name}) if used and name else frozenset())
                continue
            for target, names in s.imports:
                if i in chosen:
                    request(target, names)
                elif s.top_import:
                    request(target, frozenset())
            if i in chosen:                      # a module object: the attributes read of it
                own = {local: m for local, m, n in s.bindings if n is None and local != "*"}
                for u in s.uses:
                    if u in own or u in modules_bound:
                        request(own.get(u) or modules_bound[u], s.attrs.get(u))
    out = {}
    for module in sorted(want):
        stmts = statements(module)
        chosen = _chosen(stmts, want[module])   # never None here: such a module is wanted whole
        if not any("__doc__" in stmts[i].uses for i in chosen):      # a docstring no code reads
            chosen = [i for i in chosen if stmts[i].binds != frozenset({"__doc__"})]
        imported = {local: (m, n) for s in stmts if s.project_import for local, m, n in s.bindings}
        defined = {}          # {name: the module's own statements that bind it}
        for s in stmts:
            for name in (s.binds or ()) if not s.project_import else ():
                defined.setdefault(name, []).append(s)
        defined = {name: binders for name, binders in defined.items() if name not in imported}
        digests = tuple(sorted(_digest(stmts[i], imported, defined, lookup) for i in chosen
                               if not stmts[i].project_import))
        tops = frozenset().union(*(stmts[i].libraries for i in chosen)) - set(sys.stdlib_module_names)
        out[module] = (digests, tops)
    return out


def _module_objects(stmts: tuple[_Stmt, ...]) -> dict[str, str]:
    """{local name: project module} of the module objects a module imports at its top."""
    return {local: m for s in stmts if s.project_import for local, m, n in s.bindings if n is None and local != "*"}


def _bound(local: str, module: str, name: str | None, attrs: dict, statements) -> set:
    """What ``local`` binds as used by a statement reading ``attrs``: a module object read only
    through attributes is those attributes' definitions."""
    if name is None and local != "*" and attrs.get(local) is not None:
        return {(f"{local}.{a}", _target(module, a, statements)) for a in attrs[local]}
    return {(local, _target(module, name, statements))}


def _digest(stmt: _Stmt, imported: dict, defined: dict, statements) -> str:
    """What ``stmt`` does: its shape and what each name it uses binds, whether imported from
    project code inside it or at the module's top (``imported``: {local name: (module, name)}) or
    defined in the same module (``defined``: {name: the statements binding it}), so a
    definition used from another module or from its own hashes alike. A top-level project import
    is no statement of its own: re-exports and how imports are grouped do not count."""
    bound = set().union(*(_bound(local, module, name, stmt.attrs, statements) for local, module, name in stmt.bindings))
    bound |= set().union(*(_bound(u, *imported[u], stmt.attrs, statements) for u in stmt.uses if u in imported))
    bound |= {(u, sha256_json(sorted(_shape(s) for s in defined[u]))) for u in stmt.uses if u in defined}
    return sha256_json([stmt.shape, sorted(bound)])


def _target(module: str, name: str | None, statements, depth: int = 0) -> str:
    """A location-free identity of what ``from module import name`` binds: the shapes of the
    statements that bind ``name`` there (re-exports followed); a module object, or a name no
    statement binds, is its module's statements' shapes."""
    if module in NOT_HASHED:
        return f"key machinery: {name}"
    stmts = statements(module) or ()
    binders = [] if name is None else [s for s in stmts if s.binds and name in s.binds]
    if not binders:
        return sha256_json(sorted(_shape(s) for s in stmts if s.binds != frozenset({"__doc__"})))
    if depth < 20 and len(binders) == 1 and binders[0].bindings:
        for local, mod, imported in binders[0].bindings:
            if local == name:
                return _target(mod, imported, statements, depth + 1)
    return sha256_json(sorted(_shape(s) for s in binders))


def _shape(stmt: _Stmt) -> str:
    """``stmt``'s shape; a project import's is the names it binds (not where they come from)."""
    return stmt.shape if not stmt.project_import else repr(sorted((local, name or "") for local, _, name in stmt.bindings))
