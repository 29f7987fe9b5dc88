"""The import layering: pure modules -> solvers -> estimators -> recipes -> CLI.

Examples and benchmarks use public API only.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "skfourier"
# each layer may import only from the layers before it
LAYERS = [
    {"_validation", "_grid", "kernels", "datasets", "model_selection", "metrics",
     "_fourier", "_torch_modules", "callbacks", "_mlp"},
    {"_solvers"},
    {"_ntk"},
    {"recipes"},
    {"cli", "__main__"},
]


def _layer(module):
    top = module.split(".")[0]
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    return None


def _imports(path, package_parts):
    """Package modules a file imports, as names relative to ``skfourier`` (``_solvers.base``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:  # relative to the file's package
            base = package_parts[:len(package_parts) - node.level + 1]
            found.add(".".join(base + ([node.module] if node.module else [])))
        elif isinstance(node, ast.ImportFrom) and node.module.startswith("skfourier."):
            found.add(node.module.removeprefix("skfourier."))
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("skfourier.") for a in node.names
                         if a.name.startswith("skfourier."))
    return {name for name in found if name}


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_modules_import_only_lower_layers(path):
    relative = path.relative_to(PACKAGE).with_suffix("")
    own = _layer(relative.parts[0])
    if own is None:  # __init__: re-exports
        return
    parts = list(relative.parts[:-1])
    for imported in _imports(path, parts):
        layer = _layer(imported)
        if layer is not None and imported.split(".")[0] != relative.parts[0]:
            assert layer <= own, f"{relative} (layer {own}) imports {imported} (layer {layer})"


@pytest.mark.parametrize("folder", ["examples", "benchmarks"])
def test_examples_and_benchmarks_use_public_api(folder):
    for path in (ROOT / folder).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith("skfourier"):
                    assert not any(part.startswith("_") for part in name.split(".")), \
                        f"{path.name} imports private {name}"
