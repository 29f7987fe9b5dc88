"""Image-quality metrics for coordinate regression."""

import numpy as np
from sklearn.metrics import make_scorer
from sklearn.utils import check_consistent_length

__all__ = ["psnr", "psnr_scorer"]


def psnr(y_true, y_pred, data_range=1.0):
    """Peak signal-to-noise ratio in dB, ``10 log10(data_range**2 / MSE)``.

    For data in [0, 1] this is ``-10 log10(MSE)``; the MSE is the mean over all
    entries (pixels and channels). A perfect prediction gives ``inf``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
    y_pred : array-like of the same shape
    data_range : float, default=1.0
        Difference between the largest and smallest possible value (255 for
        8-bit data).

    Returns
    -------
    psnr : float

    Examples
    --------
    >>> from skfourier.metrics import psnr
    >>> round(psnr([0.0, 1.0], [0.1, 0.9]), 6)
    20.0
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    check_consistent_length(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        if y_true.size == y_pred.size and y_true.squeeze().shape == y_pred.squeeze().shape:
            y_true, y_pred = y_true.squeeze(), y_pred.squeeze()
        else:
            raise ValueError(f"y_true and y_pred must have the same shape, got {y_true.shape} "
                             f"and {y_pred.shape}.")
    if y_true.size == 0:
        raise ValueError("psnr needs at least one value; y_true is empty.")
    if not (np.all(np.isfinite(y_true)) and np.all(np.isfinite(y_pred))):
        raise ValueError("y_true and y_pred must be finite (no NaN or inf).")
    if not np.isfinite(data_range) or data_range <= 0:
        raise ValueError(f"data_range must be a positive number, got {data_range!r}.")
    mse = np.mean((y_true - y_pred) ** 2)
    if mse == 0:
        return float("inf")
    return float(10 * np.log10(data_range ** 2 / mse))


#: Scorer for ``scoring=`` in GridSearchCV / cross_val_score (higher is better).
psnr_scorer = make_scorer(psnr, greater_is_better=True)
