import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.model_selection import GridSearchCV

from skfourier import NTKRegressor
from skfourier.datasets import image_to_regression, load_sample_image, make_video
from skfourier.metrics import psnr, psnr_scorer
from skfourier.model_selection import PixelGridSplit
from skfourier.recipes import (ScaleSearch, compare_encodings, interpolate_video, make_encoder,
                               make_model, matched_scale, paper_encoders, tune_scale)


def test_compare_encodings_follows_the_even_odd_protocol():
    img = load_sample_image("china", size=16)
    rows = compare_encodings(img, paper_encoders(8)[:2], t=100.0)
    assert [r.name for r in rows] == ["no mapping", "basic"]
    for r in rows:
        assert r.reconstruction.shape == img.shape
        # the reported score is the PSNR of the odd pixels of the reconstruction
        assert r.test_psnr == pytest.approx(psnr(img[1::2, 1::2], r.reconstruction[1::2, 1::2]))
        assert set(r.as_dict()) == {"name", "encoding", "scale", "test_psnr", "fit_seconds"}
    # raw coordinates on a grid above dense_limit: a sub-lattice, scored on the same pixels
    (coarse,) = compare_encodings(img, paper_encoders(8)[:1], t=100.0, dense_limit=16)
    assert "[::4, ::4] (16 px)" in coarse.note and coarse.as_dict()["note"] == coarse.note
    assert coarse.test_psnr == pytest.approx(psnr(img[1::2, 1::2],
                                                  coarse.reconstruction[1::2, 1::2]))


def test_paper_encoders_at_the_papers_scale():
    pairs = dict(paper_encoders(256))
    assert len(pairs) == 9
    assert pairs["gaussian sigma=10"].scale == 10.0
    assert pairs["uniform sigma=10"].scale == pytest.approx(10 * np.sqrt(3))  # same std
    assert pairs["positional"].scale == 64.0 and pairs["positional"].n_frequencies == 7
    X = np.random.RandomState(0).uniform(size=(5, 2))
    B = pairs["uniform sigma=100"].fit(X).B_
    assert np.abs(B).max() <= 100 * np.sqrt(3)


def test_interpolate_video_scores_held_out_frames():
    video = make_video(n_frames=9, size=8)
    result = interpolate_video(video, make_encoder("gaussian", 2.0), keep_every=4)
    held = [1, 2, 3, 5, 6, 7]
    assert result.held_out_psnr == pytest.approx(psnr(video[held], result.reconstruction[held]))
    assert result.per_frame_psnr.shape == (9,)
    assert list(result.distance) == [0, 1, 2, 1, 0, 1, 2, 1, 0]
    by_distance = result.psnr_by_distance()
    assert by_distance[1] == pytest.approx(result.per_frame_psnr[[1, 3, 5, 7]].mean())
    # training frames are fitted far better than held-out ones
    assert result.per_frame_psnr[[0, 4, 8]].min() > result.per_frame_psnr[held].max()
    with pytest.raises(ValueError, match="needs more"):
        interpolate_video(video, make_encoder("basic"), keep_every=9)


def test_models_and_scales():
    assert matched_scale("positional", 8) == 2.0  # at least two octaves
    assert matched_scale("gaussian", 512, 10.0) == 20.0
    with pytest.raises(ValueError, match="model must be one of"):
        make_model("svm", make_encoder("basic"))
    assert make_model("mlp", make_encoder("basic"))[-1].max_iter == 400
    assert np.isclose(make_encoder("gaussian", 3.0).scale, 3.0)


def test_compare_encodings_reports_the_ensemble_spread():
    img = load_sample_image("china", size=24)
    (row,) = compare_encodings(img, [("g", make_encoder("gaussian", 2.0))], t=200.0,
                               std_points=40)
    u = row.uncertainty
    # 12 x 12 held-out pixels, strided to at most 40: every 2nd -> 6 x 6
    assert u.std.shape == (6, 6) and u.stride == 2 and u.points == 36
    assert np.all(u.std > 0)
    # the same model by hand: its std at the strided held-out pixels and their coverage
    X, y = image_to_regression(img)
    train, _ = next(PixelGridSplit().split(X))
    odd = np.flatnonzero((np.arange(24 * 24) // 24 % 2 == 1) & (np.arange(24 * 24) % 2 == 1))
    probe = odd.reshape(12, 12)[::2, ::2].ravel()
    model = make_model("ntk", make_encoder("gaussian", 2.0), t=200.0)
    mean, std = model.fit(X[train], y[train]).predict(X[probe], return_std=True)
    assert_allclose(u.std.ravel(), std, rtol=1e-6)
    inside = np.abs(y[probe] - mean) <= 2 * std[:, None]
    assert u.coverage == pytest.approx(inside.mean())
    assert {"std_mean", "coverage_2std", "std_stride"} <= set(row.as_dict())
    with pytest.raises(ValueError, match="model='ntk'"):
        compare_encodings(img, [("g", make_encoder("gaussian", 2.0))], model="mlp",
                          std_points=10)


def test_tune_scale_searches_octaves_inside_the_training_pixels():
    img = load_sample_image("china", size=48)
    search = tune_scale(img, make_encoder("gaussian", 2.0), factors=(0.5, 2, 8), t=300.0)
    assert search.scales == [1.0, 4.0, 16.0]
    # the curve is GridSearchCV's on the training pixels at half the scale, and the
    # winner is its best half scale doubled
    X, y = image_to_regression(img)
    train, _ = next(PixelGridSplit().split(X))
    fold_t = 300.0 * 144 / 576  # the same flow scale on the fold's quarter of the pixels
    grid = GridSearchCV(NTKRegressor(depth=4, weight_std=np.sqrt(2), alpha=1e-6, t=fold_t,
                                     encoder=make_encoder("gaussian", 2.0)),
                        {"encoder__scale": [0.5, 2.0, 8.0]}, cv=PixelGridSplit(),
                        scoring=psnr_scorer).fit(X[train], y[train])
    assert_allclose(search.cv_psnr, grid.cv_results_["mean_test_score"], rtol=1e-6)
    assert search.best_scale == 2 * grid.best_params_["encoder__scale"]
    # the held-out pixels [1::2, 1::2] are never seen: the same search on an image whose
    # odd pixels are scrambled gives the same curve
    scrambled = img.copy()
    scrambled[1::2, 1::2] = scrambled[1::2, 1::2][::-1]
    again = tune_scale(scrambled, make_encoder("gaussian", 2.0), factors=(0.5, 2, 8), t=300.0)
    np.testing.assert_allclose(again.cv_psnr, search.cv_psnr)


@pytest.mark.parametrize("psnr, note", [
    ([20.0, 22.0, 21.0], ""),
    ([22.0, 21.0, 20.0], "the smallest searched"),
    ([20.0, 21.0, 22.0], "the largest searched"),
    ([22.0, 22.05, 22.02], "flat (within 0.05 dB)"),
])
def test_scale_search_says_when_its_choice_is_not_settled(psnr, note):
    search = ScaleSearch(4.0, [1.0, 4.0, 16.0], np.array(psnr), 0.1)
    assert (note in search.note) if note else search.note == ""
    assert search.as_dict()["note"] == search.note


@pytest.mark.parametrize("known, match", [
    (np.ones((4, 4)), "every pixel as known"), (np.zeros((4, 4)), "no pixel as known"),
    (np.full((4, 4), np.nan), "NaN or infinite"),
    (np.ones((4, 3)), "the mask is 3 x 4 pixels but the photo 4 x 4"),
])
def test_inpainting_masks_are_checked(known, match):
    from skfourier.recipes import check_known

    with pytest.raises(ValueError, match=match):
        check_known(known, (4, 4))


def test_inpaint_std_over_a_hole_is_estimated_and_elsewhere_exact_on_strided_pixels():
    from skfourier.recipes import inpaint

    img = load_sample_image("china", size=80)            # 5,376 known: the FFT solver
    known = np.ones((80, 80), bool)
    known[20:52, 30:62] = False
    enc = make_encoder("gaussian", 4.0)
    result = inpaint(img, known, enc, std_points=64, truth=img)
    assert result.std_method == "lattice" and result.stride == 1
    assert result.std.shape == (80, 80) and not result.std[known].any()
    assert (result.std[~known] > 0).all() and 0 <= result.coverage <= 1
    # against the exact std at a few unknown pixels of the same model
    model = make_model("ntk", enc).set_params(std_method="exact")
    model.fit(*[a[known.ravel()] for a in image_to_regression(img)])
    X = image_to_regression(img)[0]
    probe = np.flatnonzero(~known.ravel())[::97]
    assert_allclose(result.std.ravel()[probe], model.predict(X[probe], return_std=True)[1],
                    rtol=0.01)
    # two holes are no rectangle: exact on the unknown pixels of [::s, ::s], saying why
    known[60:70, 5:15] = False
    result = inpaint(img, known, enc, std_points=64)
    assert result.std_method == "exact" and result.stride == 10 and result.std.shape == (8, 8)
    assert "one rectangular hole" in result.std_note
    assert not result.std[known[::10, ::10]].any() and (result.std[~known[::10, ::10]] > 0).all()
