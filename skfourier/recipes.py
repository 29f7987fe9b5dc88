"""Experiment protocols of the Fourier-features papers, shared by the CLI, examples and benchmarks.

Each recipe is a few lines of public API: build the papers' models, split a
pixel grid the papers' way (train on the even pixels ``[::2, ::2]``, test on
the odd ones; train on every k-th frame of a clip, test on the others), fit,
score, reconstruct. Scales are in cycles per unit length: the papers quote
theirs for 256-pixel training grids, and :func:`matched_scale` carries them
to other resolutions.
"""

import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from ._fourier import FourierFeatureTransformer
from ._mlp import CoordinateMLPRegressor
from ._ntk import NTKRegressor, NTKRegressorCV
from .callbacks import HeldOutPSNR
from .datasets import (grid_coordinates, image_to_regression, regression_to_image,
                       regression_to_video, video_to_regression)
from .metrics import psnr
from .model_selection import PixelGridSplit

__all__ = ["PAPER_GRID", "PAPER_SCALES", "MODELS", "DEMO_FLOW_SCALE", "DENSE_LIMIT",
           "demo_training_time", "matched_scale", "make_encoder", "make_model", "paper_encoders",
           "ImageResult", "Uncertainty", "compare_encodings", "sub_lattice", "ScaleSearch",
           "tune_scale", "VideoResult", "interpolate_video"]

#: Training-grid side for which the Fourier-features papers quote their scales.
PAPER_GRID = 256
#: The papers' settings on a 256-pixel training grid (cycles per unit length).
PAPER_SCALES = {"positional": 2.0 ** 6, "gaussian": 10.0, "uniform": 10.0}
#: Model kinds of :func:`make_model`.
MODELS = ("ntk", "mlp")
#: The demo's training budget as a flow scale ``c = learning_rate t / N``: the
#: same fraction of training at every resolution (t = 1000 on a 48 x 48 RGB grid).
DEMO_FLOW_SCALE = 1e3 / (48 * 48 * 3)
#: Largest training set on which a non-stationary map (no mapping) is fitted densely by
#: :func:`compare_encodings`; larger grids use a sub-lattice. The cost is less the
#: eigendecomposition than predicting every pixel of the image from a dense kernel
#: (512 x 512 pixels x 4096 training points: ~80 s on two cores, x 1024: ~20 s).
DENSE_LIMIT = 1024


def demo_training_time(img):
    """The demo's finite training time for ``img`` split by :class:`PixelGridSplit`.

    ``t = DEMO_FLOW_SCALE * N`` with ``N`` the training entries (even pixels x
    channels): the same flow scale, hence the same stage of training, at every
    resolution.

    Parameters
    ----------
    img : ndarray of shape (H, W) or (H, W, C)

    Returns
    -------
    t : float

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier.recipes import demo_training_time
    >>> round(demo_training_time(np.zeros((96, 96, 3))))
    1000
    """
    H, W = np.shape(img)[:2]
    channels = np.shape(img)[2] if np.ndim(img) == 3 else 1
    return DEMO_FLOW_SCALE * ((H + 1) // 2) * ((W + 1) // 2) * channels


def matched_scale(encoding, train_side, paper_scale=None):
    """Carry a scale quoted for a 256-pixel training grid to ``train_side`` pixels.

    The same image content on a grid ``train_side / 256`` as fine needs
    proportionally lower frequencies. Positional encodings keep at least 2.

    Parameters
    ----------
    encoding : {"positional", "gaussian", "uniform"}
    train_side : int
        Pixels per side of the training grid.
    paper_scale : float, default=None
        The scale on a 256-pixel grid; ``None`` takes the papers' value
        (:data:`PAPER_SCALES`).

    Returns
    -------
    scale : float

    Examples
    --------
    >>> from skfourier.recipes import matched_scale
    >>> matched_scale("gaussian", 32)
    1.25
    """
    scale = PAPER_SCALES[encoding] if paper_scale is None else paper_scale
    matched = scale * train_side / PAPER_GRID
    return max(matched, 2.0) if encoding == "positional" else matched


def make_encoder(encoding, scale=1.0, *, n_frequencies=256, random_state=0):
    """The Fourier feature map of the papers' comparison for one encoding.

    ``"positional"`` gets one frequency per octave up to ``scale``, as in the paper.

    Parameters
    ----------
    encoding : str
        A :class:`~skfourier.FourierFeatureTransformer` encoding.
    scale : float or tuple of float, default=1.0
        One value, or one per input axis.
    n_frequencies : int, default=256
        For the random encodings.
    random_state : int, default=0

    Returns
    -------
    encoder : FourierFeatureTransformer
        Unfitted.

    Examples
    --------
    >>> from skfourier.recipes import make_encoder
    >>> make_encoder("positional", 64).n_frequencies
    7
    """
    if encoding == "positional":  # one frequency per octave of the largest axis scale
        n_frequencies = max(2, int(np.ceil(np.log2(np.max(scale)))) + 1)
    return FourierFeatureTransformer(encoding=encoding, scale=scale, n_frequencies=n_frequencies,
                                     random_state=random_state)


def make_model(kind, encoder, *, t=None, max_iter=400, random_state=0, verbose=0):
    """Encoder followed by the papers' network: the 4-layer ReLU NTK or a 3 x 256 MLP.

    The NTK takes the encoder inside (``encoder=``), so that on large pixel
    grids it can use the exact FFT-structured solver.

    Parameters
    ----------
    kind : {"ntk", "mlp"}
    encoder : FourierFeatureTransformer
    t : float or None, default=None
        NTK training time (``None``: converged).
    max_iter : int, default=400
        MLP iterations.
    random_state : int, default=0
        MLP initialisation.
    verbose : int, default=0
        Progress bar over the MLP's steps or the NTK solver's iterations.

    Returns
    -------
    model : estimator
        Fits raw coordinates.

    Examples
    --------
    >>> from skfourier.recipes import make_encoder, make_model
    >>> make_model("ntk", make_encoder("gaussian", 10.0)).depth
    4
    """
    if kind == "ntk":
        # alpha = 1e-6 (2e-7 k(x, x) = 5 on Fourier features) keeps the solves stable
        return NTKRegressor(depth=4, weight_std=np.sqrt(2), t=t, alpha=1e-6, encoder=encoder,
                            verbose=verbose)
    if kind == "mlp":
        return make_pipeline(encoder, CoordinateMLPRegressor(
            max_iter=max_iter, random_state=random_state, verbose=verbose))
    raise ValueError(f"model must be one of {list(MODELS)}, got {kind!r}.")


def paper_encoders(train_side, *, distributions=("gaussian", "uniform"), random_state=0):
    """``(label, encoder)`` pairs of seed Fig. 1 / Tancik et al.'s comparison at this resolution.

    No mapping, basic, positional (one frequency per octave up to 2^6), and
    each random distribution at the paper's sigma = 1, 10, 100 (too low,
    matched, too high). The papers' sigma is for a 256-pixel training grid
    (a 512 x 512 image split by :class:`~skfourier.model_selection.PixelGridSplit`):
    there it is used as it is, elsewhere carried by :func:`matched_scale`.
    A uniform distribution gets the same standard deviation as the Gaussian,
    ``U(-sqrt(3) sigma, sqrt(3) sigma)``, as in Tancik et al.'s comparison of
    distributions.

    Parameters
    ----------
    train_side : int
        Pixels per side of the training grid.
    distributions : tuple of {"gaussian", "uniform"}, default=("gaussian", "uniform")
    random_state : int, default=0

    Returns
    -------
    pairs : list of (str, FourierFeatureTransformer)

    Examples
    --------
    >>> from skfourier.recipes import paper_encoders
    >>> [name for name, _ in paper_encoders(256)][-1]
    'uniform sigma=100'
    >>> round(float(paper_encoders(256)[-1][1].scale), 2)  # half-width sqrt(3) sigma
    173.21
    """
    pairs = [("no mapping", make_encoder("none")), ("basic", make_encoder("basic")),
             ("positional", make_encoder("positional",
                                         matched_scale("positional", train_side)))]
    for dist in distributions:
        for paper in (1.0, 10.0, 100.0):
            sigma = matched_scale("gaussian", train_side, paper)
            name = f"{dist} sigma={paper:g}"
            if train_side != PAPER_GRID:
                name += f" (at {sigma:.3g})"
            half_width = np.sqrt(3.0) * sigma if dist == "uniform" else sigma
            pairs.append((name, make_encoder(dist, half_width, random_state=random_state)))
    return pairs


def _encoder_scale(encoder):
    return None if encoder.encoding in ("none", "basic") else encoder.scale


@dataclass
class Uncertainty:
    """The ensemble's spread at held-out pixels, and how well it covers the errors.

    ``std`` holds the predictive standard deviation (:meth:`NTKRegressor.predict`
    with ``return_std``) at the pixels ``[1::2, 1::2][::stride, ::stride]`` of
    an image (a map), or the mean std of each frame of a video; ``coverage``
    is the fraction of held-out entries (pixels x channels) whose error lies
    within +-2 std, about 0.95 for a calibrated Gaussian.
    """

    std: np.ndarray = field(repr=False)
    stride: int
    points: int
    coverage: float
    seconds: float

    def as_dict(self):
        return {"std_mean": round(float(np.mean(self.std)), 6), "std_stride": self.stride,
                "std_points": self.points, "coverage_2std": round(float(self.coverage), 4),
                "std_seconds": round(float(self.seconds), 3)}


def _spread(estimator, X):
    """Mean, std at the rows of X and the seconds it took."""
    start = time.perf_counter()
    mean, std = estimator.predict(X, return_std=True)
    return mean, std, time.perf_counter() - start


def _coverage(y, mean, std):
    """Fraction of entries whose error is within +-2 std (std shared by the channels)."""
    return float(np.mean(np.abs(np.reshape(y - mean, (len(std), -1))) <= 2 * std[:, None]))


def _stride_within(shape, limit):
    """The smallest stride ``s`` with at most ``limit`` points ``[::s, ::s]`` (at least 1 point)."""
    stride = 1
    while -(-shape[0] // stride) * -(-shape[1] // stride) > max(limit, 1):
        stride += 1
    return stride


def _check_spread(model, std_points):
    if std_points is not None and model != "ntk":
        raise ValueError("the predictive std is the infinite-width ensemble's: it needs "
                         "model='ntk' (the MLP is one trained network).")


@dataclass
class ImageResult:
    """One row of an image experiment: a model's held-out PSNR and its reconstruction."""

    name: str
    encoding: str
    scale: object
    test_psnr: float
    fit_seconds: float
    reconstruction: np.ndarray = field(repr=False, default=None)
    #: Training MSE at the requested times (NTK, from ``training_curve``) or the MLP's
    #: loss at every iteration.
    training_mse: np.ndarray = field(repr=False, default=None)
    #: Held-out PSNR at the requested times (NTK, from ``predict_trajectory``) or every
    #: ``PSNR_EVERY`` MLP iterations and the last (see ``psnr_iterations``).
    test_psnr_curve: np.ndarray = field(repr=False, default=None)
    #: How this row deviates from the protocol, if it does.
    note: str = ""
    #: The model evaluated on a ``upscale``-times finer grid, if asked for.
    upscaled: np.ndarray = field(repr=False, default=None)
    #: The ensemble's std map at held-out pixels and its calibration, if asked for.
    uncertainty: Uncertainty = None

    def as_dict(self):
        """The JSON-ready fields (without the reconstruction)."""
        out = {"name": self.name, "encoding": self.encoding,
               "scale": np.asarray(self.scale).tolist() if self.scale is not None else None,
               "test_psnr": round(float(self.test_psnr), 3),
               "fit_seconds": round(float(self.fit_seconds), 3)}
        if self.note:
            out["note"] = self.note
        if self.uncertainty is not None:
            out.update(self.uncertainty.as_dict())
        return out


def sub_lattice(shape, limit):
    """Indices of the pixels ``[::s, ::s]`` of an (H, W) image, ``s`` the smallest even stride
    with at most ``limit`` of them; returns ``(indices, s)``.

    Examples
    --------
    >>> from skfourier.recipes import sub_lattice
    >>> rows, stride = sub_lattice((512, 512), 4096)
    >>> len(rows), stride
    (4096, 8)
    """
    H, W = shape
    stride = 2
    while -(-H // stride) * -(-W // stride) > limit:
        stride *= 2
    rr, cc = np.meshgrid(np.arange(0, H, stride), np.arange(0, W, stride), indexing="ij")
    return np.ravel_multi_index((rr.ravel(), cc.ravel()), (H, W)), stride


def compare_encodings(img, encoders, *, model="ntk", t=None, max_iter=400, random_state=0,
                      verbose=0, dense_limit=DENSE_LIMIT, curve_times=None, upscale=1,
                      std_points=None, keep=None):
    """Tancik et al.'s protocol: train on the even pixels, score the odd ones, per encoding.

    With the NTK, a stationary encoder runs the exact FFT solver on the whole
    training grid. Raw coordinates ("no mapping") have no stationary kernel:
    on training grids larger than ``dense_limit`` that row is trained densely
    on the sub-lattice ``[::s, ::s]`` (:func:`sub_lattice`) at the same flow
    scale ``c = t / N``, scored on the same odd pixels, and says so in its
    ``note``. With ``keep``, a random share of the pixels is the training
    set instead and the rest is scored: a masked lattice, which the FFT
    solver fits exactly too (a non-stationary row takes a random
    ``dense_limit`` of those pixels).

    Parameters
    ----------
    img : ndarray of shape (H, W) or (H, W, C)
    encoders : iterable of (str, FourierFeatureTransformer)
        Labelled encoders, e.g. :func:`paper_encoders`.
    model : {"ntk", "mlp"}, default="ntk"
    t : float or None, default=None
        NTK training time on the full training grid.
    max_iter : int, default=400
        MLP iterations.
    random_state : int, default=0
    verbose : int, default=0
    dense_limit : int, default=DENSE_LIMIT
        Largest training set for a non-stationary NTK.
    upscale : int, default=1
        Also evaluate each model on the ``upscale``-times finer grid (the
        coordinate network as a continuous image), in ``upscaled``.
    curve_times : sequence of float or None, default=None
        Also record training curves in ``training_mse`` and the held-out
        PSNR along them in ``test_psnr_curve``: for the NTK the training MSE
        and the PSNR at these times (on the full grid's time axis), for the
        MLP its loss at every iteration and the PSNR every ``PSNR_EVERY``
        iterations (:func:`psnr_iterations`; any value other than ``None``).
    std_points : int or None, default=None
        NTK only: also the ensemble's predictive std at up to this many
        held-out pixels (the odd lattice, strided when larger), with its
        calibration, in ``uncertainty``. Exact, a solve per point on the
        training grid, up to 512 points; past that the FFT solver estimates
        it from a few solves (:meth:`NTKRegressor.predict`). Not with ``keep``.
    keep : float or None, default=None
        Train on this share of the pixels, drawn at random (``random_state``),
        and score the others; ``None``: the even / odd protocol.

    Returns
    -------
    results : list of ImageResult
        With the full-image reconstruction of each model.

    Examples
    --------
    >>> from skfourier.datasets import load_sample_image
    >>> from skfourier.recipes import compare_encodings, make_encoder
    >>> rows = compare_encodings(load_sample_image("china", size=16),
    ...                          [("basic", make_encoder("basic"))])
    >>> rows[0].reconstruction.shape
    (16, 16, 3)
    """
    _check_spread(model, std_points)
    img = np.asarray(img)
    X, y = image_to_regression(img)
    if keep is None:
        train, test = next(PixelGridSplit().split(X))
    else:
        train, test = _random_pixels(len(X), keep, std_points, random_state)
    results = []
    for name, encoder in encoders:
        rows, note, factor = train, "", 1.0
        if model == "ntk" and not encoder.is_stationary and len(train) > dense_limit:
            if keep is None:
                rows, stride = sub_lattice(img.shape[:2], dense_limit)
                where = f"the sub-lattice [::{stride}, ::{stride}]"
            else:
                rows, where = np.sort(train[:dense_limit]), "a random subset"
            factor = len(rows) / len(train)  # the same flow scale c = t / N
            note = (f"trained on {where} ({len(rows)} px): no stationary kernel, so the "
                    "dense solver")
        estimator = make_model(model, encoder, t=None if t is None else t * factor,
                               max_iter=max_iter, random_state=random_state, verbose=verbose)
        if curve_times is not None and model == "mlp":
            # the callback scores the network's own inputs: the features of a copy of the
            # encoder fitted as the pipeline will fit it (same random_state, same B)
            features = clone(encoder).fit(X[rows]).transform(X[test])
            estimator[-1].set_params(callbacks=[HeldOutPSNR(features, y[test], PSNR_EVERY)])
        start = time.perf_counter()
        estimator.fit(X[rows], y[rows])
        seconds = time.perf_counter() - start
        full = estimator.predict(X)  # the whole image; the test pixels are part of it
        score = psnr(y[test], full[test])
        upscaled = None
        if upscale > 1:
            fine = img.shape[:2] if img.ndim == 2 else img.shape
            fine = (fine[0] * upscale, fine[1] * upscale) + tuple(fine[2:])
            upscaled = regression_to_image(estimator.predict(grid_coordinates(fine[:2])), fine)
        curve = psnr_curve = None
        if curve_times is not None and model == "ntk":
            times = [c * factor for c in curve_times]
            curve = estimator.training_curve(times)
            psnr_curve = np.array([psnr(y[test], p)
                                   for p in estimator.predict_trajectory(X[test], times)])
        elif curve_times is not None:
            curve = estimator[-1].loss_curve_
            history = estimator[-1].net_.history[:, "valid_psnr"]
            psnr_curve = np.array([v for v in history if np.isfinite(v)])
        uncertainty = None
        if std_points is not None:
            H, W = img.shape[:2]
            shape = (H // 2, W // 2)  # the odd lattice [1::2, 1::2]
            stride = _stride_within(shape, std_points)
            rr, cc = np.meshgrid(np.arange(1, 2 * shape[0], 2 * stride),
                                 np.arange(1, 2 * shape[1], 2 * stride), indexing="ij")
            rows_std = np.ravel_multi_index((rr.ravel(), cc.ravel()), (H, W))
            mean, std, spent = _spread(estimator, X[rows_std])
            uncertainty = Uncertainty(std.reshape(rr.shape), stride, len(rows_std),
                                      _coverage(y[rows_std], mean, std), spent)
        results.append(ImageResult(name, encoder.encoding, _encoder_scale(encoder), score,
                                   seconds, regression_to_image(full, img.shape), curve,
                                   psnr_curve, note, upscaled, uncertainty))
    return results


#: How often :func:`compare_encodings` scores an MLP's held-out pixels along training.
PSNR_EVERY = 10


def psnr_iterations(max_iter):
    """The MLP iterations at which :func:`compare_encodings` records the held-out PSNR.

    Every ``PSNR_EVERY``-th iteration and the last, as
    :class:`~skfourier.callbacks.HeldOutPSNR` scores them.

    Parameters
    ----------
    max_iter : int
        The MLP's iterations.

    Returns
    -------
    iterations : ndarray of int

    Examples
    --------
    >>> from skfourier.recipes import psnr_iterations
    >>> psnr_iterations(25).tolist()
    [10, 20, 25]
    """
    return np.unique(np.append(np.arange(PSNR_EVERY, max_iter + 1, PSNR_EVERY), max_iter))


def _random_pixels(n, keep, std_points, random_state):
    """(train, test) rows of a random ``keep`` share of ``n`` pixels; train in random order."""
    if not (isinstance(keep, (int, float)) and 0 < keep < 1):
        raise ValueError(f"keep must be a share of the pixels, 0 < keep < 1, got {keep!r}.")
    if std_points is not None:
        raise ValueError("std_points maps the std on the held-out lattice of the even / odd "
                         "protocol; with keep the held-out pixels are scattered: leave one "
                         "of them out.")
    n_train = int(round(keep * n))
    if not 0 < n_train < n:
        raise ValueError(f"keep={keep} of {n} pixels leaves no training or no held-out pixel.")
    order = np.random.default_rng(random_state).permutation(n)
    return order[:n_train], np.sort(order[n_train:])


@dataclass
class InpaintResult:
    """A photo's unknown pixels filled by a model of its known ones."""

    filled: np.ndarray = field(repr=False)
    n_known: int
    fit_seconds: float
    #: PSNR over the unknown pixels where the truth is known (``--hole``), else None.
    hole_psnr: float = None
    #: The ensemble's std on the pixels ``[::stride, ::stride]``: at the unknown ones, 0 at
    #: the known ones (they are kept as given).
    std: np.ndarray = field(repr=False, default=None)
    stride: int = None
    solver: str = None
    #: How the std was computed: ``"lattice"`` (the hole estimate) or ``"exact"``.
    std_method: str = None
    #: Why the std is exact on strided pixels rather than estimated on all of them.
    std_note: str = None
    #: Share of the unknown pixels' errors within +-2 std (where the truth is known).
    coverage: float = None

    def as_dict(self):
        out = {"known_pixels": self.n_known, "fit_seconds": round(float(self.fit_seconds), 3),
               "solver": self.solver}
        if self.hole_psnr is not None:
            out["hole_psnr"] = round(float(self.hole_psnr), 3)
        if self.std is not None:
            unknown = self.std[self.std > 0]
            out.update({"std_stride": self.stride, "std_method": self.std_method,
                        "std_mean_unknown": round(float(unknown.mean()), 6) if unknown.size
                        else 0.0})
            if self.std_note:
                out["std_note"] = self.std_note
            if self.coverage is not None:
                out["coverage_2std"] = round(float(self.coverage), 4)
        return out


def inpaint(img, known, encoder, *, model="ntk", t=None, max_iter=400, random_state=0,
            verbose=0, std_points=None, truth=None):
    """Fill the unknown pixels of a photo by a model fitted on its known ones.

    The known pixels are any subset of the image's grid (a mask, a hole):
    with the NTK and a stationary encoder, an exact masked-lattice fit by the
    FFT solver.

    Parameters
    ----------
    img : ndarray of shape (H, W) or (H, W, C), values in [0, 1]
        The photo; its unknown pixels are ignored.
    known : ndarray of bool, shape (H, W)
        True where the pixel is known.
    encoder : FourierFeatureTransformer
    model, t, max_iter, random_state, verbose
        As in :func:`make_model`.
    std_points : int or None, default=None
        NTK only: the ensemble's std at the unknown pixels (0 at the known
        ones, which are kept). Exact at all of them when they are at most
        this many; else the FFT solver's estimate over a rectangular hole
        (a few exact solves, checked to 1%); where it cannot serve (another
        mask shape, a dense fit) exact on the unknown pixels of
        ``[::s, ::s]``, the smallest stride ``s`` with at most this many
        pixels of the image.
    truth : ndarray like ``img`` or None, default=None
        The complete photo, to score the filled pixels (``hole_psnr`` and,
        with ``std_points``, ``coverage``).

    Returns
    -------
    result : InpaintResult

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier.datasets import load_sample_image
    >>> from skfourier.recipes import inpaint, make_encoder
    >>> img = load_sample_image("china", size=32)
    >>> known = np.ones((32, 32), bool)
    >>> known[8:16, 8:16] = False
    >>> result = inpaint(img, known, make_encoder("gaussian", 1.0), truth=img)
    >>> result.filled.shape, result.n_known, result.hole_psnr > 10
    ((32, 32, 3), 960, True)
    """
    _check_spread(model, std_points)
    img = np.asarray(img)
    known = check_known(known, img.shape[:2])
    X, y = image_to_regression(img)
    rows = np.flatnonzero(known.ravel())
    estimator = make_model(model, encoder, t=t, max_iter=max_iter, random_state=random_state,
                           verbose=verbose)
    start = time.perf_counter()
    estimator.fit(X[rows], y[rows])
    seconds = time.perf_counter() - start
    full = estimator.predict(X)
    full[rows] = y[rows]                   # the known pixels stay as they are
    filled = regression_to_image(np.clip(full, 0.0, 1.0), img.shape)
    score = None
    if truth is not None:
        unknown = ~known.ravel()
        truth = image_to_regression(np.asarray(truth))[1]
        score = psnr(truth[unknown], full[unknown])
    spread = {}
    if std_points is not None:
        spread, probe, std = _unknown_std(estimator, X, known, std_points)
        if truth is not None:
            spread["coverage"] = _coverage(truth[probe], full[probe], std)
    return InpaintResult(filled, len(rows), seconds, score,
                         solver=getattr(estimator, "solver_", None), **spread)


def _unknown_std(estimator, X, known, std_points):
    """The std map of :func:`inpaint` (std, stride, std_method, std_note), the rows it
    holds values of and those values."""
    unknown = np.flatnonzero(~known.ravel())
    H, W = known.shape
    note = None
    if unknown.size > std_points:
        try:
            std = _std_by(estimator, X[unknown], "lattice")
            return ({"std": _scatter(std, unknown, (H, W)), "stride": 1,
                     "std_method": "lattice"}, unknown, std)
        except ValueError as exc:       # not a hole, or not the FFT solver: exact, strided
            note = str(exc).split(": ", 1)[-1]
    stride = 1 if unknown.size <= std_points else _stride_within((H, W), std_points)
    grid = np.zeros((H, W), bool)
    grid[::stride, ::stride] = True
    probe = np.flatnonzero(grid.ravel() & ~known.ravel())
    std = _std_by(estimator, X[probe], "exact")
    return ({"std": _scatter(std, probe, (H, W))[::stride, ::stride], "stride": stride,
             "std_method": "exact", "std_note": note}, probe, std)


def _std_by(estimator, X, method):
    """The fitted NTK's std at ``X`` by ``std_method=method``, its own setting restored."""
    own = estimator.std_method
    estimator.set_params(std_method=method)
    try:
        return estimator.predict(X, return_std=True)[1]
    finally:
        estimator.set_params(std_method=own)


def _scatter(values, rows, shape):
    """``values`` at the flat ``rows`` of a zero array of ``shape``."""
    out = np.zeros(shape)
    out.flat[rows] = values
    return out


def check_known(known, shape):
    """The mask of known pixels as a bool array of ``shape``; ValueError naming the problem
    unless it is a finite (H, W) array with some pixels known and some unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier.recipes import check_known
    >>> check_known(np.eye(2), (2, 2))
    array([[ True, False],
           [False,  True]])
    """
    known = np.asarray(known)
    if known.shape != tuple(shape):
        raise ValueError(f"the mask is {known.shape[1] if known.ndim > 1 else known.size} x "
                         f"{known.shape[0]} pixels but the photo {shape[1]} x {shape[0]}; give "
                         "a mask of the photo's size.")
    if known.dtype != bool:
        if not np.all(np.isfinite(known)):
            raise ValueError("the mask has NaN or infinite values; known pixels are white "
                             "(1), unknown black (0).")
        known = known > 0.5
    if not known.any():
        raise ValueError("the mask marks no pixel as known (all black); known pixels are "
                         "white.")
    if known.all():
        raise ValueError("the mask marks every pixel as known (all white): nothing to fill.")
    return known


#: Multiples of the matched scale that :func:`tune_scale` tries (seven octaves).
TUNE_FACTORS = (1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8)


#: A scale search's curve flatter than this (dB) chooses nothing (ScaleSearch.note).
FLAT_DB = 0.1


@dataclass
class ScaleSearch:
    """The Fourier scale chosen for an image, and the cross-validation curve behind it."""

    best_scale: object
    #: Candidate scales for the full training grid, and their validation PSNR (dB).
    scales: list
    cv_psnr: np.ndarray
    seconds: float

    @property
    def note(self):
        """What the curve does not settle: a choice at the edge of the searched range, or a
        curve flat within 0.1 dB (the converged NTK's, past the scales that matter)."""
        spread = float(np.max(self.cv_psnr) - np.min(self.cv_psnr))
        if spread < FLAT_DB:
            return (f"the CV curve is flat (within {spread:.2f} dB): the scale barely matters "
                    "here; at t = None try a finite training time t, where it does")
        best = int(np.argmax(self.cv_psnr))
        if best in (0, len(self.scales) - 1):
            side = "smallest" if best == 0 else "largest"
            return (f"the chosen scale is the {side} searched: the best may lie beyond the "
                    "range (search again around it)")
        return ""

    def as_dict(self):
        return {"best_scale": np.asarray(self.best_scale).tolist(),
                "note": self.note,
                "scales": [np.asarray(s).tolist() for s in self.scales],
                "cv_psnr": [round(float(p), 3) for p in self.cv_psnr],
                "seconds": round(float(self.seconds), 3),
                "protocol": "NTKRegressorCV with PixelGridSplit inside the training pixels "
                            "(train [::4, ::4], validate [2::4, 2::4]) at half the scale, "
                            "then the scale doubled for the twice finer training grid"}


def tune_scale(img, encoder, *, factors=TUNE_FACTORS, t=None, verbose=0):
    """Choose the encoder's scale for an image, never looking at its held-out pixels.

    :class:`~skfourier.NTKRegressorCV` with
    :class:`~skfourier.model_selection.PixelGridSplit` runs inside the
    training pixels ``[::2, ::2]``: it fits ``[::4, ::4]`` and validates on
    ``[2::4, 2::4]``, one FFT fit per candidate. Scales are in cycles per unit
    length and that split works at half the resolution of the real one, so
    each candidate is tried at half its value, and the winner is returned at
    full value for the even-pixel training grid (the rule of
    :func:`matched_scale`).

    Parameters
    ----------
    img : ndarray of shape (H, W) or (H, W, C)
    encoder : FourierFeatureTransformer
        Its ``scale`` (float or per-axis) is the centre of the search.
    factors : sequence of float, default=TUNE_FACTORS
        Candidate multiples of the encoder's scale.
    t : float or None, default=None
        NTK training time on the full training grid (the folds use the same
        flow scale ``c = t / N``).
    verbose : int, default=0

    Returns
    -------
    search : ScaleSearch

    Examples
    --------
    >>> from skfourier.datasets import load_sample_image
    >>> from skfourier.recipes import make_encoder, tune_scale
    >>> search = tune_scale(load_sample_image("china", size=64), make_encoder("gaussian", 2.5),
    ...                     factors=(0.25, 1, 4))
    >>> search.best_scale in search.scales, len(search.cv_psnr)
    (True, 3)
    """
    X, y = image_to_regression(np.asarray(img))
    train, _ = next(PixelGridSplit().split(X))
    base = np.asarray(encoder.scale, dtype=float)
    scales = [_scale_value(base * f) for f in factors]
    fold_train, _ = next(PixelGridSplit().split(X[train]))
    fold_t = None if t is None else t * len(fold_train) / len(train)
    start = time.perf_counter()
    search = NTKRegressorCV(times=[fold_t], alphas=[1e-6], scales=[_scale_value(
        np.asarray(s) / 2) for s in scales], cv=PixelGridSplit(), depth=4,
        weight_std=np.sqrt(2), encoder=encoder, verbose=verbose).fit(X[train], y[train])
    cv_psnr = -10 * np.log10(-search.cv_results_["mean_test_score"])
    best = int(np.argmax(cv_psnr))
    return ScaleSearch(scales[best], scales, cv_psnr, time.perf_counter() - start)


def _scale_value(scale):
    """A float, or a tuple for per-axis scales (what ``encoder__scale`` grids hold)."""
    scale = np.asarray(scale, dtype=float)
    return float(scale) if scale.ndim == 0 else tuple(float(v) for v in scale)


@dataclass
class VideoResult:
    """A clip fitted on every k-th frame: per-frame PSNR and the reconstruction."""

    held_out_psnr: float
    per_frame_psnr: np.ndarray
    fit_seconds: float
    n_train: int
    reconstruction: np.ndarray = field(repr=False, default=None)
    #: Frames between each frame and the nearest training frame (seed Fig. 3's axis).
    distance: np.ndarray = field(repr=False, default=None)
    #: The ensemble's mean std per frame and its calibration on held-out frames, if asked for.
    uncertainty: Uncertainty = None

    def psnr_by_distance(self):
        """Mean PSNR of the frames at each distance from the nearest training frame."""
        return self._by_distance(self.per_frame_psnr)

    def std_by_distance(self):
        """Mean predictive std of the frames at each distance (needs ``uncertainty``)."""
        return self._by_distance(self.uncertainty.std)

    def _by_distance(self, per_frame):
        return {int(d): float(np.mean(per_frame[self.distance == d]))
                for d in np.unique(self.distance)}


def check_frames(frames, n_frames):
    """The training frames ``frames`` as a sorted int array; ValueError unless they are
    distinct frame indices in ``[0, n_frames)`` that leave at least one frame out.

    Examples
    --------
    >>> from skfourier.recipes import check_frames
    >>> check_frames([5, 0, 1], 8)
    array([0, 1, 5])
    """
    values = np.asarray(frames)
    if values.ndim != 1 or values.size == 0 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"the training frames must be a non-empty list of frame indices, got "
                         f"{frames!r}.")
    bad = values[(values < 0) | (values >= n_frames)]
    if bad.size:
        raise ValueError(f"frame {int(bad[0])} is not in the clip: its {n_frames} frames are "
                         f"0 to {n_frames - 1}.")
    unique, counts = np.unique(values, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(f"frame {int(unique[counts > 1][0])} is listed twice; list each "
                         "training frame once.")
    if unique.size >= n_frames:
        raise ValueError(f"all {n_frames} frames are training frames: leave at least one out "
                         "to interpolate.")
    return unique


def interpolate_video(video, encoder, *, keep_every=10, model="ntk", t=None, max_iter=400,
                      random_state=0, verbose=0, std_points=None, keep_frames=None):
    """Seed Fig. 3's protocol: train on every ``keep_every``-th frame, predict all frames.

    With ``keep_frames`` the training frames are any set instead (a dropped
    frame, an irregular capture): the training set is then a masked lattice,
    which the FFT solver fits exactly too.

    Parameters
    ----------
    video : ndarray of shape (T, H, W[, C])
    encoder : FourierFeatureTransformer
    keep_every : int, default=10
    keep_frames : sequence of int or None, default=None
        The frames to train on (distinct, in ``[0, T)``, at least one held
        out); overrides ``keep_every``.
    model : {"ntk", "mlp"}, default="ntk"
    t, max_iter, random_state, verbose
        As in :func:`make_model`.
    std_points : int or None, default=None
        NTK only: also the ensemble's predictive std, exact, at up to this many
        pixels in all (the same strided pixels of every frame), averaged per
        frame, with the calibration on held-out frames, in ``uncertainty``:
        seed Fig. 3's noise far from the training frames, as a posterior.

    Returns
    -------
    result : VideoResult
        ``held_out_psnr`` over the frames that were not trained on.

    Examples
    --------
    >>> from skfourier.datasets import make_video
    >>> from skfourier.recipes import interpolate_video, make_encoder
    >>> result = interpolate_video(make_video(n_frames=9, size=8),
    ...                            make_encoder("gaussian", 2.0), keep_every=4)
    >>> result.reconstruction.shape, result.n_train
    ((9, 8, 8, 3), 192)
    """
    _check_spread(model, std_points)
    video = np.asarray(video)
    T = video.shape[0]
    trained = (np.arange(0, T, keep_every) if keep_frames is None
               else check_frames(keep_frames, T))
    if keep_frames is None and T <= keep_every:
        raise ValueError(f"the clip has {T} frames; keep_every={keep_every} "
                         "needs more than that to hold any frame out.")
    X, y = video_to_regression(video)
    frame_of_row = np.arange(len(X)) // (len(X) // T)   # rows in (t, y, x) C order
    train = np.flatnonzero(np.isin(frame_of_row, trained))
    estimator = make_model(model, encoder, t=t, max_iter=max_iter, random_state=random_state,
                           verbose=verbose)
    start = time.perf_counter()
    estimator.fit(X[train], y[train])
    seconds = time.perf_counter() - start
    recon = regression_to_video(estimator.predict(X), video.shape)
    per_frame = np.array([psnr(video[k], recon[k]) for k in range(video.shape[0])])
    held = np.setdiff1d(np.arange(T), trained)
    distance = np.abs(np.arange(video.shape[0])[:, None] - trained[None, :]).min(axis=1)
    uncertainty = None
    if std_points is not None:
        T, H, W = video.shape[:3]
        stride = _stride_within((H, W), std_points / T)
        tt, rr, cc = np.meshgrid(np.arange(T), np.arange(0, H, stride), np.arange(0, W, stride),
                                 indexing="ij")
        rows = np.ravel_multi_index((tt.ravel(), rr.ravel(), cc.ravel()), (T, H, W))
        mean, std, spent = _spread(estimator, X[rows])
        frames = tt.ravel()
        on_held = np.isin(frames, held)
        coverage = _coverage(y[rows][on_held], mean[on_held], std[on_held])
        per_frame_std = np.array([std[frames == k].mean() for k in range(T)])
        uncertainty = Uncertainty(per_frame_std, stride, len(rows), coverage, spent)
    return VideoResult(psnr(video[held], recon[held]), per_frame, seconds, len(train), recon,
                       distance, uncertainty)
