"""Krylov solvers: the solver protocol for any operator given by its matvec.

``t = None`` is a (preconditioned) CG solve of ``(K + alpha I) a = y``; a finite
``t`` is ``a = phi_c(K + alpha I) y`` computed by Lanczos directly (no
ill-posed solve), one Krylov basis for all times of a trajectory; the training
curve is Lanczos quadrature. Subclasses supply the operator and the sample
order it works in (:mod:`.lattice`, :mod:`.matfree`).
"""

import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._settings import null_tolerance
from . import krylov
from .base import Solver, flow_phi
from .lowrank import nngp_lowrank_variance


class KrylovSolver(Solver):
    """Gradient flow on ``K + alpha I`` given only its matvec (and optionally a preconditioner).

    ``n_iter``, ``residual`` and ``preconditioner_name`` record the last
    :meth:`apply`: Krylov iterations (CG plus Lanczos), the largest final
    relative residual (CG) or change (Lanczos), and CG's preconditioner.
    """

    estimates = ("lanczos",)

    def operator(self):
        """The matvec ``V -> (K + alpha I) V`` on arrays of shape (n, k) in operator order."""
        raise NotImplementedError

    def preconditioner(self):
        """CG's preconditioner for :meth:`operator`: ``(name, apply)``, ``apply`` as
        :func:`.krylov.solve` takes it (``None``: plain CG)."""
        return "none", None

    def to_operator(self, V):
        """Samples in the caller's order -> the operator's order."""
        return V

    def from_operator(self, V):
        """Inverse of :meth:`to_operator`."""
        return V

    def _progress(self, what, tol):
        """A tqdm bar when ``verbose``: (bar or None, callback or None).

        It counts the digits of the relative residual (Lanczos: of the
        change) gained toward ``tol``, not iterations toward ``max_iter``: a
        solve that converges ends full ("8.0/8.0 digits" at tol 1e-8), where
        a bar over ``max_iter`` stopped at 15-30% and read as a failure.
        """
        if not self.verbose:
            return None, None
        from tqdm.auto import tqdm

        goal = round(float(-np.log10(tol)), 1)
        bar = tqdm(total=goal, desc=what, file=sys.stderr, leave=False,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} digits "
                              "[{elapsed}{postfix}]")

        def callback(iteration, residual):
            bar.n = float(np.clip(-np.log10(max(residual, 1e-300)), 0.0, goal))
            bar.set_postfix_str(f"step {iteration}, residual {residual:.1e}, tol {tol:g}",
                                refresh=False)
            bar.refresh()

        return bar, callback

    def _warn(self, what, reached, iterations, tol, stacklevel=5):
        warnings.warn(
            f"{what} did not converge in {iterations} iterations (max_iter={self.max_iter}; "
            f"relative residual {reached:.2e} > tol={tol:g}); raise max_iter, loosen tol, "
            "or add a small alpha to improve the conditioning.", ConvergenceWarning,
            stacklevel=stacklevel)

    def apply(self, V, scales, tol=None):
        return self._apply(V, scales, tol)[0]

    def coefficients(self, scales):
        """As :meth:`~.base.Solver.coefficients`; a Lanczos run at finite times is kept for
        :meth:`training_mse`, which runs the same recurrence from the targets."""
        coefs, lanczos = self._apply(self.Y, scales, None)
        if lanczos is not None:
            with self._lock:
                self._built["targets' lanczos"] = lanczos
        return coefs

    def _apply(self, V, scales, tol):
        """:meth:`apply`, and its Lanczos run (``None`` without finite scales)."""
        tol = self.tol if tol is None else tol
        matvec = self.operator()
        B = self.to_operator(V)
        out = [None] * len(scales)
        finite = [i for i, c in enumerate(scales) if np.isfinite(c)]
        converged = [i for i, c in enumerate(scales) if np.isinf(c)]
        iterations, residuals, lanczos = 0, [0.0], None
        if converged:  # one solve serves every t = None
            name, precond = self.preconditioner()
            bar, callback = self._progress(f"{self.name}: conjugate gradients", tol)
            coef, it, res = krylov.solve(matvec, B, tol=tol, max_iter=self.max_iter,
                                         precond=precond, callback=callback)
            if bar is not None:
                bar.close()
            iterations += it
            residuals.append(float(np.max(res)))
            self.preconditioner_name = name
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
        self.n_iter, self.residual = iterations, max(residuals)
        return [self.from_operator(o) for o in out], lanczos

    def quadratic_forms(self, V, c, tol=None):
        """At a finite ``c`` by Lanczos quadrature, ``|v|^2 e1^T phi_c(T) e1``: the recurrence
        once, without replaying it to form ``phi_c(K + alpha I) V`` (half the matvecs)."""
        if not np.isfinite(c):
            return super().quadratic_forms(V, c, tol)
        funcs = [_phi(c)]
        lanczos, k, _ = self._lanczos(self.to_operator(V), funcs,
                                      self.tol if tol is None else tol)
        return lanczos.norms * lanczos.coefficients(funcs, k)[0][0]

    def _lanczos(self, B, funcs, tol):
        """The Lanczos recurrence from ``B`` (operator order) run until ``f(T) e1`` settles
        for ``funcs``, with progress and a warning if it does not: (lanczos, k, change)."""
        lanczos = krylov.Lanczos(self.operator(), B,
                                 keep_bytes=self.settings.lanczos_basis_bytes)
        bar, callback = self._progress(f"{self.name}: Lanczos", tol)
        k, change = lanczos.run(funcs, tol=tol, max_iter=self.max_iter, callback=callback)
        if bar is not None:
            bar.close()
        if change >= tol:
            self._warn("Lanczos for exp(-c K)", change, k, tol, stacklevel=6)
        return lanczos, k, change

    def estimate_variance(self, method, X, c, tol=None):
        """``"lanczos"``: the NNGP posterior std at a finite time from one Lanczos basis for
        all points (:mod:`.lowrank`)."""
        if method != "lanczos":
            return super().estimate_variance(method, X, c, tol)
        if not (np.isfinite(c) and self.kernel.params["kind"] == "nngp"):
            return ("the low-rank (Lanczos) std serves kernel='nngp' at a finite t only "
                    "(at t=None and for the NTK its errors reach 50-800%)")
        return nngp_lowrank_variance(self, X, c)

    def training_mse(self, scales):
        """Mean over entries of ``(exp(-c (K + alpha I)) y)^2`` by Lanczos quadrature."""
        n = self.Y.shape[0]
        funcs = [_decay_sq(c, n) for c in scales]
        lanczos = self._built.get("targets' lanczos")  # from a fit at finite t, if any
        k = 0 if lanczos is None else lanczos.converged(funcs, self.tol)
        if not k:
            lanczos = krylov.Lanczos(self.operator(), self.to_operator(self.Y))
            k, _ = lanczos.run(funcs, tol=self.tol, max_iter=self.max_iter)
        coefs = lanczos.coefficients(funcs, k)
        # y^T f(K) y ~ ||y|| (||y|| f(T) e1)_0, summed over the columns
        return np.array([float(np.sum(lanczos.norms * w[0])) / self.Y.size for w in coefs])


def _phi(c):
    return lambda theta: flow_phi(np.maximum(theta, 0.0), c)


def _decay_sq(c, n):
    """``exp(-2 c theta)``; at ``c = inf`` 1 in null directions (of the n x n operator)."""
    if np.isinf(c):
        return lambda theta: np.where(theta > null_tolerance(theta, n), 0.0, 1.0)
    return lambda theta: np.exp(-2.0 * c * np.maximum(theta, 0.0))
