"""Cross-validation splitters for coordinate regression on images and videos."""

import numbers

import numpy as np
from sklearn.model_selection import BaseCrossValidator

from ._grid import lattice_indices

__all__ = ["PixelGridSplit", "FrameHoldoutSplit"]


class _SingleSplit(BaseCrossValidator):
    """A splitter that yields one (train, test) pair computed from ``X``."""

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits: always 1."""
        return 1

    def split(self, X, y=None, groups=None):
        """Yield the train and test indices.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_axes)
            Coordinates of a full grid (from ``image_to_regression`` or
            ``video_to_regression``).
        y, groups : ignored

        Yields
        ------
        train, test : ndarray of int
        """
        X = np.asarray(X)
        train, test = self._masks(X)
        yield np.flatnonzero(train), np.flatnonzero(test)

    def _iter_test_indices(self, X=None, y=None, groups=None):
        for _, test in self.split(X, y, groups):
            yield test


class PixelGridSplit(_SingleSplit):
    """Train on the pixel lattice ``[::stride, ::stride]``, test on the interleaved one.

    The Fourier-features papers' protocol: with ``stride=2`` train on the
    even/even pixels (a quarter of the image) and test on the odd/odd pixels
    ``[1::2, 1::2]``, which sit half a training step away in both directions.
    In general the test lattice is offset by ``stride // 2``. For videos the
    split applies to every frame.

    Parameters
    ----------
    stride : int, default=2
        Spacing of the training lattice, in pixels.

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier.datasets import image_to_regression
    >>> from skfourier.model_selection import PixelGridSplit
    >>> X, y = image_to_regression(np.zeros((4, 4)))
    >>> train, test = next(PixelGridSplit().split(X))
    >>> X[train].tolist()
    [[0.0, 0.0], [0.5, 0.0], [0.0, 0.5], [0.5, 0.5]]
    >>> X[test].tolist()
    [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]]
    """

    def __init__(self, stride=2):
        self.stride = stride

    def _masks(self, X):
        if (isinstance(self.stride, bool) or not isinstance(self.stride, numbers.Integral)
                or self.stride < 2):
            raise ValueError(f"stride must be an integer >= 2, got {self.stride!r}.")
        if X.ndim != 2 or X.shape[1] not in (2, 3):
            raise ValueError("PixelGridSplit needs image coordinates (x, y) or video coordinates "
                             f"(x, y, t), got X of shape {X.shape}.")
        index, shape = lattice_indices(X)
        if min(shape[:2]) <= self.stride // 2:
            raise ValueError(f"the grid {shape[:2]} is too small for stride={self.stride}.")
        ix, iy = index[:, 0], index[:, 1]
        offset = self.stride // 2
        train = (ix % self.stride == 0) & (iy % self.stride == 0)
        test = (ix % self.stride == offset) & (iy % self.stride == offset)
        return train, test


class FrameHoldoutSplit(_SingleSplit):
    """Train on every ``keep_every``-th frame of a video, test on the frames between.

    The video-interpolation protocol of the Fourier-features papers: a model
    fitted on frames ``0, k, 2k, ...`` is scored on the unseen frames.

    Parameters
    ----------
    keep_every : int, default=10
        Keep one frame in ``keep_every`` for training.

    Examples
    --------
    >>> from skfourier.datasets import make_video, video_to_regression
    >>> from skfourier.model_selection import FrameHoldoutSplit
    >>> X, y = video_to_regression(make_video(n_frames=20, size=4))
    >>> train, test = next(FrameHoldoutSplit(keep_every=10).split(X))
    >>> sorted(set(X[train, 2].round(2).tolist()))
    [0.0, 0.5]
    >>> len(test) == 18 * 16
    True
    """

    def __init__(self, keep_every=10):
        self.keep_every = keep_every

    def _masks(self, X):
        if (isinstance(self.keep_every, bool) or not isinstance(self.keep_every, numbers.Integral)
                or self.keep_every < 2):
            raise ValueError(f"keep_every must be an integer >= 2, got {self.keep_every!r}.")
        if X.ndim != 2 or X.shape[1] != 3:
            raise ValueError("FrameHoldoutSplit needs video coordinates (x, y, t) from "
                             f"video_to_regression, got X of shape {X.shape}.")
        index, shape = lattice_indices(X)
        if shape[2] < 2:
            raise ValueError(f"the video has {shape[2]} frame; at least 2 are needed.")
        train = index[:, 2] % self.keep_every == 0
        return train, ~train
