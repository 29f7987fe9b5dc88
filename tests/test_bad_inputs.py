"""Every bad-input class tried on every public estimator, loader and CLI command.

The rule: a clear ValueError (CLI: one line on stderr, exit 2, nothing written)
that says what to change, or a finite result. Never a silent NaN, a traceback,
an unguarded allocation or a half-written output.
"""

import json
import re
import warnings

import numpy as np
import pytest
from PIL import Image

from skfourier import (CoordinateMLPRegressor, FourierFeatureTransformer, NTKRegressor,
                       NTKRegressorCV)
from skfourier.cli import main
from skfourier.datasets import (grid_coordinates, image_to_regression, load_image, load_video,
                                make_video, video_to_regression)

# -- estimators ------------------------------------------------------------------------


def _encoder():
    return FourierFeatureTransformer(n_frequencies=16, scale=2.0, random_state=0)


ESTIMATORS = {
    "transformer": lambda: FourierFeatureTransformer(n_frequencies=8, random_state=0),
    "ntk-auto": lambda: NTKRegressor(depth=2),
    "ntk-eigh": lambda: NTKRegressor(depth=2, t=10.0, solver="eigh"),
    "ntk-cholesky": lambda: NTKRegressor(depth=2, alpha=1e-6, solver="cholesky"),
    "ntk-cg": lambda: NTKRegressor(depth=2, t=10.0, alpha=1e-6, solver="cg",
                                   encoder=_encoder()),
    "ntk-fft": lambda: NTKRegressor(depth=2, alpha=1e-6, solver="fft", encoder=_encoder()),
    "ntk-cv": lambda: NTKRegressorCV(times=(10.0, None), alphas=(0.0, 1e-3)),
    "mlp": lambda: CoordinateMLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
}


def _grid_data(side=6):
    X, y = image_to_regression(np.random.RandomState(0).uniform(size=(side, side, 3)))
    return X, y


def _run(name, X, y, X_predict=None):
    """Fit and predict (transform); return the output."""
    est = ESTIMATORS[name]()
    X_predict = X if X_predict is None else X_predict
    if name == "transformer":
        return est.fit(X).transform(X_predict)
    return est.fit(X, y).predict(X_predict)


def _scaled(factor, which):
    def case():
        X, y = _grid_data()
        return (X * factor, y) if which == "X" else (X, y * factor)
    return case


def _with(value, which):
    def case():
        X, y = _grid_data()
        X, y = X.copy(), y.copy()
        (X if which == "X" else y)[3, 0] = value
        return X, y
    return case


# a result that must be finite if there is one, else this ValueError
FINITE_OR = "finite or: "
# class -> (data maker, expected ValueError pattern, None for "finite result", or FINITE_OR)
DATA_CLASSES = {
    "nan in X": (_with(np.nan, "X"), "NaN"),
    "inf in X": (_with(np.inf, "X"), "infinity"),
    "nan in y": (_with(np.nan, "y"), "NaN"),
    "inf in y": (_with(np.inf, "y"), "infinity"),
    "huge X": (_scaled(1e300, "X"), "rescale"),
    "huge y": (_scaled(1e300, "y"), FINITE_OR + "rescale"),
    "tiny X": (_scaled(1e-300, "X"), None),
    "tiny y": (_scaled(1e-300, "y"), None),
    "empty": (lambda: (np.empty((0, 2)), np.empty((0, 3))), "0 sample"),
    "one sample": (lambda: (np.array([[0.25, 0.5]]), np.array([[0.1, 0.2, 0.3]])), None),
    "1-D X": (lambda: (np.linspace(0, 1, 9), np.zeros(9)), "2D array"),
    "3-D X": (lambda: (np.zeros((9, 2, 1)), np.zeros(9)), "dim 3"),
    "complex X": (lambda: (np.zeros((9, 2)) + 1j, np.zeros(9)), "Complex"),
    "string X": (lambda: (np.full((9, 2), "a"), np.zeros(9)), "numeric|convert|float"),
}
# what legitimately differs per estimator
EXPECTED = {
    # features of huge / tiny coordinates are finite: cos and sin of finite phases
    ("transformer", "huge X"): None,
    ("transformer", "nan in y"): None,
    ("transformer", "inf in y"): None,
    # with a Fourier-feature encoder the kernel only sees bounded features
    ("ntk-cg", "huge X"): None, ("ntk-fft", "huge X"): None,
}


@pytest.mark.parametrize("case", sorted(DATA_CLASSES))
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimators_bad_data(name, case):
    make, expected = DATA_CLASSES[case]
    expected = EXPECTED.get((name, case), expected)
    X, y = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy overflow/invalid warnings
        if expected is None:
            out = _run(name, X, y)
            assert np.all(np.isfinite(out)), f"{name} returned non-finite values on {case}"
        elif expected.startswith(FINITE_OR):
            try:
                out = _run(name, X, y)
            except ValueError as exc:
                assert re.search(expected.removeprefix(FINITE_OR), str(exc)), str(exc)
            else:
                assert np.all(np.isfinite(out)), f"{name} returned non-finite values on {case}"
        else:
            with pytest.raises(ValueError, match=expected):
                _run(name, X, y)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimators_wrong_number_of_features_at_predict(name):
    X, y = _grid_data()
    with pytest.raises(ValueError, match="features"):
        _run(name, X, y, X_predict=np.zeros((4, 3)))


ABSURD = {
    "transformer": [({"n_frequencies": 10 ** 9}, "GiB"), ({"scale": 1e308}, "lower the scale"),
                    ({"scale": -1.0}, "scale must be"), ({"encoding": "wavelet"}, "encoding")],
    "ntk-auto": [({"weight_std": 1e200}, "too large"), ({"depth": -1}, "depth"),
                 ({"t": -1.0}, "t must be"), ({"weight_std": 1e100}, "overflowed")],
    "ntk-eigh": [({"max_kernel_memory": 10}, "GiB"), ({"alpha": np.nan}, "alpha")],
    "ntk-cholesky": [({"t": 10.0}, "converged limit")],
    "ntk-cg": [({"max_iter": 0}, "max_iter"), ({"tol": 0.0}, "tol")],
    "ntk-fft": [({"encoder": FourierFeatureTransformer(encoding="none")}, "stationary")],
    "ntk-cv": [({"times": []}, "at least one"), ({"alphas": [-1.0]}, "alphas")],
    "mlp": [({"lr": 1e10, "optimizer": "sgd", "output_activation": "identity",
              "max_iter": 30}, "diverged.*use optimizer='adam'"),
            ({"lr": 1e10, "output_activation": "identity", "max_iter": 30},
             r"diverged.*Lower lr, or rescale"), ({"hidden_layer_sizes": (0,)}, "hidden_layer")],
}


@pytest.mark.parametrize("name, params, match",
                         [(n, p, m) for n, cases in ABSURD.items() for p, m in cases])
def test_estimators_absurd_hyperparameters(name, params, match):
    X, y = _grid_data()
    if name == "mlp":  # standardised targets: the identity output can run away
        y = (y - y.mean()) * 100
    est = ESTIMATORS[name]().set_params(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy overflow warnings first
        with pytest.raises(ValueError, match=match):
            est.fit(X) if name == "transformer" else est.fit(X, y)


BAD_PREDICT = {"NaN": np.array([[np.nan, 0.1]]), "inf": np.array([[np.inf, 0.1]]),
               "3 features": np.zeros((2, 3)), "empty": np.zeros((0, 2)), "1-D": np.zeros(2)}
SPREAD = {
    "return_std": lambda m, Z: m.predict(Z, return_std=True),
    "return_cov": lambda m, Z: m.predict(Z, return_cov=True),
    "trajectory std": lambda m, Z: m.predict_trajectory(Z, [1.0, None], return_std=True),
}


@pytest.mark.parametrize("solver", ["eigh", "fft"])
@pytest.mark.parametrize("call", SPREAD)
@pytest.mark.parametrize("bad", BAD_PREDICT)
def test_predictive_spread_rejects_bad_points(solver, call, bad):
    X, y = _grid_data(8)
    model = NTKRegressor(depth=2, t=10.0, alpha=1e-6, solver=solver, encoder=_encoder())
    model.fit(X, y)
    match = {"NaN": "NaN", "inf": "infinity", "3 features": "3 features",
             "empty": "0 sample", "1-D": "Expected 2D"}[bad]
    with pytest.raises(ValueError, match=match):
        SPREAD[call](model, BAD_PREDICT[bad])


@pytest.mark.parametrize("scales, encoder, match", [
    ([], _encoder(), "at least one"),
    ([-1.0], _encoder(), "> 0"),
    (["a"], _encoder(), "real number"),
    ([np.nan], _encoder(), "finite"),
    ([(1.0, 2.0, 3.0)], _encoder(), "3 values but X has 2 axes"),
    ([1.0, 2.0], FourierFeatureTransformer(encoding="basic"), "encoding='basic' ignores"),
    ([1.0, 2.0], FourierFeatureTransformer(encoding="transformer"), "ignores"),
    ([1.0, 2.0], None, "pass an encoder with a scale"),
])
def test_scale_search_rejects_bad_scales(scales, encoder, match):
    X, y = _grid_data()
    search = NTKRegressorCV(depth=2, times=[None], alphas=[1e-3], scales=scales,
                            encoder=encoder)
    with pytest.raises(ValueError, match=match):
        search.fit(X, y)


@pytest.mark.parametrize("scale", [(1.0,), (1.0, 2.0, 3.0), ()])
def test_per_axis_scale_of_the_wrong_length(scale):
    X, _ = _grid_data()
    with pytest.raises(ValueError, match=f"{len(scale)} value.* but X has 2 axes"):
        FourierFeatureTransformer(scale=scale).fit(X)


# -- loaders ---------------------------------------------------------------------------


def _write_png(path, array, mode=None):
    Image.fromarray(array, mode=mode).save(path)
    return path


@pytest.fixture
def files(tmp_path):
    """Good, odd-mode, unreadable and truncated files."""
    rng = np.random.RandomState(0)
    rgb = (rng.uniform(size=(10, 12, 3)) * 255).astype(np.uint8)
    good = _write_png(tmp_path / "good.png", rgb)
    data = good.read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[:len(data) // 2])
    (tmp_path / "garbage.png").write_bytes(b"\x00not an image at all")
    (tmp_path / "empty.png").write_bytes(b"")
    frames = [Image.fromarray(f) for f in (make_video(6, 8) * 255).astype(np.uint8)]
    frames[0].save(tmp_path / "clip.gif", save_all=True, append_images=frames[1:])
    gif = (tmp_path / "clip.gif").read_bytes()
    (tmp_path / "truncated.gif").write_bytes(gif[:len(gif) // 3])
    (tmp_path / "emptydir").mkdir()
    return tmp_path


@pytest.mark.parametrize("loader", [load_image, load_video])
@pytest.mark.parametrize("case, match", [
    ("missing.png", "not found"), ("garbage.png", "cannot read"),
    ("truncated.png", "cannot read"), ("empty.png", "cannot read"),
])
def test_loaders_reject_bad_files(files, loader, case, match):
    with pytest.raises(ValueError, match=match):
        loader(files / case)


def test_loaders_folders_and_truncated_clips(files):
    with pytest.raises(ValueError, match="is a folder"):
        load_image(files)
    with pytest.raises(ValueError, match="holds no image frames"):
        load_video(files / "emptydir")
    with pytest.raises(ValueError, match="cannot read"):
        load_video(files / "truncated.gif")


def test_truncated_mp4_is_one_line_with_the_cause(tmp_path):
    iio = pytest.importorskip("imageio.v3")
    pytest.importorskip("imageio_ffmpeg")
    iio.imwrite(tmp_path / "clip.mp4", (make_video(12, 32) * 255).astype(np.uint8), fps=10)
    assert load_video(tmp_path / "clip.mp4").shape == (12, 32, 32, 3)  # the extra reads MP4
    data = (tmp_path / "clip.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError) as err:
        load_video(tmp_path / "cut.mp4")
    message = str(err.value)
    assert len(message.splitlines()) == 1 and "ffmpeg version" not in message
    assert "Invalid data" in message and "install" not in message


def test_truncated_faststart_mp4_is_refused_not_read_short(tmp_path):
    """An MP4 written index first and cut in half decodes without an error (1 frame of 20):
    the header's duration x fps says what is missing."""
    iio = pytest.importorskip("imageio.v3")
    pytest.importorskip("imageio_ffmpeg")
    iio.imwrite(tmp_path / "clip.mp4", (make_video(20, 32) * 255).astype(np.uint8), fps=10,
                output_params=["-movflags", "+faststart"])
    assert load_video(tmp_path / "clip.mp4").shape[0] == 20
    assert load_video(tmp_path / "clip.mp4", max_frames=5).shape[0] == 5
    data = (tmp_path / "clip.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match=r"of the 20 frames its header announces") as err:
        load_video(tmp_path / "cut.mp4")
    assert len(str(err.value).splitlines()) == 1


@pytest.mark.parametrize("mode, maker, expected", [
    ("L", lambda a: Image.fromarray(a[..., 0]), lambda a: a[..., 0] / 255),
    ("I;16", lambda a: Image.fromarray(a[..., 0].astype(np.uint16) * 257),
     lambda a: a[..., 0] / 255),
    ("P", lambda a: Image.fromarray(a).convert("P"), None),
    ("LA", lambda a: Image.fromarray(
        np.dstack([a[..., 0], np.full(a.shape[:2], 255, np.uint8)]), "LA"),
     lambda a: a[..., 0] / 255),
    ("RGBA", lambda a: Image.fromarray(np.dstack([a, np.full(a.shape[:2], 255, np.uint8)])),
     lambda a: a / 255),
    ("1", lambda a: Image.fromarray(a[..., 0] > 127), lambda a: (a[..., 0] > 127) * 1.0),
])
def test_every_image_mode_reads_to_unit_range(tmp_path, mode, maker, expected):
    arr = (np.random.RandomState(1).uniform(size=(5, 7, 3)) * 255).astype(np.uint8)
    image = maker(arr)
    image.save(tmp_path / "x.png")
    got = load_image(tmp_path / "x.png")
    assert got.shape[:2] == (5, 7) and got.min() >= 0 and got.max() <= 1
    if expected is not None:
        want = expected(arr)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_transparent_pixels_are_composited_on_white(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 0)     # fully transparent red -> white
    rgba[1, 1] = (0, 0, 255, 255)   # opaque blue stays blue
    Image.fromarray(rgba).save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    np.testing.assert_allclose(img[0, 0], [1, 1, 1])
    np.testing.assert_allclose(img[1, 1], [0, 0, 1])


def test_multipage_greyscale_tiff_keeps_its_width(tmp_path):
    """Failed before: 2-D frames were cut to 3 columns by ``[..., :3]``."""
    pages = [Image.fromarray((np.random.RandomState(k).uniform(size=(25, 48)) * 255)
                             .astype(np.uint8)) for k in range(3)]
    pages[0].save(tmp_path / "grey.tif", save_all=True, append_images=pages[1:])
    video = load_video(tmp_path / "grey.tif")
    assert video.shape == (3, 25, 48, 3)
    np.testing.assert_allclose(video[1, ..., 0], np.asarray(pages[1]) / 255)


@pytest.mark.parametrize("func, data, match", [
    (image_to_regression, np.full((3, 3), np.nan), "NaN"),
    (image_to_regression, np.zeros((0, 3)), "empty"),
    (image_to_regression, np.zeros(5), "dimensions"),
    (image_to_regression, np.full((2, 2), "a"), "numeric"),
    (video_to_regression, np.zeros((2, 2)), "dimensions"),
    (video_to_regression, np.full((2, 2, 2), np.inf), "NaN or infinite"),
])
def test_array_converters_reject_bad_arrays(func, data, match):
    with pytest.raises(ValueError, match=match):
        func(data)


# -- command line ----------------------------------------------------------------------

CLI_CASES = [
    (["image", "{dir}/missing.png"], "not found"),
    (["image", "{dir}/garbage.png"], "cannot read"),
    (["image", "{dir}/truncated.png"], "cannot read"),
    (["image", "{dir}/empty.png"], "cannot read"),
    (["image", "{dir}"], "is a folder"),
    (["image", "{dir}/good.png", "--scale", "-1"], "positive number"),
    (["image", "{dir}/good.png", "--t", "nan"], "positive number"),
    (["image", "{dir}/good.png", "--size", "100000"], "between"),
    (["video", "{dir}/missing.gif"], "not found"),
    (["video", "{dir}/garbage.png"], "cannot read"),
    (["video", "{dir}/truncated.gif"], "cannot read"),
    (["video", "{dir}/emptydir"], "no image frames"),
    (["video", "--synthetic", "--scale", "inf"], "positive number"),
    (["video", "--synthetic", "--frames", "0"], "positive integer"),
    (["demo", "--size", "3"], "between"),
    (["demo", "--iters", "-4"], "positive integer"),
    (["demo", "--out", "{dir}/good.png"], "not a folder"),
    (["image", "{dir}/good.png", "--upscale", "0"], "positive integer"),
    (["image", "{dir}/good.png", "--std", "--std-points", "0"], "positive integer"),
    (["image", "{dir}/good.png", "--scale", "1,2,3"], "give one, or 2"),
    # checked before the file is read: the scale's error, not the missing file's
    (["image", "{dir}/missing.png", "--scale", "1,2,3"], "give one, or 2"),
    (["inpaint", "{dir}/missing.png", "--hole", "1,1,2,2", "--scale", "1,2,3"],
     "give one, or 2"),
    (["video", "--synthetic", "--scale", "1,2"], "give one, or 3"),
    (["video", "--synthetic", "--frames", "6", "--keep-frames", "0,2,2"], "listed twice"),
    (["video", "--synthetic", "--frames", "6", "--keep-frames", "0,9"], "not in the clip"),
]


@pytest.mark.parametrize("args, message", CLI_CASES, ids=lambda c: " ".join(c)
                         if isinstance(c, list) else None)
def test_cli_bad_input_one_line_exit_2_nothing_written(files, capsys, args, message):
    args = [a.format(dir=files) for a in args]
    before = sorted(files.rglob("*"))
    try:
        code = main(args)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sorted(files.rglob("*")) == before


def test_cli_non_ascii_file_name_no_font_warnings(files, tmp_path, capfd):
    """Failed before: matplotlib 'Glyph missing' warnings leaked to stderr."""
    name = files / "中文画像.png"
    (files / "good.png").rename(name)
    code = main(["image", str(name), "--size", "16", "--t", "10", "--out", str(tmp_path / "o")])
    err = capfd.readouterr().err
    assert code == 0 and "Glyph" not in err
    assert json.loads((tmp_path / "o" / "report.json").read_text())["input"] == str(name)


def test_grid_fitted_model_predicts_points_far_off_the_grid():
    """A point 1e18 away is off every window the grid pass could allocate: it is predicted
    like a scattered point (it raised "negative dimensions" from an int64 overflow)."""
    X = grid_coordinates((32, 32))
    model = NTKRegressor(depth=2, solver="fft",
                         encoder=FourierFeatureTransformer(scale=3, random_state=0))
    model.fit(X, np.sin(6 * X[:, 0]))
    far = model.predict(np.array([[1e18, 0.3], [5.0, 0.3]]))
    assert np.all(np.isfinite(far))
    assert far[1] == pytest.approx(model.predict(np.array([[5.0, 0.3]]))[0], abs=1e-10)
