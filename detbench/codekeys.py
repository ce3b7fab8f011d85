"""What a cache key holds of the code and the libraries that made an artifact.

A stage's code is the transitive closure, inside ``detbench/`` and ``trackers/``, of what its
entry points use, found statically from each module's AST (imports inside functions count: many
are lazy). The unit is a module's top-level statement:

- ``from M import a, b`` needs the statements of ``M`` that bind ``a`` and ``b`` (a def, class,
  assignment or import), then those binding every top-level name these use, and so on;
- ``import M`` or ``from P import M`` (a module object) needs all of ``M``;
- a module that is imported runs its other statements (``if``, calls, its top-level imports'
  modules) whatever is used, and so does each package ``__init__`` above it: always in (its
  docstring is not: no code reads it).

So ``detbench/types.py``'s ``iou_matrix`` is in the key of what matches boxes (tracks,
evaluations), not of detections, which use only its array helpers. A tracker class is named by a
string in the registry (:data:`trackers.TRACKERS`), which no static walk follows: a key of a
tracker's output names the class as one more entry (:func:`tracker_entry`), so
``trackers/iou.py`` is in the ``iou`` tracker's closure only. The hashed text of a statement
includes the comment lines above it. This module is not hashed itself (it says what a key holds).

Libraries: the installed version of the distribution of every third-party module that the chosen
statements import, and of the libraries those run on detbench's behalf (:data:`RUNS_WITH`).

Keys are computed often (an 81-point tuning grid): each entry set is walked once per process
(:func:`cache_clear` forgets, for tests that change a source or a version).
"""
from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from detbench.fileio import sha256_json

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("detbench", "trackers")
NOT_HASHED = frozenset({"detbench.codekeys"})

# Each stage's entry points: "module:name" (that definition and what it uses) or "module" (all).
# The code that computes the artifact, not the cache around it (its key machinery is not hashed).
DETECT = ("detbench.train.checkpoint:load_detector", "detbench.detect.api:_run",
          "detbench.detect.cache:write_cache")
TRACK = ("detbench.tracking.run:track_sequence", "detbench.tracking.sources:SequenceJob",
         "detbench.data.mot:write_mot")            # + the tracker class (tracker_entry)
EVALUATE = ("detbench.evaluate.api:evaluate_folders",)
TUNE = ("detbench.tune:tune_jobs",)               # + the tracker class
SENSITIVITY = ("detbench.sensitivity.run:run_unit",)  # + the tracker class

# Libraries that run other libraries' code for detbench (not seen from detbench's own imports).
RUNS_WITH = {
    "boxmot": ("torch", "torchvision", "numpy", "scipy", "lapx", "filterpy", "opencv-python-headless"),
    "pixeltable-yolox": ("torch", "torchvision", "numpy", "opencv-python-headless"),
    "torchvision": ("torch", "numpy"),
    "trackeval": ("numpy", "scipy"),
    "motmetrics": ("numpy", "scipy", "pandas"),
    "pycocotools": ("numpy",),
    "scipy": ("numpy",),
    "opencv-python-headless": ("numpy",),
}


def tracker_entry(cls) -> str:
    """The entry point of a tracker class (``trackers.iou:IouTracker``)."""
    return f"{cls.__module__}:{cls.__qualname__.split('.')[0]}"


def code_key(*entries: str) -> dict:
    """``{"sources": sha256 of the closure's code, "libraries": {distribution: version}}`` of the
    code reached from ``entries`` (cached per process)."""
    return dict(_code_key(tuple(sorted(set(entries)))))


def closure(*entries: str) -> dict[str, str]:
    """``{module: sha256 of its statements in the closure}`` for ``entries`` (ValueError when an
    entry names no project module or no top-level definition of it)."""
    return {m: h for m, (h, _) in _walk(tuple(sorted(set(entries)))).items()}


def library_version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (None when it is not installed)."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def read_source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def cache_clear() -> None:
    """Forget the keys computed so far (the next ones read every source and version again)."""
    _code_key.cache_clear()
    _walk.cache_clear()


@functools.lru_cache(maxsize=None)
def _code_key(entries: tuple[str, ...]) -> tuple:
    mods = _walk(entries)
    dists = _distributions()
    libs = {d for _, tops in mods.values() for top in tops for d in dists.get(top, ())}
    todo = list(libs)
    while todo:
        for d in RUNS_WITH.get(todo.pop(), ()):
            if d not in libs:
                libs.add(d)
                todo.append(d)
    return (("sources", sha256_json({m: h for m, (h, _) in mods.items()})),
            ("libraries", {d: library_version(d) for d in sorted(libs)}))


@functools.lru_cache(maxsize=None)
def _distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


@dataclass(frozen=True)
class _Stmt:
    text: str                  # its source with the comment lines above it
    binds: frozenset | None    # the names it binds; None: it runs on import, whatever is used
    uses: frozenset            # every name it reads
    imports: tuple             # ((project module, names or None for all of it), ...)
    libraries: frozenset       # top-level names of the third-party modules it imports
    top_import: bool           # a top-level import: its modules run on import even when unused


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
            spec = importlib.util.find_spec(module)
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


def _scan(module: str, is_package: bool, node: ast.stmt) -> tuple[list, set, set]:
    """(project imports [(module, names or None)], third-party top-level names, names read)
    inside ``node``."""
    project, libraries, uses = [], set(), set()
    for n in _nodes(node):
        if isinstance(n, ast.Name):
            uses.add(n.id)
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
                    project += [(base, frozenset()), (f"{base}.{a.name}", None)]
                else:
                    project.append((base, frozenset({a.name})))
    return project, libraries, uses


@functools.lru_cache(maxsize=None)
def _parse(module: str, path: Path, text: str) -> tuple[_Stmt, ...]:
    lines = text.splitlines(keepends=True)
    body, out, start = ast.parse(text, str(path)).body, [], 0
    for i, node in enumerate(body):
        end = len(lines) if i == len(body) - 1 else node.end_lineno
        segment = "".join(lines[start:end]) or ast.get_source_segment(text, node) or ""
        start = max(start, end)
        project, libraries, uses = _scan(module, path.name == "__init__.py", node)
        binds = {"__doc__"} if i == 0 and _is_docstring(node) else _binds(node)  # read by no key
        out.append(_Stmt(segment, None if binds is None else frozenset(binds), frozenset(uses),
                         tuple(project), frozenset(libraries), isinstance(node, (ast.Import, ast.ImportFrom))))
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
def _walk(entries: tuple[str, ...]) -> dict[str, tuple[str, frozenset]]:
    """``{module: (sha256 of its chosen statements, third-party modules they import)}``."""
    want: dict[str, frozenset | None] = {}
    files: dict[str, Path] = {}
    parsed: dict[str, tuple[_Stmt, ...]] = {}
    todo: list[str] = []

    def statements(module: str) -> tuple[_Stmt, ...]:
        if module not in parsed:
            parsed[module] = _parse(module, files[module], read_source(files[module]))
        return parsed[module]

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
        for i, s in enumerate(stmts):
            for target, names in s.imports:
                if i in chosen:
                    request(target, names)
                elif s.top_import:
                    request(target, frozenset())
    out = {}
    for module in sorted(want):
        stmts = statements(module)
        chosen = _chosen(stmts, want[module])   # never None here: such a module is wanted whole
        text = "".join(stmts[i].text for i in chosen)
        tops = frozenset().union(*(stmts[i].libraries for i in chosen)) - set(sys.stdlib_module_names)
        out[module] = (sha256_json(text), tops)
    return out
