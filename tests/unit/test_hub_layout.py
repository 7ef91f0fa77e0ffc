"""The local Hub's layout keeps its arrows one way: app -> routes -> context -> state ->
backends. Backends import no web framework and nothing above them; no import cycle anywhere."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import zenml_hf_registry.hub

pytestmark = pytest.mark.unit

HUB = Path(zenml_hf_registry.hub.__file__).parent
PACKAGE = "zenml_hf_registry.hub"
# Modules that handle HTTP; everything else in hub/ is a backend (state and rules only).
WEB = {"app", "context", "control", "server"} | {
    f"routes.{p.stem}" for p in (HUB / "routes").glob("*.py") if p.stem != "__init__"
}


def _module(path: Path) -> str:
    parts = path.relative_to(HUB).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__") or "__init__"


def _imports(path: Path) -> set[str]:
    """Modules of hub/ that `path` imports anywhere (top level, functions, TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            base = node.module.removeprefix(PACKAGE).lstrip(".")
            for alias in node.names:
                # `from hub import control` names a module; `from hub.app import x`, a name.
                candidate = f"{base}.{alias.name}" if base else alias.name
                is_module = (HUB / (candidate.replace(".", "/") + ".py")).exists()
                found.add(candidate if is_module else base)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name.removeprefix(PACKAGE + "."))
    return {m for m in found if m and m != "__init__"}


def _external(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found


GRAPH = {_module(p): _imports(p) for p in HUB.rglob("*.py") if _module(p) not in ("__init__",)}


def test_the_hub_has_no_import_cycle() -> None:
    state: dict[str, int] = {}  # 1: on the stack, 2: done

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH.get(module, ())):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target] if target in stack else [target]
                pytest.fail(f"import cycle: {' -> '.join(cycle)}")
            if state.get(target) is None:
                visit(target, [*stack, target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])


@pytest.mark.parametrize("module", sorted(set(GRAPH) - WEB - {"spaces", "routes"}))
def test_backends_import_no_web_framework_and_nothing_above_them(module: str) -> None:
    path = HUB / (module.replace(".", "/") + ".py")
    assert not (_external(path) & {"fastapi", "starlette", "uvicorn"}), module
    assert not (GRAPH[module] & WEB), f"{module} imports {GRAPH[module] & WEB}"


def test_routes_import_no_other_route_module_and_not_the_app() -> None:
    for module in WEB:
        if module.startswith("routes."):
            assert not {m for m in GRAPH[module] if m.startswith("routes.") or m == "app"}, module


def test_every_control_plane_route_lives_in_control() -> None:
    route = re.compile(r"@\w+\.(get|post|put|patch|delete|head)\(\s*f?\"/_emulator")
    for path in HUB.rglob("*.py"):
        if path.name != "control.py":
            assert not route.search(path.read_text()), path
