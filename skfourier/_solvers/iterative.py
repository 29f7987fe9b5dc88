"""Matrix-free gradient flow: dual coefficients and training curves from Krylov methods.

``t = None`` is a (preconditioned) CG solve of ``(K + alpha I) a = y``; a finite
``t`` is ``a = phi(K + alpha I) y`` with ``phi(mu) = (1 - exp(-c mu)) / mu``,
computed by Lanczos directly (no ill-posed solve), one Krylov basis for all
times of a trajectory.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import krylov
from .dense import flow_phi


class KrylovSolution:
    """Gradient-flow quantities of a symmetric operator ``K + alpha I`` given by its matvec.

    Parameters
    ----------
    matvec : callable
        ``V (n, k) -> (K + alpha I) V``.
    precondition : callable or None
        Approximate inverse for CG.
    Y : ndarray of shape (n, k)
        Training targets (in the operator's sample order).
    tol, max_iter : float, int
        Relative tolerance and iteration cap of every Krylov run.
    """

    def __init__(self, matvec, precondition, Y, tol, max_iter):
        self.matvec = matvec
        self.precondition = precondition
        self.Y = Y
        self.tol = tol
        self.max_iter = max_iter
        self.n_iter = {}
        self.residual = {}

    def _warn(self, what, reached, iterations):
        warnings.warn(
            f"{what} did not converge in {iterations} iterations (max_iter={self.max_iter}; "
            f"relative residual {reached:.2e} > tol={self.tol:g}); raise max_iter, loosen tol, "
            "or add a small alpha to improve the conditioning.", ConvergenceWarning,
            stacklevel=4)

    def coefficients(self, scales):
        """Dual coefficients for each flow scale ``c`` (``inf``: the converged solve)."""
        out = [None] * len(scales)
        finite = [i for i, c in enumerate(scales) if np.isfinite(c)]
        converged = [i for i, c in enumerate(scales) if np.isinf(c)]
        if converged:  # one solve serves every t = None
            coef, it, res = krylov.solve(self.matvec, self.Y, tol=self.tol,
                                         max_iter=self.max_iter, precond=self.precondition)
            self.n_iter["cg"], self.residual["cg"] = it, float(np.max(res))
            if np.any(res >= self.tol):
                self._warn("conjugate gradients", float(np.max(res)), it)
            for i in converged:
                out[i] = coef
        if finite:
            funcs = [_phi(scales[i]) for i in finite]
            lanczos = krylov.Lanczos(self.matvec, self.Y)
            k, change = lanczos.run(funcs, tol=self.tol, max_iter=self.max_iter)
            self.n_iter["lanczos"], self.residual["lanczos"] = k, float(change)
            if change >= self.tol:
                self._warn("Lanczos for exp(-c K)", change, k)
            for i, coef in zip(finite, lanczos.combine(lanczos.coefficients(funcs, k))):
                out[i] = coef
        return out

    def training_mse(self, scales):
        """Mean over entries of ``(exp(-c (K + alpha I)) y)^2`` by Lanczos quadrature."""
        funcs = [_decay_sq(c) for c in scales]
        lanczos = krylov.Lanczos(self.matvec, self.Y)
        k, _ = lanczos.run(funcs, tol=self.tol, max_iter=self.max_iter)
        coefs = lanczos.coefficients(funcs, k)
        # y^T f(K) y ~ ||y|| (||y|| f(T) e1)_0, summed over the columns
        return np.array([float(np.sum(lanczos.norms * w[0])) / self.Y.size for w in coefs])


def _phi(c):
    return lambda theta: flow_phi(np.maximum(theta, 0.0), c)


def _decay_sq(c):
    if np.isinf(c):
        return lambda theta: np.where(theta > 1e-12 * np.max(np.abs(theta)), 0.0, 1.0)
    return lambda theta: np.exp(-2.0 * c * np.maximum(theta, 0.0))
