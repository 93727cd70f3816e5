"""The house keeps its layers: every module imports only from its own layer or the ones below,
and no two modules import each other, directly or around a circle (tests and benchmarks
included). The layers are written down once, in pyproject.toml ([tool.directus-gitops.layers]),
and docs/architecture.md draws them."""

from __future__ import annotations

import ast
import importlib
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tool"
PACKAGE = "directus_gitops"
_FOLDERS = ("tests", "bench", "scripts")  # beside the package: above every layer


def _layers() -> list[list[str]]:
    """Bottom first: each layer's packages (or top-level modules) below directus_gitops."""
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["directus-gitops"]["layers"]
    return [list(layer) for layer in table["order"]]


def _module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {_module_name(path, SOURCE): path for path in (SOURCE / PACKAGE).rglob("*.py")}
    for folder in _FOLDERS:
        found.update({_module_name(path, ROOT): path for path in (ROOT / folder).glob("*.py")})
    return found


def _imports(path: Path, name: str, known: set[str]) -> Iterator[tuple[str, int]]:
    """Every module of the project ``path`` imports (at the top, in a function, or for typing only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            # Benchmarks and scripts import their neighbours by bare name (from the path).
            target = next((f"{f}.{target}" for f in _FOLDERS if f"{f}.{target}" in known), target)
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target, node.lineno


def _layer_of(module: str, layers: list[list[str]]) -> int | None:
    """The index of ``module``'s layer; None for what lies outside the package (tests, bench)."""
    if not module.startswith(PACKAGE):
        return None
    inner = module[len(PACKAGE) :].lstrip(".") or "__init__"
    for index, layer in enumerate(layers):
        for part in layer:
            if inner == part or inner.startswith(part + "."):
                return index
    raise AssertionError(f"{module} belongs to no layer in pyproject.toml [tool.directus-gitops.layers]")


def _graph() -> dict[str, list[tuple[str, int]]]:
    modules = _modules()
    known = set(modules)
    return {name: list(_imports(path, name, known)) for name, path in modules.items()}


def test_every_module_of_the_package_imports() -> None:
    for name in sorted(_modules()):
        if name.startswith(PACKAGE) and name != f"{PACKAGE}.__main__":  # that one runs the program
            importlib.import_module(name)


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    layers = _layers()
    upward = []
    for name, imported in _graph().items():
        mine = _layer_of(name, layers)
        if mine is None:
            continue
        for target, line in imported:
            theirs = _layer_of(target, layers)
            if theirs is not None and theirs > mine:
                upward.append(
                    f"{name}:{line} imports {target} ({' '.join(layers[theirs])} is above {' '.join(layers[mine])})"
                )
    assert upward == []


def test_no_two_modules_import_each_other_even_around_a_circle() -> None:
    graph = {name: sorted({target for target, _ in imported}) for name, imported in _graph().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, []):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == []


@pytest.mark.parametrize("layer", ["commands"])
def test_no_command_module_is_over_300_lines(layer: str) -> None:
    long = {
        path.name: count
        for path in (SOURCE / PACKAGE / layer).glob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > 300
    }
    assert long == {}
