import numpy as np
import pytest

from skfourier import FourierFeatureTransformer, NTKRegressor
from skfourier.datasets import image_to_regression, load_sample_image
from skfourier.model_selection import PixelGridSplit


@pytest.fixture(scope="session")
def image32():
    """The china sample image at 32 x 32 as (X, y) with its shape."""
    img = load_sample_image("china", size=32)
    X, y = image_to_regression(img)
    return X, y, img.shape


@pytest.fixture
def rng():
    return np.random.RandomState(0)


# -- the solver tests' lattices and their dense references -----------------------------

KERNEL = dict(depth=3, weight_std=np.sqrt(2), alpha=1e-6)


def _rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.fixture(scope="module", params=[32, pytest.param(64, marks=pytest.mark.slow)],
                ids=["32x32", "64x64"])
def lattice(request):
    """Even-pixel training lattice of a 2 side image: coordinates, RGB and the test lattice."""
    side = request.param
    X, y = image_to_regression(load_sample_image("china", size=2 * side))
    train, test = next(PixelGridSplit().split(X))
    return X, y, train, test


TIMES = [None, 1e2, 1e3, 1e4]
# alpha = 0: the Krylov solvers must reproduce the exact flow without any regularisation
EXACT = {**KERNEL, "alpha": 0.0}


@pytest.fixture(scope="module")
def dense_reference(lattice):
    """One eigendecomposition per lattice: dense predictions at every time, both lattices."""
    X, y, train, test = lattice
    enc = FourierFeatureTransformer(scale=X.shape[0] ** 0.5 / 25, random_state=0)
    dense = NTKRegressor(**EXACT, solver="eigh", encoder=enc).fit(X[train], y[train])
    return enc, {name: dense.predict_trajectory(X[idx], TIMES)
                 for name, idx in (("test", test), ("train", train))}
