"""The predictive variance of a whole image lattice from a few exact values.

On a regular lattice of test points (one offset from the training grid) the
ensemble's variance is a function of the position only through the grid's
edges: flat in the interior, rising towards each edge over a few kernel
widths, most at the corners. Away from the corners the two axes' edge
effects add up, so the variance map is separable,

    var(i, j) ~ var(i, c_y) + var(c_x, j) - var(c_x, c_y),

from its values along the centre column and row. The product
``var(i, c) var(c, j) / var(c, c)`` is as accurate but divides by a variance
that is ~0 on the training points' own class.

The centre row and column are exact only where they change: within
:func:`corner_size` (twice the kernel's half width, at least 8 steps) of
either end, and at nodes four times that apart between, with the midpoint of
two neighbouring nodes added while their values differ by more than
``SolverSettings.refine_rtol``, or while the line through a node's neighbours misses it
by as much; the rest is interpolated. The four corner blocks, where the edge
effects do not add up, are exact as far as the centre lines' ends take to
settle (``SolverSettings.settle_rtol``); without them the corners were 5-40% off.

A symmetric kernel on a grid is unchanged by the grid's central inversion,
so a point's variance equals its mirror image's: where the inversion maps
the test lattice onto itself (offsets 0 or 1/2 of a training step, as the
papers' split), a point whose mirror is solved is not solved again, and the
centre lines run through the inversion's centre (each its own mirror).

Measured against the exact std (china.jpg, alpha 1e-6), largest relative
error: 64 x 64 lattices, depth 3, NNGP and NTK at t = None and t = 1e3,
scales 6.4 and 20.5: 0.20-0.64% from 37-79 exact points of 4096; scale 1,
a kernel as wide as the image (NTK, t = 1e3, 16-step end layers): 0.16%
from 486. 256 x 256 at scale 10, depth 4 (against 456 exact points in the
corners, along the edges and inside): NNGP 0.03% at t = None (52 solves),
0.24% at the demo's t (107); NTK 0.22% (49) and 0.08% (106). The centre
row's interior is flat to 4e-6 there (NNGP, t = None) and its ends settle
within 4 steps.

A hole in a masked training grid (the unknown pixels of an inpainting
problem, ``hole=True``) has no flat interior: the variance is smallest at the
hole's rim and largest at its centre. Its precision (``1 / var``) is still
near additive in the two axes, each axis' rim adding information,

    1 / var(i, j) ~ 1 / var(i, c_y) + 1 / var(c_x, j) - 1 / var(c_x, c_y),

with the same exact nodes along the centre lines. The corners, where the rims
meet, are exact along each corner's diagonal until the model comes within
``SolverSettings.hole_corner_rtol`` of the exact value, then as a block of that
side. Every estimate is then checked at ``SolverSettings.hole_checks`` random
points solved exactly (their values kept); a miss over
``SolverSettings.hole_check_rtol`` refuses the estimate, and holes narrower than
four corner sides are refused before any solve (a kernel as wide as the hole
makes the map a bowl the model misses by 8-24%). Measured (china.jpg, depth 4,
alpha 1e-6): 128 x 128 with a 32 x 32 hole at scale 10, NTK / NNGP at
``t = None`` and ``t = 6667``: 0.33-0.42% largest error against the dense exact
std, 0.035% at scale 100; 256 x 256 with a 64 x 64 hole at scale 10: all 4096
unknown pixels in 26 s (about 100 solves; exact per point: 0.24 s each, 16
min), 0.2% at 32 random exact points.
"""

import time

import numpy as np

from ..._grid import lattice_indices
from ..._settings import SolverSettings
from ..._validation import duration
from .grid import to_axes


def corner_size(generator, minimum):
    """Side of the exact corner blocks: twice the kernel's half width in grid steps, the
    widest axis' (the lag where the generator falls halfway from lag 0 to its floor),
    at least ``minimum`` (``SolverSettings.corner``)."""
    centre = tuple(n // 2 for n in generator.shape)
    widths = []
    for axis in range(generator.ndim):
        index = list(centre)
        index[axis] = slice(centre[axis], None)
        profile = generator[tuple(index)]
        floor = profile.min()
        widths.append(int(np.argmax(profile - floor <= (profile[0] - floor) / 2)))
    return max(minimum, 2 * max(widths))


class LatticeVariance:
    """The variance map of a 2-D lattice from exact values at few points.

    Parameters
    ----------
    shape : tuple of int
        The lattice's shape, at least ``4 * corner`` per axis.
    corner : int
        Width of the centre lines' exact end layers, the corner blocks'
        largest side (:func:`corner_size`).
    exact : callable
        ``exact(points)``: the exact variances at the lattice indices
        ``points``, an int array of shape (k, 2).
    mirror : array of 2 int, optional
        The central inversion that maps the lattice onto itself, as index
        sums: point ``p`` mirrors to ``mirror - p`` (where that lies on the
        lattice). ``None``: no symmetry used.
    settings : SolverSettings, optional
        ``refine_rtol``, ``settle_rtol`` and ``min_corner`` (default: the defaults).

    Attributes
    ----------
    values : ndarray of shape ``shape``
        Exact variances where computed, NaN elsewhere.
    n_solved : int
        Points handed to ``exact``.
    """

    def __init__(self, shape, corner, exact, mirror=None, settings=None, hole=False):
        if min(shape) < 4 * corner:
            raise ValueError(f"a {shape} lattice is too small for {corner} x {corner} corners")
        self.shape, self.corner, self.exact, self.hole = tuple(shape), corner, exact, hole
        self.settings = SolverSettings() if settings is None else settings
        self.mirror = None if mirror is None else np.asarray(mirror)
        self.values = np.full(self.shape, np.nan)
        self.n_solved = 0
        # the centre lines through the inversion's own centre where it has one: each line is
        # then its own mirror image, half of it solved
        sums = [None] * 2 if self.mirror is None else [int(m) for m in self.mirror]
        self.centre = tuple(m // 2 if m is not None and m % 2 == 0 and 0 <= m // 2 < n
                            else n // 2 for n, m in zip(self.shape, sums))

    def fill(self):
        """The whole map: exact centre-line nodes and corners, the model between."""
        self._solve(np.concatenate([self._line(axis, self._nodes(axis)) for axis in (0, 1)]))
        while True:                         # refine where neighbouring nodes differ
            extra = [self._line(axis, self._midpoints(axis)) for axis in (0, 1)]
            if not sum(map(len, extra)):
                break
            self._solve(np.concatenate(extra))
        column, row = self._profile(0), self._profile(1)
        centre = row[self.centre[1]]
        if self.hole:
            out = 1.0 / (1.0 / column[:, None] + 1.0 / row[None, :] - 1.0 / centre)
            self._hole_corners(out)
        else:
            self._edge_corners(column, row)
            # a sum, not the (as accurate) product var(i, c) var(c, j) / var(c, c): no
            # division, so the training points' own class (variance ~0) stays ~0
            out = column[:, None] + row[None, :] - centre
        known = ~np.isnan(self.values)
        out[known] = self.values[known]
        return out

    def _edge_corners(self, column, row):
        """Exact corner blocks as far as the centre lines' ends take to settle."""
        (top, bottom), (left, right) = self._settled(column), self._settled(row)
        n0, n1 = self.shape
        self._solve(np.concatenate([
            np.stack(np.meshgrid(a, b, indexing="ij"), -1).reshape(-1, 2)
            for a in (np.arange(top), np.arange(n0 - bottom, n0))
            for b in (np.arange(left), np.arange(n1 - right, n1))]))

    def _hole_corners(self, model):
        """Exact corner blocks of a hole: each corner's diagonal is solved inwards until the
        model meets it within ``hole_corner_rtol``; the block up to there is solved whole."""
        n0, n1 = self.shape
        corners = [(0, 0, 1, 1), (0, n1 - 1, 1, -1), (n0 - 1, 0, -1, 1),
                   (n0 - 1, n1 - 1, -1, -1)]          # (row, column, inward steps)
        sides = {}
        for d in range(self.corner):
            open_ = [k for k in corners if k not in sides]
            if not open_:
                break
            points = np.array([(i + d * si, j + d * sj) for i, j, si, sj in open_])
            self._solve(points)
            exact = self.values[tuple(points.T)]
            for k, v, m in zip(open_, exact, model[tuple(points.T)]):
                if abs(m - v) <= self.settings.hole_corner_rtol * abs(v):
                    sides[k] = d
        blocks = []
        for k in corners:
            i, j, si, sj = k
            side = sides.get(k, self.corner)
            a, b = i + si * np.arange(side), j + sj * np.arange(side)
            blocks.append(np.stack(np.meshgrid(a, b, indexing="ij"), -1).reshape(-1, 2))
        self._solve(np.concatenate(blocks))

    def _settled(self, line):
        """Corner-block sides at both ends of a centre line: past them the line stays within
        ``settle_rtol`` of its value a corner's side in (at least ``min_corner``)."""
        k = self.corner
        sides = []
        for end in (line[:k + 1], line[::-1][:k + 1]):
            drift = np.abs(end[:k] - end[k])
            off = np.flatnonzero(drift > self.settings.settle_rtol * _scale(end[k], line))
            sides.append(max(self.settings.min_corner, off[-1] + 1 if off.size else 0))
        return sides

    def _nodes(self, axis):
        """Initial nodes of the centre line along ``axis``: a corner's side at both ends and
        the first step past it (where :meth:`_settled` measures from), the centre and every
        four corners' sides."""
        n, k = self.shape[axis], self.corner
        return np.unique(np.r_[0:k + 1, n - k - 1:n, k:n - k:4 * k, self.centre[axis]])

    def _line(self, axis, positions):
        """Lattice indices of ``positions`` along the centre line of ``axis``."""
        points = np.empty((len(positions), 2), dtype=np.int64)
        points[:, axis] = positions
        points[:, 1 - axis] = self.centre[1 - axis]
        return points

    def _known(self, axis):
        """Positions and values computed so far on the centre line along ``axis``."""
        line = self.values[:, self.centre[1]] if axis == 0 else self.values[self.centre[0]]
        positions = np.flatnonzero(~np.isnan(line))
        return positions, line[positions]

    def _midpoints(self, axis):
        """Midpoints of the gaps between nodes whose values differ, or next to a node that
        the line through its neighbours misses (a peak between two equal nodes)."""
        positions, v = self._known(axis)
        scale = _scale(np.minimum(np.abs(v[:-1]), np.abs(v[1:])), v)
        rtol = self.settings.refine_rtol
        refine = np.abs(np.diff(v)) > rtol * scale
        w = (positions[1:-1] - positions[:-2]) / (positions[2:] - positions[:-2])
        bent = np.abs(v[1:-1] - (1 - w) * v[:-2] - w * v[2:]) > rtol * scale[1:]
        refine[:-1] |= bent
        refine[1:] |= bent
        refine &= np.diff(positions) > 1
        return (positions[:-1][refine] + positions[1:][refine]) // 2

    def _profile(self, axis):
        positions, v = self._known(axis)
        return np.interp(np.arange(self.shape[axis]), positions, v)

    def _solve(self, points):
        """Exact values at ``points`` not yet known, each mirror pair solved once."""
        flat = np.ravel_multi_index(points.T, self.shape)
        canon = flat
        if self.mirror is not None:
            image = self.mirror - points
            inside = np.all((image >= 0) & (image < self.shape), axis=1)
            image_flat = np.ravel_multi_index(np.where(inside[:, None], image, points).T,
                                              self.shape)
            canon = np.minimum(flat, image_flat)
        values = self.values.reshape(-1)
        todo = np.unique(canon[np.isnan(values[canon])])
        if todo.size:
            values[todo] = self.exact(np.column_stack(np.unravel_index(todo, self.shape)))
            self.n_solved += todo.size
        values[flat] = values[canon]


def _scale(values, line):
    """What a difference of variances is relative to: the values themselves, floored for
    the ~0 variance of the training points' own class."""
    return np.maximum(np.abs(values), 1e-3 * np.max(np.abs(line)))


def _exact_at(solver, X, at, c, tol):
    """``exact(points)`` for :class:`LatticeVariance`: the exact variance at lattice indices
    ``points``, row ``at[point]`` of ``X``. Not budgeted call by call: the estimate's few
    exact points are its cost, which the estimate bounds as a whole."""
    return lambda points: solver.exact_variance(X[at[tuple(points.T)]], c, tol=tol, timed=False)


def lattice_variance(solver, X, c, tol=None):
    """The ensemble's variance at ``X`` by the whole-lattice estimate, or why it cannot serve.

    On a full training grid the test points are split by their offset from
    it (:meth:`~.grid.Grid.offset_classes`); each offset class must be a
    full 2-D grid, and those of at least four corner blocks per side
    (:func:`corner_size`) are estimated by :class:`LatticeVariance`, the
    smaller ones computed exactly. On a masked training grid the test points
    must be the missing cells of a rectangle, a hole (:func:`hole_variance`).
    Exact values come from a solve per point, in the corners and at nodes of
    the centre row and column only (a 256 x 256 lattice at scale 10: 49-107
    of 65,536 points; mirror images share a solve), stopped at a relative
    residual of ``tol``, by default ``settings.std_probe_tol`` or the
    solver's if larger: that moves the std by ~1e-5 of itself, where the
    solver's 1e-8 takes twice the steps.

    Parameters
    ----------
    solver : FFTSolver
    X : ndarray of shape (m, d)
    c : float
        Flow scale.
    tol : float or None

    Returns
    -------
    var : ndarray of shape (m,), or a str naming what the points lack
    """
    settings = solver.settings
    tol = max(settings.std_probe_tol, solver.tol) if tol is None else tol
    if len(solver.grid.shape) == 3:
        if solver.masked:
            return "on a video the std estimate needs a full training grid (no missing cells)"
        # the frames' own 2-D lattices: the spatial kernel, at time lag 0
        generator = solver.toeplitz.generator
        corner = corner_size(generator[generator.shape[0] // 2], settings.corner)
        return video_variance(solver, X, c, tol, corner)
    if len(solver.grid.shape) != 2:
        return "the whole-lattice std estimate serves image lattices and videos only"
    corner = corner_size(solver.toeplitz.generator, settings.corner)
    if solver.masked:
        return hole_variance(solver, X, c, tol, corner)
    classes = solver.grid.offset_classes(X, settings.max_fine_factor)
    if classes is None:
        return ("the whole-lattice std estimate needs test points that fill whole lattices "
                "on a refinement of the training grid (e.g. every held-out pixel)")
    out = np.empty(X.shape[0])
    for rows, index, shape, mirror in classes:
        if min(shape) < 4 * corner:
            out[rows] = solver.exact_variance(X[rows], c, tol=tol)
            continue
        at = np.empty(shape, dtype=np.int64)
        at[tuple(index.T)] = rows
        estimate = LatticeVariance(shape, corner, _exact_at(solver, X, at, c, tol),
                                   mirror=mirror, settings=settings)
        out[rows] = estimate.fill()[tuple(index.T)]
    return out


def video_variance(solver, X, c, tol, corner):
    """The variance on a video, frame by frame: each held-out time's pixels a 2-D lattice.

    At a fixed time the test pixels are a whole image lattice, and its map
    has the image's shape, flat inside and rising at the spatial edges, at a
    level set by the distance to the training frames: each frame is
    estimated by :class:`LatticeVariance` (frames too small for four corner
    blocks exactly). The grid's central inversion maps frame ``t`` onto its
    mirror frame with the image inverted, so of each mirror pair one frame is
    solved. The cost is a 2-D lattice's per frame: after the first frame the
    whole is extrapolated, and past ``settings.std_budget_seconds`` this
    returns why (``"auto"`` goes on to the next method).

    Returns
    -------
    var : ndarray of shape (m,), or a str naming why it cannot serve
    """
    grid, settings = solver.grid, solver.settings
    why = ("on a video the std estimate needs test points that fill whole 2-D lattices at "
           "each of their times (e.g. every pixel of the held-out frames)")
    fine = grid.locate(X, settings.max_fine_factor)
    if fine is None:
        return why
    r, index = fine
    sums = r * (np.array(grid.shape) - 1)        # the inversion on the fine grid: f -> sums - f
    frames = np.unique(index[:, 0])
    to_solve = len({min(t, sums[0] - t) for t in frames})
    out = np.empty(X.shape[0])
    done = {}                     # frame -> (its pixels' flat fine positions sorted, variances)
    # flat keys of the pixels' fine positions and of their mirror images alike
    spatial, images = index[:, 1:], sums[1:] - index[:, 1:]
    low = np.minimum(spatial.min(axis=0), images.min(axis=0))
    dims = np.maximum(spatial.max(axis=0), images.max(axis=0)) - low + 1

    def key(points):
        return np.ravel_multi_index((points - low).T, dims)

    start, solved = time.perf_counter(), 0
    for t in frames:
        rows = np.flatnonzero(index[:, 0] == t)
        flat = key(spatial[rows])
        twin = done.get(sums[0] - t)
        if twin is not None:
            mirrored = key(images[rows])
            at = np.clip(np.searchsorted(twin[0], mirrored), 0, twin[0].size - 1)
            if np.array_equal(twin[0][at], mirrored):
                out[rows] = twin[1][at]
                continue
        expected = (time.perf_counter() - start) * to_solve
        if solved == 1 and expected > settings.std_budget_seconds:
            return (f"the frame-by-frame std estimate would take about {duration(expected)} "
                    f"({to_solve} frames), over the {duration(settings.std_budget_seconds)} "
                    "budget")
        try:
            position, shape = lattice_indices(X[rows][:, :2])
        except ValueError:
            return why
        position, shape = to_axes(position), tuple(to_axes(shape).tolist())
        if min(shape) < 4 * corner:
            var = solver.exact_variance(X[rows], c, tol=tol)
        else:
            at = np.empty(shape, dtype=np.int64)
            at[tuple(position.T)] = rows
            var = LatticeVariance(shape, corner, _exact_at(solver, X, at, c, tol),
                                  settings=settings).fill()[tuple(position.T)]
        out[rows] = var
        order = np.argsort(flat)
        done[t] = (flat[order], var[order])
        solved += 1
    return out


def hole_variance(solver, X, c, tol, corner):
    """The variance over a hole in a masked training grid, checked at random points.

    The test points must be cells of the training grid that hold no
    training point and fill a rectangle (any stride): an inpainting hole.
    There the variance is flat inside and falls towards each edge of the
    hole, where the training points begin; information from two edges adds
    up (:class:`LatticeVariance` with ``hole=True``). How well that holds
    depends on the mask around the hole, which the estimate does not
    model, so it is checked: at ``settings.hole_checks`` random points not
    solved, the exact std must lie within ``settings.hole_check_rtol`` of
    the estimate, else this returns why and ``std_method="auto"`` goes on
    to the next method.

    Returns
    -------
    var : ndarray of shape (m,), or a str naming why it cannot serve
    """
    grid, settings = solver.grid, solver.settings
    fine = grid.locate(X, 1)
    hole = ("on a masked training grid the std estimate serves the missing cells of one "
            "rectangular hole (test points on cells of the training grid without a training "
            "point, filling a rectangle)")
    if fine is None:
        return hole
    index = fine[1]
    inside = np.all((index >= 0) & (index < grid.shape), axis=1)
    if not inside.all() or np.isin(np.ravel_multi_index(index.T, grid.shape),
                                   grid.observed).any():
        return hole
    try:
        position, shape = lattice_indices(X)
    except ValueError:
        return hole
    position, shape = to_axes(position), tuple(to_axes(shape).tolist())
    if min(shape) < 4 * corner:
        # a hole less than ~8 kernel half widths across is one smooth bowl, which the
        # model misses (128^2 photo, 32^2 hole, scale 1: 8-24%)
        return (f"the hole's std estimate needs a hole of at least {4 * corner} x "
                f"{4 * corner} pixels at this kernel width (four corner blocks of twice its "
                f"half width), got {' x '.join(map(str, to_axes(shape)))}")
    at = np.empty(shape, dtype=np.int64)
    at[tuple(position.T)] = np.arange(X.shape[0])
    exact = _exact_at(solver, X, at, c, tol)
    estimate = LatticeVariance(shape, corner, exact, settings=settings, hole=True)
    var = estimate.fill()
    unsolved = np.flatnonzero(np.isnan(estimate.values.ravel()))
    rng = np.random.default_rng(0)
    checks = np.column_stack(np.unravel_index(
        rng.choice(unsolved, min(settings.hole_checks, unsolved.size), replace=False), shape))
    truth = exact(checks)
    miss = np.abs(np.sqrt(np.maximum(var[tuple(checks.T)], 0) / truth) - 1)
    if miss.size and miss.max() > settings.hole_check_rtol:
        return (f"the hole's std estimate missed the exact std by {miss.max():.1%} at a check "
                f"point (more than {settings.hole_check_rtol:.0%}): the mask around the hole "
                "is not one it models")
    var[tuple(checks.T)] = truth
    return var[tuple(position.T)]
