"""The lattice family (:mod:`skfourier._solvers.lattice`): grid, lag kernel, FFT operator,
preconditioners and the whole-lattice std estimate, against dense references."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_val_score, train_test_split

from skfourier import FourierFeatureTransformer, NTKRegressor, NTKRegressorCV, SolverSettings
from skfourier._solvers import SOLVERS, KernelFunction
from skfourier._solvers.krylov import solve
from skfourier._solvers.lattice import variance
from skfourier._solvers.lattice.deflation import (BoundaryDeflation, boundary_ring,
                                                  ring_factors, ring_limit)
from skfourier._solvers.lattice.grid import Grid
from skfourier._solvers.lattice.lags import frame_operator, lag_kernel, lattice_operator
from skfourier._solvers.lattice.lines import LineWoodbury
from skfourier._solvers.lattice.operator import ToeplitzKernel
from skfourier._solvers.lattice.precond import (Circulant, chan_generator, choose,
                                                plain_cg_iterations)
from skfourier._solvers.lattice.variance import LatticeVariance, corner_size
from skfourier.datasets import (grid_coordinates, image_to_regression, load_sample_image,
                                make_video, video_to_regression)
from skfourier.kernels import ntk_kernel, stationary_ntk
from skfourier.model_selection import FrameHoldoutSplit, PixelGridSplit

from conftest import EXACT, KERNEL, _rel

SETTINGS = SolverSettings()


def _circulant(op, **options):
    """The circulant preconditioner of a lattice operator, ``options`` over the settings."""
    return Circulant(op.generator, op.shape, op.alpha, SolverSettings(**options))


def test_toeplitz_operator_is_the_kernel_matrix():
    X, _ = image_to_regression(np.zeros((5, 7)))
    enc = FourierFeatureTransformer(scale=2.0, n_frequencies=16, random_state=0).fit(X)
    K = ntk_kernel(enc.transform(X), depth=2)
    kernel = KernelFunction(enc, depth=2, weight_std=1.0, bias_std=0.0, kind="ntk")
    grid = Grid(X)
    assert grid.shape == (5, 7)  # array order: rows, then columns
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
    ring, axes = boundary_ring((6, 9), 100)
    mask = np.zeros((6, 9), bool)
    mask.flat[ring] = True
    assert ring.size == 2 * 6 + 2 * 9 - 4 and not mask[1:-1, 1:-1].any()
    assert axes == (1, 0)
    # a clip of 5 frames: the spatial edges of every frame, not the first and last frames
    video = np.zeros((5, 20, 20), bool)
    ring, axes = boundary_ring((5, 20, 20), 1000)
    video.flat[ring] = True
    assert video[:, 0, :].all() and video[:, :, -1].all() and not video[2, 1:-1, 1:-1].any()
    assert sorted(axes) == [1, 2]
    assert boundary_ring((5, 20, 20), 100) is None
    assert boundary_ring((2, 2), 100) is None  # no axis with an interior
    # at most a quarter of the grid: here the first and last columns only
    ring, axes = boundary_ring((6, 9), ring_limit((6, 9), SETTINGS.max_ring))
    assert_allclose(ring, np.sort(np.r_[0:54:9, 8:54:9])) and axes == (1,)
    assert boundary_ring((64, 64), ring_limit((64, 64), SETTINGS.max_ring))[0].size == 4 * 63


@pytest.mark.parametrize("shape, max_points", [
    ((7, 9), 100),            # image: all four edges, corners from the first face
    ((6, 9), 13),             # the first and last columns only
    ((4, 6, 5), 1000),        # video: the spatial edges of every frame
    ((3, 5, 7), 1000),        # every face of a box
])
def test_face_product_is_the_matvec_on_the_ring(shape, max_points, rng):
    op = _toeplitz(shape, scale=2.0, alpha=0.3)
    index, axes = boundary_ring(shape, max_points)
    V = rng.normal(size=(op.n, 3))
    assert_allclose(op.face_product(index, axes)(V), op.matvec(V)[index], rtol=1e-12,
                    atol=1e-12 * np.abs(V).sum())


@pytest.mark.parametrize("shape", [(24, 20), (5, 16, 12)])   # circulant; exact short axis
def test_fft_operator_keeps_its_vectors_column_major(shape, rng):
    # each channel a contiguous grid for the transforms: the operator's products and CG's
    # iterates stay column-major, whatever layout they are given
    op = _toeplitz(shape, scale=0.5, alpha=1e-3)
    B = rng.normal(size=(op.n, 3))
    for apply in (op.matvec, _circulant(op)):
        out = apply(np.asfortranarray(B))
        assert out.flags.f_contiguous
        assert_allclose(out, apply(B), rtol=1e-12, atol=1e-12 * np.abs(out).max())
    name, precond = choose(op, 1e-10, SETTINGS)
    assert name.endswith("boundary deflation")
    assert isinstance(precond, BoundaryDeflation)
    X, _, res = solve(op.matvec, np.asfortranarray(B), tol=1e-10, max_iter=500,
                      precond=precond)
    assert X.flags.f_contiguous and np.all(res < 1e-10)
    assert_allclose(op.matvec(X), B, atol=1e-8 * np.abs(B).max())


@pytest.mark.parametrize("shape, max_points", [((3, 5, 7), 100), ((4, 6, 5), 1000), ((12, 9), 100)])
def test_ring_solve_is_the_kernel_on_the_ring_inverted(shape, max_points, rng):
    # three axes: the flat lag strides; the halves of the central symmetry reassembled
    op = _toeplitz(shape, scale=2.0, alpha=0.5)
    ring, axes = boundary_ring(shape, max_points)
    dense = op.matvec(np.eye(op.n))[np.ix_(ring, ring)]
    deflated = BoundaryDeflation(ring_factors(op.generator, shape, op.alpha, ring),
                                 op.face_product(ring, axes), _circulant(op))
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
    name, precond = choose(op, 1e-10, SETTINGS)
    assert name.endswith("boundary deflation")
    assert isinstance(precond, BoundaryDeflation)
    B = rng.normal(size=(op.n, 2))
    X, it, res = solve(op.matvec, B, tol=1e-10, max_iter=2000, precond=precond)
    assert np.all(res < 1e-10)
    assert_allclose(op.matvec(X), B, atol=1e-8 * np.abs(B).max())
    _, it_chan, _ = solve(op.matvec, B, tol=1e-10, max_iter=2000, precond=_circulant(op))
    assert 2 * it < it_chan                  # a deflated step costs ~1.5 plain ones: a win


def test_circulant_solve_on_the_real_half_spectrum_is_the_full_one(rng):
    op = _toeplitz((5, 8, 9), scale=1.0, alpha=1e-3)     # odd and even axes
    circulant = _circulant(op, exact_axis=0)              # the circulant on every axis
    assert circulant.exact_axes == ()
    R = rng.normal(size=(op.n, 2))
    F = np.fft.fftn(R.reshape(op.shape + (2,)), axes=op.axes) / circulant.chan[..., None]
    full = np.fft.ifftn(F, axes=op.axes)
    assert np.abs(full.imag).max() < 1e-12 * np.abs(full).max()    # a symmetric circulant
    assert_allclose(circulant(R), full.real.reshape(op.n, 2), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape, exact", [
    ((10, 64), (0,)), ((64, 64), ()), ((40, 64), ()), ((4, 8, 64), (0, 1)),
    ((64, 4, 8), (1, 2)), ((8, 16, 100), (0,)), ((4, 4), (0,)),
])
def test_exact_axes_are_the_short_ones(shape, exact):
    op = ToeplitzKernel(np.zeros(tuple(2 * n - 1 for n in shape)), shape, 1.0)
    assert _circulant(op).exact_axes == exact


def _short_axes_preconditioner():
    """A lattice with short axes 0 and 2 (a 28-point block), and its dense preconditioner:
    Toeplitz in the lags along axes 0 and 2, Chan's circulant along axis 1."""
    shape = (4, 40, 7)
    op = _toeplitz(shape, scale=3.0, alpha=0.1)
    gen = chan_generator(op.generator, shape, (1,))
    a, b, c = np.unravel_index(np.arange(op.n), shape)
    M = gen[a[:, None] - a + 3, (b[:, None] - b) % 40, c[:, None] - c + 6] + op.alpha * np.eye(op.n)
    return op, M


@pytest.mark.parametrize("shape", [(9, 7), (5, 6, 4)])
def test_cross_kernel_off_the_grid_is_the_features_kernel(shape, rng):
    """Points off every refinement of the grid, and points on one whose fine-lag kernel would
    exceed its budget: the exponential sums over the grid (no features of its points)."""
    X = grid_coordinates(shape[::-1])
    enc = FourierFeatureTransformer(scale=3.0, n_frequencies=32, random_state=0)
    solver = NTKRegressor(solver="fft", depth=3, encoder=enc).fit(
        X, rng.normal(size=len(X)))._solver()
    off = rng.random((5, len(shape)))
    on = X[[0, len(X) - 1]] + 0.5 * (X[1] - X[0])      # a 2x refinement, within budget
    for kind in ("ntk", "nngp"):
        kernel = solver.kernel.with_kind(kind)
        for points in (off, on):
            assert_allclose(solver.cross_kernel(kernel, points), kernel(solver.X, points),
                            rtol=1e-10, atol=1e-12)
        tight = NTKRegressor(solver="fft", depth=3, encoder=enc,
                             solver_options={"max_fine_factor": 2}).fit(
            X, rng.normal(size=len(X)))._solver()
        assert tight.grid.locate(on, 2) is not None
        assert_allclose(tight.cross_kernel(kernel, on), kernel(tight.X, on), rtol=1e-10,
                        atol=1e-12)


def test_short_axes_are_solved_exactly_by_the_preconditioner(rng):
    op, M = _short_axes_preconditioner()
    assert _circulant(op).exact_axes == (0, 2)
    R = np.asfortranarray(rng.normal(size=(op.n, 2)))
    Z = _circulant(op)(R)
    assert_allclose(Z, np.linalg.solve(M, R), rtol=1e-9, atol=1e-12)
    # column-major as CG's other vectors: its products do not stride over the columns
    assert Z.flags.f_contiguous


def test_preconditioner_choice_reads_the_spectrum_it_inverts():
    op, M = _short_axes_preconditioner()
    # the real FFT keeps half the circulant's frequencies: the same eigenvalues, fewer repeats
    lam, dense = _circulant(op).spectrum(), np.linalg.eigvalsh(M)
    assert_allclose([lam.min(), lam.max()], [dense[0], dense[-1]], rtol=1e-9)
    assert np.abs(lam[:, None] - dense[None, :]).min(axis=1).max() < 1e-9 * dense[-1]
    # 11 frames of 96 x 96 (a 101-frame clip, every 10th kept), scale 5: the full circulant
    # wraps the frame axis and predicts < 300 plain CG iterations (measured: 457); the block
    # approximant predicts ~390, so the clip gets the preconditioner
    shape = (11, 96, 96)
    op = _toeplitz(shape, 5.0, alpha=1e-6, spacing=np.array([1 / 96, 1 / 96, 10 / 101]),
                   depth=4, bias_std=1.0, n_frequencies=256)
    circulant, limit = _circulant(op), SETTINGS.plain_cg_iterations
    assert plain_cg_iterations(circulant.chan, 1e-8) < limit < plain_cg_iterations(
        circulant.spectrum(), 1e-8)
    # no ring (not the point here): the block circulant, named
    name, precond = choose(op, 1e-8, SolverSettings(max_ring=10))
    assert name == "circulant with exact short axes" and isinstance(precond, Circulant)


def test_exact_short_axes_need_fewer_iterations_than_the_circulant(rng):
    # a smooth 10-frame clip: the ring deflates the spatial edges, and the frame axis is
    # either wrapped by the circulant or kept exact
    shape, spacing = (10, 24, 24), np.array([1 / 24, 1 / 24, 0.1])
    B = rng.normal(size=(int(np.prod(shape)), 2))
    iterations = []
    for exact_axis in (0, SETTINGS.exact_axis):
        op = _toeplitz(shape, 0.5, alpha=1e-6, spacing=spacing)
        _, precond = choose(op, 1e-10, SolverSettings(exact_axis=exact_axis))
        assert isinstance(precond, BoundaryDeflation)
        X, it, res = solve(op.matvec, B, tol=1e-10, max_iter=3000, precond=precond)
        assert np.all(res < 1e-10)
        assert_allclose(op.matvec(X), B, atol=1e-8 * np.abs(B).max())
        iterations.append(it)
    assert 1.3 * iterations[1] < iterations[0], iterations


def test_preconditioner_choice_follows_the_kernel_width():
    narrow = choose(_toeplitz((32, 32), scale=100.0), 1e-8, SETTINGS)
    assert narrow == ("none", None)                                       # plain CG
    op = _toeplitz((32, 32), scale=0.5)
    name, precond = choose(op, 1e-8, SETTINGS)
    # a 32-point axis is short enough to stay exact in the preconditioner
    assert name == "circulant with exact short axes + boundary deflation"
    assert isinstance(precond, BoundaryDeflation)
    name, precond = choose(op, 1e-8, SolverSettings(max_ring=10))  # no ring fits
    assert name == "circulant with exact short axes" and isinstance(precond, Circulant)
    name, _ = choose(op, 1e-8, SolverSettings(exact_axis=0))
    assert name == "circulant + boundary deflation"
    # forced: a narrow kernel preconditioned too
    assert choose(_toeplitz((32, 32), scale=100.0), 1e-8,
                  SolverSettings(plain_cg_iterations=0))[0] != "none"


def _lattice_with_lines(shape, scale, alpha, n_frequencies=16, depth=3, spacing=None):
    """A lattice operator with its spectral lines, and the encoder and spacing behind it."""
    enc = FourierFeatureTransformer(scale=scale, n_frequencies=n_frequencies, random_state=0)
    enc.fit(np.zeros((1, len(shape))))
    kernel = KernelFunction(enc, depth=depth, weight_std=np.sqrt(2), bias_std=0.0, kind="ntk")
    if spacing is None:                                   # per coordinate column
        spacing = np.linspace(0.04, 0.07, len(shape))
    # the grid's points in coordinate columns (x, y[, t]), the first column fastest
    grid = Grid(np.indices(shape).reshape(len(shape), -1).T[:, ::-1] * spacing)
    return lattice_operator(kernel, grid, alpha, SETTINGS), enc, spacing


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
    Y = _circulant(rest)(lines.columns(0, m))
    full = Phi.T @ Y
    assert_allclose(lines.folded_adjoint(Y[:, :m], odd=False), full[:m, :m], atol=1e-12)
    assert_allclose(lines.folded_adjoint(Y[:, m:], odd=True), full[m:, m:], atol=1e-12)
    assert np.abs(full[m:, :m]).max() < 1e-12 * np.abs(full).max()


@pytest.mark.parametrize("shape", [(6, 9), (4, 5, 7), (11,)])   # (4, 5, 7): exact short axes
def test_line_woodbury_inverts_the_circulant_plus_the_lines(shape, rng):
    op, enc, spacing = _lattice_with_lines(shape, scale=3.0, alpha=1e-3)
    rest = _circulant(ToeplitzKernel(op.generator - op.lines.generator, shape, op.alpha))
    C = np.linalg.inv(rest(np.eye(op.n)))
    Phi = _dense_lines(enc, spacing, shape, op.lines.root ** 2)
    R = rng.normal(size=(op.n, 3))
    assert_allclose(LineWoodbury(op.lines, rest)(R),
                    np.linalg.solve(C + Phi @ Phi.T, R), rtol=1e-9, atol=1e-12)


def test_exact_lines_cut_cg_iterations(rng):
    # 128^2 at scale 5 with 16 frequencies: the lines stand ~11x above the circulant
    op, _, _ = _lattice_with_lines((128, 128), scale=5.0, alpha=1e-6, depth=4,
                                   spacing=np.full(2, 1 / 128))
    rest = _circulant(ToeplitzKernel(op.generator - op.lines.generator, op.shape, op.alpha))
    assert op.lines.contrast(rest.chan) > SETTINGS.line_contrast
    # too small a lattice to repay the lines' set-up by default; taken without the size rule
    assert choose(op, 1e-8, SETTINGS)[0] == "circulant + boundary deflation"
    name, precond = choose(op, 1e-8, SolverSettings(line_points=0))
    assert name == "circulant + spectral lines + boundary deflation"
    assert isinstance(precond, BoundaryDeflation)
    assert isinstance(precond.circulant_solve, LineWoodbury)
    B = rng.normal(size=(op.n, 2))
    X, it, res = solve(op.matvec, B, tol=1e-8, max_iter=1000, precond=precond)
    assert np.all(res < 1e-8)
    assert_allclose(op.matvec(X), B, atol=1e-6 * np.abs(B).max())
    circulant_only = BoundaryDeflation.on_ring(op, _circulant(op), SETTINGS.max_ring)
    _, it_circulant, _ = solve(op.matvec, B, tol=1e-8, max_iter=1000, precond=circulant_only)
    assert it < 0.7 * it_circulant, (it, it_circulant)       # measured 25 vs 45
    # a wide kernel's lines hide in its smooth part: the circulant alone
    wide, _, _ = _lattice_with_lines((48, 48), scale=0.5, alpha=0.0, spacing=np.full(2, 1 / 48))
    rest = _circulant(ToeplitzKernel(wide.generator - wide.lines.generator, wide.shape,
                                     wide.alpha))
    assert wide.lines.contrast(rest.chan) < 1
    assert choose(wide, 1e-8, SETTINGS)[0] == "circulant + boundary deflation"


def test_fft_with_exact_lines_matches_dense(lattice, dense_reference):
    # the lines kept exact on every lattice: the same predictions, images and videos (the
    # frames wrapped by the circulant too: lines are kept only where no axis is exact)
    forced = dict(plain_cg_iterations=0, line_contrast=0.0, exact_axis=0)

    def lines_kept(model):
        return "spectral lines" in model.solver_info_["preconditioner"]

    X, y, train, test = lattice
    enc, reference = dense_reference
    fft = NTKRegressor(**EXACT, solver="fft", encoder=enc, tol=1e-11,
                       solver_options=forced).fit(X[train], y[train])
    assert lines_kept(fft)
    assert _rel(fft.predict(X[test]), reference["test"][0]) < 1e-6
    Xv, yv = video_to_regression(make_video(n_frames=16, size=8))
    tr, te = next(FrameHoldoutSplit(keep_every=5).split(Xv))
    enc = FourierFeatureTransformer(scale=2.0, random_state=0)
    dense = NTKRegressor(**KERNEL, solver="eigh", encoder=enc).fit(Xv[tr], yv[tr])
    fft = NTKRegressor(**KERNEL, solver="fft", encoder=enc, tol=1e-11,
                       solver_options=forced).fit(Xv[tr], yv[tr])
    assert lines_kept(fft)
    assert _rel(fft.predict(Xv[te]), dense.predict(Xv[te])) < 1e-6


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
    estimate = LatticeVariance(shape, corner, exact)
    # interpolated where neighbouring nodes differ by less than refine_rtol
    assert_allclose(estimate.fill(), truth, rtol=SETTINGS.refine_rtol)
    assert len(asked) > 1 and estimate.n_solved == sum(asked) < truth.size / 4
    assert estimate.centre == (20, 18)
    # the corners' sides are measured from exact values a corner's side in, at both ends
    assert not np.isnan(estimate.values[[corner, 40 - 1 - corner], 18]).any()
    assert not np.isnan(estimate.values[20, [corner, 36 - 1 - corner]]).any()
    # a map unchanged by p -> (38, 34) - p: the same map from fewer solves
    symmetric = truth[:39, :35] + truth[:39, :35][::-1, ::-1]
    truth = np.pad(symmetric, ((0, 1), (0, 1)), mode="edge")
    asked = []
    half = LatticeVariance(shape, corner, exact, mirror=(38, 34))
    half.fill()
    whole = LatticeVariance(shape, corner, exact)
    whole.fill()
    assert half.centre == (19, 17)
    assert_allclose(half.values[~np.isnan(half.values)], truth[~np.isnan(half.values)])
    assert half.n_solved < 0.7 * whole.n_solved
    with pytest.raises(ValueError, match="too small"):
        LatticeVariance((12, 40), corner, exact)


def test_lattice_variance_of_a_hole_from_few_exact_values():
    """Over a hole, information from two edges adds up: 1/var is separable (exact here but
    for the corners, which are solved as far as the model misses them)."""
    shape, corner = (40, 36), 4
    i, j = np.ogrid[:40, :36]
    info = lambda p, n: 1.0 + 3 * np.exp(-p) + 3 * np.exp(-(n - 1 - p))   # noqa: E731
    truth = 1.0 / (info(i, 40) + info(j, 36) - 1.0)
    truth[:2, :2] *= 1.05                       # two steps of each corner off the model
    truth[-2:, -2:] *= 1.05
    truth[:2, -2:] *= 1.05
    truth[-2:, :2] *= 1.05

    def exact(points):
        return truth[tuple(points.T)]

    estimate = LatticeVariance(shape, corner, exact, hole=True)
    assert_allclose(estimate.fill(), truth, rtol=SETTINGS.refine_rtol)
    assert estimate.n_solved < truth.size / 8
    solved = ~np.isnan(estimate.values)
    assert solved[:2, :2].all() and not solved[2:4, 2:4].all()   # blocks end at the model


@pytest.mark.parametrize("kind, t, scale", [("ntk", None, 2.0), ("nngp", 100.0, 4.0)])
def test_std_over_a_hole_in_a_masked_grid_is_estimated_within_one_percent(kind, t, scale):
    """Every missing pixel of an inpainting problem (a 32^2 hole in a 48^2 photo): the hole
    estimate (few exact solves, checked at random points) within 1% of eigh's std."""
    X, y = image_to_regression(load_sample_image("china", size=48))
    rows, cols = np.divmod(np.arange(48 * 48), 48)
    hole = (rows >= 9) & (rows < 41) & (cols >= 7) & (cols < 39)
    train, test = np.flatnonzero(~hole), np.flatnonzero(hole)
    encoder = FourierFeatureTransformer(scale=scale, random_state=0)
    kw = dict(**KERNEL, kernel=kind, t=t, encoder=encoder)
    fft = NTKRegressor(**kw, solver="fft").fit(X[train], y[train])
    _, std = fft.predict(X[test], return_std=True)
    assert fft.solver_info_["std_method"] == "lattice"
    _, exact = NTKRegressor(**kw, solver="eigh").fit(X[train], y[train]).predict(
        X[test], return_std=True)
    assert np.max(np.abs(std - exact) / exact) < 0.01


def test_hole_std_estimate_serves_holes_only_and_checks_itself():
    X, y = image_to_regression(load_sample_image("china", size=32))
    rows, cols = np.divmod(np.arange(32 * 32), 32)
    hole = (rows >= 9) & (rows < 21) & (cols >= 7) & (cols < 19)
    train, test = np.flatnonzero(~hole), np.flatnonzero(hole)
    # a narrow kernel and small corners, so that a 12^2 hole is estimated
    options = {"corner": 2, "exact_std_points": 0}
    model = NTKRegressor(**KERNEL, solver="fft", std_method="lattice", solver_options=options,
                         encoder=FourierFeatureTransformer(scale=16.0, random_state=0))
    model.fit(X[train], y[train])
    _, std = model.predict(X[test], return_std=True)
    assert model.solver_info_["std_method"] == "lattice"
    for rows_ in (np.arange(len(X)), test[test % 5 > 0]):   # known pixels too; no rectangle
        with pytest.raises(ValueError, match="one rectangular hole"):
            model.predict(X[rows_], return_std=True)
    narrow = clone(model).set_params(solver_options=None).fit(X[train], y[train])
    with pytest.raises(ValueError, match="needs a hole of at least 32 x 32 pixels at this "
                                         "kernel width.*got 12 x 12"):
        narrow.predict(X[test], return_std=True)
    # a check it cannot pass: "lattice" says so, "auto" goes on to the exact std
    model.set_params(solver_options={**options, "hole_check_rtol": 0.0}).fit(X[train], y[train])
    with pytest.raises(ValueError, match=r"missed the exact std by .* at a check point"):
        model.predict(X[test], return_std=True)
    model.set_params(std_method="auto").fit(X[train], y[train])
    _, exact = model.predict(X[test], return_std=True)
    assert model.solver_info_["std_method"] == "exact"
    assert_allclose(std, exact, rtol=0.01)


def test_corner_size_follows_the_kernel_width():
    # corner blocks of twice the kernel's half width: 8 for narrow kernels, more for wide
    sizes = []
    for scale in (100.0, 1.0):
        enc = FourierFeatureTransformer(scale=scale, random_state=0).fit(np.zeros((1, 2)))
        kernel = KernelFunction(enc, depth=3, weight_std=np.sqrt(2), bias_std=0.0, kind="ntk")
        sizes.append(corner_size(lag_kernel(kernel, np.full(2, 1 / 64), (64, 64)),
                                 SETTINGS.corner))
    assert sizes[0] == SETTINGS.corner and sizes[1] >= 14, sizes


def _std_from_profiles(lattice, kind, t, scale, monkeypatch):
    """The FFT solver's std on every test pixel against eigh's, and whether the separable
    estimate ran (:mod:`skfourier._solvers.lattice.variance`), by its record and a spy."""
    X, y, train, test = lattice
    estimates = []

    class Recorded(variance.LatticeVariance):
        def fill(self):
            estimates.append(self)
            return super().fill()

    monkeypatch.setattr(variance, "LatticeVariance", Recorded)
    kw = dict(**KERNEL, kernel=kind, t=t,
              encoder=FourierFeatureTransformer(scale=scale, random_state=0))
    model = NTKRegressor(**kw, solver="fft").fit(X[train], y[train])
    _, std = model.predict(X[test], return_std=True)
    assert model.solver_info_["std_method"] == ("lattice" if len(test) > 512 else "exact")
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
        classes = solver.grid.offset_classes(X[np.concatenate(test)], 64)
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


# -- masked lattices: any subset of a grid ------------------------------------------------

def _masks(side):
    """Training rows of a side x side image: a random half, a hole, a band (a KFold fold)."""
    n = side * side
    rows, cols = np.divmod(np.arange(n), side)
    hole = ~((rows >= side // 4) & (rows < side // 2) & (cols >= side // 3) & (cols < side // 2))
    return {"random": np.sort(np.random.default_rng(0).permutation(n)[:n // 2]),
            "hole": np.flatnonzero(hole),
            "band": np.flatnonzero((rows < side // 3) | (rows >= 2 * side // 3))}


def test_grid_recognises_a_subset_of_its_points(rng):
    X, _ = image_to_regression(np.zeros((12, 10)))
    keep = np.sort(rng.permutation(len(X))[:70])
    shuffled = keep[rng.permutation(70)]
    grid = Grid(X[shuffled])
    full = Grid(X)
    assert grid.shape == full.shape == (12, 10) and grid.observed is not None
    assert full.observed is None and grid.fill == pytest.approx(70 / 120)
    assert_allclose(grid.spacing, full.spacing) and np.array_equal(grid.origin, full.origin)
    assert np.array_equal(grid.observed, np.sort(full.flat[shuffled]))
    V = rng.normal(size=(70, 3))
    assert_allclose(grid.from_operator(grid.to_operator(V)), V)
    assert grid.to_operator(V).flags.f_contiguous
    array = grid.to_array(V)
    assert np.count_nonzero(array.any(axis=-1)) == 70
    assert_allclose(grid.from_array(array), V)
    # every third column only: its own (full) grid, three times coarser along x
    coarse = Grid(X[np.arange(120) % 10 % 3 == 0])
    assert coarse.observed is None and coarse.shape == (12, 4)
    assert_allclose(coarse.spacing, full.spacing * [1, 3])


@pytest.mark.parametrize("mask", ["random", "hole", "band"])
@pytest.mark.parametrize("t", [None, 100.0])
def test_masked_fft_equals_dense(mask, t):
    """Masked lattices: the bounding grid's operator scattered and gathered through the mask
    is the training kernel; mean, trajectory, training curve and std equal eigh's."""
    X, y = image_to_regression(load_sample_image("china", size=32))
    train = _masks(32)[mask]
    test = np.setdiff1d(np.arange(len(X)), train)
    enc = FourierFeatureTransformer(scale=2.0, random_state=0)
    kw = dict(**EXACT, t=t, encoder=enc)
    dense = NTKRegressor(**kw, solver="eigh").fit(X[train], y[train])
    fft = NTKRegressor(**kw, solver="fft", tol=1e-11, max_iter=5000).fit(X[train], y[train])
    assert fft.solver_ == "fft" and fft._solver().masked
    for rows in (test, train, np.arange(len(X))):        # the missing pixels, the known, all
        assert _rel(fft.predict(X[rows]), dense.predict(X[rows])) < 1e-6
    times = [30.0, 300.0, None]
    assert _rel(fft.predict_trajectory(X[test], times),
                dense.predict_trajectory(X[test], times)) < 1e-6
    assert_allclose(fft.training_curve(times[:2]), dense.training_curve(times[:2]), rtol=1e-6)
    probe = test[::7][:40]
    assert_allclose(fft.predict(X[probe], return_std=True)[1],
                    dense.predict(X[probe], return_std=True)[1], rtol=1e-4)


def _irregular_clip(size=8, n_frames=12, kept=(0, 1, 4, 5, 9, 11)):
    Xv, yv = video_to_regression(make_video(n_frames=n_frames, size=size))
    frame = np.rint(Xv[:, 2] * n_frames).astype(int)
    train = np.flatnonzero(np.isin(frame, kept))
    return Xv, yv, train, np.setdiff1d(np.arange(len(Xv)), train)


def test_grid_knows_whole_kept_frames(rng):
    Xv, _, train, _ = _irregular_clip()
    grid = Grid(Xv[rng.permutation(train)])
    assert grid.shape == (12, 8, 8) and np.array_equal(grid.frames, [0, 1, 4, 5, 9, 11])
    assert Grid(Xv).frames is None                              # a full grid
    assert Grid(np.delete(Xv[train], 3, axis=0)).frames is None  # one pixel missing


def test_frame_kernel_is_the_kernel_matrix_of_the_kept_frames(rng):
    Xv, _, train, _ = _irregular_clip(size=6)
    enc = FourierFeatureTransformer(scale=(3.0, 3.0, 0.5), n_frequencies=32, random_state=0)
    enc.fit(Xv)
    kernel = KernelFunction(enc, depth=3, weight_std=np.sqrt(2), bias_std=0.0, kind="ntk")
    grid = Grid(Xv[train])
    op = frame_operator(kernel, grid, 0.3, grid.frames)
    assert op.shape == (6, 6, 6) and op.n == len(train)
    K = ntk_kernel(enc.transform(Xv[train]), depth=3, weight_std=np.sqrt(2))
    V = rng.normal(size=(len(train), 2))
    expected = grid.to_operator(K @ grid.from_operator(V) + 0.3 * grid.from_operator(V))
    assert_allclose(op.matvec(V), expected, rtol=1e-9, atol=1e-10)
    # the preconditioner's blocks: exact over the frames, Chan's circulant in space
    pre = Circulant(op.generator, op.shape, op.alpha, SETTINGS, lag_index=op.lag_index)
    assert pre.exact_axes == (0,)
    assert np.linalg.norm(pre(op.matvec(V)) - V) < 0.5 * np.linalg.norm(V)


@pytest.mark.parametrize("plain_cg_iterations", [300, 0])   # as chosen; the preconditioner
def test_fft_on_a_video_with_irregular_frames_equals_dense(plain_cg_iterations):
    """Whole frames at irregular times: solved on the kept frames alone (Toeplitz in space,
    dense in time); mean, trajectory and std equal eigh's."""
    Xv, yv, train, test = _irregular_clip()
    enc = FourierFeatureTransformer(scale=(3.0, 3.0, 0.5), random_state=0)
    for t in (None, 50.0):
        kw = dict(**KERNEL, t=t, encoder=enc)
        dense = NTKRegressor(**kw, solver="eigh").fit(Xv[train], yv[train])
        fft = NTKRegressor(**kw, solver="fft", tol=1e-11, solver_options={
            "plain_cg_iterations": plain_cg_iterations}).fit(Xv[train], yv[train])
        solver = fft._solver()
        assert solver.grid.shape == (12, 8, 8) and np.array_equal(solver.frames,
                                                                  [0, 1, 4, 5, 9, 11])
        if t is None:
            assert fft.solver_info_["preconditioner"] == (
                "none" if plain_cg_iterations else "circulant exact on the kept frames")
        assert _rel(fft.predict(Xv[test]), dense.predict(Xv[test])) < 1e-6
        times = [20.0, None]
        assert _rel(fft.predict_trajectory(Xv[test[::9]], times),
                    dense.predict_trajectory(Xv[test[::9]], times)) < 1e-6
        probe = test[::37]
        assert_allclose(fft.predict(Xv[probe], return_std=True)[1],
                        dense.predict(Xv[probe], return_std=True)[1], rtol=1e-4)


@pytest.mark.parametrize("kind, t", [("ntk", None), ("nngp", 100.0)])
def test_video_std_estimate_is_within_one_percent(kind, t):
    """Every held-out voxel of a clip: a level per frame and the 2-D lattice estimate's
    shape of each offset class (offsets 1, 2, 3 from the kept 0, 4, 8), mirror frames
    (1 <-> 7, 2 <-> 6, 3 <-> 5) solved once; within 1% of the exact std at random voxels
    (measured 0.35-0.36%)."""
    Xv, yv = video_to_regression(make_video(n_frames=9, size=32))
    train, test = next(FrameHoldoutSplit(keep_every=4).split(Xv))
    enc = FourierFeatureTransformer(scale=(6, 6, 0.5), random_state=0)
    model = NTKRegressor(depth=3, weight_std=np.sqrt(2), alpha=1e-6, kernel=kind, t=t,
                         solver="fft", encoder=enc)
    model.fit(Xv[train], yv[train])
    solves = []
    exact_variance = model._solver().exact_variance

    def counted(X, *args, **kw):
        solves.append(len(X))
        return exact_variance(X, *args, **kw)

    model._solver().exact_variance = counted
    _, estimate = model.predict(Xv[test], return_std=True)
    assert model.solver_info_["std_method"] == "lattice"
    # a few solves (19-23), not 6,144 exact ones
    assert sum(solves) < 100, sum(solves)
    model._solver().exact_variance = exact_variance
    probe = np.random.default_rng(0).choice(len(test), 120, replace=False)
    exact = model.set_params(std_method="exact").predict(Xv[test][probe], return_std=True)[1]
    assert np.max(np.abs(estimate[probe] / exact - 1)) < 0.01
    # over the budget the estimate declines: the NNGP at a finite t goes on to its low-rank
    # estimate, the NTK to exact solves, which say why before they start
    slow = clone(model).set_params(std_method="auto",
                                   solver_options={"std_budget_seconds": 1e-6})
    slow.fit(Xv[train], yv[train])
    if kind == "nngp":
        slow.predict(Xv[test], return_std=True)
        assert slow.solver_info_["std_method"] == "lanczos"
    else:
        with pytest.raises(ValueError, match="video's std estimate would take about"):
            slow.predict(Xv[test], return_std=True)


def test_video_std_estimate_on_every_voxel_of_a_longer_clip():
    """Every voxel of a clip (the training frames' too, ~0 there) whose last frames lie past
    the last training frame, with an isotropic scale (random frequencies: no two edges
    alike): within 1% of the exact std at random voxels, half of them on an edge. Test
    points that are not the same pixels in every frame are not served."""
    Xv, yv = video_to_regression(make_video(n_frames=23, size=32))
    train = next(FrameHoldoutSplit(keep_every=5).split(Xv))[0]
    model = NTKRegressor(depth=4, weight_std=np.sqrt(2), alpha=1e-6, solver="fft",
                         encoder=FourierFeatureTransformer(scale=6, random_state=0))
    model.fit(Xv[train], yv[train])
    _, estimate = model.predict(Xv, return_std=True)
    assert model.solver_info_["std_method"] == "lattice"
    rng = np.random.default_rng(0)
    t, i, j = rng.integers(0, 23, 60), rng.integers(0, 32, 60), rng.integers(0, 32, 60)
    i[:30] = rng.choice([0, 1, 30, 31], 30)
    probe = np.ravel_multi_index((t, i, j), (23, 32, 32))
    exact = model.set_params(std_method="exact").predict(Xv[probe], return_std=True)[1]
    held = t % 5 != 0
    assert np.max(np.abs(estimate[probe][held] / exact[held] - 1)) < 0.01
    assert np.max(estimate[probe][~held]) < 1e-2 * np.max(estimate)
    patchy = Xv[np.flatnonzero(np.arange(len(Xv)) % 7 != 0)]
    with pytest.raises(ValueError, match="the same whole 2-D lattice of pixels"):
        model.set_params(std_method="lattice").predict(patchy, return_std=True)


def test_kept_frames_alone_need_fewer_steps_than_the_bounding_grid():
    """A clip as wide as its length in time: the kept frames' exact blocks against the
    100-frame bounding grid's circulant through the mask (``max_frames=0``)."""
    Xv, yv, train, _ = _irregular_clip(size=16, n_frames=100,
                                       kept=(0, 7, 15, 24, 31, 40, 52, 60, 71, 80, 88, 99))
    kw = dict(depth=3, weight_std=np.sqrt(2), alpha=1e-6, max_iter=5000, solver="fft",
              encoder=FourierFeatureTransformer(scale=(5.0, 5.0, 0.5), random_state=0))
    frames = NTKRegressor(**kw, solver_options={"plain_cg_iterations": 0})
    frames.fit(Xv[train], yv[train])
    masked = NTKRegressor(**kw, solver_options={"plain_cg_iterations": 0, "max_frames": 0})
    masked.fit(Xv[train], yv[train])
    assert frames.solver_info_["preconditioner"] == "circulant exact on the kept frames"
    assert masked.solver_info_["preconditioner"].startswith("masked circulant")
    assert _rel(frames.predict(Xv), masked.predict(Xv)) < 1e-6
    assert frames.n_iter_ < 0.5 * masked.n_iter_, (frames.n_iter_, masked.n_iter_)


def test_masked_fft_in_scikit_learn_splits_and_pickles():
    X, y = image_to_regression(load_sample_image("china", size=24))
    enc = FourierFeatureTransformer(scale=1.5, random_state=0)
    kw = dict(**KERNEL, encoder=enc)
    split = KFold(3, shuffle=True, random_state=0)
    fft = cross_val_score(NTKRegressor(**kw, solver="fft", tol=1e-11), X, y, cv=split)
    dense = cross_val_score(NTKRegressor(**kw, solver="cholesky"), X, y, cv=split)
    assert_allclose(fft, dense, rtol=1e-6)
    searched = [NTKRegressorCV(times=[30.0, None], alphas=[1e-6, 1e-3], cv=split, solver=s,
                               **{k: v for k, v in kw.items() if k != "alpha"}).fit(X, y)
                for s in ("fft", "eigh")]
    assert searched[0].solver_ == "fft"
    assert_allclose(searched[0].cv_results_["mean_test_score"],
                    searched[1].cv_results_["mean_test_score"], rtol=1e-6)
    train, test = train_test_split(np.arange(len(X)), test_size=0.5, random_state=0)
    model = NTKRegressor(**kw, solver="fft", tol=1e-11).fit(X[train], y[train])
    loaded = pickle.loads(pickle.dumps(model))
    assert np.array_equal(loaded.predict(X[test]), model.predict(X[test]))


def test_masked_grids_that_fft_refuses_say_why():
    X, y = image_to_regression(load_sample_image("china", size=32))
    enc = FourierFeatureTransformer(random_state=0)
    model = NTKRegressor(solver="fft", encoder=enc)
    with pytest.raises(ValueError, match="3 duplicate coordinates"):
        model.fit(np.vstack([X, X[:3]]), np.vstack([y, y[:3]]))
    sparse = np.random.default_rng(0).permutation(len(X))[:30]
    with pytest.raises(ValueError, match=r"at least 5% of their grid.*2.9% filled"):
        model.fit(X[sparse], y[sparse])
    # a lower floor admits them
    model.set_params(solver_options={"min_fill": 0.01}).fit(X[sparse], y[sparse])
    off = X[:200] + np.random.default_rng(1).uniform(0, 1e-3, size=(200, 2))
    with pytest.raises(ValueError, match="not on a regular grid"):
        NTKRegressor(solver="fft", encoder=enc).fit(off, y[:200])


@pytest.mark.parametrize("mask", ["random", "hole", "band"])
@pytest.mark.parametrize("alpha", [0.0, 1e-6])
def test_low_mode_deflation_keeps_masked_fits_exact_and_cuts_iterations(mask, alpha):
    """A wide kernel on a masked grid: the strongest torus modes on the observed cells are
    deflated (A-DEF2 around the masked circulant); exact, and far fewer CG steps."""
    X, y = image_to_regression(load_sample_image("china", size=32))
    train = _masks(32)[mask]
    test = np.setdiff1d(np.arange(len(X)), train)
    kw = dict(depth=3, weight_std=np.sqrt(2), alpha=alpha, max_iter=5000,
              encoder=FourierFeatureTransformer(scale=0.25, random_state=0))
    dense = NTKRegressor(**kw, solver="eigh").fit(X[train], y[train])
    # the band's 26 whole rows would be solved as kept frames: not here
    options = {"max_frames": 0}
    fft = NTKRegressor(**kw, solver="fft", tol=1e-11, solver_options=options)
    fft.fit(X[train], y[train])
    assert fft.solver_info_["preconditioner"] == "masked circulant + low-mode deflation"
    assert _rel(fft.predict(X[test]), dense.predict(X[test])) < 1e-6
    alone = NTKRegressor(**kw, solver="fft", tol=1e-11,
                         solver_options={**options, "mask_modes": 0})
    alone.fit(X[train], y[train])
    assert alone.solver_info_["preconditioner"] == "masked circulant"
    assert fft.n_iter_ < 0.5 * alone.n_iter_, (fft.n_iter_, alone.n_iter_)
