import numpy as np
import pytest
from sklearn.dummy import DummyRegressor

from skfourier.metrics import psnr, psnr_scorer


def test_psnr_values():
    assert psnr([0.0, 1.0], [0.1, 0.9]) == pytest.approx(20.0)
    y = np.random.RandomState(0).uniform(size=(10, 3))
    mse = np.mean((y - 0.5) ** 2)
    assert psnr(y, np.full_like(y, 0.5)) == pytest.approx(-10 * np.log10(mse))
    assert psnr(y * 255, np.full_like(y, 127.5), data_range=255) == pytest.approx(
        -10 * np.log10(mse))
    assert psnr(y, y) == np.inf
    assert psnr(y[:, :1], y[:, 0]) == np.inf


@pytest.mark.parametrize("a, b, kw, match", [
    ([0.0, 1.0], [0.0], {}, "inconsistent"),
    ([], [], {}, "empty"),
    ([np.nan], [0.0], {}, "finite"),
    ([1.0], [0.0], {"data_range": 0}, "data_range"),
    (np.zeros((2, 3)), np.zeros((2, 2)), {}, "same shape"),
])
def test_psnr_errors(a, b, kw, match):
    with pytest.raises(ValueError, match=match):
        psnr(a, b, **kw)


def test_psnr_scorer_higher_is_better():
    X = np.zeros((4, 1))
    y = np.array([0.0, 0.2, 0.8, 1.0])
    model = DummyRegressor().fit(X, y)
    assert psnr_scorer(model, X, y) == pytest.approx(psnr(y, np.full(4, 0.5)))
