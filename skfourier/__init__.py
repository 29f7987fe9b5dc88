"""skfourier: Fourier features, the Neural Tangent Kernel and coordinate MLPs for scikit-learn.

The estimators are imported on first use, so that ``skfourier --help`` and
``import skfourier.datasets`` do not load torch.
"""

import importlib

__version__ = "0.1.0"

# public name -> private module holding it
_EXPORTS = {
    "CoordinateMLPRegressor": "._mlp",
    "FourierFeatureTransformer": "._fourier",
    "NTKRegressor": "._ntk",
    "NTKRegressorCV": "._ntk",
    "SolverSettings": "._settings",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
