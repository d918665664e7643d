"""nnlib's modules import each other without a circle, and each one imports on its own."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

NNLIB = Path(__file__).resolve().parents[2] / "nnlib"


def imported_nnlib_modules(path: Path) -> set[str]:
    """Every nnlib module ``path`` imports, at the top or inside a function (none ignored)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:                       # from .layers import Dense
                found.add(node.module.split(".")[0])
            elif node.level == 1:                                      # from . import imaging
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("nnlib."):    # from nnlib.layers import ...
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith("nnlib."))
    return found


def module_graph() -> dict[str, set[str]]:
    modules = {path.stem: path for path in NNLIB.glob("*.py") if path.stem != "__init__"}
    return {name: imported_nnlib_modules(path) & set(modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in ``graph`` as a list of modules (first == last), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_nnlib_has_no_import_circle():
    graph = module_graph()
    assert {"layers", "conv", "model", "training", "builders", "fast"} <= set(graph)
    assert "model" in graph["builders"] and "layers" in graph["model"]     # the parser sees imports
    assert find_cycle(graph) is None, f"import circle: {' -> '.join(find_cycle(graph))}"


@pytest.mark.slow
def test_every_nnlib_module_imports_first_in_a_fresh_interpreter():
    names = sorted(f"nnlib.{name}" for name in module_graph() if name != "__main__")   # __main__ runs the CLI
    script = ("import importlib, sys\n"
              "for name in sys.argv[1:]:\n"
              "    for loaded in [m for m in sys.modules if m == 'nnlib' or m.startswith('nnlib.')]:\n"
              "        del sys.modules[loaded]\n"
              "    importlib.import_module(name)\n")
    done = subprocess.run([sys.executable, "-c", script, *names], cwd=NNLIB.parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
