import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from PIL import Image

from skfourier.datasets import (grid_coordinates, image_to_regression, load_image,
                                load_sample_image, load_video, make_video,
                                regression_to_image, regression_to_video,
                                video_to_regression)


@pytest.mark.parametrize("name", ["china", "flower", "china.jpg"])
def test_load_sample_image(name):
    img = load_sample_image(name)
    assert img.shape == (427, 640, 3) and img.dtype == np.float64
    assert 0 <= img.min() and img.max() <= 1
    assert load_sample_image(name, size=48).shape == (48, 48, 3)


@pytest.mark.parametrize("kwargs, match", [({"name": "lena"}, "name must be one of"),
                                           ({"size": 1}, "size must be an integer >= 2"),
                                           ({"size": 3.5}, "size must be")])
def test_load_sample_image_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_sample_image(**kwargs)


def test_image_round_trip_and_coordinates(rng):
    img = rng.uniform(size=(3, 5, 3))
    X, y = image_to_regression(img)
    assert X.shape == (15, 2) and y.shape == (15, 3)
    assert_array_equal(regression_to_image(y, img.shape), img)
    assert_array_equal(regression_to_image(y, img.shape[:2]), img)
    # x is horizontal (column / W), y vertical (row / H), row-major
    r, c = 2, 3
    assert_allclose(X[r * 5 + c], [c / 5, r / 3])
    assert_array_equal(y[r * 5 + c], img[r, c])
    assert_array_equal(np.unique(X[:, 0]), np.linspace(0, 1, 5, endpoint=False))


def test_greyscale_and_integer_images():
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    X, y = image_to_regression(img)
    assert y.shape == (12,)
    assert_allclose(regression_to_image(y, (3, 4)) * 255, img)


def test_video_round_trip(rng):
    video = rng.uniform(size=(4, 3, 5, 3))
    X, y = video_to_regression(video)
    assert X.shape == (60, 3)
    assert_array_equal(regression_to_video(y, video.shape), video)
    f, r, c = 2, 1, 4
    assert_allclose(X[(f * 3 + r) * 5 + c], [c / 5, r / 3, f / 4])
    assert X[:, 2].min() == 0 and X[:, 2].max() < 1


def test_grid_coordinates_matches_image():
    assert_array_equal(grid_coordinates((3, 4)), image_to_regression(np.zeros((3, 4)))[0])


@pytest.mark.parametrize("bad, match", [
    (np.zeros(5), "must have 2 or 3 dimensions"),
    (np.zeros((0, 3)), "empty"),
    (np.full((2, 2), np.nan), "NaN"),
    (np.array([["a", "b"]]), "numeric"),
])
def test_image_to_regression_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        image_to_regression(bad)


def test_regression_to_image_errors():
    with pytest.raises(ValueError, match="rows"):
        regression_to_image(np.zeros(5), (2, 3))
    with pytest.raises(ValueError, match="shape must be"):
        regression_to_image(np.zeros(6), (6,))


def test_make_video_deterministic_and_moving():
    a, b = make_video(n_frames=6, size=16), make_video(n_frames=6, size=16)
    assert_array_equal(a, b)
    assert a.shape == (6, 16, 16, 3)
    assert np.abs(a[0] - a[-1]).mean() > 0.05  # it moves
    assert not np.array_equal(a, make_video(n_frames=6, size=16, random_state=1))
    # fine texture: a sizeable share of energy above the Nyquist of a 4x coarser grid
    spec = np.abs(np.fft.fft2(make_video(n_frames=1, size=64)[0, :, :, 0])) ** 2
    spec[0, 0] = 0
    f = np.fft.fftfreq(64) * 64
    high = (np.abs(f)[:, None] > 8) | (np.abs(f)[None, :] > 8)
    assert spec[high].sum() / spec.sum() > 0.1
    with pytest.raises(ValueError, match="n_frames"):
        make_video(n_frames=0)


def test_load_image_png_jpeg_and_errors(tmp_path, rng):
    arr = (rng.uniform(size=(6, 7, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    assert_allclose(load_image(tmp_path / "a.png") * 255, arr)
    Image.fromarray(arr).save(tmp_path / "a.jpg")
    assert load_image(tmp_path / "a.jpg").shape == (6, 7, 3)
    Image.fromarray(arr).convert("RGBA").save(tmp_path / "rgba.png")
    assert load_image(tmp_path / "rgba.png").shape == (6, 7, 3)
    assert load_image(tmp_path / "a.png", size=4).shape == (4, 4, 3)
    with pytest.raises(ValueError, match="not found"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot read"):
        load_image(tmp_path / "junk.png")


def test_load_image_applies_the_exif_orientation(tmp_path, rng):
    """A portrait phone JPEG: pixels stored landscape, EXIF orientation 6 (rotate 90 degrees
    clockwise to view); read upright, as viewers show it."""
    stored = (rng.uniform(size=(4, 6, 3)) * 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6                                     # Orientation
    Image.fromarray(stored).save(tmp_path / "portrait.png", exif=exif.tobytes())
    upright = load_image(tmp_path / "portrait.png")
    assert upright.shape == (6, 4, 3)
    assert_allclose(upright * 255, np.rot90(stored, k=-1))


def test_load_video_gif_folder_and_errors(tmp_path):
    video = make_video(n_frames=4, size=8)
    frames = [Image.fromarray((f * 255).round().astype(np.uint8)) for f in video]
    frames[0].save(tmp_path / "clip.gif", save_all=True, append_images=frames[1:])
    gif = load_video(tmp_path / "clip.gif")
    assert gif.shape == (4, 8, 8, 3)
    assert load_video(tmp_path / "clip.gif", max_frames=2).shape[0] == 2
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(frames):
        f.save(folder / f"{i:03d}.png")
    assert_allclose(load_video(folder), np.round(video * 255) / 255)
    with pytest.raises(ValueError, match="not found"):
        load_video(tmp_path / "nope.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image frames"):
        load_video(tmp_path / "empty")
    (tmp_path / "bad.mp4").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="video"):
        load_video(tmp_path / "bad.mp4")


def test_mp4_without_imageio_names_the_extra(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("imageio"):
            raise ImportError("no imageio")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    (tmp_path / "clip.mp4").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"skfourier\[video\]"):
        load_video(tmp_path / "clip.mp4")
