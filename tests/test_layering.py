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
    {"_settings", "_validation", "_grid", "kernels", "datasets", "model_selection", "metrics",
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


def _imports(source, package_parts):
    """Package modules a file imports, as names relative to ``skfourier`` (``_solvers.base``)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:  # relative to the file's package
            base = package_parts[:len(package_parts) - node.level + 1]
            module = base + ([node.module] if node.module else [])
            found.add(".".join(module))
            if not node.module:  # from . import cli: the names are the modules
                found.update(".".join(module + [a.name]) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module.startswith("skfourier."):
            found.add(node.module.removeprefix("skfourier."))
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("skfourier.") for a in node.names
                         if a.name.startswith("skfourier."))
    return {name for name in found if name}


def _violations(relative, source):
    """Imports of ``source`` (the module at ``relative``, a path below the package) that
    reach a higher layer."""
    own = _layer(relative.parts[0])
    if own is None:  # __init__: re-exports
        return []
    return [f"{relative} (layer {own}) imports {imported} (layer {_layer(imported)})"
            for imported in _imports(source, list(relative.parts[:-1]))
            if _layer(imported) is not None and imported.split(".")[0] != relative.parts[0]
            and _layer(imported) > own]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_modules_import_only_lower_layers(path):
    relative = path.relative_to(PACKAGE).with_suffix("")
    assert not _violations(relative, path.read_text())


@pytest.mark.parametrize("source", [
    "from . import cli",                      # the form an earlier version of this test missed
    "from .cli import main",
    "import skfourier.cli",
    "from skfourier.cli import main",
    "from . import metrics, cli",
])
def test_the_layering_check_catches_every_import_form(source):
    assert _violations(Path("recipes.py").with_suffix(""), source)
    # the same imports in the top layer are fine, and lower ones from a solver too
    assert not _violations(Path("cli.py").with_suffix(""), source.replace("cli", "recipes"))
    assert not _violations(Path("_solvers/lattice/grid.py").with_suffix(""),
                           "from ..._grid import lattice_indices\nfrom ..base import matmul")


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
