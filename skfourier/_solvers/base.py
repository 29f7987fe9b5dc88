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
- :meth:`Solver.predict` applies the cross kernel ``K(x, X)`` to coefficients.
"""

import numpy as np

from ..kernels import ntk_kernel

# Bytes of test-by-train kernel a prediction block may hold.
_PREDICT_BLOCK_BYTES = 1 << 28


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


def cross_kernel_product(kernel, X, X_fit, coefs):
    """``K(X, X_fit) @ coef`` for several coefficient arrays, in row blocks of bounded memory."""
    n = X_fit.shape[0]
    F_fit = kernel.features(X_fit)
    stacked = np.concatenate(coefs, axis=1)
    out = np.empty((X.shape[0], stacked.shape[1]))
    rows = max(1, _PREDICT_BLOCK_BYTES // (8 * max(n, 1)))
    for start in range(0, X.shape[0], rows):
        sl = slice(start, start + rows)
        out[sl] = ntk_kernel(kernel.features(X[sl]), F_fit, **kernel.params) @ stacked
    return np.split(out, len(coefs), axis=1)


class Solver:
    """Gradient-flow regression with one kernel on one training set.

    Subclasses implement :meth:`apply` and :meth:`training_mse` (and may
    override :meth:`predict`); :meth:`fit` only records the data, the
    expensive state (decompositions, operators) is built on first use, so a
    solver rebuilt after unpickling an estimator costs nothing until needed.

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
    """

    #: Name of the solver family, as in ``NTKRegressor(solver=...)``.
    name = None
    #: Whether finite training times are supported (Cholesky: converged only).
    finite_times = True

    def __init__(self, kernel, *, alpha=0.0, tol=1e-8, max_iter=1000, max_memory=None,
                 memory=None, verbose=0):
        self.kernel = kernel
        self.alpha = alpha
        self.tol = tol
        self.max_iter = max_iter
        self.max_memory = max_memory
        self.memory = memory
        self.verbose = verbose
        self.n_iter = 0
        self.residual = None

    def fit(self, X, Y):
        """Remember the training inputs ``X`` (n, d) and targets ``Y`` (n, k)."""
        self.X, self.Y = X, Y
        return self

    def apply(self, V, scales):
        """``phi_c(K + alpha I) V`` for each flow scale ``c`` in ``scales``: list of arrays."""
        raise NotImplementedError

    def coefficients(self, scales):
        """Dual coefficients ``phi_c(K + alpha I) Y`` for each flow scale."""
        return self.apply(self.Y, scales)

    def training_mse(self, scales):
        """Mean over all entries of the training residual ``exp(-c (K + alpha I)) Y``, squared."""
        raise NotImplementedError

    def predict(self, X, coefs):
        """``K(X, X_train) @ coef`` for each coefficient array (one pass over the kernel)."""
        return cross_kernel_product(self.kernel, X, self.X, coefs)
