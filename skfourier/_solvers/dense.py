"""Dense solvers: one eigendecomposition (any t, exact LOO / GCV) or one Cholesky (t = None).

Large factorizations run through torch's LAPACK: multi-threaded OpenBLAS
Cholesky in numpy/scipy segfaulted at n = 16,384 on our 2-core machines,
killing the user's process, while torch's routines are safe there.
"""

import warnings

import numpy as np
import torch
from sklearn.utils.validation import check_memory

from .._settings import null_tolerance
from .._validation import check_allocation, memory_budget
from ..kernels import ntk_kernel
from .base import Solver, cholesky_factor, flow_phi, matmul
from .lattice.grid import Grid
from .lattice.predict import lattice_prediction

# Bytes per n x n float64 matrix, and how many of them each solver holds at peak:
# eigh keeps the kernel, the eigenvectors and LAPACK's divide-and-conquer workspace.
PEAK_MATRICES = {"eigh": 3, "cholesky": 2}


#: Where to go when the dense path does not fit, appended to the memory error.
SCALABLE_HINT = (", use solver='fft' (grid data with a Fourier-feature encoder=) or "
                 "solver='cg' (matrix-free)")


def check_kernel_memory(n, solver, limit, alternatives=SCALABLE_HINT):
    """Raise before allocating when the dense n x n path would exceed ``limit`` bytes."""
    limit = memory_budget() if limit is None else limit  # default: half the RAM
    needed = PEAK_MATRICES[solver] * 8 * n * n
    if needed > limit:
        raise ValueError(
            f"solver={solver!r} needs about {needed / 2 ** 30:.2f} GiB for n={n} training "
            f"samples ({PEAK_MATRICES[solver]} dense {n} x {n} float64 matrices), more than "
            f"max_kernel_memory={limit / 2 ** 30:.2f} GiB. Subsample the training set, use a "
            f"smaller grid (a larger PixelGridSplit stride or a resized image){alternatives}, "
            "or raise max_kernel_memory if the machine has the memory.")
    return needed


class DenseSolver(Solver):
    """What both dense families share: the NNGP training matrix of a predictive variance."""

    def prior_matvec(self, V):
        # held: a dense solver already affords n x n matrices, and a variance block
        # count of products would each recompute the kernel
        def build():
            n = self.X.shape[0]
            check_allocation(8 * n * n, f"the NNGP training matrix ({n} x {n}) of the "
                             "predictive variance", "subsample the training set.",
                             self.max_memory)
            return self.kernel.with_kind("nngp")(self.X)

        return matmul(self._cached("prior", build), V)

    def predict(self, X, coefs, kernel=None):
        """On a refinement of a training grid, one FFT convolution of the coefficients
        (:func:`~.lattice.predict.lattice_prediction`: a stationary encoder, training
        points filling at least ``settings.min_fill`` of their grid); elsewhere, and where
        the fine window would be too large, the cross kernel in blocks. A 32 x 22 lattice
        upscaled 32 times (704,512 points): 0.3 s instead of 23 s."""
        kernel = kernel or self.kernel
        grid = self._cached("grid", self._training_grid)
        pred = None if grid is None else lattice_prediction(grid, X, coefs, kernel,
                                                            self.settings)
        return super().predict(X, coefs, kernel) if pred is None else pred

    def _training_grid(self):
        """The training points' :class:`~.lattice.grid.Grid`, or ``None`` (no stationary
        encoder, no grid, or too sparse a one)."""
        if not self.kernel.stationary:
            return None
        try:
            grid = Grid(self.X)
        except ValueError:
            return None
        return grid if grid.fill >= self.settings.min_fill else None


class Spectrum:
    """Eigendecomposition ``K = Q diag(lambda) Q^T`` of a kernel (lambda descending, >= 0)."""

    def __init__(self, eigenvalues, eigenvectors):
        self.eigenvalues = eigenvalues
        self.eigenvectors = eigenvectors

    @classmethod
    def from_kernel(cls, K):
        """Decompose a symmetric kernel matrix (overwritten), clipping negative eigenvalues."""
        lam, Q = torch.linalg.eigh(torch.from_numpy(K))
        lam, Q = lam.numpy()[::-1].copy(), Q.numpy()[:, ::-1].copy()
        del K
        tol = null_tolerance(lam)
        if lam.size and lam[-1] < -max(1e-6 * lam[0], 1e3 * tol):
            warnings.warn(
                f"the kernel matrix is numerically indefinite (smallest eigenvalue "
                f"{lam[-1]:.3g}, largest {lam[0]:.3g}); negative eigenvalues are clipped to 0. "
                "Duplicate or near-duplicate inputs cause this; a small alpha regularises it.",
                RuntimeWarning, stacklevel=4)
        return cls(np.clip(lam, 0.0, None), Q)


def decompose(F, depth, weight_std, bias_std, kind):
    """Kernel of the features ``F`` and its eigendecomposition (the unit joblib.Memory caches)."""
    return Spectrum.from_kernel(ntk_kernel(F, depth=depth, weight_std=weight_std,
                                           bias_std=bias_std, kind=kind))


def _filter(mu, c):
    """``phi_c(mu)``; at ``c = inf`` ``1 / mu``, with null directions (mu ~ 0) left at 0."""
    if np.isinf(c):
        keep = mu > null_tolerance(mu)
        return np.where(keep, 1.0 / np.where(keep, mu, 1.0), 0.0)
    return flow_phi(mu, c)


def _decay(mu, c):
    """``exp(-c mu)``; at ``c = inf`` 1 in null directions, 0 elsewhere."""
    if np.isinf(c):
        return np.where(mu > null_tolerance(mu), 0.0, 1.0)
    return np.exp(-c * mu)


class SpectralSolver(DenseSolver):
    """Every gradient-flow quantity as a filter of one eigendecomposition (``solver="eigh"``).

    Exact at any ``t``, ``alpha = 0`` included (null directions of a singular
    kernel are left untouched). The decomposition is computed on first use,
    through ``memory`` when given, and shared by :meth:`with_alpha` copies.
    """

    name = "eigh"

    @property
    def spectrum(self):
        """The kernel's :class:`Spectrum` (built on first use, through ``memory``)."""
        def build():
            check_kernel_memory(self.X.shape[0], "eigh", self.max_memory)
            cached = check_memory(self.memory).cache(decompose)
            return cached(self.kernel.features(self.X), **self.kernel.params)

        return self._cached("spectrum", build)

    @property
    def _QtY(self):
        """The targets in the eigenbasis, ``Q^T Y``."""
        return self._cached("QtY", lambda: matmul(self.spectrum.eigenvectors.T, self.Y))

    @property
    def eigenvalues(self):
        """Eigenvalues of ``K(X, X)`` without alpha, descending."""
        return self.spectrum.eigenvalues

    def with_alpha(self, alpha):
        """The same decomposition with another ridge (a shallow copy sharing it)."""
        self._QtY  # decompose once, before sharing
        other = type(self)(self.kernel, alpha=alpha, tol=self.tol, max_iter=self.max_iter,
                           max_memory=self.max_memory, memory=self.memory,
                           verbose=self.verbose, settings=self.settings).fit(self.X, self.Y)
        other._built.update(self._built)  # alpha-free state only: spectrum, Q^T Y, prior
        return other

    def _mu(self):
        return self.spectrum.eigenvalues + self.alpha

    def apply(self, V, scales, tol=None):
        return self._filtered(matmul(self.spectrum.eigenvectors.T, V), scales)

    def coefficients(self, scales):
        return self._filtered(self._QtY, scales)

    def _filtered(self, QtV, scales):
        """``Q phi_c(mu) Q^T V`` for each scale, from ``Q^T V``."""
        Q, mu = self.spectrum.eigenvectors, self._mu()
        return [matmul(Q, _filter(mu, c)[:, None] * QtV) for c in scales]

    def training_mse(self, scales):
        mu = self._mu()
        return np.array([float(np.sum((_decay(mu, c)[:, None] * self._QtY) ** 2) /
                               self._QtY.size) for c in scales])

    def hat_eigenvalues(self, c):
        """``h = lambda phi_c(lambda + alpha)``: the hat matrix ``y -> f_train``, eigenbasis."""
        return self.spectrum.eigenvalues * _filter(self._mu(), c)

    def loo_score(self, c):
        """Minus the hat-matrix leave-one-out MSE at flow scale ``c``, ``-inf`` if undefined.

        With ``H = Q diag(h) Q^T`` the map from the targets to the training
        predictions, the LOO residual is ``(y_i - (H y)_i) / (1 - H_ii)``:
        exact for kernel ridge (``c = inf``), the same linear-smoother formula
        at a finite ``c`` (where removing a point also changes the flow), so
        every candidate of a search is scored by one criterion and equal
        models (a converged finite ``t`` and ``t = None``) score equally.
        """
        Q = self.spectrum.eigenvectors
        h = self.hat_eigenvalues(c)
        resid = self.Y - matmul(Q, h[:, None] * self._QtY)
        denom = 1.0 - matmul(Q ** 2, h)
        if not np.all(denom > 1e-12):  # a point that its own fit interpolates exactly
            return -np.inf
        return -float(np.mean((resid / denom[:, None]) ** 2))


class NotPositiveDefinite(ValueError):
    """Cholesky found ``K + alpha I`` numerically singular (the caller may use eigh instead)."""


class CholeskySolver(DenseSolver):
    """The converged network ``(K + alpha I)^{-1} y`` by one Cholesky factorization (t = None).

    About 20x cheaper than an eigendecomposition; finite times need
    :class:`SpectralSolver`. The factorization runs on the first call of
    :meth:`coefficients`, which raises :class:`NotPositiveDefinite` when it
    fails (the estimator then falls back to eigh).
    """

    name = "cholesky"
    finite_times = False

    @property
    def factor(self):
        """The Cholesky factor of ``K + alpha I``, computed on first use."""
        def build():
            check_kernel_memory(self.X.shape[0], "cholesky", self.max_memory)
            factor = cholesky_factor(self.kernel(self.X), self.alpha)
            if factor is None:
                raise NotPositiveDefinite(
                    "solver='cholesky' failed: K + alpha I is not positive definite (singular "
                    f"kernel with alpha={self.alpha!r}). Use solver='eigh' or 'auto', which "
                    "treat null directions exactly, or a positive alpha.")
            return factor

        return self._cached("factor", build)

    def apply(self, V, scales, tol=None):
        if any(np.isfinite(c) for c in scales):
            raise ValueError("the Cholesky solver gives the converged limit (t=None) only; "
                             "finite times need solver='eigh'.")
        solved = torch.cholesky_solve(torch.from_numpy(np.ascontiguousarray(V)),
                                      self.factor).numpy()
        if not np.all(np.isfinite(solved)):
            raise NotPositiveDefinite("solver='cholesky' failed: the solve overflowed; use "
                                      "solver='eigh' or 'auto', or a positive alpha.")
        return [solved for _ in scales]
