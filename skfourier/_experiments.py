"""The experiments behind the command line and the examples.

Scales are in cycles per unit length: the papers quote theirs for 256-pixel
training grids, and :func:`matched_scale` carries them to other resolutions.
"""

import time

import numpy as np
from sklearn.pipeline import make_pipeline

from ._fourier import FourierFeatureTransformer
from ._mlp import CoordinateMLPRegressor
from ._ntk import NTKRegressor
from .metrics import psnr

#: Training-grid side for which the Fourier-features papers quote their scales.
PAPER_GRID = 256
#: The papers' settings on a 256-pixel training grid (cycles per unit length).
PAPER_SCALES = {"positional": 2.0 ** 6, "gaussian": 10.0, "uniform": 10.0}
MODELS = ("ntk", "mlp")


def matched_scale(encoding, train_side, paper_scale=None):
    """Carry a scale quoted for a 256-pixel training grid to ``train_side`` pixels.

    The same image content on a grid ``train_side / 256`` as fine needs
    proportionally lower frequencies. Positional encodings keep at least 2.

    Examples
    --------
    >>> matched_scale("gaussian", 32)
    1.25
    """
    scale = PAPER_SCALES[encoding] if paper_scale is None else paper_scale
    matched = scale * train_side / PAPER_GRID
    return max(matched, 2.0) if encoding == "positional" else matched


def make_encoder(encoding, scale=1.0, *, n_frequencies=256, random_state=0):
    """The Fourier feature map of the papers' comparison for one encoding.

    ``"positional"`` gets one frequency per octave up to ``scale``, as in the paper.
    """
    if encoding == "positional":
        n_frequencies = max(2, int(np.ceil(np.log2(scale))) + 1)
    return FourierFeatureTransformer(encoding=encoding, scale=scale, n_frequencies=n_frequencies,
                                     random_state=random_state)


def make_model(kind, encoder, *, t=None, max_iter=400, random_state=0, verbose=0):
    """Encoder followed by the papers' network: the 4-layer ReLU NTK or a 3 x 256 MLP.

    The NTK takes the encoder inside (``encoder=``), so that on large pixel
    grids it can use the exact FFT-structured solver.
    """
    if kind == "ntk":
        # alpha = 1e-6 (2e-7 k(x, x) = 5 on Fourier features) keeps the solves stable
        return NTKRegressor(depth=4, weight_std=np.sqrt(2), t=t, alpha=1e-6, encoder=encoder)
    if kind == "mlp":
        return make_pipeline(encoder, CoordinateMLPRegressor(
            max_iter=max_iter, random_state=random_state, verbose=verbose))
    raise ValueError(f"model must be one of {list(MODELS)}, got {kind!r}.")


#: The demo's training budget as a flow scale ``c = learning_rate t / N``: the
#: same fraction of training at every resolution (t = 1000 on a 48 x 48 RGB grid).
DEMO_FLOW_SCALE = 1e3 / (48 * 48 * 3)
#: Largest training set on which a non-stationary map (no mapping) is fitted densely.
DENSE_LIMIT = 16384


def paper_encoders(train_side, *, random_state=0):
    """``(label, encoder)`` pairs of the Fourier-features paper's comparison at this resolution.

    No mapping, basic, positional, and Gaussian features at the paper's
    sigma = 1, 10, 100 carried to ``train_side`` (too low, matched, too high).
    """
    pairs = [("no mapping", make_encoder("none")), ("basic", make_encoder("basic")),
             ("positional", make_encoder("positional",
                                         matched_scale("positional", train_side)))]
    for paper in (1.0, 10.0, 100.0):
        scale = matched_scale("gaussian", train_side, paper)
        encoder = make_encoder("gaussian", scale, random_state=random_state)
        pairs.append((f"gaussian {scale:.3g} (paper {paper:g})", encoder))
    return pairs


def fit_and_score(model, X, y, train, test, predict_on=None):
    """Fit on ``train``; return test PSNR, fit seconds and predictions on ``predict_on``."""
    start = time.perf_counter()
    model.fit(X[train], y[train])
    seconds = time.perf_counter() - start
    score = psnr(y[test], model.predict(X[test]))
    full = None if predict_on is None else model.predict(predict_on)
    return score, seconds, full
