import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfourier import FourierFeatureTransformer
from skfourier._fourier import ENCODINGS


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_transform_matches_formula(encoding, rng):
    X = rng.uniform(size=(20, 2))
    amps = None
    ff = FourierFeatureTransformer(encoding=encoding, n_frequencies=5, scale=3.0,
                                   random_state=0).fit(X)
    Z = ff.transform(X)
    if encoding == "none":
        assert_array_equal(Z, X)
        return
    a = np.ones(ff.B_.shape[0]) if amps is None else amps
    phase = 2 * np.pi * X @ ff.B_.T
    assert_allclose(Z, np.hstack([a * np.cos(phase), a * np.sin(phase)]), atol=1e-12)


def test_frequency_matrices():
    X = np.zeros((3, 2))
    fit = lambda **kw: FourierFeatureTransformer(**kw).fit(X).B_  # noqa: E731
    assert_array_equal(fit(encoding="basic"), np.eye(2))
    B = fit(encoding="positional", n_frequencies=4, scale=16.0)
    assert_allclose(B[:4, 0], 16.0 ** (np.arange(4) / 4))
    assert_array_equal(B[:4, 1], 0)
    assert_allclose(B[4:, 1], 16.0 ** (np.arange(4) / 4))
    Bg = FourierFeatureTransformer(n_frequencies=20000, scale=7.0, random_state=0).fit(X).B_
    assert Bg.shape == (20000, 2)
    assert abs(Bg.std() - 7.0) < 0.1
    Bu = FourierFeatureTransformer(encoding="uniform", n_frequencies=20000, scale=7.0,
                                   random_state=0).fit(X).B_
    assert Bu.min() >= -7 and Bu.max() <= 7 and abs(Bu.std() - 7 / np.sqrt(3)) < 0.1


def test_transformer_encoding_is_sinusoidal_position_embedding():
    d, base = 16, 10000.0
    positions = np.arange(50, dtype=float)[:, None]
    ff = FourierFeatureTransformer(encoding="transformer", n_frequencies=d // 2,
                                   base=base).fit(positions)
    Z = ff.transform(positions)
    pe = np.empty((50, d))
    i = np.arange(d // 2)
    pe[:, 0::2] = np.sin(positions / base ** (2 * i / d))
    pe[:, 1::2] = np.cos(positions / base ** (2 * i / d))
    # ours is [cos block, sin block]; the classic table interleaves sin, cos
    assert_allclose(Z[:, d // 2:], pe[:, 0::2], atol=1e-9)
    assert_allclose(Z[:, :d // 2], pe[:, 1::2], atol=1e-9)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("include_input", [False, True])
def test_kernel_equals_gram_of_transform(encoding, include_input, rng):
    X, Y = rng.uniform(size=(15, 2)), rng.uniform(size=(7, 2))
    ff = FourierFeatureTransformer(encoding=encoding, n_frequencies=6, scale=4.0,
                                   include_input=include_input, random_state=1,
                                   ).fit(X)
    assert_allclose(ff.kernel(X, Y), ff.transform(X) @ ff.transform(Y).T, atol=1e-10)
    assert_allclose(ff.kernel(X), ff.transform(X) @ ff.transform(X).T, atol=1e-10)


def test_kernel_is_stationary_sum_of_cosines(rng):
    X, Y = rng.uniform(size=(6, 2)), rng.uniform(size=(5, 2))
    amps = rng.uniform(0.5, 2, size=8)
    ff = FourierFeatureTransformer(n_frequencies=8, scale=5.0, amplitudes=amps,
                                   random_state=0).fit(X)
    delta = X[:, None, :] - Y[None, :, :]
    expected = np.einsum("j,abj->ab", amps ** 2, np.cos(2 * np.pi * delta @ ff.B_.T))
    assert_allclose(ff.kernel(X, Y), expected, atol=1e-10)
    assert_allclose(ff.kernel_profile(delta.reshape(-1, 2)).reshape(6, 5), expected, atol=1e-10)
    assert_allclose(ff.transform(X)[:, :8], amps * np.cos(2 * np.pi * X @ ff.B_.T))


def test_kernel_profile_refuses_non_stationary():
    ff = FourierFeatureTransformer(include_input=True).fit(np.zeros((2, 2)))
    assert not ff.is_stationary
    with pytest.raises(ValueError, match="not stationary"):
        ff.kernel_profile(np.zeros((1, 2)))


def test_dtype_preserved_and_equivalent(rng):
    X = rng.uniform(size=(30, 2))
    f64 = FourierFeatureTransformer(n_frequencies=8, random_state=0).fit(X)
    f32 = FourierFeatureTransformer(n_frequencies=8, random_state=0).fit(X.astype(np.float32))
    assert f32.B_.dtype == np.float32 and f64.B_.dtype == np.float64
    Z32 = f32.transform(X.astype(np.float32))
    assert Z32.dtype == np.float32
    assert_allclose(Z32, f64.transform(X), atol=1e-4)


def test_random_state_reproducible():
    X = np.zeros((2, 3))
    a = FourierFeatureTransformer(random_state=3).fit(X).B_
    b = FourierFeatureTransformer(random_state=3).fit(X).B_
    c = FourierFeatureTransformer(random_state=4).fit(X).B_
    assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_feature_names_and_pandas_output(rng):
    X = pd.DataFrame(rng.uniform(size=(4, 2)), columns=["x", "y"])
    ff = FourierFeatureTransformer(encoding="basic").set_output(transform="pandas").fit(X)
    out = ff.transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"fourierfeaturetransformer{i}" for i in range(4)]
    assert list(ff.get_feature_names_out()) == list(out.columns)
    pipe = make_pipeline(FourierFeatureTransformer(encoding="basic"), StandardScaler())
    pipe.set_output(transform="pandas")
    assert pipe.fit_transform(X).shape == (4, 4)


def test_include_input_appends_coordinates(rng):
    X = rng.uniform(size=(5, 2))
    Z = FourierFeatureTransformer(encoding="basic", include_input=True).fit_transform(X)
    assert Z.shape == (5, 6)
    assert_array_equal(Z[:, 4:], X)


@pytest.mark.parametrize("params, match", [
    ({"encoding": "fourier"}, "encoding must be one of"),
    ({"scale": 0.0}, "scale must be > 0"),
    ({"scale": -1.0}, "scale must be > 0"),
    ({"n_frequencies": 0}, "n_frequencies must be >= 1"),
    ({"n_frequencies": 2.5}, "n_frequencies must be an integer"),
    ({"base": 1.0}, "base must be > 1"),
    ({"amplitudes": [1.0, 2.0]}, "amplitudes must be 8 finite numbers"),
])
def test_bad_parameters(params, match):
    kw = {"n_frequencies": 8, **params}
    with pytest.raises(ValueError, match=match):
        FourierFeatureTransformer(**kw).fit(np.zeros((3, 1)))


@pytest.mark.parametrize("X, match", [
    (np.array([[0.0, np.nan]]), "NaN"),
    (np.array([[0.0, np.inf]]), "infinity"),
    (np.array([0.1, 0.2]), "Expected 2D array"),
    (np.empty((0, 2)), "0 sample"),
])
def test_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        FourierFeatureTransformer().fit(X)


def test_wrong_number_of_features_at_transform():
    ff = FourierFeatureTransformer(n_frequencies=4).fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="features"):
        ff.transform(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="features"):
        ff.kernel(np.zeros((3, 3)))


@pytest.mark.parametrize("encoding", ["gaussian", "uniform", "positional"])
def test_per_axis_scale_multiplies_columns_and_keeps_the_closed_form_kernel(encoding):
    X = np.random.RandomState(0).uniform(size=(30, 3))
    scale = (10.0, 4.0, 0.5)
    per_axis = FourierFeatureTransformer(encoding=encoding, scale=scale, n_frequencies=16,
                                         random_state=0).fit(X)
    if encoding == "positional":
        for k, s in enumerate(scale):
            column = per_axis.B_[:, k]
            np.testing.assert_allclose(column[column != 0], s ** (np.arange(16) / 16))
    else:
        unit = FourierFeatureTransformer(encoding=encoding, scale=1.0, n_frequencies=16,
                                         random_state=0).fit(X)
        np.testing.assert_allclose(per_axis.B_, unit.B_ * np.array(scale), rtol=1e-15)
    F = per_axis.transform(X)
    np.testing.assert_allclose(per_axis.kernel(X), F @ F.T, atol=1e-11)
    assert per_axis.is_stationary
    # one value for every axis is the scalar scale, bit for bit
    same = FourierFeatureTransformer(encoding=encoding, scale=(3.0,) * 3, n_frequencies=16,
                                     random_state=0).fit(X)
    scalar = FourierFeatureTransformer(encoding=encoding, scale=3.0, n_frequencies=16,
                                       random_state=0).fit(X)
    assert np.array_equal(same.B_, scalar.B_)


@pytest.mark.parametrize("scale, match", [((1.0, 2.0), "3 axes"), ((1.0, -2.0, 1.0), "> 0"),
                                          ((1.0, np.inf, 1.0), "finite"), ("abc", "scale")])
def test_per_axis_scale_errors(scale, match):
    with pytest.raises(ValueError, match=match):
        FourierFeatureTransformer(scale=scale).fit(np.zeros((4, 3)))


def test_kernel_spectrum_is_the_stationary_kernel_or_refuses():
    X = np.random.RandomState(0).uniform(size=(5, 2))
    enc = FourierFeatureTransformer(n_frequencies=8, scale=(3.0, 1.0), random_state=0).fit(X)
    B, w = enc.kernel_spectrum()
    assert B.dtype == w.dtype == np.float64 and B.shape == (8, 2) and w.shape == (8,)
    delta = X[:, None] - X[None]
    assert_allclose(np.cos(2 * np.pi * delta @ B.T) @ w, enc.kernel(X), atol=1e-12)
    for bad in (dict(encoding="none"), dict(include_input=True)):
        with pytest.raises(ValueError, match="no stationary kernel"):
            FourierFeatureTransformer(**bad, random_state=0).fit(X).kernel_spectrum()
