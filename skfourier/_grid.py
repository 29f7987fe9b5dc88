"""Recover the regular lattice behind coordinate samples: a full grid, or any subset of one."""

import numpy as np

# How far from a grid point a coordinate may lie, in steps: np.linspace / arange in float64
# sit within ~1e-13 of it, float32 coordinates of a 256-pixel axis within ~2e-5.
_ON_GRID_STEPS = 1e-4
# A column's step may be a fraction of its smallest gap (values 0, 2h, 3h: step h) down to
# 1 / this.
_MAX_SUBDIVISION = 16


def _column_grid(values, k, what):
    """Step and number of grid points of one column's distinct sorted values."""
    if values.size == 1:
        return 1.0, 1
    gaps = np.diff(values)
    extent = values[-1] - values[0]
    for m in range(1, _MAX_SUBDIVISION + 1):
        step = gaps.min() / m
        multiples = gaps / step
        if np.all(np.abs(multiples - np.rint(multiples)) <= _ON_GRID_STEPS):
            n = int(np.rint(extent / step)) + 1
            return extent / (n - 1), n
    raise ValueError(f"column {k} of {what} is not on a regular grid: its gaps "
                     f"({gaps.min():.6g} .. {gaps.max():.6g}) are not integer multiples of "
                     "one step, so it is not a subset of a pixel grid; build it with "
                     "image_to_regression or video_to_regression (and index those).")


class DuplicatePoints(ValueError):
    """Samples on one grid that share a point: a grid, but not one the FFT operator takes."""


def grid_indices(X, what="X"):
    """Integer index of every sample on the regular grid its coordinates lie on.

    The grid per column spans the column's range with the largest step that
    puts every value on it (a full image, or any subset of one: a random
    split, a band, an image with a hole, dropped frames).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_axes)

    Returns
    -------
    index : ndarray of int, shape (n_samples, n_axes)
    shape : tuple of int
        Grid points per column.

    Raises
    ------
    ValueError
        If a column is not on a regular grid, or two samples share a point.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"{what} must be a non-empty 2-D array of coordinates, got shape "
                         f"{X.shape}.")
    index = np.empty(X.shape, dtype=np.int64)
    shape = []
    for k in range(X.shape[1]):
        values = np.unique(X[:, k])
        step, n = _column_grid(values, k, what)
        index[:, k] = np.rint((X[:, k] - values[0]) / step).astype(np.int64)
        shape.append(n)
    n_cells = int(np.prod(shape, dtype=np.float64))
    if n_cells > 2 ** 62:
        raise ValueError(f"{what}: their grid of {' x '.join(map(str, shape))} points has "
                         "too many cells for any solver; these coordinates are not pixels.")
    flat = np.ravel_multi_index(index.T, shape)
    # distinct points: a count per cell where the grid is not much larger than the data
    # (O(n), where np.unique sorts), else a sort
    distinct = (np.count_nonzero(np.bincount(flat, minlength=n_cells))
                if n_cells <= 64 * X.shape[0] else np.unique(flat).size)
    if distinct < flat.size:
        raise DuplicatePoints(f"{what}: {flat.size - distinct} duplicate coordinates "
                              "(samples at the same grid point); remove or average them first.")
    return index, tuple(shape)


def lattice_indices(X, what="X"):
    """Integer index of every sample along every axis of a full regular grid.

    As :func:`grid_indices`, for samples that must be every point of their grid.

    Returns
    -------
    index : ndarray of int, shape (n_samples, n_axes)
    shape : tuple of int

    Raises
    ------
    ValueError
        If the samples are not every point of a regular grid exactly once.
    """
    index, shape = grid_indices(X, what)
    n_cells = int(np.prod(shape))
    if n_cells != index.shape[0]:
        raise ValueError(f"{what}: {index.shape[0]} samples, but their coordinates span a grid "
                         f"of {' x '.join(map(str, shape))} = {n_cells} cells: it must hold "
                         "every grid point exactly once (a full image or video).")
    return index, shape
