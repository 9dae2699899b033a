"""The house rules, checked on the code itself: layers, no import circles, small modules and functions, and no
module-level state outside the Runtime.

Layers, lowest first (a module may import its own layer or a lower one, never a higher one):

    0  app.errors, app.files, app.settings, app.batching, app.lazy
    1  app.index, app.runtime
    2  app.answer
    3  app.evaluation, app.web, app.bench
    4  app.cli

Imports are read from the source with `ast` (inside functions too: a lazy import is still a dependency).

Every module of app/, tests/ and training/ is under 400 lines, every function at most 60.

A process's models, batching queues and caches live in its `Runtime` (app/runtime.py), built once and passed
down; no module of app/ memoises with `functools.cache` or `lru_cache`, makes a lock at module (or class)
level, or rebinds a module's names with `global`. `ALLOWED_STATE` lists the exceptions, each with why.
"""

import ast
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
SOURCES = sorted(p for folder in ("app", "tests", "training") for p in (ROOT / folder).rglob("*.py"))
LAYERS = {"app.errors": 0, "app.files": 0, "app.settings": 0, "app.batching": 0, "app.lazy": 0,
          "app.index": 1, "app.runtime": 1,
          "app.answer": 2,
          "app.evaluation": 3, "app.web": 3, "app.bench": 3, "app.cli": 4}
MAX_MODULE_LINES = 399  # under 400
MAX_FUNCTION_LINES = 60
ALLOWED_STATE = {
    "app.index.ingest._PDFIUM": "guards PDFium, a C library with one state per process that is not thread-safe: "
                                "one lock per process, like the library (one per Runtime would let two runtimes "
                                "call it at once)",
}
CACHES = {"cache", "lru_cache"}
LOCKS = {"Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore"}


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(APP.rglob("*.py"))}


def layer(module: str) -> int:
    wing = ".".join(module.split(".")[:2])
    if wing not in LAYERS:
        raise AssertionError(f"{module} is in no layer; add {wing} to LAYERS in {__file__}")
    return LAYERS[wing]


def imports(module: str) -> set[str]:
    """The app modules `module` imports (a `from package import name` that names a module counts as it)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n for n in names if n in MODULES and n != module and n != "app"}
    return found


GRAPH = {m: imports(m) for m in MODULES}


def test_every_module_is_in_a_layer():
    assert {m: layer(m) for m in MODULES if m != "app"}  # raises, naming the module, if one is in none


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} (layer {layer(m)}) imports {d} (layer {layer(d)})"
                  for m, deps in graph.items() if m != "app" for d in deps if layer(d) > layer(m))


def import_circles(graph: dict[str, set[str]]) -> list[str]:
    """Every circle a depth-first walk meets, as 'a -> b -> a'."""
    circles, state = [], {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = "open"
        for d in sorted(graph.get(m, ())):
            if state.get(d) == "open":
                circles.append(" -> ".join(path[path.index(d):] + [d]))
            elif d not in state:
                visit(d, path + [d])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return circles


def test_no_import_goes_up_a_layer():
    assert upward_imports(GRAPH) == []


def test_no_import_circles():
    assert import_circles(GRAPH) == []


@pytest.mark.parametrize("wing", ["app.web", "app.bench"])
def test_a_wing_has_one_door_the_cli(wing):
    """Only app.cli imports the web and bench wings from outside them (the CLI's serve and bench)."""
    outside = sorted({m for m, deps in GRAPH.items() if not m.startswith(wing)
                      for d in deps if d.startswith(wing + ".") or d == wing})
    assert outside == ["app.cli"]


def test_the_checker_sees_a_circle_and_an_upward_import():
    """The checks above on a made-up graph, so a broken checker cannot pass them by seeing nothing."""
    made_up = {"app.index.a": {"app.answer.b"}, "app.answer.b": {"app.index.c"}, "app.index.c": {"app.index.a"}}
    assert upward_imports(made_up) == ["app.index.a (layer 1) imports app.answer.b (layer 2)"]
    assert import_circles(made_up) == ["app.answer.b -> app.index.c -> app.index.a -> app.answer.b"]
    assert "app.index.store" in GRAPH["app.index.search"]  # a real edge is found
    assert "app.answer.assistant" in GRAPH["app.web.live"]  # an import inside a function counts


@pytest.mark.parametrize("path", [str(p.relative_to(ROOT)) for p in SOURCES])
def test_module_is_small(path):
    lines = len((ROOT / path).read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path} has {lines} lines; split it (at most {MAX_MODULE_LINES})"


def test_the_size_rules_read_app_tests_and_training():
    assert {p.relative_to(ROOT).parts[0] for p in SOURCES} == {"app", "tests", "training"}
    assert ROOT / "tests" / "test_architecture.py" in SOURCES and ROOT / "training" / "train_spans.py" in SOURCES


def test_no_function_is_long():
    long = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}::{node.name} ({n} lines)")
    assert long == []


def dotted(node: ast.expr) -> str:
    """`functools.lru_cache` for the expression `functools.lru_cache` (or `functools.lru_cache(...)`)."""
    if isinstance(node, ast.Call):
        return dotted(node.func)
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def module_state(tree: ast.Module, module: str) -> list[str]:
    """The state `module` keeps at module level: functions (and methods of its classes) memoised by
    `functools.cache` or `lru_cache`, locks made at module or class level, and `global` statements."""
    found = []
    for scope, prefix in [(tree.body, module)] + [(c.body, f"{module}.{c.name}") for c in tree.body
                                                   if isinstance(c, ast.ClassDef)]:
        for node in scope:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found += [f"{prefix}.{node.name}: @{dotted(d)}" for d in node.decorator_list
                          if dotted(d).split(".")[-1] in CACHES]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call) \
                    and dotted(node.value).removeprefix("threading.") in LOCKS:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found += [f"{prefix}.{dotted(t)}: {dotted(node.value)}()" for t in targets]
    found += [f"{module}: global {', '.join(n.names)} (line {n.lineno})" for n in ast.walk(tree)
              if isinstance(n, ast.Global)]
    return found


def test_no_module_level_state_outside_the_runtime():
    found = [f for module, path in MODULES.items()
             for f in module_state(ast.parse(path.read_text(encoding="utf-8")), module)]
    assert [f for f in found if f.split(":")[0] not in ALLOWED_STATE] == []
    assert sorted(f.split(":")[0] for f in found) == sorted(ALLOWED_STATE)  # every exception still needed


def test_the_state_checker_sees_caches_locks_and_globals():
    """The check above on made-up source, so a broken checker cannot pass it by seeing nothing."""
    made_up = ast.parse(textwrap.dedent("""
        import functools, threading
        from functools import cache, lru_cache
        from threading import RLock
        GUARD = threading.Lock()
        ORDER: RLock = RLock()
        @functools.lru_cache(maxsize=4)
        def a(): ...
        @cache
        def b(): ...
        class C:
            turn = threading.Condition()
            @lru_cache
            def c(self): ...
            @functools.cached_property
            def d(self): ...  # one per instance: the instance's own
        def e():
            global GUARD
            mine = threading.Lock()  # made per call: the caller's own
            @functools.cache
            def inner(): ...  # made per call too
    """))
    assert module_state(made_up, "app.made_up") == [
        "app.made_up.GUARD: threading.Lock()", "app.made_up.ORDER: RLock()", "app.made_up.a: @functools.lru_cache",
        "app.made_up.b: @cache", "app.made_up.C.turn: threading.Condition()", "app.made_up.C.c: @lru_cache",
        "app.made_up: global GUARD (line 18)"]
