import concurrent.futures
import pickle

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.kernel_ridge import KernelRidge
from sklearn.model_selection import GridSearchCV, KFold, LeaveOneOut
from sklearn.pipeline import make_pipeline

import skfourier._solvers.dense as dense
from skfourier import FourierFeatureTransformer, NTKRegressor, NTKRegressorCV
from skfourier._validation import StdBudgetError
from skfourier.datasets import image_to_regression, load_sample_image
from skfourier.kernels import ntk_kernel
from skfourier.metrics import psnr, psnr_scorer
from skfourier.model_selection import PixelGridSplit

KERNEL = dict(depth=3, weight_std=np.sqrt(2), bias_std=0.1)


@pytest.fixture
def data(rng):
    X = rng.uniform(-1, 1, size=(40, 3))
    Y = np.column_stack([np.sin(3 * X[:, 0]), X[:, 1] * X[:, 2], np.cos(X.sum(1))])
    return X, Y, rng.uniform(-1, 1, size=(9, 3))


def _kernel_gradient_descent(K_train, K_test, Y, lr, times, alpha=0.0, steps_per_unit=None):
    """Explicit Euler steps of f <- f - lr/N (K + alpha I)(f - y) on train and test outputs."""
    N = Y.size
    Ka = K_train + alpha * np.eye(len(K_train))
    dt = 0.02 * N / (lr * np.linalg.eigvalsh(Ka).max())
    f_train, f_test = np.zeros_like(Y), np.zeros((len(K_test), Y.shape[1]))
    out, now = [], 0.0
    for t in times:
        n_steps = int(np.ceil((t - now) / dt))
        h = (t - now) / n_steps
        for _ in range(n_steps):
            r = f_train - Y
            f_test -= h * lr / N * K_test @ r
            f_train -= h * lr / N * Ka @ r
        now = t
        out.append(f_test.copy())
    return out


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_gradient_flow_matches_explicit_gradient_descent(data, multi, alpha):
    X, Y, Xt = data
    Y = Y if multi else Y[:, 0]
    Y2 = Y.reshape(len(Y), -1)
    times = [5.0, 50.0, 400.0]
    lr = 2.0
    K, Kt = ntk_kernel(X, **KERNEL), ntk_kernel(Xt, X, **KERNEL)
    reference = _kernel_gradient_descent(K, Kt, Y2, lr, times, alpha)
    model = NTKRegressor(**KERNEL, learning_rate=lr, alpha=alpha)
    for t, ref in zip(times, reference):
        pred = model.set_params(t=t).fit(X, Y).predict(Xt)
        assert pred.shape == Y.shape[:1] * 0 + (9,) + Y.shape[1:]
        assert_allclose(pred.reshape(9, -1), ref, rtol=2e-2, atol=2e-3 * np.abs(ref).max())
    traj = model.predict_trajectory(Xt, times)
    assert traj.shape == (3, 9) + Y.shape[1:]
    for tr, ref in zip(traj, reference):
        assert_allclose(tr.reshape(9, -1), ref, rtol=2e-2, atol=2e-3 * np.abs(ref).max())


@pytest.mark.parametrize("alpha", [1e-6, 1e-2, 1.0])
def test_converged_equals_kernel_ridge(data, alpha):
    X, Y, Xt = data
    kr = KernelRidge(kernel="precomputed", alpha=alpha).fit(ntk_kernel(X, **KERNEL), Y)
    expected = kr.predict(ntk_kernel(Xt, X, **KERNEL))
    for solver in ("auto", "eigh", "cholesky"):
        pred = NTKRegressor(**KERNEL, alpha=alpha, solver=solver).fit(X, Y).predict(Xt)
        assert_allclose(pred, expected, rtol=1e-7, atol=1e-9)
    assert_allclose(NTKRegressor(**KERNEL, alpha=alpha, t=np.inf).fit(X, Y).predict(Xt),
                    expected, rtol=1e-7, atol=1e-9)


def test_spectral_bias_per_eigendirection(data):
    """Seed: Q^T (f_t - y) = -exp(-eta lambda t / N) Q^T y, direction by direction."""
    X, Y, _ = data
    y = Y[:, 0]
    lam, Q = np.linalg.eigh(ntk_kernel(X, **KERNEL))
    lr, N = 0.5, y.size
    for t in (1.0, 30.0, 1000.0):
        f = NTKRegressor(**KERNEL, t=t, learning_rate=lr).fit(X, y).predict(X)
        # atol: arccos near correlation 1 costs ~1e-8 in the cross kernel at training points
        assert_allclose(Q.T @ (f - y), -np.exp(-lr * lam * t / N) * (Q.T @ y), atol=1e-7)
    model = NTKRegressor(**KERNEL, t=1.0, learning_rate=lr, solver="eigh").fit(X, y)
    assert_allclose(model.eigenvalues_, lam[::-1], rtol=1e-8, atol=1e-10)
    assert np.all(np.diff(model.eigenvalues_) <= 0)


def test_training_curve_matches_residual(data):
    X, Y, _ = data
    model = NTKRegressor(**KERNEL, alpha=0.0).fit(X, Y)
    times = [0.0, 10.0, 100.0, None]
    curve = model.training_curve(times)
    for t, mse in zip(times, curve):
        f = NTKRegressor(**KERNEL, t=t).fit(X, Y).predict(X)
        assert mse == pytest.approx(np.mean((f - Y) ** 2), rel=1e-6, abs=1e-12)
    assert curve[0] == pytest.approx(np.mean(Y ** 2))
    assert np.all(np.diff(curve) <= 1e-15)
    # with alpha the curve follows neural-tangents' fx_train = (I - exp(-c (K + alpha I))) y
    a = 0.3
    Ka = ntk_kernel(X, **KERNEL) + a * np.eye(len(X))
    lam, Q = np.linalg.eigh(Ka)
    c = 50.0 / Y.size
    r = Q @ (np.exp(-c * lam)[:, None] * (Q.T @ Y))
    model = NTKRegressor(**KERNEL, alpha=a, t=50.0).fit(X, Y)
    assert model.training_curve([50.0])[0] == pytest.approx(np.mean(r ** 2), rel=1e-8)


def test_trajectory_equals_separate_fits(data):
    X, Y, Xt = data
    times = [1.0, 10.0, None]
    traj = NTKRegressor(**KERNEL, alpha=1e-3).fit(X, Y).predict_trajectory(Xt, times)
    for t, pred in zip(times, traj):
        assert_allclose(pred, NTKRegressor(**KERNEL, alpha=1e-3, t=t).fit(X, Y).predict(Xt),
                        rtol=1e-7, atol=1e-9)


def test_alpha_zero_singular_kernel_falls_back_to_eigh(rng):
    # depth 0 without bias is the linear kernel 2 X X^T / d: rank 3 for 12 samples
    X, y = rng.normal(size=(12, 3)), rng.normal(size=12)
    model = NTKRegressor(depth=0, weight_std=np.sqrt(2), alpha=0.0).fit(X, y)
    assert model.solver_ == "eigh"
    assert np.sum(model.eigenvalues_ > 1e-8) == 3
    # null directions are left alone: the minimum-norm solution, i.e. least squares
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    assert_allclose(model.predict(X), X @ coef, atol=1e-8)
    with pytest.raises(ValueError, match="not positive definite"):
        NTKRegressor(depth=0, alpha=0.0, solver="cholesky").fit(X, y)


def test_duplicate_inputs_with_alpha_zero():
    X = np.repeat(np.random.RandomState(0).normal(size=(5, 2)), 2, axis=0)
    y = np.repeat(np.arange(5.0), 2)
    pred = NTKRegressor(alpha=0.0).fit(X, y).predict(X)
    assert_allclose(pred, y, atol=1e-5)


def test_zero_norm_input_is_legal():
    X = np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5], [0.5, 0.5]])
    y = np.array([0.1, 0.2, 0.3, 0.4])
    pred = NTKRegressor(depth=2, t=10.0).fit(X, y).predict(X)
    assert np.all(np.isfinite(pred))


def test_nngp_kernel(data):
    X, Y, Xt = data
    K = ntk_kernel(X, kind="nngp", **KERNEL)
    expected = ntk_kernel(Xt, X, kind="nngp", **KERNEL) @ np.linalg.solve(K + 1e-3 * np.eye(40), Y)
    pred = NTKRegressor(kernel="nngp", alpha=1e-3, **KERNEL).fit(X, Y).predict(Xt)
    assert_allclose(pred, expected, rtol=1e-6)


def test_memory_guard_raises_before_allocating(data):
    X, Y, _ = data
    for solver in ("auto", "eigh", "cholesky"):
        with pytest.raises(ValueError, match=r"n=40.*max_kernel_memory") as err:
            NTKRegressor(solver=solver, max_kernel_memory=1000).fit(X, Y)
        assert "Subsample" in str(err.value)


@pytest.mark.parametrize("params, match", [
    ({"t": -1.0}, "t must be >= 0"), ({"alpha": -1.0}, "alpha must be >= 0"),
    ({"solver": "lu"}, "solver must be one of"), ({"kernel": "rbf"}, "kernel must be one of"),
    ({"depth": 1.5}, "depth must be an integer"), ({"learning_rate": 0.0}, "learning_rate"),
    ({"solver": "cholesky", "t": 10.0}, "converged limit only"),
    ({"max_kernel_memory": -5}, "max_kernel_memory"),
    ({"std_method": "fast"}, "std_method must be one of"),
    ({"solver_options": {"bogus": 1}}, r"unknown solver_options \['bogus'\]; valid names"),
    ({"solver_options": {"max_ring": -1}}, "max_ring.*non-negative integer"),
    ({"solver_options": {"max_ring": 1.5}}, "max_ring.*non-negative integer"),
    ({"solver_options": "fast"}, "solver_options must be a dict"),
])
def test_bad_parameters(data, params, match):
    X, Y, _ = data
    with pytest.raises(ValueError, match=match):
        NTKRegressor(**params).fit(X, Y)


def test_bad_inputs(data):
    X, Y, _ = data
    with pytest.raises(ValueError, match="NaN"):
        NTKRegressor().fit(np.where(X > 0.9, np.nan, X), Y)
    with pytest.raises(ValueError, match="infinity"):
        NTKRegressor().fit(X, np.where(Y > 0.9, np.inf, Y))
    model = NTKRegressor().fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="times"):
        model.predict_trajectory(X, [])
    with pytest.raises(ValueError, match="each time"):
        model.training_curve([-1.0])


def test_joblib_round_trip(data, tmp_path):
    X, Y, Xt = data
    model = NTKRegressor(**KERNEL, t=20.0).fit(X, Y)
    joblib.dump(model, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    assert np.array_equal(loaded.predict(Xt), model.predict(Xt))
    assert np.array_equal(loaded.predict_trajectory(Xt, [1.0, 2.0]),
                          model.predict_trajectory(Xt, [1.0, 2.0]))


@pytest.mark.parametrize("n", [1000, pytest.param(4096, marks=pytest.mark.slow)])
def test_eigh_fitted_model_pickles_light(n, rng):
    """The decomposition is a cache: pickles hold inputs, targets and coefficients, no n x n."""
    X, Y = rng.uniform(size=(n, 2)), rng.uniform(size=(n, 3))
    model = NTKRegressor(**KERNEL, t=50.0, solver="eigh").fit(X, Y)
    payload = pickle.dumps(model)
    data_bytes = X.nbytes + Y.nbytes + model.dual_coef_.nbytes
    assert len(payload) <= 2 * data_bytes + 2 ** 20
    loaded = pickle.loads(payload)
    Xt = rng.uniform(size=(20, 2))
    assert np.array_equal(loaded.predict(Xt), model.predict(Xt))
    times = [1.0, 50.0, None]
    assert_allclose(loaded.predict_trajectory(Xt, times), model.predict_trajectory(Xt, times),
                    rtol=1e-9, atol=1e-12)
    assert_allclose(loaded.training_curve(times), model.training_curve(times), rtol=1e-9)
    assert len(pickle.dumps(model)) == len(payload)  # using the cache did not grow the pickle


@pytest.mark.parametrize("solver", ["cholesky", "eigh", "cg"])
def test_only_fit_sets_public_attributes(data, solver):
    X, Y, Xt = data
    model = NTKRegressor(**KERNEL, solver=solver).fit(X, Y)
    public = {k for k in vars(model) if not k.startswith("_")}
    model.predict(Xt)
    model.predict_trajectory(Xt, [1.0, None])
    model.training_curve([1.0, 10.0])
    assert {k for k in vars(model) if not k.startswith("_")} == public
    assert hasattr(model, "eigenvalues_") == (solver == "eigh")
    # a refit with another solver drops the attribute of the former one
    assert not hasattr(model.set_params(solver="cholesky").fit(X, Y), "eigenvalues_")


@pytest.mark.parametrize("solver", ["cholesky", "fft"])
def test_float32_coordinates_are_solved_in_float64(solver):
    """float32 input must not make the encoder (B_) or the kernel float32.

    Failed before: the encoder inside was fitted on float32 X, so B_ was rounded
    to float32 and predictions moved by ~1e-6 relative.
    """
    X, y = image_to_regression(load_sample_image("china", size=32))
    train, test = next(PixelGridSplit().split(X))
    model = NTKRegressor(**KERNEL, alpha=1e-6, solver=solver,
                         encoder=FourierFeatureTransformer(scale=3.0, random_state=0))
    X32 = X.astype(np.float32)
    a = clone(model).fit(X32[train], y[train])
    b = clone(model).fit(X32[train].astype(np.float64), y[train])
    assert a.encoder_.B_.dtype == np.float64
    pred = a.predict(X32[test])
    assert pred.dtype == np.float64
    assert_allclose(pred, b.predict(X32[test].astype(np.float64)), rtol=1e-10, atol=1e-12)


def test_grid_search_with_memory_decomposes_once_per_fold(data, tmp_path, monkeypatch):
    X, Y, _ = data
    calls = []
    original = dense.Spectrum.from_kernel.__func__

    def counting(cls, K):
        calls.append(K.shape)
        return original(cls, K)

    monkeypatch.setattr(dense.Spectrum, "from_kernel", classmethod(counting))
    grid = {"t": [1.0, 10.0, 100.0, None], "alpha": [0.0, 1e-3], "learning_rate": [1.0, 2.0]}
    search = GridSearchCV(NTKRegressor(**KERNEL, memory=str(tmp_path)), grid,
                          cv=KFold(4), refit=True).fit(X, Y)
    assert len(calls) == 4 + 1  # one per fold, one for the refit on all data
    plain = GridSearchCV(NTKRegressor(**KERNEL), grid, cv=KFold(4)).fit(X, Y)
    assert_allclose(search.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"],
                    rtol=1e-8)


def test_cv_loo_is_exact_at_converged_limit(data):
    X, Y, _ = data
    alphas = [1e-4, 1e-2, 1.0]
    cv_model = NTKRegressorCV(times=[None], alphas=alphas, **KERNEL).fit(X, Y)
    assert list(cv_model.cv_results_["criterion"]) == ["loo"] * 3
    for alpha, score in zip(alphas, cv_model.cv_results_["mean_test_score"]):
        errors = []
        for train, test in LeaveOneOut().split(X):
            model = NTKRegressor(**KERNEL, alpha=alpha).fit(X[train], Y[train])
            errors.append((model.predict(X[test]) - Y[test]) ** 2)
        assert score == pytest.approx(-np.mean(errors), rel=1e-8)


def test_cv_one_criterion_picks_the_brute_force_leave_one_out_choice(rng):
    X = rng.uniform(size=(30, 2))
    y = np.sin(5 * X[:, 0]) * np.cos(3 * X[:, 1]) + 0.1 * rng.normal(size=30)
    times, alphas = [1.0, 10.0, 100.0, None], [1e-4, 1e-2]
    cv_model = NTKRegressorCV(times=times, alphas=alphas, **KERNEL).fit(X, y)
    assert set(cv_model.cv_results_["criterion"]) == {"loo"}
    brute = {}
    for t in times:
        for a in alphas:
            errors = []
            for train, test in LeaveOneOut().split(X):
                m = NTKRegressor(**KERNEL, t=t, alpha=a).fit(X[train], y[train])
                errors.append((m.predict(X[test])[0] - y[test][0]) ** 2)
            brute[t, a] = np.mean(errors)
    assert (cv_model.best_t_, cv_model.best_alpha_) == min(brute, key=brute.get)


def test_cv_scores_equal_models_equally(data):
    """A converged finite time and t=None are one model: one criterion scores them alike
    (leave-one-out for t=None against GCV for finite t scored them -0.519 and -0.885)."""
    X, Y, _ = data
    model = NTKRegressorCV(times=[1e9, None], alphas=[1e-3], **KERNEL).fit(X, Y)
    finite, converged = model.cv_results_["mean_test_score"]
    assert finite == pytest.approx(converged, rel=1e-6)


def test_cv_with_splitter_matches_grid_search(image32):
    X, y, _ = image32
    ff = FourierFeatureTransformer(scale=1.25, n_frequencies=64, random_state=0)
    F = ff.fit_transform(X)
    times, alphas = [10.0, 1e3, None], [1e-6, 1e-2]
    # the splitter reads coordinates, the model sees features: hand over the split itself
    split = list(PixelGridSplit().split(X))
    cv_model = NTKRegressorCV(times=times, alphas=alphas, cv=split, **KERNEL)
    cv_model.fit(F, y)
    search = GridSearchCV(NTKRegressor(**KERNEL), {"t": times, "alpha": alphas},
                          cv=split,
                          scoring="neg_mean_squared_error").fit(F, y)
    assert_allclose(cv_model.cv_results_["mean_test_score"],
                    search.cv_results_["mean_test_score"], rtol=1e-6)
    assert (cv_model.best_t_, cv_model.best_alpha_) == (search.best_params_["t"],
                                                        search.best_params_["alpha"])
    refit = NTKRegressor(**KERNEL, t=cv_model.best_t_, alpha=cv_model.best_alpha_).fit(F, y)
    assert_allclose(cv_model.predict(F[:5]), refit.predict(F[:5]), rtol=1e-7, atol=1e-10)


def test_cv_bad_parameters(data):
    X, Y, _ = data
    with pytest.raises(ValueError, match="at least one"):
        NTKRegressorCV(times=[]).fit(X, Y)
    with pytest.raises(ValueError, match="alphas"):
        NTKRegressorCV(alphas=[-1.0]).fit(X, Y)


def test_paper_encoding_ordering(image32):
    """Fourier-features paper, Table 1 ordering: none < basic < positional <= gaussian.

    Scales are for a 32-pixel training grid (the paper's 256-pixel values / 8).
    """
    X, y, _ = image32
    train, test = next(PixelGridSplit().split(X))
    encoders = {
        "none": FourierFeatureTransformer(encoding="none"),
        "basic": FourierFeatureTransformer(encoding="basic"),
        "positional": FourierFeatureTransformer(encoding="positional", scale=8.0,
                                                n_frequencies=8),
        "gaussian": FourierFeatureTransformer(scale=1.25, n_frequencies=256, random_state=0),
    }
    scores = {}
    for name, enc in encoders.items():
        model = make_pipeline(clone(enc), NTKRegressor(depth=4, weight_std=np.sqrt(2)))
        model.fit(X[train], y[train])
        scores[name] = psnr(y[test], model.predict(X[test]))
    assert scores["none"] < scores["basic"] < scores["positional"] <= scores["gaussian"]
    search = GridSearchCV(make_pipeline(encoders["gaussian"], NTKRegressor()),
                          {"ntkregressor__t": [1e2, None]}, cv=PixelGridSplit(),
                          scoring=psnr_scorer).fit(X, y)
    assert search.best_score_ > 18


@pytest.mark.slow
def test_dense_path_survives_n_16384():
    """A 128 x 128 lattice: where multi-threaded OpenBLAS Cholesky segfaulted (CONVENTIONS 5)."""
    X, y = image_to_regression(load_sample_image("china", size=256))
    train, test = next(PixelGridSplit().split(X))
    enc = FourierFeatureTransformer(scale=5.0, random_state=0)
    direct = NTKRegressor(depth=4, weight_std=np.sqrt(2), alpha=1e-6, solver="cholesky",
                          encoder=enc).fit(X[train], y[train])
    fft = NTKRegressor(depth=4, weight_std=np.sqrt(2), alpha=1e-6, solver="fft", tol=1e-10,
                       encoder=enc).fit(X[train], y[train])
    pred = direct.predict(X[test])
    assert psnr(y[test], pred) > 20
    assert np.abs(pred - fft.predict(X[test])).max() / np.abs(pred).max() < 1e-6


def test_cv_with_encoder_splits_on_coordinates(image32):
    X, y, _ = image32
    enc = FourierFeatureTransformer(scale=1.25, n_frequencies=64, random_state=0)
    times, alphas = [10.0, None], [1e-6, 1e-2]
    inside = NTKRegressorCV(times=times, alphas=alphas, cv=PixelGridSplit(), encoder=enc,
                            **KERNEL).fit(X, y)
    F = clone(enc).fit_transform(X)
    outside = NTKRegressorCV(times=times, alphas=alphas, cv=list(PixelGridSplit().split(X)),
                             **KERNEL).fit(F, y)
    assert_allclose(inside.cv_results_["mean_test_score"],
                    outside.cv_results_["mean_test_score"], rtol=1e-10)
    assert_allclose(inside.predict(X[:7]), outside.predict(F[:7]), rtol=1e-8)


def _brute_force(X, y, times, alphas, scales, enc, **kw):
    return GridSearchCV(NTKRegressor(**kw, encoder=enc),
                        {"t": times, "alpha": alphas, "encoder__scale": scales},
                        cv=PixelGridSplit(), scoring="neg_mean_squared_error").fit(X, y)


def test_cv_scale_search_on_fft_folds_equals_brute_force_grid_search():
    """The issue's acceptance: a 128 x 128 photo, every fold an FFT fit, GridSearchCV's pick."""
    X, y = image_to_regression(load_sample_image("china", size=128))
    enc = FourierFeatureTransformer(random_state=0)
    grid = dict(times=[1e3, 3e4, None], alphas=[1e-6, 1e-2], scales=[2.0, 8.0, 32.0])
    kw = dict(depth=4, weight_std=np.sqrt(2))
    search = NTKRegressorCV(**grid, cv=PixelGridSplit(), encoder=enc, **kw).fit(X, y)
    brute = _brute_force(X, y, grid["times"], grid["alphas"], grid["scales"], enc, **kw)
    assert search.solver_ == "fft" and brute.best_estimator_.solver_ == "fft"
    assert_allclose(search.cv_results_["mean_test_score"], brute.cv_results_["mean_test_score"],
                    rtol=1e-6)
    assert (search.best_t_, search.best_alpha_, search.best_scale_) == (
        brute.best_params_["t"], brute.best_params_["alpha"],
        brute.best_params_["encoder__scale"])
    assert list(search.cv_results_["param_scale"]) == list(
        brute.cv_results_["param_encoder__scale"])
    assert search.encoder_.scale == search.best_scale_
    test = next(PixelGridSplit().split(X))[1]
    assert_allclose(search.predict(X[test]), brute.predict(X[test]), rtol=1e-6, atol=1e-9)


def test_cv_scale_search_dense_paths_and_per_axis_scales(image32):
    X, y, _ = image32
    enc = FourierFeatureTransformer(n_frequencies=64, random_state=0)
    times, alphas, scales = [10.0, None], [1e-4], [0.5, (1.25, 0.5), 4.0]
    split = NTKRegressorCV(times=times, alphas=alphas, scales=scales, cv=PixelGridSplit(),
                           encoder=enc, **KERNEL).fit(X, y)
    assert split.solver_ == "eigh"  # 256 training pixels: dense folds
    brute = _brute_force(X, y, times, alphas, scales, enc, **KERNEL)
    assert_allclose(split.cv_results_["mean_test_score"], brute.cv_results_["mean_test_score"],
                    rtol=1e-7)
    assert split.best_scale_ == brute.best_params_["encoder__scale"]
    # LOO per scale: each scale's rows are the search at that scale alone
    loo = NTKRegressorCV(times=times, alphas=alphas, scales=scales, encoder=enc,
                         **KERNEL).fit(X, y)
    for k, scale in enumerate(scales):
        alone = NTKRegressorCV(times=times, alphas=alphas, encoder=clone(enc).set_params(
            scale=scale), **KERNEL).fit(X, y)
        rows = [i for i, p in enumerate(loo.cv_results_["params"]) if p["scale"] == scale]
        assert_allclose(loo.cv_results_["mean_test_score"][rows],
                        alone.cv_results_["mean_test_score"], rtol=1e-10)
    assert list(loo.cv_results_["criterion"]) == ["loo", "loo"] * len(scales)
    restored = pickle.loads(pickle.dumps(loo))
    assert_allclose(restored.predict(X[:5]), loo.predict(X[:5]), rtol=1e-12)


def test_cv_scale_search_errors(data, image32):
    X, Y, _ = data
    with pytest.raises(ValueError, match="encoder with a scale"):
        NTKRegressorCV(scales=[1.0, 2.0]).fit(X, Y)
    with pytest.raises(ValueError, match="scales must hold"):
        NTKRegressorCV(scales=[], encoder=FourierFeatureTransformer()).fit(X, Y)
    Xc, yc, _ = image32
    with pytest.raises(ValueError, match="scale"):
        NTKRegressorCV(scales=[-1.0], encoder=FourierFeatureTransformer()).fit(Xc, yc)
    with pytest.raises(ValueError, match="solver='fft' needs grid data"):
        NTKRegressorCV(scales=[1.0], solver="fft", cv=3,
                       encoder=FourierFeatureTransformer()).fit(X[:, :2], Y)


def _ensemble_reference(X, Y, Xt, kind, t, alpha, lr=1.0):
    """neural-tangents' gradient_descent_mse_ensemble(..., compute_cov=True), written out.

    With matrix functions (scipy's expm, dense solves) instead of one eigendecomposition,
    as its predict.py: A_s = G~^{-1} (I - exp(-s G~)), s = lr t / N, G~ = G + alpha I;
    the NNGP K of the middle term and of the test blocks carries no alpha.
    """
    from scipy.linalg import expm

    n = len(X)
    G = ntk_kernel(X, **KERNEL, kind=kind) + alpha * np.eye(n)
    K = ntk_kernel(X, **KERNEL, kind="nngp")
    Gt, Kt = ntk_kernel(Xt, X, **KERNEL, kind=kind), ntk_kernel(Xt, X, **KERNEL, kind="nngp")
    Ktt = ntk_kernel(Xt, **KERNEL, kind="nngp")

    def flow(s):
        return np.linalg.inv(G) if s is None else np.linalg.solve(G, np.eye(n) - expm(-s * G))

    s = None if t is None else lr * t / Y.size
    A = flow(s)
    mean = Gt @ A @ Y
    if kind == "nngp":
        cov = Ktt - Kt @ flow(None if s is None else 2 * s) @ Kt.T
    else:
        cov = Ktt + Gt @ A @ K @ A @ Gt.T - Gt @ A @ Kt.T - Kt @ A @ Gt.T
    return mean, cov


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
@pytest.mark.parametrize("solver, t", [(s, t) for s in ("eigh", "cg") for t in (None, 30.0, 1e4)]
                         + [("cholesky", None)])
def test_predictive_distribution_equals_the_ensemble_formulas(data, kind, t, solver):
    X, Y, Xt = data
    model = NTKRegressor(**KERNEL, kernel=kind, t=t, alpha=1e-3, learning_rate=0.7,
                         solver=solver, tol=1e-12).fit(X, Y)
    mean_ref, cov_ref = _ensemble_reference(X, Y, Xt, kind, t, alpha=1e-3, lr=0.7)
    mean, cov = model.predict(Xt, return_cov=True)
    assert_allclose(mean, mean_ref, rtol=1e-6, atol=1e-9)
    assert_allclose(cov, cov_ref, rtol=1e-6, atol=1e-9 * np.abs(cov_ref).max())
    mean_std, std = model.predict(Xt, return_std=True)
    assert_allclose(mean_std, mean)
    assert std.shape == (len(Xt),)  # shared by the three output columns
    assert_allclose(std, np.sqrt(np.diag(cov_ref)), rtol=1e-5)


def test_predictive_distribution_conventions_and_limits(data):
    X, Y, Xt = data
    model = NTKRegressor(**KERNEL, t=50.0).fit(X, Y[:, 0])
    mean, std = model.predict(Xt, return_std=True)
    assert mean.shape == std.shape == (len(Xt),)
    _, cov = model.predict(Xt, return_cov=True)
    assert_allclose(cov, cov.T)
    assert np.linalg.eigvalsh(cov).min() > -1e-10 * np.abs(cov).max()
    assert_allclose(std, np.sqrt(np.diag(cov)), rtol=1e-10)
    with pytest.raises(ValueError, match="At most one of return_std or return_cov"):
        model.predict(Xt, return_std=True, return_cov=True)
    # at initialisation the ensemble is the NNGP prior; trained, it is pinned at the data
    prior = np.sqrt(np.diag(ntk_kernel(Xt, **KERNEL, kind="nngp")))
    _, std0 = NTKRegressor(**KERNEL, t=1e-9).fit(X, Y).predict(Xt, return_std=True)
    assert_allclose(std0, prior, rtol=1e-6)
    for kind in ("nngp", "ntk"):
        _, at_data = NTKRegressor(**KERNEL, kernel=kind, alpha=0.0).fit(X, Y).predict(
            X, return_std=True)
        assert at_data.max() < 1e-4 * prior.max()
    assert np.all(std < prior)


def test_predictive_std_through_trajectory_pipeline_and_pickle(data):
    X, Y, Xt = data
    model = NTKRegressor(**KERNEL, t=20.0, alpha=1e-4).fit(X, Y)
    times = [20.0, 1e3, None]
    traj, stds = model.predict_trajectory(Xt, times, return_std=True)
    assert traj.shape == (3, len(Xt), 3) and stds.shape == (3, len(Xt))
    assert_allclose(stds[0], model.predict(Xt, return_std=True)[1], rtol=1e-10)
    _, std_inf = clone(model).set_params(t=None).fit(X, Y).predict(Xt, return_std=True)
    assert_allclose(stds[2], std_inf, rtol=1e-8)
    # the NNGP posterior's spread only shrinks with training (A_2s grows with s)
    _, nngp = clone(model).set_params(kernel="nngp").fit(X, Y).predict_trajectory(
        Xt, times, return_std=True)
    assert np.all(np.diff(nngp, axis=0) <= 1e-12)
    loaded = pickle.loads(pickle.dumps(model))
    assert_allclose(loaded.predict(Xt, return_std=True)[1], stds[0], rtol=1e-12)
    pipe = make_pipeline(FourierFeatureTransformer(scale=2.0, random_state=0),
                         NTKRegressor(**KERNEL, t=20.0)).fit(X, Y)
    mean, std = pipe.predict(Xt, return_std=True)
    assert mean.shape == (len(Xt), 3) and std.shape == (len(Xt),)


def test_a_failed_fit_leaves_no_fitted_state(rng):
    """encoder_ is what check_is_fitted reads: only a fit that succeeds stores it."""
    from sklearn.exceptions import NotFittedError

    X, y = rng.uniform(size=(30, 2)), rng.normal(size=30)
    model = NTKRegressor(solver="fft", encoder=FourierFeatureTransformer(random_state=0))
    with pytest.raises(ValueError, match="grid data"):
        model.fit(X, y)  # scattered points: no lattice for the FFT solver
    assert not hasattr(model, "encoder_")
    with pytest.raises(NotFittedError):
        model.predict(X)


def _photo_lattice(side=32, scale=2.0):
    X, y = image_to_regression(load_sample_image("china", size=2 * side))
    train, test = next(PixelGridSplit().split(X))
    return X, y, train, test, FourierFeatureTransformer(scale=scale, random_state=0)


@pytest.mark.parametrize("solver", ["fft", "eigh"])
def test_an_exact_std_over_its_time_budget_is_refused_after_a_timed_probe(solver, capsys):
    """No silent long runs: the first points are timed alone and a request whose
    extrapolated cost exceeds the budget is refused with the numbers; within it, the std
    is the same in any blocks, and ``verbose`` counts the points."""
    X, y, train, test, enc = _photo_lattice()
    kw = dict(depth=3, weight_std=np.sqrt(2), alpha=1e-6, encoder=enc, solver=solver,
              std_method="exact")
    model = NTKRegressor(**kw, solver_options={"std_budget_seconds": 1e-6}).fit(
        X[train], y[train])
    with pytest.raises(StdBudgetError, match=r"exact std at 1,024 points would take about "
                       r".*timed on the first 16\), over the 0 s budget .*std_budget_seconds"
                       r".*about 1 points at a time") as refused:
        model.predict(X[test], return_std=True)
    assert isinstance(refused.value, ValueError) and refused.value.points == 1024
    if solver == "fft":       # a whole test lattice has a fast estimate, and it is named
        assert "std_method='auto'" in str(refused.value)
        # points no estimate serves: the refusal says why each declined
        auto = clone(model).set_params(std_method="auto").fit(X[train], y[train])
        with pytest.raises(StdBudgetError, match=r"see why no estimate serves them \(lattice: "
                           r".*whole lattices.*; lanczos: .*kernel='nngp'"):
            auto.predict(np.random.default_rng(0).uniform(size=(600, 2)), return_std=True)
    model.predict(X[test[:16]], return_std=True)           # the probe's size: never refused
    default = NTKRegressor(**kw).fit(X[train], y[train])
    blocks = NTKRegressor(**kw, verbose=1, solver_options={"std_probe_points": 5,
                                                           "variance_block": 7})
    blocks.fit(X[train], y[train])
    capsys.readouterr()
    assert_allclose(blocks.predict(X[test[:40]], return_std=True)[1],
                    default.predict(X[test[:40]], return_std=True)[1], rtol=1e-7)
    assert "exact std" in capsys.readouterr().err        # the bar over the points


def test_std_method_says_what_ran_and_exact_can_be_demanded():
    X, y, train, test, enc = _photo_lattice()
    kw = dict(depth=3, weight_std=np.sqrt(2), alpha=1e-6, encoder=enc)
    fft = NTKRegressor(**kw, solver="fft").fit(X[train], y[train])
    assert fft.solver_info_["std_method"] is None
    _, exact = fft.predict(X[test], return_std=True)        # 1024 points: past 512, estimated
    assert fft.solver_info_["std_method"] == "lattice"
    _, small = fft.predict(X[test[:100]], return_std=True)  # few points: exact
    assert fft.solver_info_["std_method"] == "exact"
    demanded = clone(fft).set_params(std_method="exact").fit(X[train], y[train])
    _, want = demanded.predict(X[test], return_std=True)
    assert demanded.solver_info_["std_method"] == "exact"
    dense = NTKRegressor(**kw, solver="eigh").fit(X[train], y[train])
    assert_allclose(want, dense.predict(X[test], return_std=True)[1], rtol=1e-6)
    assert np.max(np.abs(exact - want) / want) < 0.01     # the estimate's documented bar
    # more exact points through solver_options
    wide = clone(fft).set_params(solver_options={"exact_std_points": 2000})
    wide.fit(X[train], y[train]).predict(X[test], return_std=True)
    assert wide.solver_info_["std_method"] == "exact"
    # an estimate that cannot serve says why
    with pytest.raises(ValueError, match="lanczos.*kernel='nngp' at a finite t"):
        clone(fft).set_params(std_method="lanczos").fit(X[train], y[train]).predict(
            X[test], return_std=True)
    with pytest.raises(ValueError, match="lattice.*solver='eigh' offers no estimate"):
        clone(dense).set_params(std_method="lattice").fit(X[train], y[train]).predict(
            X[test], return_std=True)
    with pytest.raises(ValueError, match="return_cov is exact"):
        clone(fft).set_params(std_method="lattice").fit(X[train], y[train]).predict(
            X[test[:5]], return_cov=True)
    scattered = X[test[:600]] + 0.1 / 64              # off every refinement up to 64
    with pytest.raises(ValueError, match="whole lattices"):
        clone(fft).set_params(std_method="lattice").fit(X[train], y[train]).predict(
            scattered, return_std=True)


def test_solver_info_says_which_preconditioner_ran():
    X, y, train, _, _ = _photo_lattice()
    kw = dict(depth=3, weight_std=np.sqrt(2), alpha=1e-6, solver="fft")
    info = {}
    for scale in (0.5, 100.0):
        model = NTKRegressor(**kw, encoder=FourierFeatureTransformer(scale=scale,
                                                                     random_state=0))
        info[scale] = model.fit(X[train], y[train]).solver_info_
        assert info[scale]["n_iter"] == model.n_iter_ > 0
        assert info[scale]["residual"] == model.residual_ < model.tol
    assert info[100.0]["preconditioner"] == "none"       # narrow kernel: plain CG
    assert info[0.5]["preconditioner"].startswith("circulant")
    forced = NTKRegressor(**kw, encoder=FourierFeatureTransformer(scale=100.0, random_state=0),
                          solver_options={"plain_cg_iterations": 0}).fit(X[train], y[train])
    assert forced.solver_info_["preconditioner"] != "none"
    dense = NTKRegressor(solver="eigh").fit(X[train][:50], y[train][:50])
    assert dense.solver_info_ == {"solver": "eigh", "preconditioner": None, "n_iter": 0,
                                  "residual": None, "std_method": None}


def test_threads_predicting_at_once_agree_with_one():
    """Lazily built solver state (operators, preconditioners, fine-lag kernels) is built
    once under a lock: concurrent predictions on a freshly loaded model are the sequential
    ones."""
    X, y, train, test, enc = _photo_lattice(scale=1.0)
    fitted = NTKRegressor(depth=3, weight_std=np.sqrt(2), alpha=1e-6, t=50.0,
                          encoder=enc).fit(X[train], y[train])
    want = fitted.predict(X[test[:40]], return_std=True)
    loaded = pickle.loads(pickle.dumps(fitted))           # no solver state: built on demand
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: loaded.predict(X[test[:40]], return_std=True),
                                range(4)))
    for mean, std in results:
        assert_allclose(mean, want[0], rtol=1e-12)
        assert_allclose(std, want[1], rtol=1e-9)
