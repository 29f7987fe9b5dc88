"""NTKRegressor and NTKRegressorCV: infinite-width MLPs trained by gradient flow, in closed form."""


import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin, clone
from sklearn.model_selection import check_cv
from sklearn.utils.validation import check_is_fitted, check_memory, validate_data

from ._solvers import (SpectralSolution, check_kernel_memory, cholesky_coefficients)
from ._solvers.dense import flow_scale
from ._solvers.iterative import KrylovSolution
from ._solvers.matfree import BlockedKernel
from ._solvers.structured import (Grid, ToeplitzKernel, fine_lattice, lattice_extent,
                                  predict_on_lattice)
from ._validation import check_number, check_option
from .kernels import KINDS, ntk_kernel, stationary_ntk

SOLVERS = ("auto", "eigh", "cholesky", "fft", "cg")
ITERATIVE = ("fft", "cg")
# Text appended to the memory error: where to go when the dense path does not fit.
_SCALABLE_HINT = (", use solver='fft' (grid data with a Fourier-feature encoder=) or "
                  "solver='cg' (matrix-free)")
# "auto" takes the FFT solver for stationary grid data from this many training samples on.
_FFT_FROM = 4096
# A lattice prediction may use a fine grid this many times larger than train + test.
_MAX_FINE_FACTOR = 64
# Bytes of test-by-train kernel a prediction block may hold.
_PREDICT_BLOCK_BYTES = 1 << 28


def _spectral_decomposition(X, depth, weight_std, bias_std, kind):
    """Kernel + eigendecomposition of the training set (the unit joblib.Memory caches)."""
    K = ntk_kernel(X, depth=depth, weight_std=weight_std, bias_std=bias_std, kind=kind)
    return SpectralSolution.from_kernel(K)


class _NTKBase(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Kernel parameters, validation and prediction shared by the NTK estimators."""

    def _kernel_params(self):
        return dict(depth=self.depth, weight_std=self.weight_std, bias_std=self.bias_std,
                    kind=self.kernel)

    def _check_kernel_params(self):
        check_number(self.depth, "depth", low=0, integer=True)
        check_number(self.weight_std, "weight_std", low=0, low_inclusive=False)
        check_number(self.bias_std, "bias_std", low=0)
        check_option(self.kernel, "kernel", KINDS)
        check_number(self.learning_rate, "learning_rate", low=0, low_inclusive=False)
        if self.max_kernel_memory is not None:
            check_number(self.max_kernel_memory, "max_kernel_memory", low=0, low_inclusive=False)

    def _validate_fit_data(self, X, y):
        # force_writeable: torch cannot wrap read-only arrays (joblib memmaps)
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True,
                             dtype=[np.float64, np.float32], force_writeable=True)
        self._y_ndim = y.ndim
        Y = np.array(y, dtype=np.float64).reshape(y.shape[0], -1)  # writable, owned
        return X.astype(np.float64), Y

    def _decompose(self, X):
        check_kernel_memory(X.shape[0], "eigh", self.max_kernel_memory, _SCALABLE_HINT)
        memory = check_memory(getattr(self, "memory", None))
        return memory.cache(_spectral_decomposition)(X, **self._kernel_params())

    def _features(self, X):
        encoder = getattr(self, "encoder_", None)
        return X if encoder is None else encoder.transform(X).astype(np.float64)

    def _test_kernel_blocks(self, X):
        """Yield (rows, K(X[rows], X_fit_)) in blocks of bounded memory."""
        n = self.X_fit_.shape[0]
        F_fit = self._features(self.X_fit_)
        rows = max(1, _PREDICT_BLOCK_BYTES // (8 * max(n, 1)))
        for start in range(0, X.shape[0], rows):
            sl = slice(start, start + rows)
            yield sl, ntk_kernel(self._features(X[sl]), F_fit, **self._kernel_params())

    def _predict_with(self, X, coefs):
        """Predictions ``K(X, X_fit_) coef`` for several coefficient arrays at once."""
        out = [np.empty((X.shape[0], self.n_outputs_)) for _ in coefs]
        for rows, Kx in self._test_kernel_blocks(X):
            for o, coef in zip(out, coefs):
                o[rows] = Kx @ coef
        return out

    def _validate_predict_data(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                          force_writeable=True)
        return X.astype(np.float64)

    def predict(self, X):
        """Outputs of the trained infinite-width network at ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Same number of dimensions as the training ``y``.
        """
        X = self._validate_predict_data(X)
        return self._shape_output(self._predict_with(X, [self.dual_coef_])[0])

    def _shape_output(self, Y):
        return Y.ravel() if self._y_ndim == 1 else Y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = False
        return tags


class NTKRegressor(_NTKBase):
    """Regression with the infinite-width limit of a ReLU MLP trained by gradient descent.

    The prediction of an MLP with ``depth`` hidden (Dense, ReLU) layers and a
    linear read-out, infinitely wide, trained by gradient flow on the MSE loss
    for time ``t`` from zero initial outputs (Jacot et al. 2018; Lee et al.
    2019)::

        f_t(x) = K(x, X) K^{-1} (I - exp(-learning_rate K t / N)) y

    with ``K = K(X, X) + alpha I`` the NTK (or NNGP) Gram matrix and ``N =
    y.size``. ``t=None`` is the converged network, ``K(x, X) K^{-1} y``: kernel
    ridge regression with ridge ``alpha``. In the eigenbasis ``K = Q diag(mu)
    Q^T`` the training residual decays as ``exp(-learning_rate mu_i t / N)``
    per direction: the spectral bias of the seed papers. Identical to
    ``neural_tangents.predict.gradient_descent_mse(k_train_train, y,
    learning_rate, diag_reg=alpha, diag_reg_absolute_scale=True)``.

    Compose with :class:`FourierFeatureTransformer` in a Pipeline to regress
    images from pixel coordinates.

    Parameters
    ----------
    depth : int, default=3
        Number of hidden (Dense, ReLU) layers.
    kernel : {"ntk", "nngp"}, default="ntk"
        Gradient-descent training of all layers (NTK) or Bayesian inference /
        last-layer training (NNGP).
    weight_std : float, default=1.0
        Weight standard deviation of every Dense layer (NTK parameterisation).
    bias_std : float, default=0.0
        Bias standard deviation of every Dense layer.
    t : float or None, default=None
        Training time; ``None`` (or ``inf``) is the converged limit.
    learning_rate : float, default=1.0
        Gradient-descent learning rate; only the product ``learning_rate * t``
        matters.
    alpha : float, default=0.0
        Absolute ridge added to the kernel diagonal. ``0`` is allowed:
        null directions of a singular kernel are left untouched.
    solver : {"auto", "eigh", "cholesky", "fft", "cg"}, default="auto"
        ``"eigh"``: one eigendecomposition, any ``t``, fills ``eigenvalues_``.
        ``"cholesky"``: ``t=None`` only, about 20x cheaper than ``eigh``.
        ``"fft"``: exact and matrix-free for pixel grids: needs a stationary
        ``encoder`` and training coordinates forming a full regular grid (an
        image, a video, a lattice of one); the kernel matrix is multilevel
        Toeplitz, applied by FFT in O(n log n) time and O(n) memory, solved by
        CG with a circulant preconditioner (``t=None``) or Lanczos (finite
        ``t``). ``"cg"``: matrix-free for scattered data, kernel rows
        recomputed at every iteration (n up to a few 10^4).
        ``"auto"``: ``"fft"`` for grids of 4096 or more samples with a
        stationary ``encoder``; otherwise Cholesky for ``t=None`` (eigh when
        Cholesky fails, e.g. ``alpha=0`` on a singular kernel, or when
        ``memory`` is set, since one cached decomposition then serves every
        ``t`` and ``alpha``), eigh for a finite ``t``.
    max_kernel_memory : int or None, default=None
        Bytes the dense solvers may allocate; checked before any n x n
        allocation. ``None`` means half of the physical memory.
    memory : str, joblib.Memory or None, default=None
        Cache for the kernel eigendecomposition, keyed on the training inputs
        and kernel parameters. A grid search over ``t``, ``alpha`` and
        ``learning_rate`` then costs one kernel and one ``eigh`` per fold.
    encoder : transformer or None, default=None
        A feature map applied inside the regressor, typically a
        :class:`FourierFeatureTransformer`: ``fit`` and ``predict`` then take
        raw coordinates, which the ``"fft"`` solver needs to see the grid.
        Cloned and fitted in :meth:`fit`; tune it as ``encoder__scale``. The
        alternative form, ``make_pipeline(FourierFeatureTransformer(),
        NTKRegressor())``, computes the same model with the dense solvers.
    tol : float, default=1e-8
        Relative tolerance of the iterative solvers (CG residual, change of
        the Lanczos approximation).
    max_iter : int, default=1000
        Iteration cap of the iterative solvers; a run that stops there warns
        with a ``ConvergenceWarning``.

    Attributes
    ----------
    X_fit_ : ndarray of shape (n_samples, n_features)
        Training inputs.
    dual_coef_ : ndarray of shape (n_samples, n_outputs)
        Weights of the training kernel columns in :meth:`predict`.
    eigenvalues_ : ndarray of shape (n_samples,)
        Eigenvalues of ``K(X, X)`` (without ``alpha``), descending; only after a
        spectral solve (``eigh``).
    solver_ : str
        The solver that ran.
    encoder_ : transformer or None
        The fitted clone of ``encoder``.
    n_iter_ : int
        Krylov iterations of the iterative solvers (0 for the direct ones).
    residual_ : float or None
        Final relative residual (CG) or change (Lanczos) of the iterative
        solvers; ``None`` for the direct ones.
    n_outputs_ : int
        Number of target columns.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, for DataFrame input with
        string column names.

    See Also
    --------
    NTKRegressorCV : chooses ``t`` and ``alpha`` from one decomposition.
    sklearn.kernel_ridge.KernelRidge : the ``t=None`` case with a precomputed kernel.
    skfourier.kernels.ntk_kernel : the kernel itself.

    References
    ----------
    A. Jacot, F. Gabriel, C. Hongler, "Neural Tangent Kernel", NeurIPS 2018.
    M. Tancik et al., "Fourier Features Let Networks Learn High Frequency
    Functions in Low Dimensional Domains", NeurIPS 2020.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skfourier import FourierFeatureTransformer, NTKRegressor
    >>> from skfourier.datasets import load_sample_image, image_to_regression
    >>> from skfourier.model_selection import PixelGridSplit
    >>> from skfourier.metrics import psnr
    >>> X, y = image_to_regression(load_sample_image("china", size=32))
    >>> train, test = next(PixelGridSplit().split(X))
    >>> model = make_pipeline(
    ...     FourierFeatureTransformer(scale=1.25, random_state=0), NTKRegressor(t=1e3))
    >>> model.fit(X[train], y[train]).predict(X[test]).shape
    (256, 3)
    >>> psnr(y[test], model.predict(X[test])) > 15
    True

    A whole image, exactly, with the structured solver (the encoder inside):

    >>> X, y = image_to_regression(load_sample_image("china", size=256))
    >>> train, test = next(PixelGridSplit().split(X))
    >>> model = NTKRegressor(depth=4, encoder=FourierFeatureTransformer(scale=5, random_state=0))
    >>> model.fit(X[train], y[train]).solver_
    'fft'
    >>> psnr(y[test], model.predict(X[test])) > 20
    True
    """

    def __init__(self, depth=3, kernel="ntk", weight_std=1.0, bias_std=0.0, t=None,
                 learning_rate=1.0, alpha=0.0, solver="auto", max_kernel_memory=None,
                 memory=None, encoder=None, tol=1e-8, max_iter=1000):
        self.depth = depth
        self.kernel = kernel
        self.weight_std = weight_std
        self.bias_std = bias_std
        self.t = t
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.solver = solver
        self.max_kernel_memory = max_kernel_memory
        self.memory = memory
        self.encoder = encoder
        self.tol = tol
        self.max_iter = max_iter

    def _check_params(self):
        self._check_kernel_params()
        check_number(self.tol, "tol", low=0, low_inclusive=False)
        check_number(self.max_iter, "max_iter", low=1, integer=True)
        check_number(self.t, "t", low=0, allow_none=True, allow_inf=True)
        check_number(self.alpha, "alpha", low=0)
        check_option(self.solver, "solver", SOLVERS)
        if self.solver == "cholesky" and not self._converged:
            raise ValueError(f"solver='cholesky' solves the converged limit only (t=None), got "
                             f"t={self.t!r}; use solver='eigh' or 'auto' for a finite t.")

    @property
    def _converged(self):
        return self.t is None or np.isinf(self.t)

    def fit(self, X, y):
        """Fit the infinite-width network: kernel of the training set and one solve.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (e.g. Fourier features of pixel coordinates).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets (e.g. RGB colours).

        Returns
        -------
        self : NTKRegressor
            The fitted estimator.
        """
        self._check_params()
        X, Y = self._validate_fit_data(X, y)
        return self._fit_arrays(X, Y)

    def _fit_arrays(self, X, Y, spectrum=None):
        """Fit on validated float64 arrays; reuse ``spectrum`` of K(X, X) when given."""
        self._n_entries = Y.size
        self.n_outputs_ = Y.shape[1]
        self.X_fit_ = X
        self._Y = Y  # kept for predict_trajectory / training_curve
        self._spectrum = spectrum
        self.encoder_ = None if self.encoder is None else clone(self.encoder).fit(X)
        self._grid = None
        solver = self._resolve_solver(X)
        if solver in ITERATIVE:
            self.solver_ = solver
            krylov = self._krylov_solution()
            self.dual_coef_ = self._from_operator_order(
                krylov.coefficients([self._flow_scale(self.t)])[0])
            self.n_iter_ = sum(krylov.n_iter.values())
            self.residual_ = max(krylov.residual.values())
            return self
        F = self._features(X)
        coef = None
        if solver == "cholesky":
            check_kernel_memory(X.shape[0], "cholesky", self.max_kernel_memory, _SCALABLE_HINT)
            K = ntk_kernel(F, **self._kernel_params())
            coef = cholesky_coefficients(K, Y, self.alpha)
            del K
            if coef is None and self.solver == "cholesky":
                raise ValueError(
                    "solver='cholesky' failed: K + alpha I is not positive definite (singular "
                    f"kernel with alpha={self.alpha!r}). Use solver='eigh' or 'auto', which "
                    "treat null directions exactly, or a positive alpha.")
        if coef is None:
            if self._spectrum is None:
                self._spectrum = self._decompose(F)
            self.eigenvalues_ = self._spectrum.eigenvalues
            QtY = self._spectrum.project(Y)
            coef = self._spectrum.coefficients(QtY, self.alpha, self._flow_scale(self.t))
            self.solver_ = "eigh"
        else:
            self.solver_ = "cholesky"
        self.dual_coef_ = coef
        self.n_iter_, self.residual_ = 0, None  # a direct solve
        return self

    def _stationary_encoder(self):
        encoder = self.encoder_
        return encoder is not None and getattr(encoder, "is_stationary", False)

    def _resolve_solver(self, X):
        """The solver to run: the requested one, or the choice of "auto"."""
        if self.solver == "fft":
            if not self._stationary_encoder():
                raise ValueError(
                    "solver='fft' needs a stationary Fourier feature map inside the model: "
                    "pass encoder=FourierFeatureTransformer(...) with a 'basic', 'positional', "
                    "'gaussian', 'uniform' or 'transformer' encoding and include_input=False, "
                    f"and fit on pixel coordinates (got encoder={self.encoder!r}).")
            try:
                self._grid = Grid(X, "the training coordinates")
            except ValueError as exc:
                raise ValueError(f"solver='fft' needs grid data: {exc}") from None
            return "fft"
        if self.solver in ("cg", "eigh", "cholesky"):
            return self.solver
        if (X.shape[0] >= _FFT_FROM and self._stationary_encoder()
                and self.memory is None and self._spectrum is None):
            try:
                self._grid = Grid(X)
                return "fft"
            except ValueError:
                pass
        if self._spectrum is None and self._converged and self.memory is None:
            return "cholesky"
        return "eigh"

    def _krylov_solution(self):
        """The Krylov machinery on the training operator (rebuilt on demand, never pickled)."""
        if self.solver_ == "fft":
            grid = self._grid
            shape = grid.shape[::-1]
            operator = ToeplitzKernel(self._lag_kernel(grid.spacing, shape), shape, self.alpha)
            Y = grid.to_array(self._Y).reshape(grid.size, -1)
            return KrylovSolution(operator.matvec, operator.precondition, Y, self.tol,
                                  self.max_iter)
        operator = BlockedKernel(self._features(self.X_fit_), self._kernel_params(), self.alpha)
        return KrylovSolution(operator.matvec, None, self._Y, self.tol, self.max_iter)

    def _from_operator_order(self, coef):
        if self.solver_ == "fft":
            return self._grid.from_array(coef.reshape(self._grid.shape[::-1] + coef.shape[1:]))
        return coef

    def _lag_kernel(self, spacing, n_lags):
        """The stationary kernel on lags ``l * spacing`` (coordinate order), |l| < n_lags.

        ``n_lags`` is in array order (reversed coordinates); so is the result.
        The inner products ``gamma(0) . gamma(lag)`` separate per frequency into
        exponential sums: a small complex matrix product, not n x m work.
        """
        enc = self.encoder_
        B = enc.B_.astype(np.float64)
        a2 = enc.amplitudes_.astype(np.float64) ** 2
        d = B.shape[1]
        factors = []
        for axis, m in enumerate(n_lags):
            col = d - 1 - axis
            offsets = np.arange(-(m - 1), m) * spacing[col]
            factors.append(np.exp(2j * np.pi * np.outer(offsets, B[:, col])))
        prod = factors[0] * a2
        for f in factors[1:-1]:
            prod = (prod[:, None, :] * f[None, :, :]).reshape(-1, B.shape[0])
        h = (prod @ factors[-1].T).real if len(factors) > 1 else prod.sum(1).real
        h = h.reshape(tuple(2 * m - 1 for m in n_lags))
        n_out = 2 * B.shape[0]
        inner = h / n_out
        norm_sq = a2.sum() / n_out
        inner[tuple(m - 1 for m in n_lags)] = norm_sq  # lag 0 exactly
        return stationary_ntk(inner, norm_sq, **self._kernel_params())

    def _flow_scale(self, t):
        return flow_scale(self.learning_rate, t, self._n_entries)

    def _get_spectrum(self):
        if self._spectrum is None:  # fitted by Cholesky: decompose once, on demand
            self._spectrum = self._decompose(self._features(self.X_fit_))
            self.eigenvalues_ = self._spectrum.eigenvalues
        return self._spectrum

    def _check_times(self, times):
        times = [None if t is None else float(t) for t in np.atleast_1d(
            np.asarray(times, dtype=object))]
        if not times:
            raise ValueError("times must hold at least one time.")
        for t in times:
            check_number(t, "each time", low=0, allow_none=True, allow_inf=True)
        return times

    def _predict_with(self, X, coefs):
        """Predictions for several coefficient arrays; by FFT when X lies on a grid refinement."""
        if getattr(self, "solver_", None) == "fft":
            fine = fine_lattice(self._grid, X)
            if fine is not None:
                r, index = fine
                _, extent = lattice_extent(self._grid.shape[::-1], r, index)
                if np.prod(extent) <= _MAX_FINE_FACTOR * (self._grid.size + X.shape[0]):
                    spacing = self._grid.spacing / r
                    # all coefficient arrays in one convolution: one fine-lag kernel
                    stacked = self._grid.to_array(np.concatenate(coefs, axis=1))
                    pred = predict_on_lattice(stacked, r, index,
                                              lambda n_lags: self._lag_kernel(spacing, n_lags))
                    return np.split(pred, len(coefs), axis=1)
        return super()._predict_with(X, coefs)

    def _expected_failed_checks(self):
        if self.solver in ITERATIVE:
            return {}
        return {"check_non_transformer_estimators_n_iter":
                "the direct solvers (eigh, cholesky) run no iterations: n_iter_ is 0"}

    def predict_trajectory(self, X, times):
        """Predictions at several training times from one decomposition, without refitting.

        Dense solvers reuse one eigendecomposition; the iterative solvers one
        Krylov basis (Lanczos) for all finite times.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        times : sequence of float or None
            Training times; ``None`` or ``inf`` is the converged limit.

        Returns
        -------
        trajectory : ndarray of shape (len(times), n_samples[, n_outputs])
        """
        X = self._validate_predict_data(X)
        times = self._check_times(times)
        scales = [self._flow_scale(t) for t in times]
        if self.solver_ in ITERATIVE:
            coefs = [self._from_operator_order(c)
                     for c in self._krylov_solution().coefficients(scales)]
            out = np.stack(self._predict_with(X, coefs))
        else:
            spec = self._get_spectrum()
            QtY = spec.project(self._Y)
            filters = [spec.flow_filter(self.alpha, c) for c in scales]
            out = np.empty((len(times), X.shape[0], self.n_outputs_))
            for rows, Kx in self._test_kernel_blocks(X):
                KQ = Kx @ spec.eigenvectors
                for i, phi in enumerate(filters):
                    out[i, rows] = KQ @ (phi[:, None] * QtY)
        return out[..., 0] if self._y_ndim == 1 else out

    def training_curve(self, times):
        """Predicted training MSE of the network at each time.

        The mean over all entries of ``(f_train(t) - y)^2`` with the training
        residual ``f_train(t) - y = -exp(-learning_rate K t / N) y`` (``K``
        including ``alpha``), as neural-tangents' ``fx_train``. Exact from the
        eigendecomposition for the dense solvers, by Lanczos quadrature for the
        iterative ones.

        Parameters
        ----------
        times : sequence of float or None

        Returns
        -------
        mse : ndarray of shape (len(times),)
        """
        check_is_fitted(self)
        times = self._check_times(times)
        scales = [self._flow_scale(t) for t in times]
        if self.solver_ in ITERATIVE:
            return self._krylov_solution().training_mse(scales)
        spec = self._get_spectrum()
        QtY = spec.project(self._Y)
        return np.array([spec.training_mse(QtY, self.alpha, c) for c in scales])


class NTKRegressorCV(_NTKBase):
    """NTKRegressor with the training time ``t`` and ridge ``alpha`` chosen by cross-validation.

    In the spirit of :class:`~sklearn.linear_model.RidgeCV`: every candidate
    ``(t, alpha)`` is scored from one kernel eigendecomposition per training
    set, never a refit.

    With ``cv=None`` (the default) the whole training set is decomposed once:

    - ``t=None`` (kernel ridge) is scored by exact leave-one-out: with the hat
      matrix ``H = K (K + alpha I)^{-1} = Q diag(lambda / (lambda + alpha)) Q^T``
      the LOO residual is ``(y_i - (H y)_i) / (1 - H_ii)``.
    - A finite ``t`` is scored by generalized cross-validation, ``GCV =
      (||(I - H_t) y||^2 / N) / (1 - tr(H_t) / n)^2`` with ``H_t = Q diag(lambda
      phi_t(lambda + alpha)) Q^T`` the map from ``y`` to the training
      predictions. GCV approximates leave-one-out; it is not exact for
      gradient flow, since removing a point changes the flow itself.

    With a ``cv`` splitter (e.g. :class:`~skfourier.model_selection.PixelGridSplit`)
    each fold is decomposed once and every candidate predicts the fold's test
    part. Splitters that read pixel coordinates need them: give the Fourier
    feature map as ``encoder=`` and fit on coordinates, or pass the split
    computed on the coordinates, ``cv=list(PixelGridSplit().split(X_coords))``. The score is minus the mean squared error (PSNR ranks identically
    for data in [0, 1]).

    Parameters
    ----------
    times : sequence of float or None, default=(1e1, 1e2, 1e3, 1e4, None)
        Candidate training times; ``None`` is the converged limit.
    alphas : sequence of float, default=(1e-6, 1e-4, 1e-2)
        Candidate ridges (absolute).
    cv : int, cross-validation generator, iterable or None, default=None
        ``None``: leave-one-out / GCV from one decomposition (see above).
    depth, kernel, weight_std, bias_std, learning_rate, max_kernel_memory, encoder
        As in :class:`NTKRegressor` (the search always uses the dense eigh).

    Attributes
    ----------
    best_t_ : float or None
        Selected training time.
    best_alpha_ : float
        Selected ridge.
    best_score_ : float
        Score of the selected candidate (minus the estimated MSE).
    cv_results_ : dict of ndarray
        ``params``, ``param_t``, ``param_alpha``, ``criterion`` ("loo", "gcv"
        or "cv"), ``mean_test_score``, ``std_test_score``,
        ``split{k}_test_score`` and ``rank_test_score``, one entry per candidate,
        as in :class:`~sklearn.model_selection.GridSearchCV`.
    X_fit_ : ndarray of shape (n_samples, n_features)
    dual_coef_ : ndarray of shape (n_samples, n_outputs)
        Of the model refitted on all data with the selected candidate.
    encoder_ : transformer or None
        The fitted clone of ``encoder``.
    eigenvalues_ : ndarray of shape (n_samples,)
        Eigenvalues of ``K(X, X)``, descending.
    n_outputs_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    See Also
    --------
    NTKRegressor : the estimator with fixed ``t`` and ``alpha``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier import NTKRegressorCV
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(60, 2))
    >>> y = np.sin(6 * X[:, 0]) + 0.1 * rng.normal(size=60)
    >>> model = NTKRegressorCV(times=[10, 100, None], alphas=[1e-3, 1e-1]).fit(X, y)
    >>> model.best_alpha_ in (1e-3, 1e-1)
    True
    >>> model.predict(X[:3]).shape
    (3,)
    """

    def __init__(self, times=(1e1, 1e2, 1e3, 1e4, None), alphas=(1e-6, 1e-4, 1e-2), cv=None,
                 depth=3, kernel="ntk", weight_std=1.0, bias_std=0.0, learning_rate=1.0,
                 max_kernel_memory=None, encoder=None):
        self.times = times
        self.alphas = alphas
        self.cv = cv
        self.depth = depth
        self.kernel = kernel
        self.weight_std = weight_std
        self.bias_std = bias_std
        self.learning_rate = learning_rate
        self.max_kernel_memory = max_kernel_memory
        self.encoder = encoder

    def _candidates(self):
        times = list(np.atleast_1d(np.asarray(self.times, dtype=object)))
        alphas = list(np.atleast_1d(np.asarray(self.alphas, dtype=object)))
        if not times or not alphas:
            raise ValueError("times and alphas must each hold at least one value.")
        for t in times:
            check_number(t, "each entry of times", low=0, allow_none=True, allow_inf=True)
        for a in alphas:
            check_number(a, "each entry of alphas", low=0)
        times = [None if t is None or np.isinf(t) else float(t) for t in times]
        # GridSearchCV order (sorted names, the last varying fastest): alpha outer, t inner
        return [(t, float(a)) for a in alphas for t in times]

    def fit(self, X, y):
        """Score every (t, alpha), then refit on all data with the best one.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : NTKRegressorCV
            The fitted estimator.
        """
        self._check_kernel_params()
        candidates = self._candidates()
        X, Y = self._validate_fit_data(X, y)
        self.encoder_ = None if self.encoder is None else clone(self.encoder).fit(X)
        F = self._features(X)
        spectrum = self._decompose(F)
        if self.cv is None:
            scores, criteria = self._efficient_scores(spectrum, Y, candidates)
            scores = scores[:, None]
        else:
            # the splitter sees X (coordinates when an encoder is set), the kernel F
            scores = self._split_scores(X, F, Y, candidates)
            criteria = ["cv"] * len(candidates)
        self._store_results(candidates, scores, criteria)
        final = NTKRegressor(t=self.best_t_, alpha=self.best_alpha_, solver="eigh",
                             encoder=self.encoder,
                             learning_rate=self.learning_rate,
                             max_kernel_memory=self.max_kernel_memory,
                             **{k: v for k, v in self.get_params().items()
                                if k in ("depth", "kernel", "weight_std", "bias_std")})
        final._fit_arrays(X, Y, spectrum)
        self.X_fit_, self.dual_coef_ = final.X_fit_, final.dual_coef_
        self.eigenvalues_, self.n_outputs_ = final.eigenvalues_, final.n_outputs_
        return self

    def _efficient_scores(self, spectrum, Y, candidates):
        QtY = spectrum.project(Y)
        n = Y.shape[0]
        Q2 = spectrum.eigenvectors ** 2
        scores, criteria = np.empty(len(candidates)), []
        for i, (t, alpha) in enumerate(candidates):
            c = flow_scale(self.learning_rate, t, Y.size)
            h = spectrum.hat_filter(alpha, c)
            if t is None:  # exact leave-one-out
                resid = Y - spectrum.eigenvectors @ (h[:, None] * QtY)
                denom = 1.0 - Q2 @ h
                ok = np.all(denom > 1e-12)
                scores[i] = -np.mean((resid / denom[:, None]) ** 2) if ok else -np.inf
                criteria.append("loo")
            else:  # generalized cross-validation
                mse = np.sum(((1.0 - h)[:, None] * QtY) ** 2) / Y.size
                dof = 1.0 - h.sum() / n
                scores[i] = -mse / dof ** 2 if dof > 1e-12 else -np.inf
                criteria.append("gcv")
        return scores, criteria

    def _split_scores(self, X, F, Y, candidates):
        cv = check_cv(self.cv)
        folds = list(cv.split(X, Y))
        scores = np.empty((len(candidates), len(folds)))
        for k, (train, test) in enumerate(folds):
            spectrum = self._decompose(F[train])
            QtY = spectrum.project(Y[train])
            KQ = ntk_kernel(F[test], F[train], **self._kernel_params()) @ spectrum.eigenvectors
            for i, (t, alpha) in enumerate(candidates):
                c = flow_scale(self.learning_rate, t, Y[train].size)
                pred = KQ @ (spectrum.flow_filter(alpha, c)[:, None] * QtY)
                scores[i, k] = -np.mean((pred - Y[test]) ** 2)
        return scores

    def _store_results(self, candidates, scores, criteria):
        mean = scores.mean(axis=1)
        best = int(np.argmax(mean))
        ranks = np.empty(len(mean), dtype=np.int32)
        ranks[np.argsort(-mean, kind="stable")] = np.arange(1, len(mean) + 1)
        results = {
            "params": [{"t": t, "alpha": a} for t, a in candidates],
            "param_t": np.ma.masked_array([t for t, _ in candidates], dtype=object),
            "param_alpha": np.ma.masked_array([a for _, a in candidates], dtype=object),
            "criterion": np.array(criteria),
            "mean_test_score": mean,
            "std_test_score": scores.std(axis=1),
            "rank_test_score": ranks,
        }
        for k in range(scores.shape[1]):
            results[f"split{k}_test_score"] = scores[:, k]
        self.cv_results_ = results
        self.best_t_, self.best_alpha_ = candidates[best]
        self.best_score_ = float(mean[best])
