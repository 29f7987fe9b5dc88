"""Dense solvers: one eigendecomposition (any t) or one Cholesky factorization (t = None).

Large factorizations run through torch's LAPACK: multi-threaded OpenBLAS
Cholesky in numpy/scipy segfaulted at n = 16,384 on our 2-core machines,
killing the user's process, while torch's routines are safe there.
"""

import os
import warnings

import numpy as np
import torch

# Bytes per n x n float64 matrix, and how many of them each solver holds at peak:
# eigh keeps the kernel, the eigenvectors and LAPACK's divide-and-conquer workspace.
_PEAK_MATRICES = {"eigh": 3, "cholesky": 2}


def default_kernel_memory():
    """Default ``max_kernel_memory``: half of the machine's physical memory."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2 ** 30
    return total // 2


def check_kernel_memory(n, solver, limit, alternatives):
    """Raise before allocating when the dense n x n path would exceed ``limit`` bytes."""
    limit = default_kernel_memory() if limit is None else limit
    needed = _PEAK_MATRICES[solver] * 8 * n * n
    if needed > limit:
        raise ValueError(
            f"solver={solver!r} needs about {needed / 2 ** 30:.2f} GiB for n={n} training "
            f"samples ({_PEAK_MATRICES[solver]} dense {n} x {n} float64 matrices), more than "
            f"max_kernel_memory={limit / 2 ** 30:.2f} GiB. Subsample the training set, use a "
            f"smaller grid (a larger PixelGridSplit stride or a resized image){alternatives}, "
            "or raise max_kernel_memory if the machine has the memory.")
    return needed


def flow_scale(learning_rate, t, n_entries):
    """``c = learning_rate * t / N`` of the gradient flow; ``inf`` for t = None (converged)."""
    if t is None or np.isinf(t):
        return np.inf
    return learning_rate * t / n_entries


def flow_phi(mu, c):
    """``(1 - exp(-c mu)) / mu`` for finite ``c``, stable as ``c mu -> 0`` (limit ``c``)."""
    cm = c * mu
    small = cm < 1e-12
    # -expm1(-x) / x -> 1 as x -> 0: the flow has moved by c in a null direction
    return c * np.where(small, 1.0, -np.expm1(-cm) / np.where(small, 1.0, cm))


def cholesky_coefficients(K, Y, alpha):
    """Solve ``(K + alpha I) A = Y`` by Cholesky; ``None`` when K + alpha I is not positive definite.

    ``K`` is overwritten (its lower triangle receives the factor).
    """
    tk = torch.from_numpy(K)
    tk.diagonal().add_(alpha)
    L, info = torch.linalg.cholesky_ex(tk, out=(tk, torch.empty((), dtype=torch.int32)))
    if int(info) != 0:
        return None
    # A factorization can "succeed" on a numerically singular matrix with tiny pivots;
    # cond(K) >= (max pivot / min pivot)^2, so hand such cases to eigh's null-space rule.
    pivots = L.diagonal().abs()
    if pivots.numel() and (pivots.min() / pivots.max()) ** 2 < pivots.numel() * _EPS:
        return None
    coef = torch.cholesky_solve(torch.from_numpy(np.ascontiguousarray(Y)), L)
    if not torch.all(torch.isfinite(coef)):
        return None
    return coef.numpy()


class SpectralSolution:
    """Eigendecomposition ``K = Q diag(lambda) Q^T`` of a training kernel and its filters.

    Every gradient-flow quantity is a spectral filter of ``mu = lambda + alpha``:
    the dual coefficients use ``phi(mu) = (1 - exp(-c mu)) / mu`` (``1 / mu`` at
    ``c = inf``), the training residual ``exp(-c mu)``.

    Parameters
    ----------
    eigenvalues : ndarray of shape (n,)
        Descending, clipped at 0.
    eigenvectors : ndarray of shape (n, n)
        Matching columns.
    """

    def __init__(self, eigenvalues, eigenvectors):
        self.eigenvalues = eigenvalues
        self.eigenvectors = eigenvectors

    @classmethod
    def from_kernel(cls, K):
        """Decompose a symmetric kernel matrix (overwritten), clipping negative eigenvalues."""
        lam, Q = torch.linalg.eigh(torch.from_numpy(K))
        lam, Q = lam.numpy()[::-1].copy(), Q.numpy()[:, ::-1].copy()
        del K
        tol = _null_tolerance(lam)
        if lam.size and lam[-1] < -max(1e-6 * lam[0], 1e3 * tol):
            warnings.warn(
                f"the kernel matrix is numerically indefinite (smallest eigenvalue "
                f"{lam[-1]:.3g}, largest {lam[0]:.3g}); negative eigenvalues are clipped to 0. "
                "Duplicate or near-duplicate inputs cause this; a small alpha regularises it.",
                RuntimeWarning, stacklevel=3)
        return cls(np.clip(lam, 0.0, None), Q)

    def _mu(self, alpha):
        return self.eigenvalues + alpha

    def flow_filter(self, alpha, c):
        """``phi(mu) = (1 - exp(-c mu)) / mu``; null directions get 0 at ``c = inf``."""
        mu = self._mu(alpha)
        if np.isinf(c):
            keep = mu > _null_tolerance(mu)
            return np.where(keep, 1.0 / np.where(keep, mu, 1.0), 0.0)
        return flow_phi(mu, c)

    def project(self, Y):
        """Coordinates of the targets in the eigenbasis, ``Q^T Y``."""
        return self.eigenvectors.T @ Y

    def coefficients(self, QtY, alpha, c):
        """Dual coefficients ``Q diag(phi) Q^T Y`` from the projected targets."""
        return self.eigenvectors @ (self.flow_filter(alpha, c)[:, None] * QtY)

    def training_mse(self, QtY, alpha, c):
        """Mean over all entries of the squared training residual ``exp(-c (K + alpha I)) Y``."""
        mu = self._mu(alpha)
        if np.isinf(c):
            decay = np.where(mu > _null_tolerance(mu), 0.0, 1.0)
        else:
            decay = np.exp(-c * mu)
        return float(np.sum((decay[:, None] * QtY) ** 2) / QtY.size)

    def hat_filter(self, alpha, c):
        """Eigenvalues ``h = lambda * phi(lambda + alpha)`` of the hat matrix mapping y to predict(X_train)."""
        return self.eigenvalues * self.flow_filter(alpha, c)

    def hat_diagonal(self, h):
        """Diagonal of ``Q diag(h) Q^T``."""
        return (self.eigenvectors ** 2) @ h


_EPS = np.finfo(np.float64).eps


def _null_tolerance(values):
    """Eigenvalues below this are rounding noise (numpy's pinvh rule)."""
    if values.size == 0:
        return 0.0
    return values.size * np.finfo(np.float64).eps * np.max(np.abs(values))
