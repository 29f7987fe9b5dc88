"""FourierFeatureTransformer: coordinates -> [a cos(2 pi B v), a sin(2 pi B v)]."""

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import check_allocation, check_number, check_option

ENCODINGS = ("none", "basic", "positional", "gaussian", "uniform", "transformer")
# Encodings whose feature map has a constant norm, so the composed NTK is stationary.
STATIONARY_ENCODINGS = ("basic", "positional", "gaussian", "uniform", "transformer")


def _n_frequency_vectors(encoding, n_features, n_frequencies):
    """Rows of B for this encoding (checked before B is allocated)."""
    if encoding == "none":
        return 0
    if encoding == "basic":
        return n_features
    if encoding in ("gaussian", "uniform"):
        return n_frequencies
    return n_frequencies * n_features


def _frequency_matrix(encoding, n_features, n_frequencies, scale, base, rng):
    """The matrix B of frequency vectors (cycles per unit length), one row each.

    ``scale`` has one value per input axis: column ``k`` of B uses ``scale[k]``.
    """
    eye = np.eye(n_features)
    if encoding == "none":
        return np.empty((0, n_features))
    if encoding == "basic":
        return eye
    if encoding in ("gaussian", "uniform"):
        unit = (rng.normal(0.0, 1.0, size=(n_frequencies, n_features)) if encoding == "gaussian"
                else rng.uniform(-1.0, 1.0, size=(n_frequencies, n_features)))
        with np.errstate(over="ignore"):  # an absurd scale overflows: fit says so just after
            return unit * scale
    j = np.arange(n_frequencies)
    if encoding == "positional":
        per_axis = [scale[k] ** (j / n_frequencies) for k in range(n_features)]
    else:  # transformer: omega_i = base^(-2i / d) with d = 2 n_frequencies, b = omega / (2 pi)
        per_axis = [base ** (-2.0 * j / (2 * n_frequencies)) / (2 * np.pi)] * n_features
    # axis-major blocks: all frequencies of axis 0, then of axis 1, ...
    return np.concatenate([per_axis[k][:, None] * eye[k] for k in range(n_features)])


def check_scale(scale, n_features):
    """``scale`` as a positive float array of shape ``(n_features,)`` (a float broadcasts)."""
    if np.ndim(scale) == 0:
        check_number(scale, "scale", low=0, low_inclusive=False)
        return np.full(n_features, float(scale))
    try:
        values = np.asarray(scale, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"scale must be a positive number or one per input axis, got "
                         f"{scale!r}.") from None
    if values.shape != (n_features,):
        plural = "" if values.size == 1 else "s"
        raise ValueError(f"scale has {values.size} value{plural} but X has {n_features} axes: "
                         "give one number, or one per axis (e.g. (10, 10, 0.5) for x, y, t).")
    if not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(f"every scale must be a finite number > 0, got {scale!r}.")
    return values


class FourierFeatureTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Map coordinates through Fourier features ``[a cos(2 pi B v), a sin(2 pi B v)]``.

    Composing a network or kernel with this map makes the composed kernel
    stationary, ``k(v, w) = sum_j a_j^2 cos(2 pi b_j . (v - w))``, with a
    bandwidth set by the frequencies in ``B`` (Tancik et al., 2020). Frequencies
    are in cycles per unit length of the input, so for pixel coordinates in
    [0, 1) the right ``scale`` grows with the image resolution: the papers'
    ``scale=10`` (Gaussian) is tuned for 256-pixel training grids.

    Parameters
    ----------
    encoding : {"none", "basic", "positional", "gaussian", "uniform", \
"transformer"}, default="gaussian"
        How the frequency matrix ``B`` is built:

        - ``"none"``: identity map, returns ``X`` (switches the mapping off in a
          grid search).
        - ``"basic"``: ``B = I``, i.e. ``[cos 2 pi v, sin 2 pi v]``.
        - ``"positional"``: axis-aligned, log-spaced ``b_j = scale**(j / n_frequencies) e_k``.
        - ``"gaussian"``: ``B_ij ~ N(0, scale**2)``.
        - ``"uniform"``: ``B_ij ~ U(-scale, scale)``.
        - ``"transformer"``: the sinusoidal position embedding of Transformers per
          axis, ``omega_i = base**(-i / n_frequencies)``, ``b = omega / (2 pi)``.
    n_frequencies : int, default=256
        Number of frequency vectors (``"gaussian"``, ``"uniform"``) or
        frequencies per axis (``"positional"``, ``"transformer"``). Ignored by
        ``"none"`` and ``"basic"``.
    scale : float or array-like of shape (`n_features_in_`,), default=10.0
        Standard deviation (``"gaussian"``), half-width (``"uniform"``) or
        largest frequency (``"positional"``), in cycles per unit length. One
        value per input axis scales column ``k`` of ``B`` by ``scale[k]``:
        ``scale=(10, 10, 0.5)`` on video coordinates (x, y, t) is sharp in
        space and smooth in time. The induced kernel stays stationary.
    base : float, default=10000.0
        Wavelength base of the ``"transformer"`` encoding.
    amplitudes : array-like of shape (n_frequencies_total,), default=None
        Amplitudes ``a_j``; ``None`` means all ones.
    include_input : bool, default=False
        Append the raw coordinates after the sinusoids. This makes the map
        non-stationary.
    random_state : int, RandomState instance or None, default=None
        Seed for the random encodings (``"gaussian"``, ``"uniform"``).

    Attributes
    ----------
    B_ : ndarray of shape (n_frequencies_total, `n_features_in_`)
        Frequency vectors (cycles per unit length), in the dtype of ``X``.
    amplitudes_ : ndarray of shape (n_frequencies_total,)
        Amplitudes used by :meth:`transform`.
    n_features_in_ : int
        Number of coordinates seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the coordinates seen during :term:`fit`, for DataFrame input
        with string column names.

    See Also
    --------
    sklearn.kernel_approximation.RBFSampler : random Fourier features of the RBF kernel.
    NTKRegressor : infinite-width network regression, to compose with this map.

    References
    ----------
    M. Tancik et al., "Fourier Features Let Networks Learn High Frequency
    Functions in Low Dimensional Domains", NeurIPS 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier import FourierFeatureTransformer
    >>> X = np.array([[0.0, 0.0], [0.25, 0.5]])
    >>> fft = FourierFeatureTransformer(encoding="basic").fit(X)
    >>> fft.transform(X).round(3)
    array([[ 1.,  1.,  0.,  0.],
           [ 0., -1.,  1.,  0.]])
    >>> fft.kernel(X).round(3)
    array([[ 2., -1.],
           [-1.,  2.]])
    """

    def __init__(self, encoding="gaussian", *, n_frequencies=256, scale=10.0, base=10000.0,
                 amplitudes=None, include_input=False, random_state=None):
        self.encoding = encoding
        self.n_frequencies = n_frequencies
        self.scale = scale
        self.base = base
        self.amplitudes = amplitudes
        self.include_input = include_input
        self.random_state = random_state

    def fit(self, X, y=None):
        """Draw or build the frequency matrix ``B_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Coordinates; only their number of columns and dtype are used.
        y : None
            Ignored.

        Returns
        -------
        self : FourierFeatureTransformer
            The fitted transformer.
        """
        check_option(self.encoding, "encoding", ENCODINGS)
        check_number(self.n_frequencies, "n_frequencies", low=1, integer=True)
        check_number(self.base, "base", low=1, low_inclusive=False)
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        scale = check_scale(self.scale, X.shape[1])
        n_rows = _n_frequency_vectors(self.encoding, X.shape[1], self.n_frequencies)
        check_allocation(8 * n_rows * X.shape[1], f"n_frequencies={self.n_frequencies!r}",
                         "use fewer frequencies (256 is the papers' setting).")
        rng = check_random_state(self.random_state)
        B = _frequency_matrix(self.encoding, X.shape[1], self.n_frequencies,
                              scale, self.base, rng)
        # 2 pi B must be finite in the output dtype, or every feature is NaN
        top = np.finfo(X.dtype).max / (2 * np.pi)
        if B.size and not np.max(np.abs(B)) <= top:
            raise ValueError(
                f"scale={self.scale!r} gives frequencies up to {np.max(np.abs(B)):.3g}, beyond "
                f"{X.dtype} (max {top:.3g} after the 2 pi factor); lower the scale (cycles per "
                "unit length: 1 to 100 for images in [0, 1)).")
        if self.amplitudes is None:
            amplitudes = np.ones(B.shape[0])
        else:
            amplitudes = np.asarray(self.amplitudes, dtype=np.float64)
            if amplitudes.shape != (B.shape[0],) or not np.all(np.isfinite(amplitudes ** 2)):
                raise ValueError(
                    f"amplitudes must be {B.shape[0]} finite numbers with finite squares (one per "
                    "frequency "
                    f"vector of the {self.encoding!r} encoding), got shape {amplitudes.shape}.")
        self.B_ = B.astype(X.dtype)
        self.amplitudes_ = amplitudes.astype(X.dtype)
        self._n_features_out = self._n_out(X.shape[1])
        return self

    def _n_out(self, n_features):
        if self.encoding == "none":
            return n_features
        return 2 * self.B_.shape[0] + (n_features if self.include_input else 0)

    @property
    def is_stationary(self):
        """Whether the feature norm is constant, so kernels on top depend only on ``x - y``."""
        return self.encoding in STATIONARY_ENCODINGS and not self.include_input

    def transform(self, X):
        """Map coordinates to Fourier features.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_features_in_`)
            Coordinates.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out)
            ``[a cos(2 pi X B^T), a sin(2 pi X B^T)]`` (then ``X`` if
            ``include_input``), float32 for float32 input, float64 otherwise.
        """
        check_is_fitted(self)
        # force_writeable: torch cannot wrap read-only arrays (joblib memmaps)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                          force_writeable=True)
        if self.encoding == "none":
            return X.copy()
        self._check_phases(X)
        check_allocation(X.shape[0] * self._n_features_out * X.dtype.itemsize,
                         f"transforming {X.shape[0]} samples into {self._n_features_out} "
                         "features", "transform the samples in batches or use fewer frequencies.")
        B = (2 * np.pi * self.B_).astype(X.dtype).T.copy()
        m = B.shape[1]
        out = np.empty((X.shape[0], self._n_features_out), dtype=X.dtype)
        X = np.ascontiguousarray(X)
        # the fastest cos / sin per dtype, measured in benchmarks/bench_fourier.py: numpy's
        # SIMD float32 kernels beat torch's ~1.9x; in float64 torch's are ~5x numpy's
        lib, source, target = np, X, out
        if X.dtype == np.float64:
            lib, source, B, target = (torch, torch.from_numpy(X), torch.from_numpy(B),
                                      torch.from_numpy(out))
        # row blocks keep the phases in cache between the two passes
        block = max(1, 2 ** 18 // max(m, 1))
        for start in range(0, X.shape[0], block):
            rows = slice(start, start + block)
            phase = source[rows] @ B
            lib.cos(phase, out=target[rows, :m])
            lib.sin(phase, out=target[rows, m:2 * m])
        if not np.all(self.amplitudes_ == 1):
            a = self.amplitudes_.astype(X.dtype)
            out[:, :m] *= a
            out[:, m:2 * m] *= a
        if self.include_input:
            out[:, 2 * m:] = X
        return out

    def _check_phases(self, X):
        """ValueError when ``2 pi X B^T`` could overflow X's dtype (cos / sin of inf are NaN).

        ``|2 pi x . b| <= 2 pi sum_k max|X_k| max|B_k|``: one O(n d) bound, no pass
        over the output.
        """
        if not X.size or not self.B_.size:
            return
        bound = 2 * np.pi * np.dot(np.abs(X).max(axis=0).astype(np.float64),
                                   np.abs(self.B_).max(axis=0).astype(np.float64))
        if not bound <= np.finfo(X.dtype).max:
            raise ValueError(
                f"X has entries up to {np.abs(X).max():.3g}: with frequencies up to "
                f"{np.abs(self.B_).max():.3g} the phases 2 pi X B^T overflow {X.dtype}; rescale "
                "the coordinates to [0, 1) (datasets.image_to_regression does) or lower the "
                "scale.")

    def kernel(self, X, Y=None):
        """The kernel induced by the map, ``gamma(X) gamma(Y)^T``, in closed form.

        ``k(x, y) = sum_j a_j^2 cos(2 pi b_j . (x - y))`` (plus ``x . y`` when
        ``include_input``), evaluated through ``cos(p - q) = cos p cos q +
        sin p sin q`` so the cost is one matrix product.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, `n_features_in_`)
        Y : array-like of shape (n_samples_Y, `n_features_in_`), default=None
            ``None`` means ``Y = X``.

        Returns
        -------
        K : ndarray of shape (n_samples_X, n_samples_Y)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        Y = X if Y is None else validate_data(self, Y, reset=False,
                                              dtype=[np.float64, np.float32])
        if self.encoding == "none":
            return X @ Y.T
        B = 2 * np.pi * self.B_.astype(np.float64)
        a2 = self.amplitudes_.astype(np.float64) ** 2
        px, py = X @ B.T, Y @ B.T
        K = (a2 * np.cos(px)) @ np.cos(py).T + (a2 * np.sin(px)) @ np.sin(py).T
        if self.include_input:
            K += X @ Y.T
        return K.astype(np.result_type(X.dtype, Y.dtype))

    def kernel_spectrum(self):
        """Frequencies and weights of the induced stationary kernel, in float64.

        ``k(delta) = sum_j w_j cos(2 pi b_j . delta)``: the spectral measure
        of the map, a point mass ``w_j = a_j^2`` at each frequency ``b_j``.
        The FFT solver reads the kernel on a grid's lags from it.

        Returns
        -------
        frequencies : ndarray of shape (n_frequency_vectors, `n_features_in_`)
            The rows of ``B_``, cycles per unit length.
        weights : ndarray of shape (n_frequency_vectors,)
            ``amplitudes_ ** 2``.

        Examples
        --------
        >>> import numpy as np
        >>> from skfourier import FourierFeatureTransformer
        >>> enc = FourierFeatureTransformer(n_frequencies=8, random_state=0).fit(np.zeros((1, 2)))
        >>> B, w = enc.kernel_spectrum()
        >>> delta = np.array([[0.1, 0.2]])
        >>> bool(np.allclose(np.cos(2 * np.pi * delta @ B.T) @ w, enc.kernel_profile(delta)))
        True
        """
        check_is_fitted(self)
        if not self.is_stationary:
            raise ValueError(
                f"encoding={self.encoding!r} with include_input={self.include_input} induces "
                "no stationary kernel, so it has no spectrum; use kernel(X, Y).")
        return self.B_.astype(np.float64), self.amplitudes_.astype(np.float64) ** 2

    def kernel_profile(self, delta):
        """The stationary kernel as a function of the offset, ``k(delta)``.

        Parameters
        ----------
        delta : array-like of shape (n_offsets, `n_features_in_`)
            Offsets ``x - y``.

        Returns
        -------
        k : ndarray of shape (n_offsets,)
            ``sum_j a_j^2 cos(2 pi b_j . delta)``.
        """
        check_is_fitted(self)
        if not self.is_stationary:
            raise ValueError(
                f"encoding={self.encoding!r} with include_input={self.include_input} is not "
                "stationary, so the kernel is not a function of x - y alone; use kernel(X, Y).")
        delta = np.asarray(delta, dtype=np.float64)
        if delta.ndim != 2 or delta.shape[1] != self.n_features_in_:
            raise ValueError(f"delta must have shape (n_offsets, {self.n_features_in_}), "
                             f"got {delta.shape}.")
        return np.cos(2 * np.pi * delta @ self.B_.T.astype(np.float64)) @ (
            self.amplitudes_.astype(np.float64) ** 2)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
