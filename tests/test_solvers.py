"""The scalable solvers (FFT-structured, matrix-free CG) against the dense ones."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skfourier import FourierFeatureTransformer, NTKRegressor
from skfourier._solvers.krylov import Lanczos, solve
from skfourier._solvers import SOLVERS, KernelFunction
from skfourier._solvers import deflation, profiles, structured
from skfourier._solvers.deflation import BoundaryDeflation, boundary_ring, ring_factors
from skfourier._solvers.lines import LineWoodbury
from skfourier._solvers.structured import Grid, ToeplitzKernel, lag_kernel
from skfourier.datasets import (image_to_regression, load_sample_image, make_video,
                                video_to_regression)
from skfourier.kernels import ntk_kernel, stationary_ntk
from skfourier.metrics import psnr_scorer
from skfourier.model_selection import FrameHoldoutSplit, PixelGridSplit

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


@pytest.mark.parametrize("t", TIMES)
@pytest.mark.parametrize("rgb", [True, False])
def test_fft_matches_dense(lattice, dense_reference, t, rgb):
    X, y, train, test = lattice
    enc, reference = dense_reference
    # the prediction is linear in y: one channel of the RGB reference is the 1-D reference
    # at the same flow scale c = t / N, i.e. a third of the time (N = y.size)
    channel = slice(None) if rgb else 1
    target = y[train][:, channel]
    t_run = t if rgb or t is None else t / 3
    fft = NTKRegressor(**EXACT, t=t_run, solver="fft", encoder=enc, tol=1e-11).fit(
        X[train], target)
    assert fft.solver_ == "fft" and fft.n_iter_ > 0 and fft.residual_ < 1e-10
    i = TIMES.index(t)
    for name, idx in (("test", test), ("train", train)):  # shifted and training lattices
        pred = fft.predict(X[idx])
        assert pred.shape == y[idx][:, channel].shape
        assert _rel(pred, reference[name][i][:, channel]) < 1e-6


def test_fft_predicts_full_grid_refinements_and_scattered_points(lattice, rng):
    X, y, train, test = lattice
    enc = FourierFeatureTransformer(scale=2.0, random_state=0)
    dense = NTKRegressor(**KERNEL, solver="cholesky", encoder=enc).fit(X[train], y[train])
    fft = NTKRegressor(**KERNEL, solver="fft", encoder=enc, tol=1e-11).fit(X[train], y[train])
    side = int(round(np.sqrt(len(X))))
    super_res = image_to_regression(np.zeros((3 * side, 3 * side)))[0]  # 3 x finer (x 6 train)
    scattered = rng.uniform(size=(40, 2))
    for points in (X, super_res[::7], scattered):
        assert _rel(fft.predict(points), dense.predict(points)) < 1e-6


def test_fft_trajectory_and_training_curve_match_dense():
    X, y = image_to_regression(load_sample_image("china", size=64))
    train, test = next(PixelGridSplit().split(X))
    enc = FourierFeatureTransformer(scale=1.5, random_state=0)
    times = [1.0, 30.0, 1e3, None]
    dense = NTKRegressor(**KERNEL, solver="eigh", encoder=enc).fit(X[train], y[train])
    fft = NTKRegressor(**KERNEL, solver="fft", encoder=enc, tol=1e-11).fit(X[train], y[train])
    for a, b in zip(fft.predict_trajectory(X[test], times),
                    dense.predict_trajectory(X[test], times)):
        assert _rel(a, b) < 1e-6
    assert_allclose(fft.training_curve(times[:-1]), dense.training_curve(times[:-1]),
                    rtol=1e-6)


def test_fft_on_video_grid():
    X, y = video_to_regression(make_video(n_frames=16, size=8))
    train, test = next(FrameHoldoutSplit(keep_every=5).split(X))
    enc = FourierFeatureTransformer(scale=2.0, random_state=0)
    for t in (None, 50.0):
        dense = NTKRegressor(**KERNEL, t=t, solver="eigh", encoder=enc).fit(X[train], y[train])
        fft = NTKRegressor(**KERNEL, t=t, solver="fft", encoder=enc, tol=1e-11).fit(
            X[train], y[train])
        assert _rel(fft.predict(X[test]), dense.predict(X[test])) < 1e-6


@pytest.mark.parametrize("t", [None, 100.0])
def test_cg_matches_dense_on_scattered_data(rng, t):
    X = rng.uniform(size=(300, 2))
    y = np.column_stack([np.sin(6 * X[:, 0]), np.cos(4 * X[:, 1]), X.sum(1)])
    enc = FourierFeatureTransformer(scale=3.0, random_state=0)
    Xt = rng.uniform(size=(50, 2))
    dense = NTKRegressor(**KERNEL, t=t, solver="eigh", encoder=enc).fit(X, y)
    cg = NTKRegressor(**KERNEL, t=t, solver="cg", encoder=enc, tol=1e-11).fit(X, y)
    assert cg.solver_ == "cg"
    assert _rel(cg.predict(Xt), dense.predict(Xt)) < 1e-6
    assert _rel(cg.predict_trajectory(Xt, [5.0])[0],
                dense.predict_trajectory(Xt, [5.0])[0]) < 1e-6
    # also without an encoder: the matrix-free path works on any features
    F = enc.fit(X).transform(X)
    plain = NTKRegressor(**KERNEL, t=t, solver="cg", tol=1e-11).fit(F, y)
    assert _rel(plain.predict(enc.transform(Xt)), dense.predict(Xt)) < 1e-6


def test_auto_picks_fft_for_large_grids():
    X, y = image_to_regression(load_sample_image("china", size=128))
    train, _ = next(PixelGridSplit().split(X))
    model = NTKRegressor(encoder=FourierFeatureTransformer(scale=2.5, random_state=0))
    assert model.fit(X[train], y[train]).solver_ == "fft"          # 4096 grid points
    assert model.fit(X[train][:4000], y[train][:4000]).solver_ == "cholesky"
    no_enc = NTKRegressor().fit(FourierFeatureTransformer(random_state=0).fit_transform(
        X[train][:500]), y[train][:500])
    assert no_enc.solver_ == "cholesky"


def test_fft_errors_name_the_fix(rng):
    X, y = image_to_regression(load_sample_image("china", size=16))
    with pytest.raises(ValueError, match="encoder=FourierFeatureTransformer"):
        NTKRegressor(solver="fft").fit(X, y)
    for enc in (FourierFeatureTransformer(encoding="none"),
                FourierFeatureTransformer(include_input=True)):
        with pytest.raises(ValueError, match="stationary"):
            NTKRegressor(solver="fft", encoder=enc).fit(X, y)
    scattered = rng.uniform(size=(50, 2))
    with pytest.raises(ValueError, match="grid data"):
        NTKRegressor(solver="fft", encoder=FourierFeatureTransformer()).fit(scattered, y[:50])
    with pytest.raises(ValueError, match="grid data"):
        NTKRegressor(solver="fft", encoder=FourierFeatureTransformer()).fit(X[:-3], y[:-3])


def test_non_convergence_warns_and_reports(lattice):
    X, y, train, _ = lattice
    model = NTKRegressor(**KERNEL, solver="fft", max_iter=2, tol=1e-12,
                         encoder=FourierFeatureTransformer(scale=0.5, random_state=0))
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model.fit(X[train], y[train])
    assert model.n_iter_ == 2 and model.residual_ > 1e-12
    with pytest.warns(ConvergenceWarning, match="Lanczos"):
        model.set_params(t=1e4).fit(X[train], y[train])


def test_encoder_is_tunable_and_pickles(lattice, tmp_path):
    X, y, train, test = lattice
    model = NTKRegressor(**KERNEL, solver="fft", encoder=FourierFeatureTransformer(random_state=0))
    search = GridSearchCV(model, {"encoder__scale": [0.5, 2.0], "t": [1e2, None]},
                          cv=PixelGridSplit(), scoring=psnr_scorer).fit(X, y)
    assert search.best_estimator_.encoder_.scale == search.best_params_["encoder__scale"]
    fitted = search.best_estimator_
    loaded = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(loaded.predict(X[test]), fitted.predict(X[test]))
    assert not hasattr(clone(fitted), "encoder_")


def test_toeplitz_operator_is_the_kernel_matrix():
    X, _ = image_to_regression(np.zeros((5, 7)))
    enc = FourierFeatureTransformer(scale=2.0, n_frequencies=16, random_state=0).fit(X)
    K = ntk_kernel(enc.transform(X), depth=2)
    kernel = KernelFunction(enc, depth=2, weight_std=1.0, bias_std=0.0, kind="ntk")
    grid = Grid(X)
    op = ToeplitzKernel(lag_kernel(kernel, grid.spacing, (5, 7)), (5, 7), 0.0)
    V = np.random.RandomState(0).normal(size=(35, 2))
    assert_allclose(op.matvec(V), K @ V, rtol=1e-9, atol=1e-12)
    # half the lags computed, the rest mirrored: exactly even (the ring split relies on it)
    assert np.array_equal(op.generator, op.generator[::-1, ::-1])


def _toeplitz(shape, scale, alpha=0.0, spacing=None, depth=3, bias_std=0.0, n_frequencies=64):
    """The training operator of a lattice (array order ``shape``) and its dense matrix."""
    enc = FourierFeatureTransformer(scale=scale, n_frequencies=n_frequencies, random_state=0)
    enc.fit(np.zeros((1, len(shape))))
    kernel = KernelFunction(enc, depth=depth, weight_std=np.sqrt(2), bias_std=bias_std,
                            kind="ntk")
    spacing = np.full(len(shape), 1.0 / max(shape)) if spacing is None else spacing
    return ToeplitzKernel(lag_kernel(kernel, spacing, shape), shape, alpha)


def test_boundary_ring_takes_small_faces_first():
    ring, axes = boundary_ring((6, 9), max_points=100)
    mask = np.zeros((6, 9), bool)
    mask.flat[ring] = True
    assert ring.size == 2 * 6 + 2 * 9 - 4 and not mask[1:-1, 1:-1].any()
    assert axes == (1, 0)
    # a clip of 5 frames: the spatial edges of every frame, not the first and last frames
    video = np.zeros((5, 20, 20), bool)
    ring, axes = boundary_ring((5, 20, 20), max_points=1000)
    video.flat[ring] = True
    assert video[:, 0, :].all() and video[:, :, -1].all() and not video[2, 1:-1, 1:-1].any()
    assert sorted(axes) == [1, 2]
    assert boundary_ring((5, 20, 20), max_points=100) is None
    assert boundary_ring((2, 2), max_points=100) is None  # no axis with an interior
    # by default at most a quarter of the grid: here the first and last columns only
    ring, axes = boundary_ring((6, 9))
    assert_allclose(ring, np.sort(np.r_[0:54:9, 8:54:9])) and axes == (1,)
    assert boundary_ring((64, 64))[0].size == 4 * 63


@pytest.mark.parametrize("shape, max_points", [
    ((7, 9), 100),            # image: all four edges, corners from the first face
    ((6, 9), None),           # the first and last columns only
    ((4, 6, 5), 1000),        # video: the spatial edges of every frame
    ((3, 5, 7), 1000),        # every face of a box
])
def test_face_product_is_the_matvec_on_the_ring(shape, max_points, rng):
    op = _toeplitz(shape, scale=2.0, alpha=0.3)
    index, axes = boundary_ring(shape, max_points=max_points)
    V = rng.normal(size=(op.n, 3))
    assert_allclose(op.face_product(index, axes)(V), op.matvec(V)[index], rtol=1e-12,
                    atol=1e-12 * np.abs(V).sum())


@pytest.mark.parametrize("shape", [(24, 20), (5, 16, 12)])   # circulant; exact short axis
def test_fft_operator_keeps_its_vectors_column_major(shape, rng):
    # each channel a contiguous grid for the transforms: the operator's products and CG's
    # iterates stay column-major, whatever layout they are given
    op = _toeplitz(shape, scale=0.5, alpha=1e-3)
    B = rng.normal(size=(op.n, 3))
    for apply in (op.matvec, op.precondition):
        out = apply(np.asfortranarray(B))
        assert out.flags.f_contiguous
        assert_allclose(out, apply(B), rtol=1e-12, atol=1e-12 * np.abs(out).max())
    precond = op.preconditioner(1e-10)
    assert isinstance(precond, BoundaryDeflation)
    X, _, res = solve(op.matvec, np.asfortranarray(B), tol=1e-10, max_iter=500,
                      precond=precond)
    assert X.flags.f_contiguous and np.all(res < 1e-10)
    assert_allclose(op.matvec(X), B, atol=1e-8 * np.abs(B).max())


@pytest.mark.parametrize("shape, max_points", [((3, 5, 7), 100), ((4, 6, 5), 1000), ((12, 9), 100)])
def test_ring_solve_is_the_kernel_on_the_ring_inverted(shape, max_points, rng):
    # three axes: the flat lag strides; the halves of the central symmetry reassembled
    op = _toeplitz(shape, scale=2.0, alpha=0.5)
    ring, axes = boundary_ring(shape, max_points=max_points)
    dense = op.matvec(np.eye(op.n))[np.ix_(ring, ring)]
    deflated = BoundaryDeflation(ring_factors(op.generator, shape, op.alpha, ring),
                                 op.face_product(ring, axes), op.precondition)
    V = rng.normal(size=(ring.size, 3))
    assert_allclose(deflated._ring_solve(V), np.linalg.solve(dense, V), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="centrally symmetric"):
        ring_factors(op.generator, shape, op.alpha, ring[1:])


@pytest.mark.parametrize("shape, scale, spacing", [
    ((48, 48), 0.5, None),                              # image, smooth kernel
    ((5, 24, 24), 0.5, np.array([1 / 24, 1 / 24, 0.2])),  # the seed's smooth video setting
])
def test_deflation_solves_smooth_kernels_exactly_in_few_iterations(shape, scale, spacing, rng):
    op = _toeplitz(shape, scale, spacing=spacing)      # alpha = 0
    precond = op.preconditioner(1e-10)
    assert isinstance(precond, BoundaryDeflation)
    B = rng.normal(size=(op.n, 2))
    X, it, res = solve(op.matvec, B, tol=1e-10, max_iter=2000, precond=precond)
    assert np.all(res < 1e-10)
    assert_allclose(op.matvec(X), B, atol=1e-8 * np.abs(B).max())
    _, it_chan, _ = solve(op.matvec, B, tol=1e-10, max_iter=2000, precond=op.precondition)
    assert 2 * it < it_chan                  # a deflated step costs ~1.5 plain ones: a win


def test_circulant_solve_on_the_real_half_spectrum_is_the_full_one(rng, monkeypatch):
    monkeypatch.setattr(structured, "_EXACT_AXIS", 0)    # the circulant on every axis
    op = _toeplitz((5, 8, 9), scale=1.0, alpha=1e-3)     # odd and even axes
    R = rng.normal(size=(op.n, 2))
    F = np.fft.fftn(R.reshape(op.shape + (2,)), axes=op.axes) / op.chan[..., None]
    full = np.fft.ifftn(F, axes=op.axes)
    assert np.abs(full.imag).max() < 1e-12 * np.abs(full).max()    # a symmetric circulant
    assert_allclose(op.precondition(R), full.real.reshape(op.n, 2), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape, exact", [
    ((10, 64), (0,)), ((64, 64), ()), ((40, 64), ()), ((4, 8, 64), (0, 1)),
    ((64, 4, 8), (1, 2)), ((8, 16, 100), (0,)), ((4, 4), (0,)),
])
def test_exact_axes_are_the_short_ones(shape, exact):
    op = ToeplitzKernel(np.zeros(tuple(2 * n - 1 for n in shape)), shape, 1.0)
    assert op.exact_axes == exact


def _short_axes_preconditioner():
    """A lattice with short axes 0 and 2 (a 28-point block), and its dense preconditioner:
    Toeplitz in the lags along axes 0 and 2, Chan's circulant along axis 1."""
    shape = (4, 40, 7)
    op = _toeplitz(shape, scale=3.0, alpha=0.1)
    gen = structured._chan(op.generator, shape, (1,))
    a, b, c = np.unravel_index(np.arange(op.n), shape)
    M = gen[a[:, None] - a + 3, (b[:, None] - b) % 40, c[:, None] - c + 6] + op.alpha * np.eye(op.n)
    return op, M


def test_short_axes_are_solved_exactly_by_the_preconditioner(rng):
    op, M = _short_axes_preconditioner()
    assert op.exact_axes == (0, 2)
    R = rng.normal(size=(op.n, 2))
    assert_allclose(op.precondition(R), np.linalg.solve(M, R), rtol=1e-9, atol=1e-12)


def test_preconditioner_choice_reads_the_spectrum_it_inverts(monkeypatch):
    op, M = _short_axes_preconditioner()
    # the real FFT keeps half the circulant's frequencies: the same eigenvalues, fewer repeats
    lam, dense = op._approximant_spectrum(), np.linalg.eigvalsh(M)
    assert_allclose([lam.min(), lam.max()], [dense[0], dense[-1]], rtol=1e-9)
    assert np.abs(lam[:, None] - dense[None, :]).min(axis=1).max() < 1e-9 * dense[-1]
    # 11 frames of 96 x 96 (a 101-frame clip, every 10th kept), scale 5: the full circulant
    # wraps the frame axis and predicts < 300 plain CG iterations (measured: 457); the block
    # approximant predicts ~390, so the clip gets the preconditioner
    shape = (11, 96, 96)
    op = _toeplitz(shape, 5.0, alpha=1e-6, spacing=np.array([1 / 96, 1 / 96, 10 / 101]),
                   depth=4, bias_std=1.0, n_frequencies=256)
    plain = structured.plain_cg_iterations
    limit = structured._PLAIN_CG_ITERATIONS
    assert plain(op.chan, 1e-8) < limit < plain(op._approximant_spectrum(), 1e-8)
    monkeypatch.setattr(deflation, "MAX_RING", 10)      # skip building the ring: not the point
    assert op.preconditioner(1e-8) == op.precondition


def test_exact_short_axes_need_fewer_iterations_than_the_circulant(rng, monkeypatch):
    # a smooth 10-frame clip: the ring deflates the spatial edges, and the frame axis is
    # either wrapped by the circulant or kept exact
    shape, spacing = (10, 24, 24), np.array([1 / 24, 1 / 24, 0.1])
    B = rng.normal(size=(int(np.prod(shape)), 2))
    iterations = []
    for exact_axis in (0, structured._EXACT_AXIS):
        monkeypatch.setattr(structured, "_EXACT_AXIS", exact_axis)
        op = _toeplitz(shape, 0.5, alpha=1e-6, spacing=spacing)
        precond = op.preconditioner(1e-10)
        assert isinstance(precond, BoundaryDeflation)
        X, it, res = solve(op.matvec, B, tol=1e-10, max_iter=3000, precond=precond)
        assert np.all(res < 1e-10)
        assert_allclose(op.matvec(X), B, atol=1e-8 * np.abs(B).max())
        iterations.append(it)
    assert 1.3 * iterations[1] < iterations[0], iterations


def test_preconditioner_choice_follows_the_kernel_width(monkeypatch):
    assert _toeplitz((32, 32), scale=100.0).preconditioner(1e-8) is None   # narrow: plain CG
    op = _toeplitz((32, 32), scale=0.5)
    assert isinstance(op.preconditioner(1e-8), BoundaryDeflation)
    assert op.preconditioner(1e-8) is op.preconditioner(1e-8)             # built once per tol
    monkeypatch.setattr(deflation, "MAX_RING", 10)      # no ring fits: the circulant alone
    op = _toeplitz((32, 32), scale=0.5)
    assert op.preconditioner(1e-8) == op.precondition


def _lattice_with_lines(shape, scale, alpha, n_frequencies=16, depth=3, spacing=None):
    """A lattice operator with its spectral lines, and the encoder and spacing behind it."""
    enc = FourierFeatureTransformer(scale=scale, n_frequencies=n_frequencies, random_state=0)
    enc.fit(np.zeros((1, len(shape))))
    kernel = KernelFunction(enc, depth=depth, weight_std=np.sqrt(2), bias_std=0.0, kind="ntk")
    if spacing is None:                                   # per coordinate column
        spacing = np.linspace(0.04, 0.07, len(shape))
    return structured.lattice_operator(kernel, spacing, shape, alpha), enc, spacing


def _dense_lines(enc, spacing, shape, weights):
    """Phi' = [cos, sin](2 pi b_j . x) sqrt(w_j) at the grid's points, in the operator's
    (C) order, straight from the encoder's frequencies; x from the grid's centre."""
    P = np.indices(shape).reshape(len(shape), -1).T[:, ::-1]      # coordinate columns
    P = P - (np.array(shape[::-1]) - 1) / 2
    theta = 2 * np.pi * (P * spacing) @ enc.B_.T
    return np.hstack([np.cos(theta), np.sin(theta)]) * np.sqrt(np.tile(weights, 2))


@pytest.mark.parametrize("shape", [(6, 9), (4, 5, 7), (11,)])
def test_spectral_lines_are_the_kernels_linear_part(shape, rng):
    op, enc, spacing = _lattice_with_lines(shape, scale=3.0, alpha=1e-3)
    lines = op.lines
    # the weights are the kernel's slope in the features' inner product u at u = 0, times
    # a_j^2 / 2m; the lines' lag generator is exactly Phi' Phi'^T
    norm_sq = enc.amplitudes_.sum() / (2 * enc.B_.shape[0])
    du = 1e-3 * norm_sq
    slope = np.diff(stationary_ntk(np.array([-du, du]), norm_sq, depth=3, weight_std=np.sqrt(2)))
    assert_allclose(lines.root ** 2 * 2 * enc.B_.shape[0], slope[0] / (2 * du), rtol=1e-6)
    Phi = _dense_lines(enc, spacing, shape, lines.root ** 2)
    L = ToeplitzKernel(lines.generator, shape, 0.0)
    assert_allclose(L.matvec(np.eye(op.n)), Phi @ Phi.T, atol=1e-12)
    # what far lags keep of the kernel is mostly these lines
    far = np.abs(op.generator - lines.generator).max(), np.abs(op.generator).max()
    assert far[0] < far[1]
    V, Z = rng.normal(size=(op.n, 3)), rng.normal(size=(Phi.shape[1], 3))
    assert_allclose(lines.adjoint(V), Phi.T @ V, atol=1e-12)
    assert_allclose(lines.synthesis(Z), Phi @ Z, atol=1e-12)
    m = lines.m
    assert_allclose(lines.columns(2, 5), Phi[:, np.r_[2:5, m + 2:m + 5]], atol=1e-14)
    # the circulant solve keeps cosines even and sines odd: the folded sums are the full ones
    rest = ToeplitzKernel(op.generator - lines.generator, shape, op.alpha)
    Y = rest.precondition(lines.columns(0, m))
    full = Phi.T @ Y
    assert_allclose(lines.folded_adjoint(Y[:, :m], odd=False), full[:m, :m], atol=1e-12)
    assert_allclose(lines.folded_adjoint(Y[:, m:], odd=True), full[m:, m:], atol=1e-12)
    assert np.abs(full[m:, :m]).max() < 1e-12 * np.abs(full).max()


@pytest.mark.parametrize("shape", [(6, 9), (4, 5, 7), (11,)])   # (4, 5, 7): exact short axes
def test_line_woodbury_inverts_the_circulant_plus_the_lines(shape, rng):
    op, enc, spacing = _lattice_with_lines(shape, scale=3.0, alpha=1e-3)
    rest = ToeplitzKernel(op.generator - op.lines.generator, shape, op.alpha)
    C = np.linalg.inv(rest.precondition(np.eye(op.n)))
    Phi = _dense_lines(enc, spacing, shape, op.lines.root ** 2)
    R = rng.normal(size=(op.n, 3))
    assert_allclose(LineWoodbury(op.lines, rest.precondition)(R),
                    np.linalg.solve(C + Phi @ Phi.T, R), rtol=1e-9, atol=1e-12)


def test_exact_lines_cut_cg_iterations(rng):
    # 128^2 at scale 5 with 16 frequencies: the lines stand ~11x above the circulant
    op, _, _ = _lattice_with_lines((128, 128), scale=5.0, alpha=1e-6, depth=4,
                                   spacing=np.full(2, 1 / 128))
    rest = ToeplitzKernel(op.generator - op.lines.generator, op.shape, op.alpha)
    assert op.lines.contrast(rest.chan) > structured._LINE_CONTRAST
    precond = op.preconditioner(1e-8)
    assert isinstance(precond, BoundaryDeflation)
    assert isinstance(precond.circulant_solve, LineWoodbury)
    B = rng.normal(size=(op.n, 2))
    X, it, res = solve(op.matvec, B, tol=1e-8, max_iter=1000, precond=precond)
    assert np.all(res < 1e-8)
    assert_allclose(op.matvec(X), B, atol=1e-6 * np.abs(B).max())
    circulant_only = BoundaryDeflation.on_ring(op, op.precondition)
    _, it_circulant, _ = solve(op.matvec, B, tol=1e-8, max_iter=1000, precond=circulant_only)
    assert it < 0.7 * it_circulant, (it, it_circulant)       # measured 25 vs 45
    # a wide kernel's lines hide in its smooth part: the circulant alone
    wide, _, _ = _lattice_with_lines((48, 48), scale=0.5, alpha=0.0, spacing=np.full(2, 1 / 48))
    rest = ToeplitzKernel(wide.generator - wide.lines.generator, wide.shape, wide.alpha)
    assert wide.lines.contrast(rest.chan) < 1
    assert not isinstance(wide.preconditioner(1e-8).circulant_solve, LineWoodbury)


def test_fft_with_exact_lines_matches_dense(lattice, dense_reference, monkeypatch):
    # the lines kept exact on every lattice: the same predictions, images and videos (the
    # frames wrapped by the circulant too: lines are kept only where no axis is exact)
    monkeypatch.setattr(structured, "_PLAIN_CG_ITERATIONS", 0)
    monkeypatch.setattr(structured, "_LINE_CONTRAST", 0.0)
    monkeypatch.setattr(structured, "_EXACT_AXIS", 0)

    def lines_kept(model):
        precond = model._solver().toeplitz.preconditioner(model.tol)
        return isinstance(getattr(precond, "circulant_solve", precond), LineWoodbury)

    X, y, train, test = lattice
    enc, reference = dense_reference
    fft = NTKRegressor(**EXACT, solver="fft", encoder=enc, tol=1e-11).fit(X[train], y[train])
    assert lines_kept(fft)
    assert _rel(fft.predict(X[test]), reference["test"][0]) < 1e-6
    Xv, yv = video_to_regression(make_video(n_frames=16, size=8))
    tr, te = next(FrameHoldoutSplit(keep_every=5).split(Xv))
    enc = FourierFeatureTransformer(scale=2.0, random_state=0)
    dense = NTKRegressor(**KERNEL, solver="eigh", encoder=enc).fit(Xv[tr], yv[tr])
    fft = NTKRegressor(**KERNEL, solver="fft", encoder=enc, tol=1e-11).fit(Xv[tr], yv[tr])
    assert lines_kept(fft)
    assert _rel(fft.predict(Xv[te]), dense.predict(Xv[te])) < 1e-6


def test_stationary_ntk_equals_ntk_kernel(rng):
    enc = FourierFeatureTransformer(scale=3.0, n_frequencies=32, random_state=0)
    F = enc.fit_transform(rng.uniform(size=(20, 2)))
    inner = F @ F.T / F.shape[1]
    norm_sq = enc.amplitudes_.sum() / F.shape[1]
    assert_allclose(stationary_ntk(inner, norm_sq, depth=3), ntk_kernel(F, depth=3), rtol=1e-7)
    with pytest.raises(ValueError, match="NaN"):
        stationary_ntk(np.array([np.nan]), norm_sq)
    with pytest.raises(ValueError, match="norm_sq must be >= 0"):
        stationary_ntk(inner, -1.0)


def test_krylov_building_blocks(rng):
    A = rng.normal(size=(60, 60))
    A = A @ A.T / 60 + 0.1 * np.eye(60)
    B = rng.normal(size=(60, 2))
    X, it, res = solve(lambda V: A @ V, B, tol=1e-12, max_iter=500,
                       precond=lambda R: R / np.diag(A)[:, None])
    assert_allclose(X, np.linalg.solve(A, B), rtol=1e-8)
    lam, Q = np.linalg.eigh(A)
    lanczos = Lanczos(lambda V: A @ V, B)
    f = np.exp
    k, _ = lanczos.run([f], tol=1e-13, max_iter=60)
    approx = lanczos.combine(lanczos.coefficients([f], k))[0]
    assert_allclose(approx, Q @ (np.exp(lam)[:, None] * (Q.T @ B)), rtol=1e-9)


def test_fft_non_square_grid_and_points_before_the_origin():
    img = load_sample_image("china")[100:140, 200:256]  # 40 x 56 pixels
    X, y = image_to_regression(img)
    even, odd = next(PixelGridSplit().split(X))
    enc = FourierFeatureTransformer(scale=3.0, random_state=0)
    for t in (None, 30.0):
        # train on the odd lattice: the even lattice lies half a step before its origin
        dense = NTKRegressor(**KERNEL, t=t, solver="eigh", encoder=enc).fit(X[odd], y[odd])
        fft = NTKRegressor(**KERNEL, t=t, solver="fft", encoder=enc, tol=1e-11)
        fft.fit(X[odd], y[odd])
        assert _rel(fft.predict(X[even]), dense.predict(X[even])) < 1e-6


# -- the solver protocol, family by family ------------------------------------------------

def _kernel(encoder=None, depth=3):
    return KernelFunction(encoder, depth=depth, weight_std=np.sqrt(2), bias_std=0.05, kind="ntk")


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_every_solver_family_implements_the_protocol(name, rng):
    """Coefficients, apply, training curve and prediction of each family equal eigh's."""
    if name == "fft":  # a grid (non-square) and a stationary encoder
        X, _ = image_to_regression(np.zeros((12, 16)))
    else:
        X = rng.uniform(size=(150, 2))
    Y = np.column_stack([np.sin(6 * X[:, 0]), np.cos(4 * X[:, 1])])
    enc = FourierFeatureTransformer(scale=2.0, n_frequencies=64, random_state=0).fit(X)
    kernel = _kernel(enc)
    options = dict(alpha=1e-4, tol=1e-12, max_iter=3000)
    reference = SOLVERS["eigh"](kernel, **options).fit(X, Y)
    solver = SOLVERS[name](kernel, **options).fit(X, Y)
    assert solver.name == name
    scales = [np.inf] + ([0.05, 3.0] if solver.finite_times else [])
    coefs = solver.coefficients(scales)
    for got, want in zip(coefs, reference.coefficients(scales)):
        assert _rel(got, want) < 1e-6
    Xt = rng.uniform(size=(30, 2))
    for got, want in zip(solver.predict(Xt, coefs), reference.predict(Xt, coefs)):
        assert _rel(got, want) < 1e-9
    if solver.finite_times:
        V = rng.normal(size=(len(X), 3))  # any right-hand sides: what a variance needs
        for got, want in zip(solver.apply(V, scales), reference.apply(V, scales)):
            assert _rel(got, want) < 1e-7
        assert_allclose(solver.training_mse(scales[1:]), reference.training_mse(scales[1:]),
                        rtol=1e-7)
    else:
        with pytest.raises(ValueError, match="converged limit"):
            solver.coefficients([1.0])
    V = rng.normal(size=(len(X), 2))
    assert _rel(solver.prior_matvec(V), reference.prior_matvec(V)) < 1e-9
    for c in scales:  # the ensemble's variance, and the covariance it is the diagonal of
        var = solver.predictive_variance(Xt, c)
        cov = reference.predictive_variance(Xt, c, full=True)
        assert _rel(var, np.diag(cov)) < 1e-6 and np.all(var > 0)


def _ill_conditioned(seed, d):
    """30 points whose depth-3 NTK has condition numbers 6e2 - 6e6 (issue: cg missed t = 1e4)."""
    X = np.random.RandomState(seed).uniform(-1, 1, size=(30, d))
    y = np.sin(3 * X.sum(1)) + 0.1 * np.random.RandomState(seed + 1).normal(size=30)
    return X, y


@pytest.mark.parametrize("seed, d", [(1, 1), (1, 2), (0, 3)])
def test_krylov_is_exact_at_finite_t_on_ill_conditioned_kernels(seed, d):
    X, y = _ill_conditioned(seed, d)
    params = dict(depth=3, weight_std=np.sqrt(2), bias_std=0.05, alpha=0.0)
    lam = np.linalg.eigvalsh(ntk_kernel(X, depth=3, weight_std=np.sqrt(2), bias_std=0.05))
    assert lam.max() / lam.min() > 500  # the case: 0.085 .. 74.7
    times = [1e2, 1e3, 1e4]
    dense = NTKRegressor(**params, solver="eigh").fit(X, y)
    reference = dense.predict_trajectory(X, times)
    for t, ref in zip(times, reference):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)  # converges: no warning
            cg = NTKRegressor(**params, t=t, solver="cg", tol=1e-10).fit(X, y)
        assert _rel(cg.predict(X), ref) < 1e-6
        assert _rel(cg.dual_coef_, dense.set_params(t=t).fit(X, y).dual_coef_) < 1e-6
    # Lanczos may run past n steps: ghosts of lost orthogonality delay, never stop, convergence
    assert cg.n_iter_ > len(X)


@pytest.mark.slow
def test_matrix_free_exact_at_finite_t_on_64x64_lattice():
    X, y = image_to_regression(load_sample_image("china", size=128))
    train, test = next(PixelGridSplit().split(X))
    # 64 frequencies: the matrix-free matvec recomputes a 4096 x 4096 kernel every time
    enc = FourierFeatureTransformer(scale=1.0, n_frequencies=64, random_state=0)
    times = [1e2, 1e3, 1e4]
    reference = NTKRegressor(**EXACT, solver="eigh", encoder=enc).fit(
        X[train], y[train]).predict_trajectory(X[test], times)
    for t, ref in zip(times, reference):
        for solver in ("cg", "fft"):
            model = NTKRegressor(**EXACT, t=t, solver=solver, encoder=enc, tol=1e-10)
            assert _rel(model.fit(X[train], y[train]).predict(X[test]), ref) < 1e-6


def test_fft_with_per_axis_scales_matches_dense_and_tunes_tuples():
    """Per-axis scales: images (x, y) and videos (x, y, t) on the FFT solver = dense."""
    X, y = image_to_regression(load_sample_image("china")[100:132, 200:240])  # 32 x 40
    train, test = next(PixelGridSplit().split(X))
    enc = FourierFeatureTransformer(scale=(4.0, 1.5), random_state=0)
    for t in (None, 100.0):
        dense = NTKRegressor(**KERNEL, t=t, solver="eigh", encoder=enc).fit(X[train], y[train])
        fft = NTKRegressor(**KERNEL, t=t, solver="fft", encoder=enc, tol=1e-11).fit(
            X[train], y[train])
        assert _rel(fft.predict(X[test]), dense.predict(X[test])) < 1e-6
    Xv, yv = video_to_regression(make_video(n_frames=11, size=8))
    tr, te = next(FrameHoldoutSplit(keep_every=5).split(Xv))
    enc = FourierFeatureTransformer(scale=(3.0, 3.0, 0.5), random_state=0)
    dense = NTKRegressor(**KERNEL, solver="eigh", encoder=enc).fit(Xv[tr], yv[tr])
    fft = NTKRegressor(**KERNEL, solver="fft", encoder=enc, tol=1e-11).fit(Xv[tr], yv[tr])
    assert _rel(fft.predict(Xv[te]), dense.predict(Xv[te])) < 1e-6
    search = GridSearchCV(NTKRegressor(**KERNEL, encoder=FourierFeatureTransformer(
        random_state=0)), {"encoder__scale": [(3.0, 3.0, 0.5), (3.0, 3.0, 3.0)]},
        cv=FrameHoldoutSplit(keep_every=5), scoring=psnr_scorer).fit(Xv, yv)
    assert search.best_params_["encoder__scale"] in [(3.0, 3.0, 0.5), (3.0, 3.0, 3.0)]
    loaded = pickle.loads(pickle.dumps(search.best_estimator_))
    assert np.array_equal(loaded.predict(Xv[te]), search.best_estimator_.predict(Xv[te]))


def test_verbose_shows_progress_over_solver_iterations(capsys):
    X, y = image_to_regression(load_sample_image("china", size=32))
    enc = FourierFeatureTransformer(scale=1.0, random_state=0)
    for t, what in ((None, "fft: conjugate gradients"), (100.0, "fft: Lanczos")):
        NTKRegressor(**KERNEL, t=t, solver="fft", encoder=enc, verbose=1).fit(X, y)
        err = capsys.readouterr().err
        assert what in err and "residual" in err
    NTKRegressor(**KERNEL, solver="fft", encoder=enc).fit(X, y)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
@pytest.mark.parametrize("t", [None, 1e3])
def test_fft_predictive_std_equals_dense(lattice, dense_reference, t, kind):
    """The ensemble's spread with the structured solver: exact, as the mean (the NNGP's at a
    finite t a Lanczos quadrature)."""
    X, y, train, test = lattice
    enc, _ = dense_reference
    kw = dict(**EXACT, kernel=kind, t=t, encoder=enc)
    fft = NTKRegressor(**kw, solver="fft", tol=1e-11).fit(X[train], y[train])
    dense = NTKRegressor(**kw, solver="eigh").fit(X[train], y[train])
    probe = test[::7][:512]  # exact: more scattered points take the NNGP's low-rank path
    _, std = fft.predict(X[probe], return_std=True)
    _, want = dense.predict(X[probe], return_std=True)
    assert_allclose(std, want, rtol=1e-6)


def test_lattice_variance_from_few_exact_values(rng):
    """The separable model is exact on a separable map with its own corners; a bump
    between the centre line's nodes is found; a centrosymmetric map is solved by halves."""
    shape, corner = (40, 36), 4
    i, j = np.ogrid[:40, :36]
    edge = lambda p, n: np.exp(-p) + np.exp(-(n - 1 - p))   # noqa: E731
    truth = 2.0 + edge(i, 40) + edge(j, 36)
    for a in (slice(0, corner), slice(-corner, None)):
        for b in (slice(0, corner), slice(-corner, None)):
            truth[a, b] += rng.uniform(0.1, 0.2, size=(corner, corner))
    truth += 0.5 * np.exp(-0.5 * ((i - 23.0) / 2) ** 2)   # a bump between the first nodes

    def exact(points):
        asked.append(len(points))
        return truth[tuple(points.T)]

    asked = []
    estimate = profiles.LatticeVariance(shape, corner, exact)
    # interpolated where neighbouring nodes differ by less than REFINE_RTOL
    assert_allclose(estimate.fill(), truth, rtol=profiles.REFINE_RTOL)
    assert len(asked) > 1 and estimate.n_solved == sum(asked) < truth.size / 4
    assert estimate.centre == (20, 18)
    # the corners' sides are measured from exact values a corner's side in, at both ends
    assert not np.isnan(estimate.values[[corner, 40 - 1 - corner], 18]).any()
    assert not np.isnan(estimate.values[20, [corner, 36 - 1 - corner]]).any()
    # a map unchanged by p -> (38, 34) - p: the same map from fewer solves
    symmetric = truth[:39, :35] + truth[:39, :35][::-1, ::-1]
    truth = np.pad(symmetric, ((0, 1), (0, 1)), mode="edge")
    asked = []
    half = profiles.LatticeVariance(shape, corner, exact, mirror=(38, 34))
    half.fill()
    whole = profiles.LatticeVariance(shape, corner, exact)
    whole.fill()
    assert half.centre == (19, 17)
    assert_allclose(half.values[~np.isnan(half.values)], truth[~np.isnan(half.values)])
    assert half.n_solved < 0.7 * whole.n_solved
    with pytest.raises(ValueError, match="too small"):
        profiles.LatticeVariance((12, 40), corner, exact)


def test_corner_size_follows_the_kernel_width():
    # corner blocks of twice the kernel's half width: 8 for narrow kernels, more for wide
    sizes = []
    for scale in (100.0, 1.0):
        enc = FourierFeatureTransformer(scale=scale, random_state=0).fit(np.zeros((1, 2)))
        kernel = KernelFunction(enc, depth=3, weight_std=np.sqrt(2), bias_std=0.0, kind="ntk")
        sizes.append(profiles.corner_size(lag_kernel(kernel, np.full(2, 1 / 64), (64, 64))))
    assert sizes[0] == profiles.CORNER and sizes[1] >= 14, sizes


def _std_from_profiles(lattice, kind, t, scale, monkeypatch):
    """The FFT solver's std on every test pixel against eigh's, and whether the separable
    estimate ran (:mod:`skfourier._solvers.profiles`)."""
    X, y, train, test = lattice
    estimates = []

    class Recorded(profiles.LatticeVariance):
        def fill(self):
            estimates.append(self)
            return super().fill()

    monkeypatch.setattr(structured, "LatticeVariance", Recorded)
    kw = dict(**KERNEL, kernel=kind, t=t,
              encoder=FourierFeatureTransformer(scale=scale, random_state=0))
    _, std = NTKRegressor(**kw, solver="fft").fit(X[train], y[train]).predict(
        X[test], return_std=True)
    assert len(estimates) <= 1 and all(e.n_solved < len(test) / 2 for e in estimates)
    _, exact = NTKRegressor(**kw, solver="eigh").fit(X[train], y[train]).predict(
        X[test], return_std=True)
    return np.max(np.abs(std - exact) / exact), bool(estimates)


@pytest.mark.parametrize("kind, t", [("nngp", None), ("ntk", None), ("ntk", 1e3)])
@pytest.mark.parametrize("sharpness", [2.5, 8.0], ids=["medium", "rough"])
def test_fft_std_on_every_test_pixel_from_exact_profiles(lattice, kind, t, sharpness,
                                                         monkeypatch):
    """t = None and the NTK on a whole test lattice: the separable estimate within 1%.

    The issue's bar: <= 1% relative at 64 x 64 (the slow parameter); 32 x 32 by default.
    """
    side = int(len(lattice[2]) ** 0.5)
    error, estimated = _std_from_profiles(lattice, kind, t, sharpness * side / 25, monkeypatch)
    assert estimated and error < 0.01


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_offset_classes_know_the_grid_inversion(stride):
    """Each class's mirror sums map a point to its image through the training grid's centre,
    strided subsets of a class too; None when no point's image lies in the class."""
    X, y = image_to_regression(np.zeros((24, 20, 3)))
    r, c = np.divmod(np.arange(len(X)), 20)

    def every(step, offset):
        return np.flatnonzero((r % step == offset) & (c % step == offset))

    kernel = KernelFunction(FourierFeatureTransformer(random_state=0).fit(X), depth=2,
                            weight_std=1.0, bias_std=0.0, kind="ntk")
    mirrored = []
    for spacing, test in ((2, [every(2 * stride, 1), every(2 * stride, 0)]),
                          (3, [every(3, 1)])):
        train = every(spacing, 0)
        solver = SOLVERS["fft"](kernel).fit(X[train], y[train])
        centre = X[train].min(axis=0) + X[train].max(axis=0)
        classes = solver._offset_classes(X[np.concatenate(test)])
        assert len(classes) == len(test)
        for rows, position, shape, mirror in classes:
            points = X[np.concatenate(test)][rows]
            images = {tuple(np.round(p, 9)) for p in centre - points}
            landing = [tuple(np.round(p, 9)) in images for p in points]
            mirrored.append(mirror is not None)
            if mirror is None:
                assert not any(landing)
                continue
            at = np.full(shape, -1)
            at[tuple(position.T)] = np.arange(len(rows))
            image = mirror - position
            inside = np.all((image >= 0) & (image < shape), axis=1)
            assert inside.sum() >= len(rows) // 2 and inside.tolist() == landing
            assert_allclose(points[at[tuple(image[inside].T)]], centre - points[inside],
                            atol=1e-12)
    # classes in offset order (the training points' first): the papers' split mirrors onto
    # itself, and so does its held-out lattice every 2nd point; every 3rd, or every 2nd
    # training point, does not; nor does the 1/3 class (onto the 2/3 one)
    assert mirrored == {1: [True, True], 2: [False, True], 3: [False, False]}[stride] + [False]


def test_fft_std_on_training_and_held_out_pixels_at_once():
    # the whole image: four offset classes, one of them the training points (std ~0)
    X, y = image_to_regression(load_sample_image("china", size=64))
    train, _ = next(PixelGridSplit().split(X))
    kw = dict(**KERNEL, encoder=FourierFeatureTransformer(scale=4.0, random_state=0))
    _, std = NTKRegressor(**kw, solver="fft").fit(X[train], y[train]).predict(
        X, return_std=True)
    _, exact = NTKRegressor(**kw, solver="eigh").fit(X[train], y[train]).predict(
        X, return_std=True)
    assert np.all(np.isfinite(std))
    assert np.max(np.abs(std - exact)) < 0.01 * exact.max()
    assert np.max(std[train]) < 0.01 * exact.max()


@pytest.mark.slow
def test_fft_std_from_profiles_with_a_kernel_as_wide_as_the_image(monkeypatch):
    """Scale 1 on 64 x 64, the NTK at a finite t: 8 x 8 corners were 1.6% off; the kernel's
    half width asks for 16 x 16 (measured 0.12%)."""
    X, y = image_to_regression(load_sample_image("china", size=128))
    train, test = next(PixelGridSplit().split(X))
    error, estimated = _std_from_profiles((X, y, train, test), "ntk", 1e3, 1.0, monkeypatch)
    assert estimated and error < 0.01


@pytest.mark.parametrize("sharpness", [1.0, 8.0], ids=["smooth", "rough"])
def test_fft_nngp_std_on_every_test_pixel_is_within_one_percent(lattice, sharpness):
    """The low-rank (LOVE) NNGP posterior std on scattered test pixels against the exact one.

    The issue's bar: <= 1% relative at 64 x 64 (the slow parameter); 32 x 32 by default.
    """
    X, y, train, test = lattice
    # no whole lattice, so no estimate from profiles
    test = np.sort(np.random.default_rng(0).permutation(test)[:len(test) * 3 // 4])
    side = int(len(train) ** 0.5)
    enc = FourierFeatureTransformer(scale=sharpness * side / 25, random_state=0)
    t = 1e3 / (48 * 48 * 3) * y[train].size  # the demo's flow scale
    kw = dict(**KERNEL, kernel="nngp", t=t, encoder=enc)
    fft = NTKRegressor(**kw, solver="fft").fit(X[train], y[train])
    assert len(test) > 512  # past the exact limit: the low-rank path
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        _, std = fft.predict(X[test], return_std=True)
    _, exact = NTKRegressor(**kw, solver="eigh").fit(X[train], y[train]).predict(
        X[test], return_std=True)
    assert np.max(np.abs(std - exact) / exact) < 0.01
