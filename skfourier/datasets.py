"""Images and videos as regression datasets: pixel coordinates -> colour.

Coordinates follow one rule on every axis: ``np.linspace(0, 1, n,
endpoint=False)``. ``X`` columns are ``(x, y)`` for images (x horizontal, y
vertical) and ``(x, y, t)`` for videos; pixels are in row-major order (frame,
then row, then column). Fourier-feature scales are in cycles per unit length,
so a good scale grows with the resolution (the papers' ``scale=10`` is for
256-pixel training grids).
"""

from pathlib import Path

import numpy as np

__all__ = [
    "load_sample_image",
    "load_image",
    "load_video",
    "image_to_regression",
    "regression_to_image",
    "video_to_regression",
    "regression_to_video",
    "make_video",
    "grid_coordinates",
    "fit_long_side",
    "frame_to_array",
]

SAMPLE_IMAGES = ("china", "flower")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
# Multi-frame formats Pillow reads (animated GIF / WebP / PNG, multi-page TIFF).
PILLOW_SEQUENCES = (".gif", ".tif", ".tiff", ".webp", ".png", ".apng")


def grid_coordinates(shape):
    """Coordinates of a regular grid in [0, 1), one column per axis.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` for an image or ``(T, H, W)`` for a video.

    Returns
    -------
    X : ndarray of shape (prod(shape), len(shape))
        Columns ``(x, y)`` or ``(x, y, t)``; rows in row-major order of ``shape``.

    Examples
    --------
    >>> from skfourier.datasets import grid_coordinates
    >>> grid_coordinates((2, 2))
    array([[0. , 0. ],
           [0.5, 0. ],
           [0. , 0.5],
           [0.5, 0.5]])
    """
    axes = [np.linspace(0.0, 1.0, n, endpoint=False) for n in shape]
    mesh = np.meshgrid(*axes, indexing="ij")  # (t,) y, x in row-major order
    cols = [m.ravel() for m in mesh]
    # reorder (t, y, x) / (y, x) -> (x, y, t) / (x, y)
    if len(shape) == 2:
        return np.column_stack([cols[1], cols[0]])
    return np.column_stack([cols[2], cols[1], cols[0]])


def _as_float_array(data, name, ndims):
    arr = np.asarray(data)
    if arr.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, "
                         f"got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}).")
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr / float(np.iinfo(arr.dtype).max)
    elif np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64, copy=False)
    else:
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


def image_to_regression(img):
    """Turn an image into a regression dataset.

    Parameters
    ----------
    img : array-like of shape (H, W) or (H, W, C)
        Float image (kept as is) or integer image (scaled by its dtype's
        maximum to [0, 1]).

    Returns
    -------
    X : ndarray of shape (H * W, 2)
        Pixel coordinates ``(x, y)`` in [0, 1).
    y : ndarray of shape (H * W,) or (H * W, C)
        Colours, row-major.

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier.datasets import image_to_regression
    >>> X, y = image_to_regression(np.zeros((4, 6, 3)))
    >>> X.shape, y.shape
    ((24, 2), (24, 3))
    """
    img = _as_float_array(img, "img", (2, 3))
    H, W = img.shape[:2]
    y = img.reshape(H * W, *img.shape[2:])
    return grid_coordinates((H, W)), y


def regression_to_image(y, shape):
    """Inverse of :func:`image_to_regression` for the colours.

    Parameters
    ----------
    y : array-like of shape (H * W,) or (H * W, C)
    shape : tuple
        ``(H, W)`` or ``(H, W, C)``.

    Returns
    -------
    img : ndarray of shape ``shape`` (with ``C`` appended from ``y`` if missing)

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier.datasets import image_to_regression, regression_to_image
    >>> img = np.random.default_rng(0).random((4, 6, 3))
    >>> X, y = image_to_regression(img)
    >>> bool(np.array_equal(regression_to_image(y, img.shape), img))
    True
    """
    return _unflatten(y, shape, 2, "(H, W)")


def video_to_regression(video):
    """Turn a video into a regression dataset.

    Parameters
    ----------
    video : array-like of shape (T, H, W) or (T, H, W, C)

    Returns
    -------
    X : ndarray of shape (T * H * W, 3)
        Coordinates ``(x, y, t)``, each in [0, 1).
    y : ndarray of shape (T * H * W,) or (T * H * W, C)

    Examples
    --------
    >>> from skfourier.datasets import make_video, video_to_regression
    >>> X, y = video_to_regression(make_video(n_frames=4, size=8))
    >>> X.shape, y.shape
    ((256, 3), (256, 3))
    """
    video = _as_float_array(video, "video", (3, 4))
    T, H, W = video.shape[:3]
    return grid_coordinates((T, H, W)), video.reshape(T * H * W, *video.shape[3:])


def regression_to_video(y, shape):
    """Inverse of :func:`video_to_regression` for the colours.

    Parameters
    ----------
    y : array-like of shape (T * H * W,) or (T * H * W, C)
    shape : tuple
        ``(T, H, W)`` or ``(T, H, W, C)``.

    Returns
    -------
    video : ndarray of shape ``shape``

    Examples
    --------
    >>> from skfourier.datasets import make_video, video_to_regression, regression_to_video
    >>> video = make_video(n_frames=3, size=8)
    >>> X, y = video_to_regression(video)
    >>> bool((regression_to_video(y, video.shape) == video).all())
    True
    """
    return _unflatten(y, shape, 3, "(T, H, W)")


def _unflatten(y, shape, n_axes, axes_name):
    y = np.asarray(y)
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (n_axes, n_axes + 1):
        raise ValueError(f"shape must be {axes_name} or {axes_name[:-1]}, C), got {shape}.")
    n = int(np.prod(shape[:n_axes]))
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} rows but shape {shape} needs {n}.")
    if len(shape) == n_axes + 1 and y.size != n * shape[-1]:
        raise ValueError(f"y has shape {y.shape}, which does not fit {shape}.")
    target = shape if len(shape) == n_axes + 1 else shape + y.shape[1:]
    return y.reshape(target)


def _resize_float(img, height, width):
    """Antialiased (Lanczos) resize in float32 per channel: 16-bit and float images keep
    their precision."""
    from PIL import Image

    if img.shape[:2] == (height, width):
        return img
    channels = img[..., None] if img.ndim == 2 else img
    out = np.stack([np.asarray(Image.fromarray(channels[..., c].astype(np.float32), mode="F")
                               .resize((width, height), Image.LANCZOS), dtype=np.float64)
                    for c in range(channels.shape[-1])], axis=-1)
    out = np.clip(out, 0.0, 1.0)  # Lanczos overshoots at edges
    return out[..., 0] if img.ndim == 2 else out


def _resize(img, size):
    """Centre-crop to a square and resize to ``size x size``."""
    H, W = img.shape[:2]
    side = min(H, W)
    top, left = (H - side) // 2, (W - side) // 2
    return _resize_float(img[top:top + side, left:left + side], size, size)


def fit_long_side(img, max_side):
    """Downscale so the long side is at most ``max_side``, keeping the aspect ratio.

    Parameters
    ----------
    img : ndarray of shape (H, W) or (H, W, C), values in [0, 1]
    max_side : int

    Returns
    -------
    img : ndarray
        Unchanged when it already fits; never upscaled.

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier.datasets import fit_long_side
    >>> fit_long_side(np.zeros((300, 400, 3)), 100).shape
    (75, 100, 3)
    """
    _check_size(max_side)
    H, W = img.shape[:2]
    if max(H, W) <= max_side:
        return img
    factor = max_side / max(H, W)
    return _resize_float(img, max(1, round(H * factor)), max(1, round(W * factor)))


def _check_size(size):
    if size is None:
        return
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2:
        raise ValueError(f"size must be an integer >= 2 (pixels per side) or None, got {size!r}.")


def load_sample_image(name="china", size=None):
    """Load a sample photograph shipped with scikit-learn (offline).

    Parameters
    ----------
    name : {"china", "flower"}, default="china"
        ``"china.jpg"`` or ``"flower.jpg"`` from :func:`sklearn.datasets.load_sample_image`
        (427 x 640 RGB).
    size : int, default=None
        If given, centre-crop to a square and resize to ``size x size``.

    Returns
    -------
    img : ndarray of shape (H, W, 3), float64 in [0, 1]

    Examples
    --------
    >>> from skfourier.datasets import load_sample_image
    >>> load_sample_image("china", size=64).shape
    (64, 64, 3)
    """
    from sklearn.datasets import load_sample_image as _sk_load

    stem = str(name).removesuffix(".jpg")
    if stem not in SAMPLE_IMAGES:
        raise ValueError(f"name must be one of {list(SAMPLE_IMAGES)}, got {name!r}.")
    _check_size(size)
    img = _sk_load(f"{stem}.jpg") / 255.0
    return img if size is None else _resize(img, size)


def _to_unit_range(arr):
    """Integer or float pixel values -> float64 in [0, 1], by the format's range."""
    if arr.dtype == bool:
        return arr.astype(np.float64)
    if np.issubdtype(arr.dtype, np.integer):
        top = float(np.iinfo(arr.dtype).max)
        if arr.dtype.itemsize > 2 and arr.size and arr.max() <= 65535:
            top = 65535.0  # Pillow reads 16-bit PNGs as 32-bit "I" images
        return arr / top
    arr = arr.astype(np.float64)
    peak = arr.max() if arr.size else 1.0
    return arr / peak if peak > 1.0 else arr


def _composite_on_white(colour, alpha):
    """Colour regression has no alpha: blend semi-transparent pixels over white."""
    if colour.ndim == 3:
        alpha = alpha[..., None]
    return colour * alpha + (1.0 - alpha)


def frame_to_array(frame):
    """One decoded image or video frame as floats in [0, 1], whatever its mode.

    Grey stays 2-D; grey + alpha and RGBA are composited on white (colour
    regression has no alpha); palette and 1-bit images are expanded; integer
    images are scaled by their format's range (16-bit by 65535, also when
    Pillow holds them as 32-bit "I" images).

    Parameters
    ----------
    frame : PIL.Image.Image or array-like of shape (H, W) or (H, W, C), C <= 4

    Returns
    -------
    array : ndarray of shape (H, W) or (H, W, 3), float64

    Raises
    ------
    ValueError
        For other layouts.

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier.datasets import frame_to_array
    >>> frame_to_array(np.array([[0, 65535]], dtype=np.uint16))
    array([[0., 1.]])
    >>> frame_to_array(np.array([[[255, 0, 0, 0]]], dtype=np.uint8))  # transparent: white
    array([[[1., 1., 1.]]])
    """
    if hasattr(frame, "mode"):  # a Pillow image
        if frame.mode == "P":
            frame = frame.convert("RGBA" if "transparency" in frame.info else "RGB")
        elif frame.mode == "1":
            frame = frame.convert("L")
        elif frame.mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
            frame = frame.convert("RGB")
        elif frame.mode == "PA":
            frame = frame.convert("RGBA")
        arr = np.asarray(frame)
    else:
        arr = np.asarray(frame)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (2, 3, 4)):
        raise ValueError(f"unsupported frame layout {arr.shape}: expected (H, W) grey or "
                         "(H, W, C) with 1 to 4 channels.")
    arr = _to_unit_range(arr)
    if arr.ndim == 3 and arr.shape[-1] == 2:    # grey + alpha
        arr = _composite_on_white(arr[..., 0], arr[..., 1])
    elif arr.ndim == 3 and arr.shape[-1] == 4:  # RGBA
        arr = _composite_on_white(arr[..., :3], arr[..., 3])
    return arr


def load_image(path, size=None):
    """Read a user's image file (PNG, JPEG, ... through Pillow) as floats in [0, 1].

    An EXIF orientation tag (portrait photos from phones) is applied, so the
    array is upright as image viewers show it.

    Parameters
    ----------
    path : str or path-like
    size : int, default=None
        If given, centre-crop to a square and resize to ``size x size``.

    Returns
    -------
    img : ndarray of shape (H, W) for greyscale or (H, W, 3)

    Raises
    ------
    ValueError
        If the file does not exist or is not a readable image.

    Examples
    --------
    >>> import tempfile, os
    >>> from PIL import Image
    >>> from skfourier.datasets import load_image
    >>> path = os.path.join(tempfile.mkdtemp(), "red.png")
    >>> Image.new("RGB", (5, 4), (255, 0, 0)).save(path)
    >>> load_image(path).shape
    (4, 5, 3)
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    _check_size(size)
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a folder, not an image file; pass one image "
                         "(a folder of frames is a video: load_video).")
    if not path.is_file():
        raise ValueError(f"image file not found: {str(path)!r}.")
    try:
        with Image.open(path) as pil:
            # a phone's portrait photo is stored sideways with an EXIF orientation tag
            img = frame_to_array(ImageOps.exif_transpose(pil))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"cannot read {str(path)!r} as an image ({exc}).") from exc
    return img if size is None else _resize(img, size)


def load_video(path, size=None, max_frames=None, *, max_side=None):
    """Read a clip: an animated GIF, a video file, or a folder of frames.

    Animated GIF / WebP / PNG, multi-page TIFF and folders of images are read
    with Pillow; MP4 and other video containers need ``pip install
    'skfourier[video]'`` (imageio and its ffmpeg plugin). Grey frames become
    three equal channels, alpha is composited on white, 16-bit frames keep
    their range.

    Parameters
    ----------
    path : str or path-like
    size : int, default=None
        If given, centre-crop every frame to a square and resize to ``size x size``.
    max_frames : int, default=None
        Read at most this many frames.
    max_side : int, default=None
        If given, downscale every frame as it is decoded so that its long side
        is at most ``max_side``, keeping the aspect ratio (see
        :func:`fit_long_side`): a long full-HD clip never sits in memory at
        full size.

    Returns
    -------
    video : ndarray of shape (T, H, W, 3), float64 in [0, 1]

    Examples
    --------
    >>> import tempfile, os
    >>> from PIL import Image
    >>> from skfourier.datasets import load_video
    >>> path = os.path.join(tempfile.mkdtemp(), "clip.gif")
    >>> frames = [Image.new("RGB", (8, 8), (40 * i, 0, 0)) for i in range(3)]
    >>> frames[0].save(path, save_all=True, append_images=frames[1:])
    >>> load_video(path).shape
    (3, 8, 8, 3)
    """
    _check_size(size)
    _check_size(max_side)

    def prepare(frame):
        arr = frame_to_array(frame)
        return arr if max_side is None else fit_long_side(arr, max_side)

    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"folder {str(path)!r} holds no image frames "
                             f"({', '.join(IMAGE_SUFFIXES)}).")
        frames = [prepare(load_image(p)) for p in files[:max_frames]]
    elif not path.is_file():
        raise ValueError(f"video file not found: {str(path)!r}.")
    elif path.suffix.lower() in PILLOW_SEQUENCES:
        frames = _read_pillow_frames(path, max_frames, prepare)
    else:
        frames = _read_with_imageio(path, max_frames, prepare)
    frames = [np.repeat(f[..., None], 3, axis=2) if f.ndim == 2 else f for f in frames]
    if len({f.shape for f in frames}) != 1:
        raise ValueError(f"frames of {str(path)!r} differ in size; all frames must match.")
    if size is not None:
        frames = [_resize(f, size) for f in frames]
    return np.stack(frames)


def _read_pillow_frames(path, max_frames, prepare):
    """Every frame of an animated GIF / WebP / PNG or a multi-page TIFF, through Pillow."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        with Image.open(path) as pil:
            frames = []
            for frame in ImageSequence.Iterator(pil):
                frames.append(prepare(frame))
                if max_frames is not None and len(frames) >= max_frames:
                    break
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"cannot read {str(path)!r} as a sequence of frames ({exc}).") from exc
    return frames


def _last_line(exc):
    """The cause of a decoder error: its last non-empty line (ffmpeg prints a banner first)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1].rstrip(")") if lines else type(exc).__name__


def _read_with_imageio(path, max_frames, prepare):
    try:
        import imageio.v3 as iio
    except ImportError as exc:
        raise ValueError(
            f"reading {path.suffix} video needs imageio and its ffmpeg plugin: "
            "pip install 'skfourier[video]' (or use a GIF or a folder of frames).") from exc
    frames = []
    try:
        for frame in iio.imiter(path):
            frames.append(prepare(frame))
            if max_frames is not None and len(frames) >= max_frames:
                break
    except Exception as exc:  # plugins raise many types; the user needs one line
        if "could not find a backend" in str(exc).lower():
            raise ValueError(
                f"no installed imageio plugin reads {path.suffix} files: pip install "
                "'skfourier[video]' (imageio-ffmpeg), or use a GIF or a folder of "
                "frames.") from None
        raise ValueError(f"cannot read {str(path)!r} as a video: {_last_line(exc)} (is the "
                         "file complete and a video?).") from None
    if not frames:
        raise ValueError(f"{str(path)!r} holds no frames.")
    if max_frames is None or len(frames) < max_frames:
        _check_frame_count(iio, path, len(frames))
    return frames


def _check_frame_count(iio, path, read):
    """ValueError when the container's header announces more frames than decoded: an MP4
    written index first (``-movflags +faststart``) and cut short decodes without an error."""
    try:
        meta = iio.immeta(path)
        announced = int(round(float(meta["duration"]) * float(meta["fps"])))
    except Exception:  # no usable header: nothing to compare against
        return
    # a variable frame rate makes duration x fps approximate: only a clear shortfall (10%
    # and a frame of rounding) is a damaged file
    if read < 0.9 * announced - 1:
        raise ValueError(f"{str(path)!r} decodes to {read} of the {announced} frames its header "
                         f"announces ({meta['duration']:g} s at {meta['fps']:g} fps): the file is "
                         "truncated or damaged; re-export or re-download it.")


def _texture(u, v, rng_phases):
    """A smooth-plus-fine periodic texture on the unit torus, values in [0, 1]."""
    r = 0.5 + 0.18 * np.sin(2 * np.pi * (3 * u + rng_phases[0]))
    g = 0.5 + 0.18 * np.sin(2 * np.pi * (2 * v + rng_phases[1]))
    b = 0.5 + 0.18 * np.sin(2 * np.pi * (2 * u + 3 * v + rng_phases[2]))
    fine = 0.12 * np.sign(np.sin(2 * np.pi * 12 * u) * np.sin(2 * np.pi * 12 * v))
    ring = 0.1 * np.cos(2 * np.pi * 9 * np.hypot(u - 0.5, v - 0.5))
    return np.clip(np.stack([r + fine, g + ring, b - fine + ring], axis=-1), 0.0, 1.0)


def make_video(n_frames=30, size=64, *, speed=0.25, rotation=30.0, random_state=0):
    """A deterministic synthetic clip: a textured pattern translating and rotating.

    The texture has smooth colour gradients plus a fine checkerboard (12
    cycles per unit length) and rings, so interpolating held-out frames needs
    both low and high frequencies.

    Parameters
    ----------
    n_frames : int, default=30
    size : int, default=64
        Frame height and width in pixels.
    speed : float, default=0.25
        Translation over the whole clip, in image widths.
    rotation : float, default=30.0
        Rotation over the whole clip, in degrees.
    random_state : int, default=0
        Seeds the colour phases of the texture.

    Returns
    -------
    video : ndarray of shape (n_frames, size, size, 3), float64 in [0, 1]

    Examples
    --------
    >>> from skfourier.datasets import make_video
    >>> video = make_video(n_frames=10, size=16)
    >>> video.shape, float(video.min()) >= 0, float(video.max()) <= 1
    ((10, 16, 16, 3), True, True)
    """
    for value, name in ((n_frames, "n_frames"), (size, "size")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    phases = np.random.RandomState(random_state).uniform(0, 1, size=3)
    c = np.linspace(0, 1, size, endpoint=False)
    xx, yy = np.meshgrid(c, c)
    frames = []
    for k in range(n_frames):
        s = k / max(n_frames - 1, 1)
        angle = np.deg2rad(rotation) * s
        dx, dy = xx - 0.5, yy - 0.5
        u = np.cos(angle) * dx + np.sin(angle) * dy + 0.5 + speed * s
        v = -np.sin(angle) * dx + np.cos(angle) * dy + 0.5 + 0.5 * speed * s
        frames.append(_texture(u, v, phases))
    return np.stack(frames)
