"""The interface every solver family implements, and the kernel function it solves with.

Gradient flow on the MSE loss from zero outputs, for time ``t``, gives dual
coefficients ``a_t = phi_c(K + alpha I) y`` with ``phi_c(mu) = (1 - exp(-c
mu)) / mu`` and the flow scale ``c = learning_rate t / N`` (``c = inf``: the
converged ``(K + alpha I)^{-1} y``). A solver family knows one way to apply
``phi_c(K + alpha I)``; everything an estimator needs is written with it:

- :meth:`Solver.fit` takes the training inputs and targets (heavy work is lazy);
- :meth:`Solver.apply` gives ``phi_c(K + alpha I) V`` for any right-hand sides
  and several flow scales at once: the coefficients (``V = y``) and the
  middle factor ``A_s K(X, x)`` of a predictive variance;
- :meth:`Solver.coefficients` and :meth:`Solver.training_mse` for the targets;
- :meth:`Solver.predict` applies the cross kernel ``K(x, X)`` to coefficients;
- :meth:`Solver.predictive_variance` gives the variance (or covariance) of the
  outputs over the ensemble of networks from random initialisation: exactly
  (:meth:`Solver.exact_variance`, from :meth:`Solver.apply` and the NNGP
  training operator :meth:`Solver.prior_matvec`) or by an estimate a family
  offers (:meth:`Solver.estimate_variance`), and says which ran.

Tuning constants come from one :class:`~skfourier._settings.SolverSettings`
(``settings``). Lazily built state (decompositions, operators) is built once
under a lock (:meth:`Solver._cached`), so several threads may predict with one
fitted solver.
"""

import sys
import threading
import time
import warnings

import numpy as np
import torch

from .._settings import SolverSettings, null_tolerance
from .._validation import StdBudgetError, check_allocation, duration
from ..kernels import ntk_diagonal, ntk_kernel

#: Names of the variance methods, as in ``NTKRegressor(std_method=...)``.
STD_METHODS = ("auto", "exact", "lattice", "lanczos")


def matmul(a, b):
    """``a @ b`` of numpy arrays, computed by torch's BLAS.

    numpy's OpenBLAS keeps its own worker threads, which spin after each call
    and contend with torch's for the cores: measured on 2 cores, a 7 ms torch
    kernel took 12 to 115 ms right after numpy products, and FFT fits that
    interleave both ran 10-20% slower. One BLAS, one thread pool.
    """
    return torch.matmul(_as_torch(a), _as_torch(b)).numpy()


def cholesky_factor(K, alpha):
    """Lower Cholesky factor of ``K + alpha I`` (a torch tensor over ``K``'s memory), or ``None``.

    ``None`` when the matrix is not numerically positive definite.
    """
    tk = torch.from_numpy(K)
    tk.diagonal().add_(alpha)
    L, info = torch.linalg.cholesky_ex(tk, out=(tk, torch.empty((), dtype=torch.int32)))
    if int(info) != 0:
        return None
    # A factorization can "succeed" on a numerically singular matrix with tiny pivots;
    # cond(K) >= (max pivot / min pivot)^2, so hand such cases to eigh's null-space rule.
    # the pivots' squares bound the eigenvalues: the null rule of null_tolerance
    pivots = L.diagonal().abs().numpy() ** 2
    if pivots.size and pivots.min() < null_tolerance(pivots):
        return None
    return L


def _as_torch(a):
    a = np.asarray(a)
    if any(s < 0 for s in a.strides):
        a = np.ascontiguousarray(a)
    with warnings.catch_warnings():  # read-only arrays (joblib caches) are only read here
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(a)


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


class KernelFunction:
    """The model's kernel on raw inputs: an optional feature map, then the NTK / NNGP.

    Parameters
    ----------
    encoder : fitted transformer or None
        Applied to inputs before the kernel (e.g. a fitted
        :class:`~skfourier.FourierFeatureTransformer`).
    depth, weight_std, bias_std, kind
        As in :func:`~skfourier.kernels.ntk_kernel`.
    """

    def __init__(self, encoder, *, depth, weight_std, bias_std, kind):
        self.encoder = encoder
        self.params = dict(depth=depth, weight_std=weight_std, bias_std=bias_std, kind=kind)

    @property
    def stationary(self):
        """Whether the feature map has a constant norm, so the kernel depends on ``x - y`` only."""
        return self.encoder is not None and getattr(self.encoder, "is_stationary", False)

    def features(self, X):
        return X if self.encoder is None else self.encoder.transform(X).astype(np.float64)

    def __call__(self, A, B=None):
        """``K(A, B)`` (``B=None``: ``K(A, A)`` with an exact diagonal)."""
        FB = None if B is None else self.features(B)
        return ntk_kernel(self.features(A), FB, **self.params)

    def diagonal(self, A):
        """``K(a, a)`` for each row of ``A``, in O(n)."""
        return ntk_diagonal(self.features(A), **self.params)

    def with_kind(self, kind):
        """The same network's other kernel (``"nngp"``: its prior covariance)."""
        return KernelFunction(self.encoder, **{**self.params, "kind": kind})


class BlockedKernel:
    """``(K(F, F) + alpha I) V`` in O(n) memory (plus one block of rows).

    Each matvec recomputes the kernel: O(n^2 d) time, the price of not holding
    an n x n matrix; suitable for n up to a few 10^4 scattered samples. The
    diagonal is set exactly, as in ``ntk_kernel(F)``: row blocks are cross
    kernels, where ``arccos`` near correlation 1 costs ~1e-8 relative, an
    error that ill-conditioned kernels amplify into the coefficients.
    """

    def __init__(self, F, kernel_params, alpha, block_bytes):
        self.F = F
        self.kernel_params = kernel_params
        self.alpha = alpha
        self.block_bytes = block_bytes
        self.diagonal = ntk_diagonal(F, **kernel_params)

    def matvec(self, V):
        n = self.F.shape[0]
        rows = max(1, self.block_bytes // (8 * n))
        out = np.empty_like(V)
        for start in range(0, n, rows):
            sl = slice(start, start + rows)
            block = ntk_kernel(self.F[sl], self.F, **self.kernel_params)
            local = np.arange(block.shape[0])
            block[local, start + local] = self.diagonal[sl]
            out[sl] = matmul(block, V)
        if self.alpha:
            out += self.alpha * V
        return out


def cross_kernel_product(kernel, X, X_fit, coefs, block_bytes):
    """``K(X, X_fit) @ coef`` for several coefficient arrays, in row blocks of at most
    ``block_bytes`` of kernel."""
    n = X_fit.shape[0]
    F_fit = kernel.features(X_fit)
    stacked = np.concatenate(coefs, axis=1)
    out = np.empty((X.shape[0], stacked.shape[1]))
    rows = max(1, block_bytes // (8 * max(n, 1)))
    for start in range(0, X.shape[0], rows):
        sl = slice(start, start + rows)
        out[sl] = matmul(ntk_kernel(kernel.features(X[sl]), F_fit, **kernel.params), stacked)
    return np.split(out, len(coefs), axis=1)


def _points_bar(total):
    """A tqdm bar over the points of an exact variance, on stderr."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="exact std", unit="point", file=sys.stderr, leave=False)


class Solver:
    """Gradient-flow regression with one kernel on one training set.

    Subclasses implement :meth:`apply` and :meth:`training_mse` (and may
    override :meth:`predict`); :meth:`fit` only records the data, the
    expensive state (decompositions, operators) is built on first use
    (:meth:`_cached`), so a solver rebuilt after unpickling an estimator
    costs nothing until needed.

    Parameters
    ----------
    kernel : KernelFunction
    alpha : float
        Ridge added to the training kernel's diagonal.
    tol, max_iter : float, int
        Of the iterative solvers.
    max_memory : int or None
        Bytes the dense solvers may allocate (``None``: half the RAM).
    memory : joblib.Memory or None
        Cache of dense decompositions.
    verbose : int
        Iterative solvers show a progress bar over their iterations when > 0.
    settings : SolverSettings or None
        Tuning constants (``None``: the defaults).
    """

    #: Name of the solver family, as in ``NTKRegressor(solver=...)``.
    name = None
    #: Whether finite training times are supported (Cholesky: converged only).
    finite_times = True
    #: The estimated variance methods this family offers, in the order "auto" tries them.
    estimates = ()

    def __init__(self, kernel, *, alpha=0.0, tol=1e-8, max_iter=1000, max_memory=None,
                 memory=None, verbose=0, settings=None):
        self.kernel = kernel
        self.alpha = alpha
        self.tol = tol
        self.max_iter = max_iter
        self.max_memory = max_memory
        self.memory = memory
        self.verbose = verbose
        self.settings = SolverSettings() if settings is None else settings
        self.n_iter = 0
        self.residual = None
        self.preconditioner_name = None
        self._lock = threading.RLock()
        self._built = {}

    def _cached(self, key, build):
        """``build()`` on first use of ``key``, then the same object: built once under a lock,
        so threads predicting at once share one build and see the same state."""
        with self._lock:
            if key not in self._built:
                self._built[key] = build()
            return self._built[key]

    def fit(self, X, Y):
        """Remember the training inputs ``X`` (n, d) and targets ``Y`` (n, k)."""
        self.X, self.Y = X, Y
        return self

    def apply(self, V, scales, tol=None):
        """``phi_c(K + alpha I) V`` for each flow scale ``c`` in ``scales``: list of arrays.

        ``tol``: the iterative solvers' stopping rule for this call (``None``:
        theirs); the dense ones are exact.
        """
        raise NotImplementedError

    def quadratic_forms(self, V, c, tol=None):
        """``diag(V^T phi_c(K + alpha I) V)``, one value per column of ``V``."""
        return np.einsum("ij,ij->j", V, self.apply(V, [c], tol)[0])

    def coefficients(self, scales):
        """Dual coefficients ``phi_c(K + alpha I) Y`` for each flow scale."""
        return self.apply(self.Y, scales)

    def training_mse(self, scales):
        """Mean over all entries of the training residual ``exp(-c (K + alpha I)) Y``, squared."""
        raise NotImplementedError

    def predict(self, X, coefs, kernel=None):
        """``K(X, X_train) @ coef`` for each coefficient array (one pass over the kernel).

        ``kernel``: another kernel of the same network (the NNGP of a variance).
        """
        return cross_kernel_product(kernel or self.kernel, X, self.X, coefs,
                                    self.settings.predict_block_bytes)

    def prior_matvec(self, V):
        """``K(X, X) V`` with ``K`` the NNGP of the network (no alpha): its prior covariance."""
        prior = self.kernel.with_kind("nngp")
        blocked = self._cached("prior", lambda: BlockedKernel(
            prior.features(self.X), prior.params, 0.0, self.settings.matvec_block_bytes))
        return blocked.matvec(V)

    def cross_kernel(self, kernel, X):
        """``kernel(X_train, X)``, n x m: ``kernel`` is this solver's or another of the same
        network (the NNGP of a variance)."""
        return kernel(self.X, X)

    def predictive_variance(self, X, c, full=False, method="auto", tol=None):
        """Variance (or covariance) at ``X`` of the ensemble trained to flow scale ``c``.

        ``method``: ``"exact"`` (:meth:`exact_variance`), one of the family's
        :attr:`estimates` (:meth:`estimate_variance`), or ``"auto"``: exact up
        to ``settings.exact_std_points`` points and for a covariance, past
        them the first estimate that serves the points, else exact. A
        covariance is always exact. ``tol`` as in :meth:`apply`.

        Returns
        -------
        var : ndarray of shape (m,), or the covariance (m, m) when ``full``
        method : str
            The method that ran.
        """
        if method not in STD_METHODS:
            raise ValueError(f"std_method must be one of {list(STD_METHODS)}, got {method!r}.")
        if full and method not in ("auto", "exact"):
            raise ValueError(f"std_method={method!r} estimates the std only; return_cov is "
                             "exact: use std_method='auto' or 'exact'.")
        declined = []
        if method == "auto" and not full and X.shape[0] > self.settings.exact_std_points:
            for name in self.estimates:
                var = self.estimate_variance(name, X, c, tol)
                if not isinstance(var, str):
                    return var, name
                declined.append(f"{name}: {var}")
        elif method not in ("auto", "exact"):
            var = (self.estimate_variance(method, X, c, tol) if method in self.estimates else
                   f"solver={self.name!r} offers {list(self.estimates) or 'no estimate'}")
            if isinstance(var, str):
                raise ValueError(f"std_method={method!r} cannot serve this request: {var}; "
                                 "use std_method='auto' or 'exact'.")
            return var, method
        return self.exact_variance(X, c, full, tol, declined), "exact"

    def estimate_variance(self, method, X, c, tol=None):
        """The variance at ``X`` by the estimate ``method``, or a str saying why it cannot
        serve these points (families override; see :attr:`estimates`)."""
        return f"solver={self.name!r} has no {method!r} estimate"

    def exact_variance(self, X, c, full=False, tol=None, declined=(), timed=True):
        """The exact variance (or covariance) at ``X`` of the ensemble at flow scale ``c``.

        The distribution over random initialisations of infinitely wide
        networks trained by gradient flow (Lee et al. 2019), with ``K`` the
        NNGP, ``Th`` the NTK, ``A_c = phi_c(G + alpha I)`` for the kernel ``G``
        the model trains with::

            nngp: Cov = K(x, x) - K(x, X) A_{2c} K(X, x)
            ntk:  Cov = K(x, x) + Th(x, X) A_c K(X, X) A_c Th(X, x)
                        - Th(x, X) A_c K(X, x) - K(x, X) A_c Th(X, x)

        ``A_c`` is symmetric, so with ``U = A_c Th(X, x)`` the NTK's is
        ``K(x, x) + U^T K(X, X) U - 2 K(x, X) U`` (symmetrised): one
        :meth:`apply` per block of test points (whose columns are the cross
        kernels) for either kernel, plus a prior matvec for the NTK; the
        NNGP's variance is a quadratic form (:meth:`quadratic_forms`).

        A variance costs a solve per point: past ``settings.std_probe_points``
        points the first that many are timed alone, and a request whose
        extrapolated cost exceeds ``settings.std_budget_seconds`` is refused
        with the numbers before the rest runs (a 48 x 48 x 20 clip's 41,472
        held-out voxels ran for half an hour without a word); ``declined``
        (why the estimates could not serve) goes into that message;
        ``timed=False`` skips the check (an estimate's few exact points, whose
        whole it budgets itself). With ``verbose`` a bar counts the points.
        """
        m, n = X.shape[0], self.X.shape[0]
        prior = self.kernel.with_kind("nngp")
        ntk = self.kernel.params["kind"] == "ntk"
        block = m if full else max(1, min(self.settings.variance_block,
                                          self.settings.predict_block_bytes // (32 * n)))
        check_allocation(8 * n * min(block, m) * (4 if ntk else 2) + (8 * m * m if full else 0),
                         "the predictive covariance" if full else "the predictive variance",
                         "predict on fewer points at a time, or ask for return_std.")
        out = np.empty((m, m) if full else m)
        probe = self.settings.std_probe_points
        timed = timed and not full and probe < min(block, m)  # a first block, timed alone
        edges = [0] + ([probe] if timed else []) + list(range(block, m, block)) + [m]
        bar = _points_bar(m) if self.verbose and m > 1 else None
        began = time.perf_counter()
        try:
            for start, stop in zip(edges[:-1], edges[1:]):
                if timed and start == probe:
                    self._check_std_budget(m, probe, time.perf_counter() - began, declined)
                Xb = X[start:stop]
                Kt = self.cross_kernel(prior, Xb)           # K(X_train, x): n x b
                if not (ntk or full):  # one quadratic form per point
                    out[start:stop] = prior.diagonal(Xb) - self.quadratic_forms(Kt, 2 * c, tol)
                elif full:
                    return self._covariance(X, prior, Kt, Xb, c, tol, ntk)
                else:
                    out[start:stop] = prior.diagonal(Xb) + sum(
                        s * np.einsum("ij,ij->j", a, b)
                        for a, b, s in self._variance_terms(Kt, Xb, c, tol, ntk))
                if bar is not None:
                    bar.update(stop - start)
        finally:
            if bar is not None:
                bar.close()
        return out

    def _variance_terms(self, Kt, Xb, c, tol, ntk):
        """The products whose column sums (variance) or matrix (covariance) complete
        ``K(x, x)``: ``[(a, b, sign)]``, see :meth:`exact_variance`."""
        if ntk:
            Th = self.cross_kernel(self.kernel, Xb)
            U = self.apply(Th, [c], tol)[0]         # A_c Th(X, x)
            return [(U, self.prior_matvec(U), 1.0), (Kt, U, -2.0)]
        return [(Kt, self.apply(Kt, [2 * c], tol)[0], -1.0)]

    def _covariance(self, X, prior, Kt, Xb, c, tol, ntk):
        cov = prior(X) + sum(s * matmul(a.T, b)
                             for a, b, s in self._variance_terms(Kt, Xb, c, tol, ntk))
        return (cov + cov.T) / 2

    def _check_std_budget(self, m, timed, seconds, declined=()):
        """ValueError before the rest of an exact variance whose first ``timed`` of ``m``
        points took ``seconds``, if all of them would take more than the budget: it names
        the estimate that would be fast, or why the estimates tried (``declined``) did not
        serve."""
        budget = self.settings.std_budget_seconds
        expected = seconds / timed * m
        if expected <= budget:
            return
        within = max(1, int(budget / (seconds / timed)))
        fast = self.fast_std()
        if declined:
            fast = f"see why no estimate serves them ({'; '.join(declined)})"
        raise StdBudgetError(
            f"the exact std at {m:,} points would take about {duration(expected)} "
            f"({seconds / timed:.3g} s a point, timed on the first {timed}), over the "
            f"{duration(budget)} budget (solver_options={{'std_budget_seconds': ...}}): ask "
            f"for about {within:,} points at a time (a stride){f' or {fast}' if fast else ''}.",
            m, expected, budget, within)

    def fast_std(self):
        """What would give this model's std fast, for a refusal's message ("" if nothing)."""
        return ""
