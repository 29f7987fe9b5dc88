"""Krylov solvers: the solver protocol for any operator given by its matvec.

``t = None`` is a (preconditioned) CG solve of ``(K + alpha I) a = y``; a finite
``t`` is ``a = phi_c(K + alpha I) y`` computed by Lanczos directly (no
ill-posed solve), one Krylov basis for all times of a trajectory; the training
curve is Lanczos quadrature. Subclasses supply the operator and the sample
order it works in (:mod:`.structured`, :mod:`.matfree`).
"""

import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import krylov
from .base import Solver, flow_phi
from .lowrank import nngp_lowrank_variance

# Test points up to which a predictive variance is computed exactly (a solve per point).
_EXACT_POINTS = 512


class KrylovSolver(Solver):
    """Gradient flow on ``K + alpha I`` given only its matvec (and optionally a preconditioner).

    ``n_iter`` and ``residual`` record the last :meth:`apply`: Krylov
    iterations (CG plus Lanczos) and the largest final relative residual
    (CG) or change (Lanczos).
    """

    def _operator(self):
        """The matvec ``V -> (K + alpha I) V`` on arrays of shape (n, k) in operator order."""
        raise NotImplementedError

    def _preconditioner(self):
        """CG's preconditioner for :meth:`_operator` (see :func:`.krylov.solve`), or ``None``."""
        return None

    def _to_operator(self, V):
        """Samples in the caller's order -> the operator's order."""
        return V

    def _from_operator(self, V):
        """Inverse of :meth:`_to_operator`."""
        return V

    def _progress(self, what, tol):
        """A tqdm bar over iterations when ``verbose``: (bar or None, callback or None)."""
        if not self.verbose:
            return None, None
        from tqdm.auto import tqdm

        bar = tqdm(total=self.max_iter, desc=what, unit="it", file=sys.stderr, leave=False)

        def callback(iteration, residual):
            bar.n = iteration
            bar.set_postfix_str(f"residual {residual:.1e} (tol {tol:g})", refresh=False)
            bar.refresh()

        return bar, callback

    def _warn(self, what, reached, iterations, tol, stacklevel=5):
        warnings.warn(
            f"{what} did not converge in {iterations} iterations (max_iter={self.max_iter}; "
            f"relative residual {reached:.2e} > tol={tol:g}); raise max_iter, loosen tol, "
            "or add a small alpha to improve the conditioning.", ConvergenceWarning,
            stacklevel=stacklevel)

    def apply(self, V, scales, tol=None):
        tol = self.tol if tol is None else tol
        matvec = self._operator()
        B = self._to_operator(V)
        out = [None] * len(scales)
        finite = [i for i, c in enumerate(scales) if np.isfinite(c)]
        converged = [i for i, c in enumerate(scales) if np.isinf(c)]
        iterations, residuals = 0, [0.0]
        if converged:  # one solve serves every t = None
            bar, callback = self._progress(f"{self.name}: conjugate gradients", tol)
            coef, it, res = krylov.solve(matvec, B, tol=tol, max_iter=self.max_iter,
                                         precond=self._preconditioner(), callback=callback)
            if bar is not None:
                bar.close()
            iterations += it
            residuals.append(float(np.max(res)))
            if np.any(res >= tol):
                self._warn("conjugate gradients", float(np.max(res)), it, tol)
            for i in converged:
                out[i] = coef
        if finite:
            funcs = [_phi(scales[i]) for i in finite]
            lanczos, k, change = self._lanczos(B, funcs, tol)
            iterations += k
            residuals.append(float(change))
            for i, coef in zip(finite, lanczos.combine(lanczos.coefficients(funcs, k))):
                out[i] = coef
            if V is self.Y:  # the training curve runs the same recurrence: keep it
                self._lanczos_y = lanczos
        self.n_iter, self.residual = iterations, max(residuals)
        return [self._from_operator(o) for o in out]

    def quadratic_forms(self, V, c, tol=None):
        """At a finite ``c`` by Lanczos quadrature, ``|v|^2 e1^T phi_c(T) e1``: the recurrence
        once, without replaying it to form ``phi_c(K + alpha I) V`` (half the matvecs)."""
        if not np.isfinite(c):
            return super().quadratic_forms(V, c, tol)
        funcs = [_phi(c)]
        lanczos, k, _ = self._lanczos(self._to_operator(V), funcs,
                                      self.tol if tol is None else tol)
        return lanczos.norms * lanczos.coefficients(funcs, k)[0][0]

    def _lanczos(self, B, funcs, tol):
        """The Lanczos recurrence from ``B`` (operator order) run until ``f(T) e1`` settles
        for ``funcs``, with progress and a warning if it does not: (lanczos, k, change)."""
        lanczos = krylov.Lanczos(self._operator(), B)
        bar, callback = self._progress(f"{self.name}: Lanczos", tol)
        k, change = lanczos.run(funcs, tol=tol, max_iter=self.max_iter, callback=callback)
        if bar is not None:
            bar.close()
        if change >= tol:
            self._warn("Lanczos for exp(-c K)", change, k, tol, stacklevel=6)
        return lanczos, k, change

    def predictive_variance(self, X, c, full=False, tol=None):
        """Exact (a solve per point), except the NNGP posterior std at a finite time on many
        points: then one Lanczos basis serves all points (:mod:`.lowrank`)."""
        if self._many_points(X, full) and self._low_rank(c):
            return nngp_lowrank_variance(self, X, c, self.max_iter)
        return super().predictive_variance(X, c, full, tol)

    @staticmethod
    def _many_points(X, full):
        """Whether a variance may be estimated: the diagonal only, past the exact limit."""
        return not full and X.shape[0] > _EXACT_POINTS

    def _low_rank(self, c):
        """Whether :mod:`.lowrank` serves flow scale ``c``: the NNGP at a finite time."""
        return np.isfinite(c) and self.kernel.params["kind"] == "nngp"

    def training_mse(self, scales):
        """Mean over entries of ``(exp(-c (K + alpha I)) y)^2`` by Lanczos quadrature."""
        funcs = [_decay_sq(c) for c in scales]
        lanczos = getattr(self, "_lanczos_y", None)  # from a fit at finite t, if any
        k = 0 if lanczos is None else lanczos.converged(funcs, self.tol)
        if not k:
            lanczos = krylov.Lanczos(self._operator(), self._to_operator(self.Y))
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
