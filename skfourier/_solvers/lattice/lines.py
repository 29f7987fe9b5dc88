"""The spectral lines of a Fourier-feature kernel, treated exactly in CG's preconditioner.

An encoder with ``m`` frequencies ``b_j`` and amplitudes ``a_j`` gives the
features' inner product ``u(lag) = sum_j a_j^2 cos(2 pi b_j . lag) / (2 m)``,
and the NTK / NNGP is a function of it, ``kappa = f(u)``. Far from lag 0,
``u`` is small and ``kappa ~ f(0) + c u`` with ``c = f'(0)``: the kernel never
decays, it keeps ``m`` undamped cosines. On a grid ``c u`` is exactly a rank
``2 m`` matrix, ``Phi W Phi^T`` with ``Phi = [cos(2 pi b_j . x), sin(2 pi b_j . x)]``
and ``W = c a_j^2 / (2 m)``. A circulant cannot represent a cosine whose
frequency is not one of the torus' own: it smears each line over its
neighbours, and every line leaves outliers in the preconditioned spectrum,
more of them the larger the lattice (1024^2 at scale 40: 151 deflated CG
iterations, 2048^2 at scale 80: 423, the same kernel in pixels).

The split preconditioner ``M = C + Phi W Phi^T``, ``C`` the circulant of the
remainder ``kappa - c u`` (whose far field is a few per cent of
``kappa``'s), keeps the lines exact; by the Woodbury identity

    M^-1 = C^-1 - C^-1 Phi' S^-1 Phi'^T C^-1,   S = I + Phi'^T C^-1 Phi',

with ``Phi' = Phi W^(1/2)``. ``Phi'`` is never formed (2048^2 points x 512
columns would be 17 GB): the sinusoids are separable, products of one
complex exponential per axis, so ``Phi'^T V`` is one real GEMM over the
last axis and cheap sums over the others, and so is ``Phi' Z``. ``S``
(``2 m`` square) takes ``2 m`` circulant solves, once per fit; with the
phases centred on the grid, cosines are even and sines odd under the
grid's central reflection, which the circulant solve preserves, so ``S``
has no cosine-sine block and each sum runs over half the grid. A step
costs two circulant solves and the two products with ``Phi'`` besides the
matvec (1024^2, 3 channels: ~0.3 s, the matvec 0.15 s); the setup ~15 s
at 1024^2 and ~1 min at 2048^2 with 256 frequencies, so the lines are
kept only where they stand far above the circulant
(:meth:`SpectralLines.contrast`; see :func:`~.precond.choose`).
"""

import math
from functools import cached_property

import numpy as np
import scipy.linalg
import torch

from ..._validation import memory_budget
from ..base import matmul
from .grid import channel_major, samples


class SpectralLines:
    """``Phi'`` of a lattice: the kernel's linear part ``c u(lag)`` as weighted sinusoids.

    Parameters
    ----------
    frequencies : ndarray of shape (m, d)
        Cycles per grid step along each array axis (C order of ``shape``).
    weights : ndarray of shape (m,)
        ``c a_j^2 / (2 m)``, non-negative.
    shape : tuple of int
        Grid shape in array (C) order.
    generator : callable
        Returns the same part on the lags (centred, ``2 N - 1`` per axis),
        ``sum_j w_j cos(2 pi f_j . lag)``, from which the preconditioner's
        circulant of the rest of the kernel is built: called on first use of
        :attr:`generator`, so fits that never build that preconditioner
        (plain CG, finite times, videos) never hold the lag-sized array.
    """

    def __init__(self, frequencies, weights, shape, generator):
        self.shape = tuple(shape)
        self.frequencies = frequencies
        self._generator = generator
        self.n = math.prod(self.shape)
        self.root = np.sqrt(weights)
        self.m = self.root.size
        # one complex exponential per axis and frequency, e^(2 pi i f_ja p), p centred on
        # the grid: then cosines are even and sines odd under the grid's central reflection
        self.factors = [np.exp(2j * np.pi * np.outer(np.arange(n) - (n - 1) / 2,
                                                     frequencies[:, a]))
                        for a, n in enumerate(self.shape)]

    @cached_property
    def generator(self):
        """The lines' lag generator (see the ``generator`` parameter)."""
        return self._generator()

    def contrast(self, circulant):
        """How far the lines stand above a circulant's spectrum: the median over lines of
        ``n w_j / 2`` (a line's eigenvalue on the lattice) over the circulant's eigenvalue at
        the torus frequency nearest to the line.

        ``circulant`` holds the eigenvalues on the full torus (``fftn`` order).
        Below 1 the lines hide in the rest of the kernel; far above, each
        leaves an outlier that the circulant cannot remove (measured median
        contrast / deflated-circulant CG iterations, the same kernel in
        pixels: 512^2 at scale 20: 2.2 / 60, 1024^2 at 40: 8.6 / 151, 2048^2
        at 80: 34 / 423; wide kernels, scale 1: 0.01).
        """
        nearest = tuple(np.rint(self.frequencies[:, a] * n).astype(np.int64) % n
                        for a, n in enumerate(self.shape))
        return float(np.median(self.n * self.root ** 2 / 2 / circulant[nearest]))

    def _sums(self, A, factors):
        """``sum_p A[:, p] prod_a factors[a][p_a, j]`` for a real array A (k, *sizes) -> (k, m).

        One real GEMM over the last axis, then cheap sums over the others.
        """
        k, m = A.shape[0], self.m
        last = np.concatenate([factors[-1].real, factors[-1].imag], axis=1)
        T = matmul(A.reshape(-1, A.shape[-1]), last).reshape(A.shape[:-1] + (2 * m,))
        re, im = T[..., :m], T[..., m:]
        if A.ndim == 2:
            return re + 1j * im
        # the next axis with real and imaginary parts apart: T is real so far, and a complex
        # copy of it costs more than these sums
        f = factors[-2]
        T = (np.einsum("...pj,pj->...j", re, f.real) - np.einsum("...pj,pj->...j", im, f.imag)
             + 1j * (np.einsum("...pj,pj->...j", re, f.imag)
                     + np.einsum("...pj,pj->...j", im, f.real)))
        for f in reversed(factors[:-2]):
            T = np.einsum("...pj,pj->...j", T, f)
        return T.reshape(k, m)

    def adjoint(self, V):
        """``Phi'^T V``: (n, k) column-major samples -> (2 m, k), cosines first."""
        T = self._sums(channel_major(V, self.shape), self.factors)
        return np.concatenate([T.real.T, T.imag.T]) * np.tile(self.root, 2)[:, None]

    def folded_adjoint(self, V, odd):
        """``Phi_cos'^T V`` for ``V`` even under the central reflection (``odd=False``), or
        ``Phi_sin'^T V`` for ``V`` odd: (n, k) -> (m, k), at half the cost of :meth:`adjoint`.

        The terms at ``p`` and ``-p`` (centred) are equal, so the sum runs over the half
        with ``p_0 >= 0``, doubled, the slice ``p_0 = 0`` (odd ``N_0``) once; for an even
        ``V`` the other half-products vanish (sines of an even function).
        """
        n0 = self.shape[0]
        upper = slice(n0 // 2, n0)
        twice = np.full(n0 - n0 // 2, 2.0)
        twice[0] = 1.0 if n0 % 2 else 2.0
        factors = [self.factors[0][upper] * twice[:, None]] + self.factors[1:]
        T = self._sums(channel_major(V, self.shape)[:, upper], factors)
        return (T.imag if odd else T.real).T * self.root[:, None]

    def synthesis(self, Z):
        """``Phi' Z``: (2 m, k) -> (n, k) column-major samples."""
        k = Z.shape[1]
        w = (Z[:self.m] - 1j * Z[self.m:]).T * self.root                # (k, m)
        U = w.reshape((k,) + (1,) * (len(self.shape) - 1) + (self.m,))
        d = len(self.shape)
        for a in range(d - 1):     # factor a along U's axis 1 + a: (N_a, 1, ..., 1, m)
            U = U * np.expand_dims(self.factors[a], tuple(range(1, d - 1 - a)))
        U = U.reshape(-1, self.m)
        # Re(U E^T) = Re U Re E^T - Im U Im E^T, one real product
        last = self.factors[-1]
        out = matmul(np.concatenate([U.real, -U.imag], axis=1),
                     np.concatenate([last.real, last.imag], axis=1).T)
        return samples(out.reshape((k,) + self.shape))

    def columns(self, lo, hi):
        """Columns ``j`` and ``m + j`` of ``Phi'`` (cosine and sine of frequency ``j``) for
        ``lo <= j < hi``, as (n, 2 (hi - lo)) column-major samples, cosines first.

        Each is an outer product of the per-axis exponentials: n work per
        column, where :meth:`synthesis` of unit vectors would cost n 2 m.
        """
        k = hi - lo
        P = self.root[lo:hi].astype(complex)[:, None]
        for f in self.factors[:-1]:                 # the exponentials of all but the last axis
            P = (P[:, :, None] * f[:, lo:hi].T[:, None, :]).reshape(k, -1)
        last = self.factors[-1][:, lo:hi].T
        # cos and sin of (phase before + phase of the last axis) as real rank-2 products,
        # written straight into the output: no complex n-sized temporary
        left = np.concatenate([np.stack([P.real, -P.imag], axis=-1),
                               np.stack([P.imag, P.real], axis=-1)])        # (2 k, rest, 2)
        right = np.tile(np.stack([last.real, last.imag], axis=1), (2, 1, 1))  # (2 k, 2, N)
        out = torch.bmm(torch.from_numpy(left), torch.from_numpy(right)).numpy()
        return samples(out.reshape((2 * k,) + self.shape))


class LineWoodbury:
    """``M^-1 = (C + Phi' Phi'^T)^-1`` by the Woodbury identity, ``C^-1`` a circulant solve.

    Parameters
    ----------
    lines : SpectralLines
    circulant_solve : callable
        ``C^-1 V`` on arrays of shape (n, k) (the remainder's preconditioner,
        ``alpha`` included).
    """

    def __init__(self, lines, circulant_solve):
        self.lines = lines
        self.circulant_solve = circulant_solve
        m = lines.m
        # frequencies per block: its cosine and sine columns, their transforms and solves take
        # ~64 n bytes per frequency; at most 1 GiB (2048^2: 4 frequencies), as CG's own vectors
        block = int(np.clip(min(memory_budget(), 2 ** 30) // (64 * lines.n), 1, 32))
        # the circulant solve keeps the central symmetry (an even kernel's Toeplitz and
        # circulant factors commute with the reflection): cosines stay even, sines odd, so
        # S = I + Phi'^T C^-1 Phi' has no cosine-sine block
        S = np.eye(2 * m)
        for lo in range(0, m, block):
            hi = min(lo + block, m)
            Y = circulant_solve(lines.columns(lo, hi))
            S[:m, lo:hi] += lines.folded_adjoint(Y[:, :hi - lo], odd=False)
            S[m:, m + lo:m + hi] += lines.folded_adjoint(Y[:, hi - lo:], odd=True)
        # C^-1 is symmetric: S is, up to rounding
        self.factor = scipy.linalg.cho_factor((S + S.T) / 2, lower=True)

    def __call__(self, R):
        Y = self.circulant_solve(R)
        Z = scipy.linalg.cho_solve(self.factor, self.lines.adjoint(Y))
        Y -= self.circulant_solve(self.lines.synthesis(Z))
        return Y
