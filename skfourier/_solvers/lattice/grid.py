"""The training grid: recognition from coordinates, refinements, offset classes, sample order.

Coordinates come as columns (x, y[, t]); arrays of grid values are in C
order of the reversed columns (t, y, x), the layout of
:func:`~skfourier.datasets.image_to_regression`. This module is the only
place where the two orders meet: :func:`to_axes` converts, :class:`Grid`
holds everything in array order, and every other module of the lattice
family works in array order alone.

The operator's vectors are column-major (each channel one contiguous grid,
so every FFT runs over contiguous data: 1024^2, 3 channels, a matvec in
0.14 s instead of 0.16 s with the channels interleaved): :func:`channel_major`
views them as ``(k, *shape)`` arrays and :func:`samples` back.
"""

import numpy as np

from ..._grid import grid_indices, lattice_indices

#: Grid steps beyond which a point is treated as off the grid (its window could not be
#: allocated, and int64 indices of a refinement would overflow).
_FARTHEST = 2.0 ** 31


def to_axes(values):
    """Per-coordinate-column values (last dimension x, y[, t]) in array-axis order (t, y, x),
    and back: the reversal is its own inverse."""
    return np.asarray(values)[..., ::-1]


def channel_major(V, shape):
    """Samples (n, k) -> array (k, *shape): a view of the operator's column-major arrays."""
    return V.T.reshape((V.shape[1],) + tuple(shape))


def samples(A):
    """Inverse of :func:`channel_major`: (k, *shape) -> column-major (n, k)."""
    return A.reshape(A.shape[0], -1).T


def inversion(low, high, shape, sums):
    """A lattice's own indices under the grid's central inversion ``f -> sums - f`` on the
    fine grid: the lattice's points ``f = low + step p`` (``high`` the last, ``shape``
    points per axis) map to ``mirror - p``; ``mirror`` (index sums), or ``None`` where the
    inversion does not land on whole lattice steps."""
    step = np.maximum(np.asarray(high) - low, 1) // np.maximum(np.array(shape) - 1, 1)
    mirror, remainder = np.divmod(np.asarray(sums) - 2 * np.asarray(low), step)
    return None if remainder.any() else mirror


class Grid:
    """A regular grid recovered from coordinates, in array-axis order: a full grid, or a
    *masked* one (any subset of a grid's points).

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Coordinates of distinct points of one regular grid, in any order:
        every point (a full image or video) or some of them (a random split, a
        band, an image with a hole, dropped frames). The grid is the bounding
        one with the largest step per axis that holds every point.
    what : str
        How errors name ``X``.

    Attributes
    ----------
    shape, origin, spacing : tuple of int, ndarray, ndarray
        Points, first coordinate and step per array axis of the bounding grid.
    flat : ndarray of int
        Flat C-order cell of each sample, in the caller's order.
    observed : ndarray of int or None
        The cells that hold a sample, ascending: the order of the operator's
        vectors on a masked grid (``None`` on a full grid, where every cell
        is one, in C order).
    """

    def __init__(self, X, what="X"):
        index, shape = grid_indices(X, what)
        self.shape = tuple(to_axes(shape).tolist())
        self.origin = to_axes(X.min(axis=0))
        self.spacing = to_axes([(X[:, k].max() - X[:, k].min()) / (n - 1) if n > 1 else 1.0
                                for k, n in enumerate(shape)]).astype(np.float64)
        self.flat = np.ravel_multi_index(to_axes(index).T, self.shape)
        self.observed = None
        if self.flat.size < self.size:
            # operator order: the observed cells ascending; the caller's rows in that order
            self._order = np.argsort(self.flat, kind="stable")
            self.observed = self.flat[self._order]

    @property
    def size(self):
        """Number of grid cells."""
        return int(np.prod(self.shape))

    def describe(self):
        """``"W x H"`` (``"W x H x T"``): the grid's points per coordinate column."""
        return " x ".join(map(str, to_axes(self.shape)))

    @property
    def fill(self):
        """Share of the grid's cells that hold a sample."""
        return self.flat.size / self.size

    @property
    def frames(self):
        """On a masked grid whose samples fill whole slices of the first array axis (every
        cell of some video frames), those slices' indices ascending; else ``None``."""
        if self.observed is None:
            return None
        per_frame = self.size // self.shape[0]
        frames = np.unique(self.observed // per_frame)
        return frames if frames.size * per_frame == self.observed.size else None

    def to_array(self, V):
        """Samples (n, k) in the caller's order -> array of shape ``shape + (k,)``, zeros in
        the cells without a sample."""
        out = (np.empty if self.observed is None else np.zeros)(
            (self.size,) + V.shape[1:], dtype=V.dtype)
        out[self.flat] = V
        return out.reshape(self.shape + V.shape[1:])

    def from_array(self, A):
        """The samples' cells of an array of shape ``shape + (k,)``, in the caller's order."""
        return A.reshape((self.size,) + A.shape[len(self.shape):])[self.flat]

    def to_operator(self, V):
        """Samples (n, k) in the caller's order -> the operator's column-major vectors: every
        cell in C order (full grid), or the observed cells ascending (masked)."""
        if self.observed is None:
            return np.asfortranarray(self.to_array(V).reshape(self.size, -1))
        return np.asfortranarray(V.reshape(V.shape[0], -1)[self._order])

    def from_operator(self, V):
        """Inverse of :meth:`to_operator`."""
        if self.observed is None:
            return self.from_array(V.reshape(self.shape + V.shape[1:]))
        out = np.empty_like(V, order="C")
        out[self._order] = V
        return out

    def locate(self, X, max_refinement):
        """Place the points ``X`` on a refinement of the grid, if they lie on one.

        Returns ``(r, index)`` in array order: the integer refinement per axis
        and each point's position on the fine grid (spacing ``spacing / r``,
        origin ``origin``), or ``None`` when some point is off every
        refinement up to ``max_refinement``.
        """
        offsets = (to_axes(X) - self.origin) / self.spacing
        if not np.all(np.abs(offsets) < _FARTHEST):
            return None  # no window that far could be allocated: the scattered path
        refinements, positions = [], []
        for column in offsets.T:
            for r in range(1, max_refinement + 1):
                scaled = column * r
                rounded = np.rint(scaled)
                if np.all(np.abs(scaled - rounded) < 1e-6):
                    refinements.append(r)
                    positions.append(rounded.astype(np.int64))
                    break
            else:
                return None
        return np.array(refinements), np.column_stack(positions)

    def extent(self, r, index):
        """Fine-grid window covering the grid's points and ``index`` (from :meth:`locate`).

        Returns ``(low, extent)``: the first fine index (<= 0) and the number
        of fine points per axis.
        """
        low = np.minimum(index.min(axis=0), 0)
        high = np.maximum(index.max(axis=0), (np.array(self.shape) - 1) * r)
        return low, high - low + 1

    def offset_classes(self, X, max_refinement):
        """``X`` split by offset on a refinement of the grid.

        Returns, per class, (rows of ``X``, their indices on the class's own
        grid in array order, its shape, the grid's central inversion as index
        sums on it or ``None`` where it does not map the class onto itself);
        ``None`` unless every class is a full grid.
        """
        fine = self.locate(X, max_refinement)
        if fine is None:
            return None
        r, index = fine
        keys = np.ravel_multi_index((index % r).T, tuple(r))
        # the grid's inversion, on the fine grid: f -> r (N - 1) - f
        sums = r * (np.array(self.shape) - 1)
        classes = []
        for key in np.unique(keys):
            rows = np.flatnonzero(keys == key)
            try:
                position, shape = lattice_indices(X[rows])
            except ValueError:
                return None
            position, shape = to_axes(position), tuple(to_axes(shape).tolist())
            classes.append((rows, position, shape, inversion(
                index[rows].min(axis=0), index[rows].max(axis=0), shape, sums)))
        return classes
