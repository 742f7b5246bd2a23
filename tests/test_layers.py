"""The program's layers import in one direction, and no module imports itself back.

The import graph is read with ``ast`` from the source (every ``import``, including those inside
functions and under ``TYPE_CHECKING``: a circle hidden in a function is still a circle), so the
test needs no Pulumi and imports nothing it checks. docs/architecture.md explains the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("config", "planning", "components")
"""The program's own packages (``__main__.py`` and scripts/ sit above them all)."""
RENDER = "components.render"

MAY_IMPORT: dict[str, frozenset[str]] = {
    "config": frozenset({"config"}),
    "planning": frozenset({"config", "planning"}),
    "components": frozenset({"config", "planning", "components", RENDER}),
    RENDER: frozenset({RENDER, "config.versions", "config.formats"}),
}
"""Layer -> what its modules may import. The config is the bottom (the stack file's model and
rules); planning reads it; the components read both and call the renderers; a renderer is a pure
function of small typed args, so it imports other renderers and only the config's two modules of
plain values (the version pins, the formats both sides check), never the spec, never Pulumi."""
THIRD_PARTY_FORBIDDEN = {RENDER: ("pulumi", "pulumi_command", "pulumi_openstack"), "config": ("pulumi",)}
"""Third-party imports a layer must not have (a renderer must run without the engine)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def program_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; ``from a import b`` counts ``a.b`` when it is a module)."""
    known = program_modules()
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import of {node.module}"
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known}
    return out


def layer_of(module: str) -> str:
    if module == RENDER or module.startswith(RENDER + "."):
        return RENDER
    return module.split(".")[0]


def program_graph() -> dict[str, set[str]]:
    modules = program_modules()
    return {name: {m for m in imports_of(path) if m in modules} for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_every_module_and_its_imports():
    graph = program_graph()
    assert {"config.spec", "planning.capacity", "components.platform", "components.render.kubeadm"} <= set(graph)
    assert "config.spec" in graph["components.platform"] or "config.load" in graph["components.platform"]


def test_there_is_no_import_circle():
    assert circles(program_graph()) == []


def test_the_circle_check_finds_one():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def allowed(importer: str, imported: str) -> bool:
    return any(imported == a or imported.startswith(a + ".") for a in MAY_IMPORT[layer_of(importer)])


@pytest.mark.parametrize("module", sorted(program_modules()))
def test_imports_follow_the_layers(module):
    path = program_modules()[module]
    imported = imports_of(path)
    wrong = sorted(m for m in imported if layer_of(m) in MAY_IMPORT and m != module and not allowed(module, m))
    assert not wrong, f"{module} ({layer_of(module)}) may not import {wrong}"
    forbidden = THIRD_PARTY_FORBIDDEN.get(layer_of(module), ())
    leaked = sorted(m for m in imported if m.split(".")[0] in forbidden)
    assert not leaked, f"{module} ({layer_of(module)}) may not import {leaked}"


def test_a_renderer_importing_the_spec_is_caught():
    assert not allowed("components.render.kubeadm", "config.spec")
    assert not allowed("config.rules", "components.render.node_prep")
    assert allowed("components.render.node_prep", "config.versions")
