"""The kernel matrix of a grid as an operator: Toeplitz matvecs by FFT, products on faces.

The multilevel Toeplitz matrix ``K + alpha I`` of a stationary kernel on a
grid is never formed: its lag generator is embedded in a circulant of twice
the grid size per axis, where a matvec is a pointwise product of FFTs
(:class:`ToeplitzKernel`). :class:`FaceProduct` gives the product on the
grid's end faces alone, for the boundary deflation. Array-axis order
throughout; vectors are column-major (:func:`~.grid.channel_major`).
"""

from functools import cached_property

import numpy as np
import scipy.fft
import torch

from .grid import channel_major, samples


def embed(generator, shape, axes=None):
    """Circulant embedding (2N per axis) of a centred lag generator (2N - 1 per axis).

    Only along ``axes`` (default: all); the others keep their 2N - 1 lags.
    """
    out = generator
    for axis in range(len(shape)) if axes is None else axes:
        n = shape[axis]
        pos = np.take(out, np.arange(n - 1, 2 * n - 1), axis=axis)      # lags 0 .. N-1
        neg = np.take(out, np.arange(0, n - 1), axis=axis)               # lags -(N-1) .. -1
        pad_shape = list(out.shape)
        pad_shape[axis] = 1
        out = np.concatenate([pos, np.zeros(pad_shape), neg], axis=axis)
    return out


def forward(A, axes):
    """FFT over ``axes`` of ``A`` zero-padded to twice its length there, a real FFT on the last.

    One axis at a time, so that each transform runs only over the data the
    previous ones filled (the padding is skipped, not transformed).
    """
    F = scipy.fft.rfft(A, n=2 * A.shape[axes[-1]], axis=axes[-1], workers=-1)
    for axis in reversed(axes[:-1]):
        F = scipy.fft.fft(F, n=2 * A.shape[axis], axis=axis, workers=-1)
    return F


def inverse(F, axes, sizes):
    """Inverse of :func:`forward` (which it may overwrite), cropped to ``sizes`` along ``axes``.

    Each axis' padded half is dropped as soon as it is transformed. The last
    (real) transform runs one leading slice (channel) at a time: after the
    crops each slice is contiguous, where the whole array is not and would be
    copied (at 2048^2 the fine grid's copy is 0.4 GB).
    """
    for axis, n in zip(axes[:-1], sizes[:-1]):
        F = scipy.fft.ifft(F, axis=axis, workers=-1, overwrite_x=True)
        F = F[(slice(None),) * axis + (slice(0, n),)]
    last, n = axes[-1] - 1, sizes[-1]          # the last axis within a leading slice
    out = np.empty(F.shape[:axes[-1]] + (n,) + F.shape[axes[-1] + 1:])
    for i, part in enumerate(F):
        out[i] = scipy.fft.irfft(part, n=2 * n, axis=last, workers=-1)[
            (slice(None),) * last + (slice(0, n),)]
    return out


class FaceProduct:
    """``(K + alpha I) V`` at points on end faces of the grid only, without a full product.

    The deflated preconditioner (:mod:`.deflation`) needs the product on the
    boundary ring alone. On the two end faces of axis ``a`` only the lags
    along ``a`` must be summed one by one: transform ``V`` over the other axes
    (as :meth:`ToeplitzKernel.matvec` does), contract its ``N_a`` slices with
    the generator transformed the same way, and invert on the two faces
    alone, a fraction of the full product's transforms.

    Parameters
    ----------
    generator, shape, alpha
        As :class:`ToeplitzKernel`.
    index : ndarray of int
        Flat C-order indices of the points wanted, each on an end face of
        one of ``axes``; the product's rows come in this order.
    axes : tuple of int
    """

    def __init__(self, generator, shape, alpha, index, axes):
        self.shape, self.alpha, self.index = tuple(shape), alpha, index
        coords = np.unravel_index(index, shape)
        todo = np.ones(index.size, bool)
        self.parts = []
        for a in axes:
            n = shape[a]
            other = tuple(b for b in range(len(shape)) if b != a)
            on_face = todo & ((coords[a] == 0) | (coords[a] == n - 1))
            todo &= ~on_face            # a corner is taken from the first face that holds it
            dest = np.flatnonzero(on_face)
            face_shape = (2,) + tuple(shape[b] for b in other)
            src = np.ravel_multi_index((np.minimum(coords[a][dest], 1),)
                                       + tuple(coords[b][dest] for b in other), face_shape)
            G = scipy.fft.rfftn(embed(generator, shape, other), axes=other, workers=-1)
            # face 0 sums the lags 0 - j, face N - 1 the lags N - 1 - j, for j = 0 .. N - 1
            lags = np.stack([np.take(G, np.arange(n - 1, -1, -1), axis=a),
                             np.take(G, np.arange(2 * n - 2, n - 2, -1), axis=a)])
            self.parts.append((a, other, face_shape, lags, dest, src))
        if todo.any():
            raise ValueError("FaceProduct: some points lie on none of the faces")

    def __call__(self, V):
        k = V.shape[1]
        A = channel_major(V, self.shape)
        out = np.empty((self.index.size, k))
        for a, other, face_shape, lags, dest, src in self.parts:
            F = forward(A, tuple(b + 1 for b in other))            # (k, frequencies...)
            d = len(self.shape)
            # the sum over the lags along a, frequency by frequency of the other axes
            faces = np.einsum(lags, [0, *range(2, d + 2)], F, [1, *range(2, d + 2)],
                              [1, 0, *(b + 2 for b in other)])     # (k, 2, frequencies...)
            faces = inverse(faces, tuple(range(2, d + 1)), face_shape[1:])
            out[dest] = faces.reshape(k, -1)[:, src].T
        if self.alpha:
            out += self.alpha * V[self.index]
        return out


class ToeplitzKernel:
    """The kernel matrix of a stationary kernel on a regular grid, plus ``alpha I``.

    Parameters
    ----------
    generator : ndarray of shape ``tuple(2 N - 1 for N in shape)``
        Kernel values on all lags, centred (index ``N - 1`` is lag 0).
    shape : tuple of int
        Grid shape in array (C) order.
    alpha : float
        Ridge added to the diagonal.
    lines : SpectralLines, optional
        The kernel's undamped linear part (:mod:`.lines`), which the
        preconditioner may keep exact (:mod:`.precond`).
    """

    def __init__(self, generator, shape, alpha, lines=None):
        self.generator = generator
        self.shape = tuple(shape)
        self.alpha = alpha
        self.lines = lines
        self.axes = tuple(range(len(shape)))
        self.n = int(np.prod(shape))

    @cached_property
    def spectrum(self):
        """The circulant embedding's eigenvalues (real FFT), built on first use."""
        return scipy.fft.rfftn(embed(self.generator, self.shape),
                               s=tuple(2 * n for n in self.shape), axes=self.axes, workers=-1)

    def matvec(self, V):
        """``(K + alpha I) V`` for V of shape (n, k), samples in C order of ``shape``.

        The circulant product, one axis at a time to skip the zero padding: the
        forward transform of each axis runs only over the data the previous
        ones filled, and the inverse drops each axis' padded half as soon as
        it is transformed (25-40% less work than ``rfftn`` / ``irfftn``).
        """
        axes = tuple(a + 1 for a in self.axes)
        F = forward(channel_major(V, self.shape), axes)
        F *= self.spectrum
        out = samples(inverse(F, axes, self.shape))
        if self.alpha:
            out += self.alpha * V
        return out

    def face_product(self, index, axes):
        """The product at the points ``index`` on the end faces of ``axes``: a
        :class:`FaceProduct`."""
        return FaceProduct(self.generator, self.shape, self.alpha, index, axes)


class MaskedOperator:
    """A grid operator restricted to some of its cells: ``(K + alpha I)_oo`` of a masked grid.

    ``K_oo V`` is the full grid's product of ``V`` scattered onto the
    observed cells (zeros elsewhere), gathered back: one FFT matvec of the
    bounding grid, O(N log N) for N cells, whatever the mask.

    Parameters
    ----------
    operator : ToeplitzKernel
        The bounding grid's operator (its ``alpha`` lands on the observed
        cells only, as it should).
    observed : ndarray of int
        Flat C-order cells, ascending: the rows of the vectors.
    """

    def __init__(self, operator, observed):
        self.operator = operator
        self.observed = observed
        self.shape = operator.shape
        self.n = observed.size

    def scatter(self, V):
        """Observed rows (n, k) -> the whole grid's column-major (N, k), zeros elsewhere."""
        full = np.zeros((self.operator.n, V.shape[1]), order="F")
        full[self.observed] = V
        return full

    def matvec(self, V):
        return np.asfortranarray(self.operator.matvec(self.scatter(V))[self.observed])


class FrameKernel:
    """The kernel matrix of some whole frames of a grid, plus ``alpha I``: kept video frames
    at any times (a dropped frame, an irregular set).

    Toeplitz in space (the frames are full grids), dense in time: the time
    lags between kept frames take any values. At each spatial frequency of
    the circulant embedding the product is one small dense matrix over the
    kept frames, ``G_w[i, j]`` = the spatial transform of the generator at
    the lag between frames ``i`` and ``j``. A matvec is the frames' spatial
    FFTs, one batched ``m x m`` product per frequency, and the inverse FFTs:
    the cost of the ``m`` kept frames, not of the bounding grid's ``N`` (a
    masked bounding grid would transform all ``N`` frames per step).

    Parameters
    ----------
    generator : ndarray
        Kernel values on the distinct time lags between kept frames (first
        axis, ascending, as :func:`~.lags.mirrored` leaves them) and on all
        centred spatial lags (``2 N - 1`` per spatial axis).
    lag_index : ndarray of int, shape (m, m)
        Position on the generator's first axis of the lag from frame ``j`` to
        frame ``i``.
    shape : tuple of int
        ``(m, *spatial shape)`` in array order: the kept frames' grid.
    alpha : float
    """

    def __init__(self, generator, lag_index, shape, alpha):
        self.generator = generator
        self.lag_index = lag_index
        self.shape = tuple(shape)
        self.alpha = alpha
        self.n = int(np.prod(self.shape))
        self.space = tuple(range(1, len(self.shape)))

    @cached_property
    def blocks(self):
        """``G_w`` for every spatial frequency ``w``: a torch tensor (frequencies, m, m)."""
        G = scipy.fft.rfftn(embed(self.generator, self.shape, self.space), axes=self.space,
                            workers=-1)
        G = G[self.lag_index]                                   # (m, m, frequencies...)
        m = self.shape[0]
        return torch.from_numpy(np.ascontiguousarray(
            G.reshape(m, m, -1).transpose(2, 0, 1)))

    def matvec(self, V):
        """``(K + alpha I) V`` for V of shape (n, k), column-major over the frames' grid."""
        k, m = V.shape[1], self.shape[0]
        axes = tuple(a + 1 for a in self.space)
        F = forward(channel_major(V, self.shape), axes)         # (k, m, frequencies...)
        mixed = self.blocks @ torch.from_numpy(
            np.ascontiguousarray(F.reshape(k, m, -1).transpose(2, 1, 0)))
        F = mixed.numpy().transpose(2, 1, 0).reshape(F.shape)
        out = samples(inverse(F, axes, self.shape[1:]))
        if self.alpha:
            out += self.alpha * V
        return out
