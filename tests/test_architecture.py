"""The house rules, checked on the code itself: layers, no import circles, small modules and functions.

Layers, lowest first (a module may import its own layer or a lower one, never a higher one):

    0  app.errors, app.files, app.settings, app.batching, app.lazy
    1  app.index, app.runtime
    2  app.answer
    3  app.evaluation, app.web, app.bench
    4  app.cli

Imports are read from the source with `ast` (inside functions too: a lazy import is still a dependency).
"""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
LAYERS = {"app.errors": 0, "app.files": 0, "app.settings": 0, "app.batching": 0, "app.lazy": 0,
          "app.index": 1, "app.runtime": 1,
          "app.answer": 2,
          "app.evaluation": 3, "app.web": 3, "app.bench": 3, "app.cli": 4}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


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


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_small(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{MODULES[module]} has {lines} lines; split it (limit {MAX_MODULE_LINES})"


def test_no_function_is_long():
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name} ({n} lines)")
    assert long == []

