"""The project code that entry points use: a static closure over ``detbench/`` and ``trackers/``.

Found from each module's top-level statements as :mod:`detbench.codestatements` parses them
(imports inside functions count: many are lazy):

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

import functools
import importlib.util
import sys
from pathlib import Path

from detbench.codestatements import Statement, module_file, parse
from detbench.core.fileio import sha256_json

NOT_HASHED = frozenset({"detbench.codekeys", "detbench.codeclosure",       # what a key holds,
                        "detbench.codestatements"})                          # not what made it


def read_source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _entry_file(module: str) -> Path | None:
    """A project module's file; for an entry outside the project (a tracker registered from
    elsewhere), its own file, hashed whole."""
    path = module_file(module)
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


def _chosen(stmts: tuple[Statement, ...], names: frozenset | None) -> list[int] | None:
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
    parsed: dict[str, tuple[Statement, ...]] = {}
    todo: list[str] = []

    def statements(module: str) -> tuple[Statement, ...]:
        if module not in parsed:
            parsed[module] = parse(module, files[module], read_source(files[module]))
        return parsed[module]

    def lookup(module: str) -> tuple[Statement, ...] | None:
        if module not in files:
            files[module] = module_file(module)
        return None if files[module] is None else statements(module)

    def request(module: str, names: frozenset | None) -> None:
        parts = module.split(".")
        for k in range(1, len(parts)):                      # its packages run on import
            request(".".join(parts[:k]), frozenset())
        if module not in files:
            files[module] = module_file(module)
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
        request(module, frozenset({name}) if name and module_file(module) else None)
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


def _module_objects(stmts: tuple[Statement, ...]) -> dict[str, str]:
    """{local name: project module} of the module objects a module imports at its top."""
    return {local: m for s in stmts if s.project_import for local, m, n in s.bindings if n is None and local != "*"}


def _bound(local: str, module: str, name: str | None, attrs: dict, statements) -> set:
    """What ``local`` binds as used by a statement reading ``attrs``: a module object read only
    through attributes is those attributes' definitions."""
    if name is None and local != "*" and attrs.get(local) is not None:
        return {(f"{local}.{a}", _target(module, a, statements)) for a in attrs[local]}
    return {(local, _target(module, name, statements))}


def _digest(stmt: Statement, imported: dict, defined: dict, statements) -> str:
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


def _shape(stmt: Statement) -> str:
    """``stmt``'s shape; a project import's is the names it binds (not where they come from)."""
    return stmt.shape if not stmt.project_import else repr(sorted((local, name or "") for local, _, name in stmt.bindings))
