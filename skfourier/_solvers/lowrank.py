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
of the test points changes by less than ``STD_TOL`` relative.

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
from scipy.linalg import eigh_tridiagonal
from sklearn.exceptions import ConvergenceWarning

from .base import flow_phi, matmul

#: Relative change of the probe points' std below which the basis is complete.
STD_TOL = 1e-3
# Lanczos steps between two checks, test points probed, basis columns per cross product.
_CHECK_EVERY = 20
_PROBES = 256
_CHUNK = 32


def nngp_lowrank_variance(solver, X, c, max_steps):
    """The NNGP posterior variance at the rows of ``X``, flow scale ``c`` (finite).

    Parameters
    ----------
    solver : KrylovSolver
        Fitted with the NNGP kernel; gives the operator and the cross products.
    X : ndarray of shape (m, d)
    c : float
    max_steps : int
        Largest basis; a basis that stops there warns.
    """
    probes = X[np.unique(np.linspace(0, X.shape[0] - 1, _PROBES).round().astype(int))]
    Q, F = _basis(solver, probes, 2 * c, max(2, min(max_steps, solver.X.shape[0])))
    blocks = [slice(a, a + _CHUNK) for a in range(0, Q.shape[1], _CHUNK)]
    V = np.vstack([solver.predict(X, [Q[:, b]])[0].T for b in blocks])   # Q^T K(X, x)
    return solver.kernel.diagonal(X) - np.einsum("ij,ij->j", V, F @ V)


def _basis(solver, probes, scale, max_steps):
    """Lanczos with full reorthogonalisation from the probes' cross kernel, grown to converge.

    Returns the basis (caller order, n x k) and ``phi(T)`` (k x k).
    """
    matvec = solver._operator()
    K_p = solver._to_operator(solver.kernel(solver.X, probes))
    k0 = solver.kernel.diagonal(probes)
    Q = np.empty((max_steps, K_p.shape[0]))  # basis vectors as rows: contiguous GEMVs
    V = np.empty((max_steps, K_p.shape[1]))  # Q^T K(X, probes), a row per basis vector
    alphas, betas = [], []
    q = K_p.sum(axis=1)
    Q[0] = q / np.linalg.norm(q)
    previous, change = None, np.inf
    for j in range(max_steps):
        w = matvec(Q[j][:, None])[:, 0]
        alphas.append(Q[j] @ w)
        V[j] = matmul(Q[j], K_p)
        w -= alphas[j] * Q[j] + (betas[j - 1] * Q[j - 1] if j else 0.0)  # the recurrence,
        before = np.linalg.norm(w)
        for _ in range(2):  # then Gram-Schmidt against the whole basis for what rounding left,
            w -= matmul(Q[:j + 1].T, matmul(Q[:j + 1], w))
            if np.linalg.norm(w) > 0.5 * before:  # a second pass only if it cancelled much
                break
            before = np.linalg.norm(w)
        beta = np.linalg.norm(w)
        k = j + 1
        exhausted = beta <= 1e-12 * max(abs(alphas[0]), 1e-300)
        if exhausted or k % _CHECK_EVERY == 0 or k == max_steps:
            F = _filter(alphas, betas, scale)
            std = np.sqrt(np.maximum(k0 - np.einsum("ij,ij->j", V[:k], F @ V[:k]), 0.0))
            if previous is not None:
                change = float(np.max(np.abs(std - previous)) / max(np.max(std), 1e-300))
            if exhausted or change < STD_TOL:
                return solver._from_operator(Q[:k].T), F
            previous = std
        if k < max_steps:
            Q[k] = w / beta
            betas.append(beta)
    warnings.warn(
        f"the low-rank predictive std did not settle in {max_steps} Lanczos steps (last "
        f"relative change {change:.1e} > {STD_TOL:g}); raise max_iter, or predict fewer points "
        "at once (up to 512 are exact).", ConvergenceWarning, stacklevel=5)
    return solver._from_operator(Q.T), F


def _filter(alphas, betas, scale):
    """``phi(T)`` of the tridiagonal Lanczos matrix."""
    k = len(alphas)
    if k == 1:
        theta, S = np.array(alphas), np.ones((1, 1))
    else:
        theta, S = eigh_tridiagonal(np.array(alphas), np.array(betas[:k - 1]))
    return (S * flow_phi(np.maximum(theta, 0.0), scale)) @ S.T
