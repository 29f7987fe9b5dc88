"""Predictions on a refinement of a training grid: one FFT convolution, whatever the solver.

With a stationary kernel the prediction at points of a fine lattice is the
fine kernel applied to the dual coefficients placed on the training grid
(zeros between): a Toeplitz matvec of the fine window. The FFT solver
predicts so; the dense solvers too where their training points are a grid
(``skfourier image --size 64 --upscale 16``: 704 training pixels, 704,512
outputs: 23 s as a dense cross kernel).
"""

import numpy as np

from .grid import channel_major, samples
from .lags import lag_kernel
from .operator import ToeplitzKernel


def predict_on_lattice(grid, coef_array, r, index, fine_profile):
    """Predictions at fine-lattice points: one Toeplitz matvec of zero-stuffed weights.

    On the fine grid the prediction is the fine kernel matrix applied to the
    weights placed every ``r`` points (zeros between), so it is the same FFT
    matvec as training, on the window of :meth:`~.grid.Grid.extent`.

    Parameters
    ----------
    grid : Grid
    coef_array : ndarray of shape ``grid.shape + (k,)``
        Dual coefficients on the training grid; any number of columns.
    r, index
        From :meth:`~.grid.Grid.locate`: the refinement and the points'
        fine-grid positions relative to the training origin (array order).
    fine_profile : callable
        ``fine_profile(n_lags)`` -> kernel on the fine lags ``|l| < n_lags`` (centred,
        ``2 n_lags - 1`` per array axis).

    Returns
    -------
    pred : ndarray of shape (m, k)
    """
    low, extent = grid.extent(r, index)
    k = coef_array.shape[-1]
    stuffed = np.zeros((k,) + tuple(extent))  # channel-major, as the operator keeps it
    sl = tuple(slice(-lo, -lo + (n - 1) * ri + 1, ri) for lo, n, ri in zip(low, grid.shape, r))
    stuffed[(slice(None),) + sl] = np.moveaxis(coef_array, -1, 0)
    fine = ToeplitzKernel(fine_profile(tuple(extent)), tuple(extent), 0.0)
    full = channel_major(fine.matvec(samples(stuffed)), extent)
    return np.ascontiguousarray(full[(slice(None),) + tuple((index - low).T)].T)


def lattice_prediction(grid, X, coefs, kernel, settings):
    """``K(X, X_train) @ coef`` for each coefficient array by :func:`predict_on_lattice`, or
    ``None`` where ``X`` is off every refinement of ``grid`` up to
    ``settings.max_fine_factor`` or its fine window exceeds that many times train + test."""
    fine = grid.locate(X, settings.max_fine_factor)
    if fine is None:
        return None
    r, index = fine
    _, extent = grid.extent(r, index)
    if np.prod(extent) > settings.max_fine_factor * (grid.size + X.shape[0]):
        return None
    spacing = grid.spacing / r
    # all coefficient arrays in one convolution: one fine-lag kernel
    stacked = grid.to_array(np.concatenate(coefs, axis=1))
    pred = predict_on_lattice(grid, stacked, r, index,
                              lambda n_lags: lag_kernel(kernel, spacing, n_lags))
    return np.split(pred, len(coefs), axis=1)
