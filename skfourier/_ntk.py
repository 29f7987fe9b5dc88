"""NTKRegressor and NTKRegressorCV: infinite-width MLPs trained by gradient flow, in closed form.

The estimators validate, choose a solver family from :mod:`skfourier._solvers`
and dispatch to it; all numerics live with the solvers.
"""

import sys
import threading
import warnings

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin, clone
from sklearn.model_selection import check_cv
from sklearn.utils.validation import check_is_fitted, validate_data

from ._settings import SolverSettings
from ._grid import DuplicatePoints
from ._solvers import (PEAK_MATRICES, SOLVERS, STD_METHODS, KernelFunction, NotPositiveDefinite,
                       flow_scale)
from ._validation import check_number, check_option
from .kernels import check_kernel_params

ITERATIVE = ("fft", "cg")
#: Encodings of FourierFeatureTransformer that take no scale (NTKRegressorCV(scales=)).
_SCALE_FREE = ("none", "basic", "transformer")


class _NTKBase(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Kernel parameters, validation, and prediction through the fitted solver.

    The solver is a cache: it is dropped when the estimator is pickled and
    rebuilt on demand from the fitted state (``X_fit_``, the targets and the
    configuration recorded at fit), so a fitted model pickles in O(n (d +
    outputs)) bytes whatever solver ran.
    """

    def _check_common_params(self):
        check_kernel_params(self.depth, self.weight_std, self.bias_std, self.kernel, "kernel")
        check_number(self.learning_rate, "learning_rate", low=0, low_inclusive=False)
        if self.max_kernel_memory is not None:
            check_number(self.max_kernel_memory, "max_kernel_memory", low=0, low_inclusive=False)
        check_number(self.tol, "tol", low=0, low_inclusive=False)
        check_number(self.max_iter, "max_iter", low=1, integer=True)
        check_option(self.std_method, "std_method", STD_METHODS)
        self._settings = SolverSettings.from_options(self.solver_options)

    def _solver_options(self):
        """Keyword arguments of every solver this estimator builds (subclasses add theirs)."""
        return {"max_memory": self.max_kernel_memory, "tol": self.tol,
                "max_iter": self.max_iter, "settings": self._settings}

    def _auto_families(self, n, dense, fft=True):
        """The one "auto" policy of NTKRegressor and NTKRegressorCV: the solver families to
        try on ``n`` training samples, in order. ``"fft"`` from ``settings.fft_from`` samples
        on (it refuses what is not grid data with a stationary encoder), then the ``dense``
        family the caller needs (Cholesky for one converged fit, eigh for many t / alpha)."""
        return (["fft"] if fft and n >= self._settings.fft_from else []) + [dense]

    def _validate_fit_data(self, X, y):
        # force_writeable: torch cannot wrap read-only arrays (joblib memmaps)
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True,
                             dtype=[np.float64, np.float32], force_writeable=True)
        self._y_ndim = y.ndim
        Y = np.array(y, dtype=np.float64).reshape(y.shape[0], -1)  # writable, owned
        X = X.astype(np.float64)  # float32 input: the encoder's B_ in float64 too
        # stored as encoder_ only by a fit that succeeds (check_is_fitted reads it)
        encoder = None if self.encoder is None else clone(self.encoder).fit(X)
        return X, Y, encoder

    def _new_solver(self, name, alpha, X, Y, encoder):
        """A solver of family ``name`` on (X, Y) and the fitted feature map ``encoder``,
        with the configuration recorded at fit."""
        kernel = KernelFunction(encoder, **self._config["kernel"])
        return SOLVERS[name](kernel, alpha=alpha, **self._config["options"]).fit(X, Y)

    def _record_config(self):
        self._config = {"kernel": dict(depth=self.depth, weight_std=self.weight_std,
                                       bias_std=self.bias_std, kind=self.kernel),
                        "options": self._solver_options()}
        self._cache = {}
        self._lock = threading.Lock()

    def _first_solver(self, families, alpha, X, Y, encoder):
        """A solver of the first family in ``families`` that takes (X, Y); the last one's
        error if none does."""
        for name in families[:-1]:
            try:
                return self._new_solver(name, alpha, X, Y, encoder)
            except DuplicatePoints as exc:   # grid data the FFT path would take but for them
                n = X.shape[0]
                warnings.warn(
                    f"solver='auto' falls back to the dense solvers on all {n:,} samples "
                    f"({PEAK_MATRICES[families[-1]] * 8 * n * n / 2 ** 30:.1f} GiB "
                    f"and O(n^3) time) because {exc} With one sample per grid point the FFT "
                    "solver fits them in O(n log n): average the duplicates' targets (the "
                    "same fit at t=None and alpha=0).", UserWarning, stacklevel=4)
            except ValueError:  # e.g. fft: not a stationary encoder on a grid
                pass
        return self._new_solver(families[-1], alpha, X, Y, encoder)

    @staticmethod
    def _finite(solve, Y):
        """Run ``solve()``; a ValueError instead of silently non-finite coefficients."""
        with np.errstate(over="ignore", invalid="ignore"):
            coef = solve()
        if not np.all(np.isfinite(coef)):
            raise ValueError(
                f"the solution overflowed float64 (targets up to {np.abs(Y).max():.3g}); "
                "rescale y, e.g. colours to [0, 1].")
        return coef

    def _store_fit(self, X, Y, solver, coef, learning_rate, t):
        """The fitted state, the same for NTKRegressor and NTKRegressorCV's refit."""
        self.encoder_ = solver.kernel.encoder
        self.X_fit_ = X
        self.dual_coef_ = coef
        self.n_outputs_ = Y.shape[1]
        self._Y = Y  # kept for predict_trajectory / training_curve
        self._fitted = {"solver": solver.name, "alpha": solver.alpha,
                        "learning_rate": learning_rate, "t": t}
        self._cache = {solver.name: solver}
        self.solver_ = solver.name
        self.n_iter_, self.residual_ = solver.n_iter, solver.residual
        self.solver_info_ = {"solver": solver.name, "preconditioner": solver.preconditioner_name,
                             "n_iter": solver.n_iter, "residual": solver.residual,
                             "std_method": None}
        if solver.name == "eigh":
            self.eigenvalues_ = solver.eigenvalues
        elif hasattr(self, "eigenvalues_"):
            del self.eigenvalues_  # from an earlier fit with another solver

    def _solver(self, name=None):
        """The fitted solver (or another family on the same data), rebuilt when not cached;
        under a lock, so that threads predicting at once share one."""
        name = name or self._fitted["solver"]
        with self._lock:
            if name not in self._cache:
                self._cache[name] = self._new_solver(name, self._fitted["alpha"], self.X_fit_,
                                                     self._Y, self.encoder_)
            return self._cache[name]

    def __getstate__(self):
        # a copy: object.__getstate__ returns the live __dict__
        state = dict(super().__getstate__())
        state.pop("_cache", None)  # decompositions and operators: rebuilt on demand
        state.pop("_lock", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._cache = {}
        self._lock = threading.Lock()

    def __sklearn_is_fitted__(self):
        # validate_data sets n_features_in_ before a fit can still fail: only a stored
        # solution makes the model fitted
        return hasattr(self, "dual_coef_")

    def _flow_scales(self, times):
        return [flow_scale(self._fitted["learning_rate"], t, self._Y.size) for t in times]

    def _validate_predict_data(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                          force_writeable=True)
        return X.astype(np.float64)

    def predict(self, X, return_std=False, return_cov=False):
        """Outputs of the trained infinite-width network at ``X``, and their spread.

        The mean is the prediction of the network trained for time ``t``. With
        ``return_std`` or ``return_cov`` (scikit-learn's
        :class:`~sklearn.gaussian_process.GaussianProcessRegressor` convention)
        also the standard deviation or covariance of the outputs over the
        ensemble of infinitely wide networks from random initialisation
        trained for the same time (Lee et al. 2019), as neural-tangents'
        ``gradient_descent_mse_ensemble(..., compute_cov=True)``. With ``K``
        the NNGP, ``Th`` the NTK and ``A = phi_c(G + alpha I)`` the flow
        filter of the model's kernel ``G``, ``c = learning_rate t / N``::

            kernel="nngp": Cov = K(x, x) - K(x, X) A_{2c} K(X, x)
            kernel="ntk":  Cov = K(x, x) + Th(x, X) A_c K(X, X) A_c Th(X, x)
                                 - Th(x, X) A_c K(X, x) - K(x, X) A_c Th(X, x)

        (``t=None``: ``A = (G + alpha I)^{-1}``; for ``kernel="nngp"`` the
        Gaussian-process posterior.) ``alpha`` regularises the training block
        only: the test outputs are noise free. The kernel is shared by all
        output columns, so is the covariance.

        How the std is computed is the estimator's ``std_method``, and which
        method ran is recorded in ``solver_info_["std_method"]``. Exact (any
        solver, and always for ``return_cov``) costs a solve with a
        right-hand side per test point (``A_c`` is symmetric: the NTK's terms
        share ``A_c Th(X, x)``), taken in blocks by the iterative solvers.
        ``std_method="auto"`` is exact up to 512 points (``solver_options``'
        ``exact_std_points``); past that it estimates where the solver offers
        an estimate for the points: ``"lattice"`` (``solver="fft"``, test
        points filling whole 2-D lattices on a refinement of the training
        grid, e.g. every held-out pixel; within 0.64% of the exact std on
        64 x 64 lattices, 0.24% at 256 x 256; or every pixel of one
        rectangular hole in a masked training grid, checked at a few exact
        points, within 0.5%), else ``"lanczos"`` (iterative
        solvers, ``kernel="nngp"`` at a finite ``t``; within 0.5% on 32 x 32
        and 64 x 64 lattices at the demo's time), else exact.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the standard deviation at each point.
        return_cov : bool, default=False
            Also return the covariance between the points.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Same number of dimensions as the training ``y``.
        y_std : ndarray of shape (n_samples,)
            Only with ``return_std``; shared by all output columns.
        y_cov : ndarray of shape (n_samples, n_samples)
            Only with ``return_cov``; shared by all output columns.
        """
        if return_std and return_cov:
            raise ValueError("At most one of return_std or return_cov can be requested.")
        X = self._validate_predict_data(X)
        mean = self._shape_output(self._solver().predict(X, [self.dual_coef_])[0])
        if not (return_std or return_cov):
            return mean
        c = self._flow_scales([self._fitted["t"]])[0]
        spread = self._variance(X, c, full=return_cov)
        return mean, (_sqrt_variance(spread) if return_std else spread)

    def _variance(self, X, c, full=False):
        """The ensemble's variance by ``std_method``; records the method in ``solver_info_``."""
        spread, method = self._solver_for([c]).predictive_variance(
            X, c, full=full, method=self.std_method)
        self.solver_info_["std_method"] = method
        return spread

    def _shape_output(self, Y):
        return Y[..., 0] if self._y_ndim == 1 else Y

    def _solver_for(self, scales):
        """The fitted solver, or an eigh one on the same data where it cannot serve ``scales``."""
        solver = self._solver()
        if solver.finite_times or all(np.isinf(c) for c in scales):
            return solver
        return self._solver("eigh")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = False
        return tags


def _sqrt_variance(var):
    """Standard deviation from a variance whose zeros may come out as rounding-level negatives."""
    return np.sqrt(np.maximum(var, 0.0))


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
        CG (``t=None``; plain for narrow kernels, a circulant preconditioner
        with the grid's boundary deflated for wide ones) or Lanczos (finite
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
    verbose : int, default=0
        ``1`` shows a progress bar (tqdm, on stderr) for the iterative
        solvers: the digits of the relative residual gained toward ``tol``
        (a converged solve ends full), with the step and the residual.
    std_method : {"auto", "exact", "lattice", "lanczos"}, default="auto"
        How :meth:`predict` computes ``return_std``: ``"exact"`` a solve per
        test point; ``"lattice"`` the whole-lattice estimate of the FFT
        solver (test points filling 2-D lattices on a refinement of the
        training grid, or one rectangular hole of a masked training grid:
        exact solves at a few dozen points, within 0.64% of exact in
        tests); ``"lanczos"`` one Lanczos basis for all points (the
        NNGP at a finite ``t``: within 0.5%); ``"auto"`` exact up to 512
        points, past that the first estimate that serves the points. An
        estimate that cannot serve the request raises a ValueError saying
        why. ``return_cov`` is always exact.
    solver_options : dict or None, default=None
        Overrides of the solvers' tuning constants (names and measured
        defaults: ``skfourier.SolverSettings``), e.g.
        ``{"plain_cg_iterations": 0}`` to always precondition CG or
        ``{"exact_std_points": 4096}`` to keep the std exact further.

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
    solver_info_ : dict
        What ran: ``"solver"``, ``"preconditioner"`` (CG's, by name: ``"none"``
        for plain CG, e.g. ``"circulant + boundary deflation"``; ``None`` for
        the direct solvers and Lanczos-only fits), ``"n_iter"``, ``"residual"``
        and ``"std_method"`` (the method of the last ``return_std`` /
        ``return_cov``, ``None`` before one).
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

    def __init__(self, depth=3, *, kernel="ntk", weight_std=1.0, bias_std=0.0, t=None,
                 learning_rate=1.0, alpha=0.0, solver="auto", max_kernel_memory=None,
                 memory=None, encoder=None, tol=1e-8, max_iter=1000, verbose=0,
                 std_method="auto", solver_options=None):
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
        self.verbose = verbose
        self.std_method = std_method
        self.solver_options = solver_options

    def _check_params(self):
        self._check_common_params()
        check_number(self.t, "t", low=0, allow_none=True, allow_inf=True)
        check_number(self.alpha, "alpha", low=0)
        check_option(self.solver, "solver", SOLVERS.keys() | {"auto"})
        if self.solver == "cholesky" and not (self.t is None or np.isinf(self.t)):
            raise ValueError(f"solver='cholesky' solves the converged limit only (t=None), got "
                             f"t={self.t!r}; use solver='eigh' or 'auto' for a finite t.")

    def _solver_options(self):
        return {**super()._solver_options(), "memory": self.memory, "verbose": self.verbose}

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
        X, Y, encoder = self._validate_fit_data(X, y)
        self._record_config()
        scale = flow_scale(self.learning_rate, self.t, Y.size)
        converged = self.t is None or np.isinf(self.t)
        # with memory=, one cached eigendecomposition serves every t and alpha: no fft
        families = ([self.solver] if self.solver != "auto" else self._auto_families(
            X.shape[0], "cholesky" if converged and self.memory is None else "eigh",
            fft=self.memory is None))
        solver = self._first_solver(families, self.alpha, X, Y, encoder)
        try:
            coef = self._finite(lambda: solver.coefficients([scale])[0], Y)
        except NotPositiveDefinite:
            if self.solver == "cholesky":
                raise
            solver = self._new_solver("eigh", self.alpha, X, Y, encoder)  # null directions
            coef = self._finite(lambda: solver.coefficients([scale])[0], Y)
        self._store_fit(X, Y, solver, coef, self.learning_rate, self.t)
        return self

    def _expected_failed_checks(self):
        if self.solver in ITERATIVE:
            return {}
        return {"check_non_transformer_estimators_n_iter":
                "the direct solvers (eigh, cholesky) run no iterations: n_iter_ is 0"}

    def _check_times(self, times):
        times = [None if t is None else float(t) for t in np.atleast_1d(
            np.asarray(times, dtype=object))]
        if not times:
            raise ValueError("times must hold at least one time.")
        for t in times:
            check_number(t, "each time", low=0, allow_none=True, allow_inf=True)
        return self._flow_scales(times)

    def predict_trajectory(self, X, times, return_std=False):
        """Predictions at several training times from one decomposition, without refitting.

        Dense solvers reuse one eigendecomposition; the iterative solvers one
        Krylov basis (Lanczos) for all finite times.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        times : sequence of float or None
            Training times; ``None`` or ``inf`` is the converged limit.
        return_std : bool, default=False
            Also return the ensemble's standard deviation at each time (see
            :meth:`predict`).

        Returns
        -------
        trajectory : ndarray of shape (len(times), n_samples[, n_outputs])
        std : ndarray of shape (len(times), n_samples)
            Only with ``return_std``.
        """
        X = self._validate_predict_data(X)
        scales = self._check_times(times)
        solver = self._solver_for(scales)
        trajectory = self._shape_output(np.stack(solver.predict(X, solver.coefficients(scales))))
        if not return_std:
            return trajectory
        return trajectory, np.stack([_sqrt_variance(self._variance(X, c)) for c in scales])

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
        scales = self._check_times(times)
        solver = self._solver()
        return (solver if solver.finite_times else self._solver("eigh")).training_mse(scales)


class NTKRegressorCV(_NTKBase):
    """NTKRegressor with the training time, the ridge and the Fourier scale chosen by CV.

    In the spirit of :class:`~sklearn.linear_model.RidgeCV`: every candidate
    ``(t, alpha)`` is scored from one solver per training set and scale,
    never a refit; with ``scales`` the ``encoder``'s ``scale`` is searched
    too (the question "which sigma for my image?").

    With ``cv=None`` (the default) the whole training set is decomposed once
    per scale (dense, ``eigh``):

    every candidate is scored by one criterion, the hat-matrix leave-one-out:
    with ``H_t = Q diag(lambda phi_t(lambda + alpha)) Q^T`` the map from ``y``
    to the training predictions at time ``t`` (``H = K (K + alpha I)^{-1}`` at
    ``t=None``), the LOO residual is ``(y_i - (H_t y)_i) / (1 - (H_t)_ii)``.
    Exact for ``t=None`` (kernel ridge); at a finite ``t`` the same formula
    of the linear smoother ``H_t`` (exact LOO would also rerun the flow
    without the point). One criterion for all: equal models (a converged
    finite ``t`` and ``t=None``) score equally, and the criterion never
    decides between finite and infinite times by itself.

    With a ``cv`` splitter every candidate predicts each fold's test part and
    is scored by minus its mean squared error (PSNR ranks identically for
    data in [0, 1]), as :class:`~sklearn.model_selection.GridSearchCV` with
    ``scoring="neg_mean_squared_error"`` would, with the same result. Each fold
    runs on the solver its data allow: with a stationary ``encoder`` and
    pixel-grid splitters (:class:`~skfourier.model_selection.PixelGridSplit`,
    :class:`~skfourier.model_selection.FrameHoldoutSplit`) every training fold
    is a full lattice, fitted by the FFT solver in O(n log n) per matvec and
    O(n) memory, so whole photos can be tuned. Splitters that read pixel
    coordinates need them: give the feature map as ``encoder=`` and fit on
    coordinates.

    Cost model, per scale and fold: dense, one kernel and one
    eigendecomposition (O(n^3)), then O(n^2) per ``(t, alpha)``; FFT, one
    lag kernel, then per ``alpha`` one conjugate-gradient solve (``t=None``)
    and one Lanczos run that serves every finite ``t`` (its length set by the
    largest ``t``), then one FFT convolution predicts the fold's test pixels
    for all candidates at once. The final refit uses the selected candidate
    on all data, with the same choice of solver.

    Parameters
    ----------
    times : sequence of float or None, default=(1e1, 1e2, 1e3, 1e4, None)
        Candidate training times; ``None`` is the converged limit.
    alphas : sequence of float, default=(1e-6, 1e-4, 1e-2)
        Candidate ridges (absolute).
    scales : sequence or None, default=None
        Candidate values of the ``encoder``'s ``scale``: floats, or per-axis
        tuples (e.g. ``(10, 10, 0.5)`` for video). ``None`` keeps the encoder's.
    cv : int, cross-validation generator, iterable or None, default=None
        ``None``: leave-one-out / GCV from one decomposition (see above).
    depth, kernel, weight_std, bias_std, learning_rate, max_kernel_memory, encoder
        As in :class:`NTKRegressor`.
    solver : {"auto", "eigh", "fft"}, default="auto"
        For the folds and the refit: ``"auto"`` takes ``"fft"`` for grids of
        4096 or more samples with a stationary ``encoder`` and ``"eigh"``
        otherwise. ``cv=None`` always decomposes (``"eigh"``).
    tol, max_iter : float, int, default=1e-8, 1000
        Of the FFT solver's Krylov iterations.
    verbose : int, default=0
        ``1`` shows a progress bar (tqdm, on stderr) over scales and folds.
    std_method, solver_options
        As in :class:`NTKRegressor` (``solver_options`` apply to the folds'
        solvers and the refit).

    Attributes
    ----------
    best_t_ : float or None
        Selected training time.
    best_alpha_ : float
        Selected ridge.
    best_scale_ : float, tuple or None
        Selected scale (``None`` without ``scales``).
    best_score_ : float
        Score of the selected candidate (minus the estimated MSE).
    cv_results_ : dict of ndarray
        ``params``, ``param_t``, ``param_alpha``, ``param_scale`` (with
        ``scales``), ``criterion`` ("loo" or "cv"),
        ``mean_test_score``, ``std_test_score``, ``split{k}_test_score`` and
        ``rank_test_score``, one entry per candidate in
        :class:`~sklearn.model_selection.GridSearchCV`'s order (``alpha``
        slowest, then ``scale``, ``t`` fastest).
    solver_ : str
        The solver of the final refit.
    solver_info_ : dict
        What the refit ran, as in :class:`NTKRegressor`.
    n_iter_ : int
        Krylov iterations of the final refit (0 for ``eigh``).
    residual_ : float or None
        Final relative residual of the refit's Krylov iterations (``None``: eigh).
    X_fit_ : ndarray of shape (n_samples, n_features)
    dual_coef_ : ndarray of shape (n_samples, n_outputs)
        Of the model refitted on all data with the selected candidate.
    encoder_ : transformer or None
        The fitted clone of ``encoder``, at the selected scale.
    eigenvalues_ : ndarray of shape (n_samples,)
        Eigenvalues of ``K(X, X)``, descending; when the refit was spectral.
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

    The Fourier scale of a photo, on the papers' split (the FFT solver per fold):

    >>> from skfourier import FourierFeatureTransformer
    >>> from skfourier.datasets import image_to_regression, load_sample_image
    >>> from skfourier.model_selection import PixelGridSplit
    >>> X, y = image_to_regression(load_sample_image("china", size=128))
    >>> search = NTKRegressorCV(
    ...     times=[1e2, None], alphas=[1e-6], scales=[1, 4, 16], cv=PixelGridSplit(),
    ...     depth=4, encoder=FourierFeatureTransformer(random_state=0)).fit(X, y)
    >>> search.best_scale_, search.best_t_, search.solver_
    (1, None, 'fft')
    """

    def __init__(self, times=(1e1, 1e2, 1e3, 1e4, None), *, alphas=(1e-6, 1e-4, 1e-2),
                 scales=None, cv=None, depth=3, kernel="ntk", weight_std=1.0, bias_std=0.0,
                 learning_rate=1.0, max_kernel_memory=None, encoder=None, solver="auto",
                 tol=1e-8, max_iter=1000, verbose=0, std_method="auto", solver_options=None):
        self.times = times
        self.alphas = alphas
        self.scales = scales
        self.cv = cv
        self.depth = depth
        self.kernel = kernel
        self.weight_std = weight_std
        self.bias_std = bias_std
        self.learning_rate = learning_rate
        self.max_kernel_memory = max_kernel_memory
        self.encoder = encoder
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose
        self.std_method = std_method
        self.solver_options = solver_options

    def _grid(self):
        """Candidate times, alphas and scales, validated."""
        times = list(np.atleast_1d(np.asarray(self.times, dtype=object)))
        alphas = list(np.atleast_1d(np.asarray(self.alphas, dtype=object)))
        if not times or not alphas:
            raise ValueError("times and alphas must each hold at least one value.")
        for t in times:
            check_number(t, "each entry of times", low=0, allow_none=True, allow_inf=True)
        for a in alphas:
            check_number(a, "each entry of alphas", low=0)
        times = [None if t is None or np.isinf(t) else float(t) for t in times]
        if self.scales is None:
            return times, [float(a) for a in alphas], [None]
        if self.encoder is None or "scale" not in self.encoder.get_params():
            raise ValueError("scales= searches the encoder's scale: pass an encoder with a "
                             "scale parameter, e.g. encoder=FourierFeatureTransformer(), and "
                             f"fit on coordinates (got encoder={self.encoder!r}).")
        encoding = self.encoder.get_params().get("encoding")
        if encoding in _SCALE_FREE:
            raise ValueError(f"scales= searches the encoder's scale, which encoding={encoding!r} "
                             "ignores: search it with encoding='gaussian', 'uniform' or "
                             "'positional', or pass scales=None.")
        scales = [tuple(v) if np.ndim(v) else v for v in self.scales]
        if not scales:
            raise ValueError("scales must hold at least one value (or be None).")
        return times, [float(a) for a in alphas], scales

    def _encoder_at(self, scale, X):
        """The encoder fitted at one candidate scale (``None``: as given)."""
        if self.encoder is None:
            return None
        encoder = clone(self.encoder)
        return (encoder if scale is None else encoder.set_params(scale=scale)).fit(X)

    def _fold_solver(self, alpha, X, Y, encoder):
        """A solver on one training set: FFT where the data allow it, else eigh."""
        families = ([self.solver] if self.solver != "auto"
                    else self._auto_families(X.shape[0], "eigh"))
        return self._first_solver(families, alpha, X, Y, encoder)

    def fit(self, X, y):
        """Score every (t, alpha[, scale]), then refit on all data with the best one.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : NTKRegressorCV
            The fitted estimator.
        """
        self._check_common_params()
        check_option(self.solver, "solver", ("auto", "eigh", "fft"))
        times, alphas, scales = self._grid()
        X, Y, _ = self._validate_fit_data(X, y)
        self._record_config()
        encoders = [self._encoder_at(s, X) for s in scales]
        folds = None if self.cv is None else list(check_cv(self.cv).split(X, Y))
        units = _progress(self.verbose, len(scales) * (1 if folds is None else len(folds)),
                          "NTKRegressorCV")
        per_scale, kept = [], (None, None)  # (scale index, decomposition) of the best so far
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: -inf scores, then below
            for k, encoder in enumerate(encoders):
                if folds is None:
                    solver = self._new_solver("eigh", 0.0, X, Y, encoder)
                    per_scale.append(self._efficient_scores(solver, times, alphas))
                    # one n x n decomposition held at a time, not one per scale
                    if kept[0] is None or np.max(per_scale[k][0]) > np.max(
                            per_scale[kept[0]][0]):
                        kept = (k, solver)
                    units.update()
                else:
                    per_scale.append(self._split_scores(X, Y, times, alphas, folds, encoder,
                                                        units))
        units.close()
        best = self._store_results(times, alphas, scales, per_scale)
        scale = flow_scale(self.learning_rate, self.best_t_, Y.size)
        if folds is None:
            spectrum = (kept[1] if kept[0] == best else
                        self._new_solver("eigh", 0.0, X, Y, encoders[best]))
            final = spectrum.with_alpha(self.best_alpha_)
        else:
            final = self._fold_solver(self.best_alpha_, X, Y, encoders[best])
        coef = self._finite(lambda: final.coefficients([scale])[0], Y)
        self._store_fit(X, Y, final, coef, self.learning_rate, self.best_t_)
        return self

    def _expected_failed_checks(self):
        if self.solver == "fft":
            return {}
        return {"check_non_transformer_estimators_n_iter":
                "the refit on scikit-learn's small test data is spectral (eigh): n_iter_ is 0"}

    def _efficient_scores(self, solver, times, alphas):
        """Hat-matrix leave-one-out of every (alpha, t) from the one decomposition, alpha outer."""
        scores = []
        for alpha in alphas:
            shifted = solver.with_alpha(alpha)
            scores += [shifted.loo_score(flow_scale(self.learning_rate, t, solver.Y.size))
                       for t in times]
        return np.array(scores)[:, None], ["loo"] * len(scores)

    def _split_scores(self, X, Y, times, alphas, folds, encoder, units):
        """Minus the test MSE of every (alpha, t) on every fold: one solver per fold and alpha."""
        scores = np.empty((len(alphas) * len(times), len(folds)))
        for k, (train, test) in enumerate(folds):
            scales = [flow_scale(self.learning_rate, t, Y[train].size) for t in times]
            fold = self._fold_solver(0.0, X[train], Y[train], encoder)
            if fold.name == "eigh":  # one decomposition serves every alpha
                solvers = [fold.with_alpha(a) for a in alphas]
            else:
                solvers = [self._fold_solver(a, X[train], Y[train], encoder) for a in alphas]
            coefs = [c for solver in solvers for c in solver.coefficients(scales)]
            for i, pred in enumerate(fold.predict(X[test], coefs)):
                scores[i, k] = -np.mean((pred - Y[test]) ** 2)
            units.update()
        return scores, ["cv"] * scores.shape[0]

    def _store_results(self, times, alphas, scales, per_scale):
        """``cv_results_`` and the best candidate, in GridSearchCV's order; returns its scale."""
        # sorted parameter names, the last varying fastest: alpha, scale, t
        candidates = [(t, a, k) for i, a in enumerate(alphas) for k in range(len(scales))
                      for t in times]
        n_t = len(times)
        rows = [per_scale[k][0][i * n_t + j] for i in range(len(alphas))
                for k in range(len(scales)) for j in range(n_t)]
        criteria = [per_scale[k][1][i * n_t + j] for i in range(len(alphas))
                    for k in range(len(scales)) for j in range(n_t)]
        scores = np.array(rows)
        mean = scores.mean(axis=1)
        best = int(np.argmax(mean))
        ranks = np.empty(len(mean), dtype=np.int32)
        ranks[np.argsort(-mean, kind="stable")] = np.arange(1, len(mean) + 1)
        with np.errstate(invalid="ignore"):  # a -inf score (undefined LOO) has no spread: nan
            std = scores.std(axis=1)
        searched = self.scales is not None
        params = [{"t": t, "alpha": a, **({"scale": scales[k]} if searched else {})}
                  for t, a, k in candidates]
        results = {"params": params,
                   "param_t": np.ma.masked_array([t for t, _, _ in candidates], dtype=object),
                   "param_alpha": np.ma.masked_array([a for _, a, _ in candidates],
                                                     dtype=object)}
        if searched:
            column = np.empty(len(candidates), dtype=object)
            column[:] = [scales[k] for _, _, k in candidates]
            results["param_scale"] = np.ma.masked_array(column)
        results.update({"criterion": np.array(criteria), "mean_test_score": mean,
                        "std_test_score": std, "rank_test_score": ranks})
        for k in range(scores.shape[1]):
            results[f"split{k}_test_score"] = scores[:, k]
        self.cv_results_ = results
        self.best_t_, self.best_alpha_, k = candidates[best]
        self.best_scale_ = scales[k]
        self.best_score_ = float(mean[best])
        return k


def _progress(verbose, total, desc):
    """A tqdm bar over ``total`` units of a search, shown when ``verbose``."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="fit", file=sys.stderr, leave=False,
                disable=not verbose)
