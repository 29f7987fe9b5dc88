"""The NNGP posterior variance at many points from one Lanczos basis (LOVE).

The exact variance costs a Krylov solve per test point. At a finite training
time the flow filter ``phi_2c(mu) = (1 - exp(-2 c mu)) / mu`` is bounded by
``2 c`` and smooth, so ``A = phi_2c(K + alpha I)`` is well approximated on
the Krylov space of the training operator: with ``Q`` an orthonormal Lanczos
basis and ``T = Q^T (K + alpha I) Q``, ``A ~ Q phi_2c(T) Q^T`` (Pleiss et al.
2018, "Constant-time predictive distributions for Gaussian processes"), and
``var(x) = K(x, x) - ||phi_2c(T)^(1/2) Q^T K(X, x)||^2`` for every test point
from products of the basis with the cross kernel (on a lattice: FFT
convolutions). The basis grows until the standard deviation at a fixed subset
of the test points changes by less than ``SolverSettings.lowrank_std_tol``
relative.

Measured against the exact std (32 x 32 and 64 x 64 lattices, the demo's
flow scale): within 5e-3 for Fourier scales from smooth to rough. Where it
does not serve, the variance stays exact (a solve per point):

- ``t = None``: the filter ``1 / mu`` is dominated by the many smallest
  eigenvalues, which no small basis holds (errors of 50-800% at k = 400);
- ``kernel="ntk"``: the ensemble's variance is a difference of three terms of
  the size of the prior, each from the basis; the residual errors stay at
  5-90% up to k = 300 on 1,024 points (a complement correction needs
  ``Th(x, X) K Th(X, x)`` per point, itself a solve-sized product).
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .base import flow_phi, matmul
from .krylov import Lanczos


def nngp_lowrank_variance(solver, X, c):
    """The NNGP posterior variance at the rows of ``X``, flow scale ``c`` (finite).

    Parameters
    ----------
    solver : KrylovSolver
        Fitted with the NNGP kernel; gives the operator and the cross
        products, its ``max_iter`` the largest basis (a basis that stops
        there warns) and its ``settings`` the ``lowrank_*`` constants.
    X : ndarray of shape (m, d)
    c : float
    """
    settings = solver.settings
    probes = X[np.unique(np.linspace(0, X.shape[0] - 1, settings.lowrank_probes)
                         .round().astype(int))]
    Q, F = _basis(solver, probes, 2 * c, max(2, min(solver.max_iter, solver.X.shape[0])))
    chunk = settings.lowrank_chunk
    blocks = [slice(a, a + chunk) for a in range(0, Q.shape[1], chunk)]
    V = np.vstack([solver.predict(X, [Q[:, b]])[0].T for b in blocks])   # Q^T K(X, x)
    return solver.kernel.diagonal(X) - np.einsum("ij,ij->j", V, F @ V)


def _basis(solver, probes, scale, max_steps):
    """Lanczos with full reorthogonalisation from the probes' cross kernel, grown until the
    probes' std settles.

    Returns the basis (caller order, n x k) and ``phi(T)`` (k x k).
    """
    settings = solver.settings
    K_p = solver.to_operator(solver.kernel(solver.X, probes))
    k0 = solver.kernel.diagonal(probes)
    lanczos = Lanczos(solver.operator(), K_p.sum(axis=1, keepdims=True),
                      reorthogonalize=True, max_steps=max_steps)
    V = np.empty((max_steps, K_p.shape[1]))  # Q^T K(X, probes), a row per basis vector
    previous, change = None, np.inf
    for j, q in zip(range(max_steps), lanczos.steps()):
        V[j] = matmul(q[:, 0], K_p)
        k = j + 1
        exhausted = lanczos.exhausted(k)
        if exhausted or k % settings.lowrank_check_every == 0 or k == max_steps:
            F = lanczos.matrix_function(lambda theta: flow_phi(np.maximum(theta, 0.0), scale), k)
            std = np.sqrt(np.maximum(k0 - np.einsum("ij,ij->j", V[:k], F @ V[:k]), 0.0))
            if previous is not None:
                change = float(np.max(np.abs(std - previous)) / max(np.max(std), 1e-300))
            if exhausted or change < settings.lowrank_std_tol:
                return solver.from_operator(lanczos.basis[:k, 0].T), F
            previous = std
    warnings.warn(
        f"the low-rank predictive std did not settle in {max_steps} Lanczos steps (last "
        f"relative change {change:.1e} > {settings.lowrank_std_tol:g}); raise max_iter, or "
        f"ask for std_method='exact' (a solve per point).", ConvergenceWarning, stacklevel=6)
    return solver.from_operator(lanczos.basis[:max_steps, 0].T), F
