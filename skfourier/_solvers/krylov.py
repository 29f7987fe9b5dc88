"""Krylov methods on a kernel operator: batched (preconditioned) CG and Lanczos for phi(K) y.

Both run one independent recurrence per target column (RGB channels) with
vectorised per-column scalars, so an operator applies to all channels at once.
"""

import numpy as np
from scipy.linalg import eigh_tridiagonal

from .._settings import null_tolerance
from .base import matmul


def conjugate_gradient(matvec, B, *, tol, max_iter, precond=None, X0=None, callback=None):
    """Solve ``A X = B`` column by column; return (X, iterations, relative residuals).

    ``callback(iteration, largest relative residual)`` is called after each step.
    """
    # copies keep the operator's memory layout (the FFT solver's vectors are column-major)
    X = np.zeros_like(B) if X0 is None else X0.copy(order="K")
    R = B - matvec(X) if X0 is not None else B.copy(order="K")
    bnorm = _norms(B)
    bnorm[bnorm == 0] = 1.0
    res = _norms(R) / bnorm
    Z = precond(R) if precond is not None else R
    P = Z.copy(order="K")
    rz = np.einsum("ij,ij->j", R, Z)
    step = np.empty_like(B)  # the updates in place: no n-sized temporaries per iteration
    it = 0
    while it < max_iter and np.any(res >= tol):
        it += 1
        AP = matvec(P)
        pap = np.einsum("ij,ij->j", P, AP)
        active = (res >= tol) & (pap > 0)
        alpha = np.where(active, rz / np.where(active, pap, 1.0), 0.0)
        X += np.multiply(P, alpha, out=step)
        R -= np.multiply(AP, alpha, out=step)
        res = _norms(R) / bnorm
        Z = precond(R) if precond is not None else R
        rz_new = np.einsum("ij,ij->j", R, Z)
        beta = np.where(active, rz_new / np.where(rz != 0, rz, 1.0), 0.0)
        rz = rz_new
        P *= beta
        P += Z
        if callback is not None:
            callback(it, float(np.max(res)))
    return X, it, res


def _norms(A):
    """Column norms without an n-sized temporary."""
    return np.sqrt(np.einsum("ij,ij->j", A, A))


def solve(matvec, B, *, tol, max_iter, precond=None, callback=None):
    """Preconditioned CG; a preconditioner with a ``start(B)`` method also gives the first iterate.

    Deflation (:mod:`.deflation`) needs its own start: ``x0 = Q b`` makes the
    residuals orthogonal to the deflated space, where it stays.
    """
    start = getattr(precond, "start", None)
    return conjugate_gradient(matvec, B, tol=tol, max_iter=max_iter, precond=precond,
                              X0=None if start is None else start(B), callback=callback)


def tridiagonal_eigh(alphas, betas):
    """Eigenvalues and eigenvectors ``(theta, S)`` of the symmetric tridiagonal Lanczos matrix
    with diagonal ``alphas`` (k) and off-diagonal ``betas[:k - 1]``: the one place every
    function of ``T_k`` comes from."""
    alphas = np.asarray(alphas, dtype=np.float64)
    if alphas.size == 1:
        return alphas.copy(), np.ones((1, 1))
    return eigh_tridiagonal(alphas, np.asarray(betas, dtype=np.float64)[:alphas.size - 1])


class Lanczos:
    """Lanczos tridiagonalisation of a symmetric operator from the columns of ``B``.

    :meth:`run` extends the recurrence until the requested ``f(T_k) e1``
    stop changing; :meth:`combine` forms ``V_k f(T_k) e1``, for any number of
    functions at once (the times of a trajectory). By default the basis is
    not stored: :meth:`combine` replays the same deterministic recurrence in
    O(n) memory, and there is no reorthogonalisation: it would cost O(n k^2)
    memory traffic, while the plain recurrence reaches the same accuracy
    (1e-13 on kernels of condition 1e3 - 1e9) given a few more iterations
    (see :meth:`run`). ``keep_bytes`` keeps the vectors (not orthogonalised)
    while they fit in that many bytes, so that :meth:`combine` runs no
    matvec: the replay was a third of a scale search's time (128^2 lattice, 5
    scales x 5 times: 3.3 of 10.7 s); past the bound they are dropped and
    :meth:`combine` replays. ``reorthogonalize=True`` keeps the basis (up to
    ``max_steps`` vectors) and orthogonalises each new vector against it,
    for callers that use the basis itself (the low-rank variance of
    :mod:`.lowrank`).
    """

    def __init__(self, matvec, B, reorthogonalize=False, max_steps=None, keep_bytes=0):
        self.matvec = matvec
        self.B = B
        self.norms = np.linalg.norm(B, axis=0)
        self.keep_bytes = keep_bytes
        self._kept = None
        self.reorthogonalize = reorthogonalize
        # rows of one column contiguous: the Gram-Schmidt products are GEMVs
        self.basis = (np.empty((max_steps, B.shape[1], B.shape[0])) if reorthogonalize
                      else None)
        self._alphas, self._betas = [], []

    def _orthogonalize(self, W, j):
        """Gram-Schmidt of ``W`` against the stored basis ``V_0 .. V_j``, per column, for what
        rounding left after the recurrence; a second pass only if the first cancelled much."""
        for col in range(W.shape[1]):
            Q, w = self.basis[:j + 1, col], W[:, col]
            before = np.linalg.norm(w)
            for _ in range(2):
                w -= matmul(Q.T, matmul(Q, w))
                if np.linalg.norm(w) > 0.5 * before:
                    break
                before = np.linalg.norm(w)

    def steps(self, keep=True):
        """Yield V_0, V_1, ...; before V_j is yielded, alpha_j and beta_j are recorded (and
        V_j kept, with ``keep`` and while within ``keep_bytes``)."""
        V_prev = np.zeros_like(self.B)
        V = self.B / np.where(self.norms > 0, self.norms, 1.0)
        beta_prev = np.zeros(self.B.shape[1])
        self._alphas, self._betas = [], []
        self._kept = [] if keep and self.keep_bytes >= V.nbytes else None
        j = 0
        while True:
            if self.reorthogonalize:
                self.basis[j] = V.T
            elif self._kept is not None:
                if (len(self._kept) + 1) * V.nbytes <= self.keep_bytes:
                    self._kept.append(V)            # a fresh array each step: no copy
                else:
                    self._kept = None               # over the bound: combine replays
            W = self.matvec(V) - beta_prev * V_prev
            alpha = np.einsum("ij,ij->j", V, W)
            W -= alpha * V
            if self.reorthogonalize:
                self._orthogonalize(W, j)
            beta = np.linalg.norm(W, axis=0)
            self._alphas.append(alpha)
            self._betas.append(beta)
            yield V
            V_prev, V = V, W / np.where(beta > 0, beta, 1.0)
            beta_prev = beta
            j += 1

    def exhausted(self, k):
        """Whether step ``k`` found an invariant subspace in every column: its new vector's norm
        is numerically zero (:func:`~skfourier._settings.null_tolerance` of the diagonal)."""
        alphas = np.array(self._alphas[:k])
        return all(self._betas[k - 1][col] <= null_tolerance(alphas[:, col], self.B.shape[0])
                   for col in range(self.B.shape[1]))

    def matrix_function(self, f, k, col=0):
        """``f(T_k)`` (k x k) of column ``col``'s tridiagonal matrix."""
        theta, S = tridiagonal_eigh(np.array(self._alphas[:k])[:, col],
                                    np.array(self._betas[:k])[:, col])
        return (S * f(theta)) @ S.T

    def coefficients(self, funcs, k):
        """``||b|| f(T_k) e1`` per column for each function: list of (k, n_cols) arrays."""
        alphas, betas = np.array(self._alphas[:k]), np.array(self._betas[:k])
        out = [np.zeros((k, self.B.shape[1])) for _ in funcs]
        for col in range(self.B.shape[1]):
            theta, S = tridiagonal_eigh(alphas[:, col], betas[:, col])
            for f, arr in zip(funcs, out):
                arr[:, col] = self.norms[col] * (S @ (f(theta) * S[0]))
        return out

    def run(self, funcs, *, tol, max_iter, check_every=5, callback=None):
        """Extend the recurrence until every ``f(T_k) e1`` changes by less than ``tol``.

        Returns (k, the relative change at the last check); 0 when the Krylov
        space became invariant (exact). ``k`` may exceed the operator's size:
        without reorthogonalisation the basis loses orthogonality and the
        Ritz values repeat ("ghosts"), which delays convergence on
        ill-conditioned kernels but does not stop it (Druskin & Knizhnerman;
        Greenbaum), so the iteration count is capped by ``max_iter`` alone.
        """
        max_iter = max(1, max_iter)
        steps = self.steps()
        previous, change = None, np.inf
        for k in range(1, max_iter + 1):
            next(steps)
            if k % check_every and k < max_iter:
                continue
            exhausted = self.exhausted(k)
            current = self.coefficients(funcs, k)
            if previous is not None:
                change = max(_relative_change(c, p) for c, p in zip(current, previous))
            if callback is not None:
                callback(k, change)
            if exhausted:
                return k, 0.0
            if change < tol:
                return k, change
            previous = current
        return max_iter, change

    def converged(self, funcs, tol, check_every=5):
        """The recorded steps ``k`` if they already converge ``f(T_k) e1`` for ``funcs``, else 0.

        Lets a later question (a training curve after a fit) reuse a finished
        run without a single matvec.
        """
        k = len(self._alphas)
        if k <= check_every:
            return 0
        current = self.coefficients(funcs, k)
        previous = self.coefficients(funcs, k - check_every)
        change = max(_relative_change(c, p) for c, p in zip(current, previous))
        return k if change < tol else 0

    def combine(self, coefs):
        """``V_k c`` for each coefficient array from :meth:`coefficients`: from the stored or
        kept basis, else by replaying the recurrence. The kept vectors are released after
        (a fitted model keeps its run's coefficients, not its basis)."""
        k = coefs[0].shape[0]
        out = [np.zeros_like(self.B) for _ in coefs]
        kept = self._kept if self._kept is not None and len(self._kept) >= k else None
        steps = None if self.reorthogonalize or kept is not None else self.steps(keep=False)
        for j in range(k):
            if steps is not None:
                V = next(steps)
            else:
                V = kept[j] if kept is not None else self.basis[j].T
            for c, acc in zip(coefs, out):
                acc += c[j] * V
        self._kept = None
        return out


def _relative_change(current, previous):
    """Change between coefficient vectors of lengths k and k' < k (zero-padded)."""
    padded = np.zeros_like(current)
    padded[:previous.shape[0]] = previous
    return float(np.linalg.norm(current - padded) / max(np.linalg.norm(current), 1e-300))
