import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

from skfourier import FourierFeatureTransformer
from skfourier.datasets import image_to_regression, make_video, video_to_regression
from skfourier.metrics import psnr_scorer
from skfourier.model_selection import FrameHoldoutSplit, PixelGridSplit


def test_pixel_grid_split_image():
    img = np.arange(6 * 8, dtype=float).reshape(6, 8) / 48
    X, y = image_to_regression(img)
    train, test = next(PixelGridSplit().split(X))
    assert_array_equal(y[train], img[::2, ::2].ravel())
    assert_array_equal(y[test], img[1::2, 1::2].ravel())
    train3, test3 = next(PixelGridSplit(stride=3).split(X))
    assert_array_equal(y[train3], img[::3, ::3].ravel())
    assert_array_equal(y[test3], img[1::3, 1::3].ravel())
    assert PixelGridSplit().get_n_splits(X) == 1


def test_pixel_grid_split_is_order_independent(rng):
    img = rng.uniform(size=(4, 6))
    X, y = image_to_regression(img)
    perm = rng.permutation(len(X))
    train, test = next(PixelGridSplit().split(X[perm]))
    assert_array_equal(np.sort(y[perm][test]), np.sort(img[1::2, 1::2].ravel()))


def test_pixel_grid_split_video():
    video = make_video(n_frames=3, size=6)
    X, y = video_to_regression(video)
    train, test = next(PixelGridSplit().split(X))
    assert_array_equal(y[train], video[:, ::2, ::2].reshape(-1, 3))
    assert_array_equal(y[test], video[:, 1::2, 1::2].reshape(-1, 3))


def test_frame_holdout_split():
    video = make_video(n_frames=25, size=4)
    X, y = video_to_regression(video)
    train, test = next(FrameHoldoutSplit(keep_every=10).split(X))
    assert_array_equal(y[train], video[::10].reshape(-1, 3))
    keep = np.arange(25) % 10 != 0
    assert_array_equal(y[test], video[keep].reshape(-1, 3))


@pytest.mark.parametrize("splitter, X, match", [
    (PixelGridSplit(), np.random.RandomState(0).uniform(size=(20, 2)), "grid"),
    (PixelGridSplit(), image_to_regression(np.zeros((4, 4)))[0][:-1], "every grid point"),
    (PixelGridSplit(), np.zeros((4, 1)), "coordinates"),
    (PixelGridSplit(stride=1), image_to_regression(np.zeros((4, 4)))[0], "stride"),
    (FrameHoldoutSplit(), image_to_regression(np.zeros((4, 4)))[0], "video coordinates"),
    (FrameHoldoutSplit(keep_every=1), video_to_regression(np.zeros((3, 2, 2)))[0],
     "keep_every"),
    (PixelGridSplit(), np.array([[0.0, 0.0], [0.1, 0.0], [0.5, 0.0],
                                 [0.0, 1.0], [0.1, 1.0], [0.5, 1.0]]), "every grid point"),
    (PixelGridSplit(), np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.0], [0.1, 0.0]]),
     "2 duplicate coordinates"),
])
def test_splitter_errors(splitter, X, match):
    with pytest.raises(ValueError, match=match):
        next(splitter.split(X))


def test_splitters_in_search_and_cross_val(image32):
    X, y, _ = image32
    pipe = make_pipeline(FourierFeatureTransformer(n_frequencies=32, random_state=0), Ridge())
    search = GridSearchCV(pipe, {"fourierfeaturetransformer__scale": [1.0, 4.0]},
                          cv=PixelGridSplit(), scoring=psnr_scorer).fit(X, y)
    assert search.best_score_ > 10
    vid_X, vid_y = video_to_regression(make_video(n_frames=12, size=8))
    scores = cross_val_score(pipe, vid_X, vid_y, cv=FrameHoldoutSplit(keep_every=4),
                             scoring=psnr_scorer)
    assert scores.shape == (1,) and np.isfinite(scores[0])
