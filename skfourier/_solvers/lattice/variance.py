"""The predictive variance of a whole image lattice, or video, from a few exact values.

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
either end (steps 0, 1, 2, 4, 8, ... and the side itself), and at nodes
eight times that apart between, with the midpoint of two neighbouring
nodes added while their values differ by more than
``SolverSettings.refine_rtol``, or while the line through a node's neighbours misses it
by as much; the rest is interpolated. The four corner blocks, where the edge
effects do not add up, are exact as far as the centre lines' ends take to
settle (``SolverSettings.settle_rtol``), unless the model meets the exact
value at the corner point itself within that; without them the corners were
5-40% off.

A symmetric kernel on a grid is unchanged by the grid's central inversion,
so a point's variance equals its mirror image's: where the inversion maps
the test lattice onto itself (offsets 0 or 1/2 of a training step, as the
papers' split), a point whose mirror is solved is not solved again, and the
centre lines run through the inversion's centre (each its own mirror).

Measured against the exact std (china.jpg, alpha 1e-6), largest relative
error: 64 x 64 lattices, depth 3, NNGP and NTK at t = None and t = 1e3,
scales 6.4 and 20.5: 0.22-0.64% from 30-49 exact points of 4096; scale 1,
a kernel as wide as the image (NTK, t = 1e3, 16-step end layers): 0.16%
from 491. 256 x 256 at scale 10, depth 4 (against 97 exact points: 8 x 8
in each corner, within 16 steps of an edge, inside): NNGP 0.024% at t =
None (39 solves), 0.12% at the demo's t (71); NTK 0.22% (35) and 0.026%
(71). The centre row's interior is flat to 4e-6 there (NNGP, t = None) and
its ends settle within 4 steps.

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
unknown pixels in 11 s with the fit (exact per point: 0.21 s each, 14 min),
0.16% at 16 random exact points.
"""

import time

import numpy as np

from ..._grid import lattice_indices
from ..._settings import SolverSettings
from ..._validation import duration
from .grid import inversion, to_axes


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
        self.centre = _centre(self.shape, self.mirror)

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
            self._corners(out, self.settings.hole_corner_rtol, [(self.corner,) * 2] * 4,
                          diagonal=True)
        else:
            # a sum, not the (as accurate) product var(i, c) var(c, j) / var(c, c): no
            # division, so the training points' own class (variance ~0) stays ~0
            out = column[:, None] + row[None, :] - centre
            (top, bottom), (left, right) = self._settled(column), self._settled(row)
            self._corners(out, self.settings.settle_rtol,
                          [(top, left), (top, right), (bottom, left), (bottom, right)],
                          diagonal=False)
        known = ~np.isnan(self.values)
        out[known] = self.values[known]
        return out

    def _corners(self, model, rtol, limits, diagonal):
        """Exact corner blocks where the ``model`` misses the corner point (solved first)
        by more than ``rtol``, of ``limits`` (rows, columns per corner); with ``diagonal``,
        the corner's diagonal is solved inwards until the model meets it, and the block
        ends there.

        On an image the blocks reach as far as the centre lines' ends take to settle
        (:meth:`_settled`): the edge effects add up least in the corner, and along an
        edge further than along the diagonal (cut at the diagonal, a 128^2 lattice's
        corner blocks missed by 1.1% instead of 0.18%). Over a hole the rims meet with
        an effect as deep along the diagonal as along the rims.
        """
        n0, n1 = self.shape
        corners = [(0, 0, 1, 1), (0, n1 - 1, 1, -1), (n0 - 1, 0, -1, 1),
                   (n0 - 1, n1 - 1, -1, -1)]          # (row, column, inward steps)
        depth = {}
        for d in range(max(map(max, limits)) if diagonal else 1):
            open_ = [k for k, limit in zip(corners, limits) if k not in depth and d < max(limit)]
            if not open_:
                break
            points = np.array([(i + d * si, j + d * sj) for i, j, si, sj in open_])
            self._solve(points)
            exact = self.values[tuple(points.T)]
            met = np.abs(model[tuple(points.T)] - exact) <= rtol * _scale(exact, model)
            depth.update((k, d) for k, m in zip(open_, met) if m)
        blocks = []
        for k, (rows, columns) in zip(corners, limits):
            i, j, si, sj = k
            side = depth.get(k, max(rows, columns))     # not met: the whole block
            a = i + si * np.arange(min(side, rows))
            b = j + sj * np.arange(min(side, columns))
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
        """Initial nodes of the centre line along ``axis``: within a corner's side of either
        end, steps 0, 1, 2, 4, 8, ... (refined where they differ), the corner's side itself
        (where :meth:`_settled` measures from), the centre and every four corners' sides."""
        n, k = self.shape[axis], self.corner
        end = np.r_[0, 2 ** np.arange(int(np.log2(k)) + 1), k]
        return np.unique(np.r_[end, n - 1 - end, k:n - k:8 * k, self.centre[axis]])

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
        """Midpoints of the gaps between the centre line's nodes where it changes
        (:func:`_refine`)."""
        return _refine(*self._known(axis), self.settings.refine_rtol)

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


def _centre(shape, mirror):
    """The lattice's centre: the inversion's own (``mirror``, index sums) on each axis where
    it is a lattice point, else the middle index."""
    sums = [None] * len(shape) if mirror is None else [int(m) for m in mirror]
    return tuple(m // 2 if m is not None and m % 2 == 0 and 0 <= m // 2 < n else n // 2
                 for n, m in zip(shape, sums))


def _refine(positions, v, rtol):
    """Midpoints of the gaps between nodes at ``positions`` (ascending) whose values ``v``
    differ by more than ``rtol``, or next to a node that the line through its neighbours
    misses by as much (a peak between two equal nodes)."""
    scale = _scale(np.minimum(np.abs(v[:-1]), np.abs(v[1:])), v)
    refine = np.abs(np.diff(v)) > rtol * scale
    w = (positions[1:-1] - positions[:-2]) / (positions[2:] - positions[:-2])
    bent = np.abs(v[1:-1] - (1 - w) * v[:-2] - w * v[2:]) > rtol * scale[1:]
    refine[:-1] |= bent
    refine[1:] |= bent
    refine &= np.diff(positions) > 1
    return (positions[:-1][refine] + positions[1:][refine]) // 2


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
    On a video's full training grid, the same pixels in every test frame
    (:func:`video_variance`). Exact values come from a solve per point, in
    the corners and at nodes of the centre row and column only (a 256 x 256
    lattice at scale 10: 35-71 of 65,536 points; mirror images share a
    solve), stopped at a relative residual of ``tol``, by default
    ``settings.image_probe_tol`` on an image (1e-6: the nodes are refined on
    differences of 0.2%, and the NNGP's variance at ``t=None``, ~1e-3 of the
    prior, took 356 solves at 1e-4, refined on the probes' error) and
    ``settings.std_probe_tol`` on a video or over a hole (2e-4: the std
    within ~3e-4 of itself, a 256^2 x 100 clip in 13 CG steps a solve, 37 at
    1e-6), or the solver's if larger.

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
    probe = settings.std_probe_tol
    if len(solver.grid.shape) == 2 and not solver.masked:
        probe = settings.image_probe_tol
    tol = max(probe, solver.tol) if tol is None else tol
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
    """The variance on a video's test voxels: a level per frame times a spatial shape.

    The test points must be the same whole 2-D lattice of pixels at each of
    their times (e.g. every pixel of the held-out frames): the estimate is
    :class:`VideoVariance`, checked at ``settings.hole_checks`` voxels solved
    exactly (half of them near the spatial edges, where the model differs
    most); a miss over ``settings.hole_check_rtol`` returns why, as does a
    cost past ``settings.std_budget_seconds`` extrapolated from the first
    solves (``"auto"`` goes on to the next method). Pixels fewer than four
    corner blocks a side are exact.

    Returns
    -------
    var : ndarray of shape (m,), or a str naming why it cannot serve
    """
    grid = solver.grid
    why = ("on a video the std estimate needs test points that are the same whole 2-D lattice "
           "of pixels at each of their times (e.g. every pixel of the held-out frames)")
    fine = grid.locate(X, solver.settings.max_fine_factor)
    if fine is None:
        return why
    r, index = fine
    times, at_time = np.unique(index[:, 0], return_inverse=True)
    # the pixels as flat indices of their bounding box: a 1-D unique, in the order of rows
    low = index[:, 1:].min(axis=0)
    box = index[:, 1:].max(axis=0) - low + 1
    flat, at_pixel = np.unique(np.ravel_multi_index((index[:, 1:] - low).T, box),
                               return_inverse=True)
    pixels = np.column_stack(np.unravel_index(flat, box)) + low
    if X.shape[0] != times.size * len(pixels) or np.any(
            np.bincount(at_time * len(pixels) + at_pixel, minlength=X.shape[0]) != 1):
        return why
    try:
        position, shape = lattice_indices(to_axes(pixels).astype(np.float64))
    except ValueError:
        return why
    position, shape = to_axes(position), tuple(to_axes(shape).tolist())
    if min(shape) < 4 * corner:
        return solver.exact_variance(X, c, tol=tol)
    order = np.lexsort(position.T[::-1])          # the pixels in C order of their lattice
    lattice = pixels[order].reshape(shape + (2,))
    estimate = VideoVariance(_Voxels(solver, r, c, tol), r[0], times, lattice, corner,
                             solver.settings)
    var = estimate.fill()
    if isinstance(var, str):
        return var
    # back to the points' order: cell (time, pixel) of each row, pixels as sorted by unique
    rank = np.empty(len(pixels), dtype=np.int64)
    rank[order] = np.arange(len(pixels))
    return var.reshape(times.size, -1)[at_time, rank[at_pixel]]


class _Voxels:
    """Exact variances at voxels of the fine grid (refinement ``r``), each pair of mirror
    images under the grid's central inversion solved once, every value kept."""

    def __init__(self, solver, r, c, tol):
        self.solver, self.r, self.c, self.tol = solver, r, c, tol
        self.sums = r * (np.array(solver.grid.shape) - 1)
        self.known = {}

    def __call__(self, fine):
        """Variances at the fine indices ``fine`` (k, 3), solving the unknown ones at once."""
        keys = [min(tuple(f), tuple(self.sums - f)) for f in np.asarray(fine).tolist()]
        todo = sorted(set(keys) - set(self.known))
        if todo:
            grid = self.solver.grid
            coords = to_axes(grid.origin + np.array(todo) * grid.spacing / self.r)
            values = self.solver.exact_variance(coords, self.c, tol=self.tol, timed=False)
            self.known.update(zip(todo, values))
        return np.array([self.known[k] for k in keys])


class VideoVariance:
    """The variance at a video's test voxels from exact values at a few of them.

    Between two training frames the variance at a test frame is set by its
    time offset from them, nearly the same in every gap: the frames of one
    offset (a *class*) lie on a line of period one training step, and their
    maps have one shape, flat inside and rising towards the spatial edges by
    an amount that depends on the offset (a 64^2 clip keeping every 10th
    frame: corners +10% one frame from a training frame, +5% at five; +10.1%,
    +10.8% and +10.2% at frames 1, 41 and 91). So

        var(t, i, j) = L(t) (1 + D_t(i, j)),

    with ``L`` the variance at the frame's centre pixel, exact at nodes along
    each class' line (both ends and the middle; midpoints added while
    neighbouring nodes differ by more than
    ``SolverSettings.refine_rtol``) and interpolated between, and ``D_t`` the
    relative shape of the class' middle frame, and of each end whose level
    differs from the middle's by more than ``SolverSettings.frame_shape_rtol``
    (past the last training frame the map changes: corners +3% at 95 where
    the level is 34% higher; at 1, 1.3% from the middle's, within 0.7%),
    interpolated along the line. A shape is :class:`LatticeVariance`'s map,
    or flat where two adjacent corners of the frame, where the edge effects of
    the two axes add up, lie within ``SolverSettings.flat_rtol`` of its centre
    (a 256^2 clip at scale 10: within 0.3% past a training frame's
    neighbours; the other two corners within 1.4x of these).
    The two frames of a mirror pair under the grid's inversion share every
    solve.

    Parameters
    ----------
    voxels : _Voxels
        Exact variances by fine index.
    r : int
        The fine grid's refinement in time (training step / test step).
    times : ndarray of int
        The test frames' fine time indices, ascending.
    lattice : ndarray of shape (n_y, n_x, 2)
        The test pixels' fine spatial indices, a whole 2-D lattice.
    corner : int
        As :class:`LatticeVariance`.
    settings : SolverSettings
    """

    def __init__(self, voxels, r, times, lattice, corner, settings):
        self.voxels, self.r, self.times, self.lattice = voxels, r, times, lattice
        self.corner, self.settings = corner, settings
        self.shape = lattice.shape[:2]
        self._shapes = {}                                # frame -> its map's relative shape
        # the pixels' own inversion (index sums) where the grid's maps the lattice onto itself
        self.mirror = inversion(lattice[0, 0], lattice[-1, -1], self.shape, voxels.sums[1:])
        # whether the inversion maps the pixels onto themselves: a frame's mirror image is
        # then its twin frame's pixels, inverted
        self.symmetric = self.mirror is not None and np.array_equal(
            self.mirror, np.array(self.shape) - 1)
        self.centre = _centre(self.shape, self.mirror)

    def _at(self, t, pixels):
        """Fine indices of the voxels at time ``t`` and lattice ``pixels`` (k, 2)."""
        spatial = self.lattice[tuple(np.asarray(pixels).reshape(-1, 2).T)]
        return np.column_stack([np.full(len(spatial), t), spatial])

    def _levels(self, frames):
        """Exact values at the centre pixel of ``frames`` (fine time indices; see
        :meth:`_probes`), and at their mirror frames' where the inversion maps the pixels
        onto themselves (the same solves: a class' next-to-last frame mirrors another's
        second, so a level that jumps past the last training frame needs no search)."""
        levels = dict(zip(frames, self.voxels(np.concatenate([self._at(t, self._probes(t)[0])
                                                              for t in frames]))))
        if self.symmetric:
            for t, value in list(levels.items()):
                twin = self.voxels.sums[0] - t
                if twin in self.times:
                    levels.setdefault(twin, value)
        return levels

    def fill(self):
        """The variance map, shape ``(len(times), n_y, n_x)``, or a str saying why not."""
        settings, r = self.settings, self.r
        classes = [self.times[self.times % r == o] for o in np.unique(self.times % r)]
        # each class' middle: its frame nearest the clip's centre, so that the middles of
        # two classes that mirror each other are mirror images too
        middles = [line[np.argmin(np.abs(2 * line - self.voxels.sums[0]))] for line in classes]
        began = time.perf_counter()
        level = self._levels(sorted({int(t) for line, middle in zip(classes, middles)
                                     for t in (line[0], middle, line[-1])}))
        while True:                          # refine each class' line where it changes
            extra = []
            for line in classes:
                at = np.flatnonzero(np.isin(line, list(level)))
                values = np.array([level[line[k]] for k in at])
                extra += line[_refine(at, values, settings.refine_rtol)].tolist()
            if not extra:
                break
            level.update(self._levels(sorted(set(extra))))
        floor = 1e-3 * max(level.values())
        # shapes: each class' middle, and the ends whose level moved away from it
        wanted = {}
        for line, middle in zip(classes, middles):
            for t in (line[0], middle, line[-1]):
                if level[middle] > floor and (t == middle or abs(level[t] - level[middle]) >
                                              settings.frame_shape_rtol * level[middle]):
                    wanted.setdefault(line[0] % r, set()).add(t)
        # and their mirror images, at no cost: the same solves
        for t in [t for ts in wanted.values() for t in ts]:
            twin = self.voxels.sums[0] - t
            if twin in self.times:
                wanted.setdefault(twin % r, set()).add(twin)
        framed = sorted(set().union(*wanted.values()))
        flat = {}
        if framed:          # none where every frame's level is ~0 (a training frame's pixels)
            # the centre and two corners, where the two axes' edge effects add up
            corners = self.voxels(np.concatenate([self._at(t, self._probes(t))
                                                  for t in framed])).reshape(len(framed), -1)
            flat = dict(zip(framed, np.all(np.abs(corners / corners[:, :1] - 1) <=
                                           settings.flat_rtol, axis=1)))
        solves = len(self.voxels.known)
        expected = ((time.perf_counter() - began) / solves *
                    (solves + 10 * self.corner * (len(flat) - sum(flat.values())) / 2 +
                     settings.hole_checks))
        if expected > settings.std_budget_seconds:
            return (f"the video's std estimate would take about {duration(expected)}, over "
                    f"the {duration(settings.std_budget_seconds)} budget")
        shapes = {t: 0.0 if is_flat else self._shape(t) for t, is_flat in flat.items()}
        out = np.empty((len(self.times),) + self.shape)
        for line in classes:
            nodes = line[np.isin(line, list(level))]
            levels = np.interp(line, nodes, [level[t] for t in nodes])
            at = np.array(sorted(wanted.get(line[0] % r, [])))
            for t, value in zip(line, levels):
                out[np.searchsorted(self.times, t)] = value * (1.0 + self._between(shapes, at, t))
        return self._check(out)

    def _probes(self, t):
        """Frame ``t``'s centre pixel, then two adjacent corners (one of each diagonal); on
        the later frame of a mirror pair, the mirror images of the earlier one's, so that
        the two share every solve."""
        (c0, c1), n1 = self.centre, self.shape[1]
        probes = np.array([(c0, c1), (0, 0), (0, n1 - 1)])
        later = t > self.voxels.sums[0] - t
        return self.mirror - probes if later and self.symmetric else probes

    def _shape(self, t):
        """Frame ``t``'s map relative to its centre (:class:`LatticeVariance`), mirror
        symmetric where the grid's inversion maps the frame onto itself; the later frame
        of a mirror pair reads the earlier one's, inverted."""
        twin = self.voxels.sums[0] - t
        if t in self._shapes:
            return self._shapes[t]
        if twin < t and self.symmetric:
            return self._shape(twin)[::-1, ::-1]
        mirror = self.mirror if twin == t else None
        values = LatticeVariance(self.shape, self.corner,
                                 lambda pixels: self.voxels(self._at(t, pixels)),
                                 mirror=mirror, settings=self.settings).fill()
        self._shapes[t] = values / values[tuple(self._probes(t)[0])] - 1.0
        return self._shapes[t]

    @staticmethod
    def _between(shapes, at, t):
        """The shape at frame ``t`` of a class whose shapes are known at frames ``at``
        (ascending; none: flat): linear between the two around ``t``, the nearest past
        either end."""
        if not at.size:
            return 0.0
        if t <= at[0] or t >= at[-1]:
            return shapes[at[0] if t <= at[0] else at[-1]]
        k = np.searchsorted(at, t)
        w = (t - at[k - 1]) / (at[k] - at[k - 1])
        return (1 - w) * shapes[at[k - 1]] + w * shapes[at[k]]

    def _check(self, out):
        """``out`` with exact values at ``settings.hole_checks`` random voxels, half of them
        within a corner's side of a spatial edge; a str if one misses by more than
        ``settings.hole_check_rtol`` (std, relative)."""
        settings = self.settings
        rng = np.random.default_rng(0)
        k = settings.hole_checks
        size = np.array(self.shape)
        pixels = (rng.random((k, 2)) * size).astype(np.int64)
        # the first half: one axis within a corner's side of either of its ends
        near = rng.integers(0, 2, size=k // 2)
        depth = rng.integers(0, self.corner, size=k // 2)
        far = rng.random(k // 2) < 0.5
        pixels[np.arange(k // 2), near] = np.where(far, size[near] - 1 - depth, depth)
        frames = rng.integers(0, len(self.times), size=k)
        truth = self.voxels(np.concatenate([self._at(self.times[f], p)
                                            for f, p in zip(frames, pixels)]))
        estimate = out[frames, pixels[:, 0], pixels[:, 1]]
        # on the variance, as a std's relative miss (half the variance's), floored as the
        # lines' (_scale): near 0, at a training frame's pixels, the sqrt would magnify it
        miss = np.abs(estimate - truth) / (2 * _scale(truth, out.ravel()))
        if miss.size and miss.max() > settings.hole_check_rtol:
            return (f"the video's std estimate missed the exact std by {miss.max():.1%} at a "
                    f"check voxel (more than {settings.hole_check_rtol:.0%})")
        out[frames, pixels[:, 0], pixels[:, 1]] = truth
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
