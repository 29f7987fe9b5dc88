"""A stationary kernel on a grid's lags, and the training operator built from it.

With Fourier features the composed NTK is stationary, ``K(x, x') =
kappa(x - x')``, so on a regular grid the kernel matrix is multilevel
Toeplitz and one array of lags (``2 N - 1`` per axis, centred) generates it.
The features' inner products on the lags separate per frequency into
exponential sums (:func:`lag_inner`), read from the encoder's public
:meth:`~skfourier.FourierFeatureTransformer.kernel_spectrum`. Everything
here is in array-axis order (:mod:`.grid`).
"""

import numpy as np

from ...kernels import stationary_ntk
from ..base import matmul
from .grid import to_axes
from .lines import SpectralLines
from .operator import FrameKernel, ToeplitzKernel


def _spectrum(encoder):
    """The encoder's frequencies per array axis (columns reversed) and weights."""
    B, weights = encoder.kernel_spectrum()
    return to_axes(B), weights


def exponential_sums(B, a2, offsets):
    """``sum_j a2_j cos(2 pi B_j . o)`` at every point ``o`` of the outer grid of the per-axis
    ``offsets`` (array order): shape ``tuple(len(o) for o in offsets)``.

    The sum over frequencies separates per axis, ``exp(2 pi i B_j . o)`` being
    a product of one factor per axis: the axes' factors multiplied out over
    all but the last, then one real matrix product with the last's.
    """
    factors = [np.exp(2j * np.pi * np.outer(o, B[:, axis])) for axis, o in enumerate(offsets)]
    prod = factors[0] * a2
    for f in factors[1:-1]:
        prod = (prod[:, None, :] * f[None, :, :]).reshape(-1, B.shape[0])
    if len(factors) == 1:
        return prod.sum(1).real
    # the real part of the complex product as one real product: Re P Re F^T - Im P Im F^T
    last = factors[-1]
    h = matmul(np.concatenate([prod.real, -prod.imag], axis=1),
               np.concatenate([last.real, last.imag], axis=1).T)
    return h.reshape(tuple(len(o) for o in offsets))


def lag_inner(encoder, spacing, n_lags, first=None):
    """The features' inner products on the lags with a non-negative first component.

    Returns ``(inner, norm_sq)``: ``inner`` has ``n_lags[0]`` lags (0 ..
    ``n_lags[0] - 1``, or the ascending lags ``first`` from 0 where given) along its
    first axis and ``2 n - 1`` centred lags along the others (see :func:`lag_kernel`);
    ``norm_sq`` is its value at lag 0.
    The inner products ``gamma(0) . gamma(lag)`` separate per frequency into
    exponential sums (:func:`exponential_sums`): a small matrix product, not n x m work.
    """
    B, a2 = _spectrum(encoder)
    if first is None:
        first = np.arange(n_lags[0])
    offsets = [first * spacing[0]] + [np.arange(-(m - 1), m) * spacing[axis]
                                      for axis, m in enumerate(n_lags) if axis > 0]
    n_out = 2 * B.shape[0]
    inner = exponential_sums(B, a2, offsets) / n_out
    zero = inner[:1]                      # first lag 0: its own mirror image, made exactly so
    zero[...] = (zero + np.flip(zero, axis=tuple(range(1, inner.ndim)))) / 2
    norm_sq = a2.sum() / n_out
    inner[(0,) + tuple(m - 1 for m in n_lags[1:])] = norm_sq  # lag 0 exactly
    return inner, norm_sq


def grid_columns(kernel, grid, X):
    """``kernel(p, x)`` at every point ``p`` of ``grid`` (its bounding grid, C order) for each
    row ``x`` of ``X``: shape ``(grid.size, m)``.

    Any ``x``, on the grid or not: the inner products with the grid's points
    are exponential sums over the grid's axes (:func:`exponential_sums`), a
    product of ``grid.size x n_frequencies`` a point and no features of the
    grid's points (a 256^2 x 10 grid, 12 points: ~0.5 s instead of ~8 s by
    the features).
    """
    B, a2 = _spectrum(kernel.encoder)
    n_out = 2 * B.shape[0]
    axes = [grid.origin[a] + grid.spacing[a] * np.arange(n) for a, n in enumerate(grid.shape)]
    out = np.empty((grid.size, X.shape[0]))
    for j, x in enumerate(to_axes(X)):
        inner = exponential_sums(B, a2, [c - xa for c, xa in zip(axes, x)]) / n_out
        out[:, j] = stationary_ntk(inner.reshape(-1), a2.sum() / n_out, **kernel.params)
    return out


def mirrored(half):
    """All lags from those with a non-negative first component: lag -l is lag l reversed."""
    return np.concatenate([np.flip(half[1:]), half])


def lag_kernel(kernel, spacing, n_lags):
    """A stationary kernel on the lags ``l * spacing``, ``|l| < n_lags`` (array order).

    The result is centred (index ``n_lags - 1`` is lag 0). The kernel is
    even, so only the lags with a non-negative first component are computed
    (:func:`lag_inner`) and the rest mirrored (the result is exactly
    symmetric, as the deflated preconditioner's ring split assumes).

    Parameters
    ----------
    kernel : KernelFunction
        With a fitted stationary Fourier-feature encoder.
    spacing : ndarray, per array axis
    n_lags : tuple of int, per array axis
    """
    inner, norm_sq = lag_inner(kernel.encoder, spacing, n_lags)
    return mirrored(stationary_ntk(inner, norm_sq, **kernel.params))


def frame_operator(kernel, grid, alpha, frames):
    """The :class:`~.operator.FrameKernel` of some whole frames of a grid (``frames``: their
    ascending indices along the first array axis).

    Only the time lags between kept frames are evaluated (at most
    ``len(frames)^2``, not the bounding grid's ``2 N - 1``): a 256^2 clip with 12
    of 100 frames kept needs 67 of 199.
    """
    frames = np.asarray(frames)
    diffs = frames[:, None] - frames[None, :]
    first = np.unique(np.abs(diffs))
    inner, norm_sq = lag_inner(kernel.encoder, grid.spacing, grid.shape, first=first)
    generator = mirrored(stationary_ntk(inner, norm_sq, **kernel.params))
    # mirrored: lag -first[i] at len(first) - 1 - i, lag first[i] at len(first) - 1 + i
    lag_index = len(first) - 1 + np.sign(diffs) * np.searchsorted(first, np.abs(diffs))
    return FrameKernel(generator, lag_index, (len(frames),) + tuple(grid.shape[1:]), alpha)


def lattice_operator(kernel, grid, alpha, settings, lines=True):
    """The :class:`~.operator.ToeplitzKernel` of a grid, with its
    :class:`~.lines.SpectralLines`.

    The lines are the kernel's linear part ``c u(lag)``, ``c`` the slope of
    the kernel as a function of the inner product ``u`` at 0 (a central
    difference of relative step ``settings.slope_step``): see :mod:`.lines`.
    ``lines=False`` leaves them out (an operator used for products only).
    """
    inner, norm_sq = lag_inner(kernel.encoder, grid.spacing, grid.shape)
    generator = mirrored(stationary_ntk(inner, norm_sq, **kernel.params))
    step = settings.slope_step * norm_sq
    low, high = stationary_ntk(np.array([-step, step]), norm_sq, **kernel.params)
    slope = (high - low) / (2 * step)
    if not (lines and slope > 0):
        return ToeplitzKernel(generator, grid.shape, alpha)
    B, a2 = _spectrum(kernel.encoder)
    weights = slope * a2 / (2 * B.shape[0])
    lines = SpectralLines(B * grid.spacing, weights, grid.shape,
                          lambda: slope * mirrored(inner))
    return ToeplitzKernel(generator, grid.shape, alpha, lines)
