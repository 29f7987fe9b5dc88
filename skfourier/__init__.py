"""skfourier: Fourier features, the Neural Tangent Kernel and coordinate MLPs for scikit-learn."""

__version__ = "0.1.0"

from ._fourier import FourierFeatureTransformer
from ._mlp import CoordinateMLPRegressor
from ._ntk import NTKRegressor, NTKRegressorCV

__all__ = [
    "CoordinateMLPRegressor",
    "FourierFeatureTransformer",
    "NTKRegressor",
    "NTKRegressorCV",
    "__version__",
]
