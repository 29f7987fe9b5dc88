"""Command line: ``skfourier demo``, ``skfourier image PATH``, ``skfourier video PATH``.

Errors print one line on stderr and exit with status 2; results are written
to a temporary folder first and moved into ``--out`` only when complete.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import textwrap
import threading
import warnings
from pathlib import Path

import numpy as np

from . import __version__
from ._settings import EXACT_STD_POINTS, SolverSettings
from ._validation import StdBudgetError, duration

EXIT_USAGE = 2
#: Default cap on the long side of ``skfourier image`` (a 512-pixel training grid: ~20 s).
IMAGE_SIDE = 1024
#: Smallest image side that splits into even / odd lattices.
MIN_IMAGE_SIDE = 8
#: Largest image side the commands accept: a 12-megapixel photo at full resolution (4000 x
#: 3000: 2.2 minutes, 5.4 GB on 2 cores).
MAX_SIDE = 4096
#: Largest side of an ``--upscale`` output (8192^2 RGB: 1.6 GB of predictions).
MAX_UPSCALED_SIDE = 8192
#: Seconds per predicted point off the lattice path, and per point and training pixel
#: (NTK, depth 4, 256 frequencies, 2 cores: 300,000 points in 5.4 s from 24 training
#: pixels, 7.2 s from 704, 17.5 s from 2000).
POINT_SECONDS, ENTRY_SECONDS = 18e-6, 6e-9
#: The longest prediction a command starts without being asked to do less: the exact std's
#: budget (SolverSettings.std_budget_seconds).
BUDGET_SECONDS = SolverSettings().std_budget_seconds
#: Largest video frame side.
MAX_VIDEO_SIDE = 256
#: Frame side of ``skfourier video --synthetic`` by default.
SYNTHETIC_SIDE = 64
# Predictive-std points of --std: every held-out pixel of a photo up to a 2048 x 2048 lattice
# (the whole-lattice estimate from a few solves: a 300 x 200 photo in ~4 s, where a strided
# 16 x 16 map of exact solves took 30 s); a 16 x 16 map of unknown pixels to inpaint where
# the hole estimate cannot serve; a few pixels per frame of a clip (a frame's std varies
# little in space).
IMAGE_STD_POINTS = 2 ** 20
INPAINT_STD_POINTS = 256
VIDEO_STD_POINTS = 120


def _check_side(size, low, high):
    if not low <= size <= high:
        raise ValueError(f"--size must be between {low} and {high} pixels, got {size}.")


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line, without the usage block."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _seed(text):
    """A random seed as numpy takes it: an integer in [0, 2**32)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 2**32 - 1, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _verbose():
    """Progress bars on stderr only where someone watches it (a terminal), not in logs."""
    return int(sys.stderr.isatty())


def _ordinal(k):
    """``2nd``, ``3rd``, ``11th``, ``21st``: English ordinals."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _frame_list(text):
    """``0,1,4``: frame indices (checked against the clip once it is read)."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected frame indices separated by commas, got {text!r}") from None


def _rectangle(text):
    """``X,Y,W,H``: a rectangle in pixels (checked against the image once it is read)."""
    parts = text.split(",")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or min(values) < 0 or min(values[2:]) < 1:
        raise argparse.ArgumentTypeError(
            f"expected X,Y,W,H in pixels (W and H at least 1), got {text!r}")
    return tuple(values)


def _at_least_two(text):
    """An integer >= 2 (every k-th frame: k = 1 would hold no frame out)."""
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2, got {text!r}")
    return value


def _share(text):
    """A fraction strictly between 0 and 1."""
    value = _positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text!r}")
    return value


def _scales(text):
    """``10`` or one value per axis, ``10,10,0.5``: a float or a tuple of positive floats."""
    values = tuple(_positive_float(part) for part in text.split(","))
    return values[0] if len(values) == 1 else values


def _format_scale(scale):
    return ",".join(f"{s:.3g}" for s in np.atleast_1d(scale))


def _common(parser, default_out, size_help):
    parser.add_argument("--out", default=default_out,
                        help=f"output folder (default: {default_out})")
    parser.add_argument("--model", choices=("ntk", "mlp"), default="ntk",
                        help="infinite-width NTK (exact, default) or a trained 3 x 256 MLP")
    parser.add_argument("--size", type=_positive_int, default=None, help=size_help)
    parser.add_argument("--iters", type=_positive_int, default=400,
                        help="MLP iterations (default: 400; in the demo also those of Fig. 2's "
                             "Adam curves)")
    parser.add_argument("--seed", type=_seed, default=0, help="random seed (default: 0)")


def _fit_options(parser):
    parser.add_argument("--encoding", default="gaussian",
                        choices=("none", "basic", "positional", "gaussian", "uniform"),
                        help="Fourier feature mapping (default: gaussian)")
    parser.add_argument("--scale", type=_scales, default=None,
                        help="frequency scale in cycles per unit length, one value or one per "
                             "axis (x,y or x,y,t: e.g. 10,10,0.5); default: the paper's value "
                             "for 256-pixel grids (gaussian 10, positional 64) scaled to this "
                             "training grid")
    parser.add_argument("--t", type=_positive_float, default=None,
                        help="NTK training time (default: converged)")


def _std_options(parser, what, default, how=None):
    how = how or ("exact, a solve per point on the training grid (past "
                  f"{EXACT_STD_POINTS} points of a whole image lattice, or of the same pixels "
                  "in every frame of a video, the FFT solver's "
                  "estimate from a few such solves, within 1%%)")
    parser.add_argument("--std", action="store_true",
                        help="also the predictive std of the infinite-width ensemble (--model "
                             f"ntk) at {what}, and the share of held-out errors within +-2 std: "
                             f"{how}")
    parser.add_argument("--std-points", type=_positive_int, default=default, metavar="N",
                        help=f"points for --std (default: {default})")


def build_parser():
    """The ``skfourier`` argument parser."""
    parser = _Parser(prog="skfourier", description=(
        "Fit images and videos as functions of their pixel coordinates with Fourier features, "
        "the Neural Tangent Kernel and coordinate MLPs."))
    parser.add_argument("--version", action="version", version=f"skfourier {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{demo,image,video,inpaint}",
                                parser_class=_Parser)
    sub.required = True
    demo = sub.add_parser("demo", help="the Fourier-features paper's comparison on a sample image",
                          description=(
                              "Seed Fig. 1 and 2 at the paper's scale: fit the embedded sample "
                              "image (scikit-learn's china.jpg, 512 x 512) on its even pixels "
                              "with no mapping, basic, positional, Gaussian and uniform "
                              "features at sigma = 1, 10, 100 (the paper's values are for this "
                              "256-pixel training grid; other sizes carry them), predict the "
                              "odd pixels, print a PSNR table and write the figures and "
                              "results.json. Fig. 2 shows the NTK's exact curves and, in the "
                              "seed's own setting, the MLP trained by Adam on an 80 x 80 copy "
                              "of the image."))
    _common(demo, "skfourier-demo", "image side in pixels (default: 512 for ntk, 64 for mlp)")
    image = sub.add_parser("image", help="fit a PNG/JPEG image",
                           description="Fit your image on its even pixels, score the odd "
                           "pixels, and write the reconstruction, a report and a figure.")
    image.add_argument("path", help="PNG or JPEG file")
    _common(image, "skfourier-image", f"cap the long side at this many pixels, keeping the "
            f"aspect ratio (default: {IMAGE_SIDE}; larger images are downscaled)")
    _fit_options(image)
    image.add_argument("--upscale", type=_positive_int, default=1, metavar="K",
                       help="also write the reconstruction on a K-times finer grid "
                            "(super-resolution: the network as a continuous image)")
    image.add_argument("--keep", type=_share, default=None, metavar="FRACTION",
                       help="train on this random share of the pixels (0 < FRACTION < 1, drawn "
                            "with --seed) instead of the even ones, and report the PSNR on the "
                            "rest: reconstruction from scattered pixels (the FFT solver fits "
                            "such masked grids exactly)")
    image.add_argument("--tune", action="store_true",
                       help="choose the Fourier scale first (--model ntk): cross-validation "
                            "inside the training pixels over 7 octaves around the default "
                            "scale; writes the CV curve")
    _std_options(image, "held-out pixels (a strided map when there are more than "
                 "--std-points)", IMAGE_STD_POINTS)
    video = sub.add_parser("video", help="fit a clip and interpolate held-out frames",
                           description="Fit every k-th frame of a clip (GIF, MP4 with imageio, "
                           "or a folder of frames) and score the frames in between.")
    source = video.add_mutually_exclusive_group(required=True)
    source.add_argument("path", nargs="?", help="GIF, video file or folder of frames")
    source.add_argument("--synthetic", action="store_true",
                        help="use skfourier.datasets.make_video instead of a file")
    _common(video, "skfourier-video", "cap the frames' long side at this many pixels, keeping "
            f"the aspect ratio (default and maximum: {MAX_VIDEO_SIDE}; --synthetic: "
            f"{SYNTHETIC_SIDE})")
    _fit_options(video)
    video.add_argument("--frames", type=_positive_int, default=30,
                       help="frames to read (default: 30)")
    keep = video.add_mutually_exclusive_group()
    keep.add_argument("--keep-every", type=_at_least_two, default=None,
                      help="train on every k-th frame (default: 10)")
    keep.add_argument("--keep-frames", type=_frame_list, default=None, metavar="I,J,...",
                      help="train on these frames instead, any set (e.g. 0,1,4,5,9,11: a "
                           "dropped frame, an irregular capture), counted from 0")
    _std_options(video, "the same strided pixels of every frame, averaged per frame against the "
                 "distance to the nearest training frame", VIDEO_STD_POINTS)
    inpaint = sub.add_parser("inpaint", help="fill the unknown pixels of a photo",
                             description="Fit the known pixels of a photo (a mask, or a "
                             "rectangle cut from a complete photo) and fill the others; write "
                             "the filled image, a figure and, with --std, the ensemble's std.")
    inpaint.add_argument("path", help="PNG or JPEG file")
    where = inpaint.add_mutually_exclusive_group(required=True)
    where.add_argument("--mask", help="an image of the photo's size: known pixels white, "
                       "unknown black")
    where.add_argument("--hole", type=_rectangle, metavar="X,Y,W,H",
                       help="cut this rectangle (pixels of the fitted image, after --size) "
                            "from a complete photo and report the PSNR inside it. Holes "
                            "fill more smoothly with a smaller --scale than the default "
                            "(a 48 x 48 hole in a 256 x 256 photo: 15.2 dB at --scale 1, "
                            "12.5 dB at the default 10)")
    _common(inpaint, "skfourier-inpaint", f"cap the long side at this many pixels (default: "
            f"{IMAGE_SIDE})")
    _fit_options(inpaint)
    _std_options(inpaint, "the unknown pixels (0 at the known ones, kept as given; errors "
                 "only with --hole)", INPAINT_STD_POINTS,
                 "exact up to N unknown pixels; past them, over a rectangular hole, the FFT "
                 "solver's estimate from ~100 exact solves (within 1%%, checked at random "
                 "points; ~25 s for a 64 x 64 hole in a 256 x 256 photo), else exact on "
                 "the unknown pixels of [::s, ::s], at most N pixels of the image")
    return parser


class _Output:
    """Collect files in a temporary folder; move them into place only on success.

    The folder's ``MANIFEST`` names what the last run wrote there: files of an earlier
    run that this one did not write (an ``upscaled_x2.png`` beside a new report) are
    removed, the user's own files are left alone.
    """

    def __init__(self, out):
        self.out = Path(out)
        if self.out.exists() and not self.out.is_dir():
            raise ValueError(f"--out {str(self.out)!r} exists and is not a folder.")
        parent = self.out.resolve().parent
        if not parent.is_dir():
            raise ValueError(f"the parent folder of --out {str(self.out)!r} does not exist.")
        if not os.access(parent, os.W_OK):
            raise ValueError(f"cannot write into {str(parent)!r}.")
        self.tmp = Path(tempfile.mkdtemp(prefix=".skfourier-", dir=parent))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:  # an error (or ^C) mid-way: nothing half-written stays
            self.discard()
        return False

    def path(self, name):
        return self.tmp / name

    def commit(self):
        _INTERRUPTS.check()  # a fit cut short by Ctrl-C is not a result
        self.out.mkdir(exist_ok=True)
        manifest = self.out / MANIFEST
        earlier = manifest.read_text().split("\n") if manifest.is_file() else []
        written = []
        for f in sorted(self.tmp.iterdir()):
            os.replace(f, self.out / f.name)
            written.append(self.out / f.name)
        names = {f.name for f in written}
        for name in earlier:
            stale = self.out / name
            if name and name not in names and Path(name).name == name and stale.is_file():
                stale.unlink()
        manifest.write_text("\n".join(sorted(names)) + "\n")
        self.discard()
        return written

    def discard(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def _save_png(array, path):
    from PIL import Image

    Image.fromarray(np.round(np.clip(array, 0, 1) * 255).astype(np.uint8)).save(path)


def _progress(items, desc):
    """A progress bar over the items; stops between items once Ctrl-C was pressed."""
    from tqdm.auto import tqdm

    for item in tqdm(items, desc=desc, unit="model", file=sys.stderr, leave=False):
        _INTERRUPTS.check()
        yield item


def _table(rows):
    """The demo's PSNR table from the unrounded results (as demo.png prints them: rounding
    the JSON's 3 decimals again could change the last digit)."""
    width = max(len(r.name) for r in rows)
    lines = [f"{'model':<{width}}  {'test PSNR (dB)':>14}  {'fit (s)':>8}"]
    lines += [f"{r.name:<{width}}  {r.test_psnr:>14.2f}  {r.fit_seconds:>8.2f}" for r in rows]
    return "\n".join(lines)


def _figure(panels, path, suptitle):
    plt = _pyplot()

    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 3.2),
                             layout="constrained")
    for ax, (title, img) in zip(np.atleast_1d(axes), panels):
        ax.imshow(np.clip(img, 0, 1), interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(suptitle, fontsize=10)
    _save(fig, path)


def run_demo(args):
    """Seed Fig. 1 and Fig. 2 at the paper's scale on the embedded sample image."""
    from .datasets import load_sample_image
    from .recipes import (DEMO_FLOW_SCALE, compare_encodings, demo_training_time,
                          paper_encoders, psnr_iterations)

    size = args.size or (512 if args.model == "ntk" else 64)
    _check_side(size, 8, MAX_SIDE)
    with _Output(args.out) as output:
        img = load_sample_image("china", size=size)
        # a finite budget, like the papers' few hundred iterations, under which too-low
        # scales stay blurry and too-high ones noisy; the same c = t / N at every size
        t = demo_training_time(img)
        curve_times = np.geomspace(t / 400, t, 25)
        encoders = _progress(paper_encoders((size + 1) // 2, random_state=args.seed),
                             f"demo ({args.model}, {size}x{size})")
        # raw coordinates have no stationary kernel: a 16 x 16 sub-lattice, dense (measured
        # at 512 x 512: 10.55 dB, vs 10.60 on 32 x 32 and 10.61 on 64 x 64 for 3-15x the time)
        rows = compare_encodings(img, encoders, model=args.model, t=t, max_iter=args.iters,
                                 random_state=args.seed, curve_times=curve_times,
                                 dense_limit=DEMO_DENSE_LIMIT)
        curves = {}
        if args.model == "ntk":
            curves["ntk_gradient_flow"] = _curve_set(
                rows, curve_times, "training time t", curve_times,
                f"the infinite-width network under plain gradient flow (exact, {size}x{size})")
            # seed Fig. 2's own setting: a finite MLP trained by Adam, on a smaller image to
            # keep the demo short (4 fits of 400 steps on 40 x 40 training pixels: ~20 s;
            # 29 s on 48 x 48 and 67 s on 64 x 64, with the same ordering)
            side = min(size, DEMO_ADAM_SIZE)
            gaussian = paper_encoders((side + 1) // 2, distributions=("gaussian",),
                                      random_state=args.seed)
            adam = _progress([p for p in gaussian if p[0] not in ("basic", "positional")],
                             f"seed Fig. 2 (mlp, Adam, {side}x{side})")
            adam_rows = compare_encodings(load_sample_image("china", size=side), adam,
                                          model="mlp", max_iter=args.iters,
                                          random_state=args.seed, curve_times=())
        else:
            side, adam_rows = size, rows
        iterations = np.arange(1, args.iters + 1)
        curves["mlp_adam"] = _curve_set(
            adam_rows, iterations, "Adam iteration (full batch)", psnr_iterations(args.iters),
            f"a finite MLP (3 x 256 ReLU) trained by Adam, as in the seed ({side}x{side})")
        report = {
            "image": "china", "size": size, "model": args.model, "seed": args.seed,
            "protocol": "train on pixels [::2, ::2], test on [1::2, 1::2]",
            "ntk_time": t if args.model == "ntk" else None,
            "ntk_flow_scale": DEMO_FLOW_SCALE if args.model == "ntk" else None,
            "time_vs_iterations": TIME_VS_ITERATIONS if args.model == "ntk" else None,
            "mlp_iterations": args.iters if args.model == "mlp" else None,
            "results": [r.as_dict() for r in rows],
            "training_curves": curves,
        }
        output.path("results.json").write_text(json.dumps(report, indent=2))
        _demo_figure(img, rows, output.path("demo.png"),
                     f"{args.model.upper()} on {size}x{size} china.jpg: even pixels -> odd "
                     f"pixels" + (f", t = {t:.3g}" if args.model == "ntk" else
                                  f", {args.iters} iterations"))
        _curves_figure(curves, output.path("training_curves.png"))
        written = output.commit()
    print(_table(rows))
    for r in rows:
        if r.note:
            print(f"  {r.name}: {r.note}")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


#: The file in an output folder naming what the last run wrote there (see _Output).
MANIFEST = ".skfourier_written"
#: Training pixels of the demo's "no mapping" row (see run_demo).
DEMO_DENSE_LIMIT = 256
#: Image side of the demo's Adam-trained MLP curves (seed Fig. 2's setting).
DEMO_ADAM_SIZE = 80
#: How the NTK's training time maps to optimiser steps (stated in results.json).
TIME_VS_ITERATIONS = (
    "t = 2 eta k for k steps of plain gradient descent with learning rate eta on the mean "
    "squared error (exact in the infinite-width limit); Adam has no such exact map, its few "
    "hundred steps reach a comparable stage of training")


def _demo_figure(img, rows, path, suptitle):
    """Seed Fig. 1's layout: mappings on top, a row per distribution of B, sigma across."""
    plt = _pyplot()

    by_name = {r.name.split(" (at")[0]: r for r in rows}
    grid = [[("ground truth", img)] + [(n, by_name.get(n)) for n in
                                       ("no mapping", "basic", "positional")]]
    for dist in ("gaussian", "uniform"):
        grid.append([(f"{dist} B", None)] + [(f"{dist} sigma={s}",
                                              by_name.get(f"{dist} sigma={s}"))
                                             for s in (1, 10, 100)])
    fig, axes = plt.subplots(len(grid), 4, figsize=(11, 2.9 * len(grid)), layout="constrained")
    for axes_row, cells in zip(axes, grid):
        for ax, (title, item) in zip(axes_row, cells):
            ax.axis("off")
            if isinstance(item, np.ndarray):
                ax.imshow(np.clip(item, 0, 1), interpolation="nearest")
                ax.set_title(title, fontsize=9)
            elif item is not None:
                ax.imshow(np.clip(item.reconstruction, 0, 1), interpolation="nearest")
                ax.set_title(f"{title}\n{item.test_psnr:.2f} dB"
                             + (" (sub-lattice)" if item.note else ""), fontsize=9)
            elif title.endswith(" B"):
                ax.text(0.5, 0.5, title.replace(" B", "\nB ~ " + (
                    "N(0, sigma^2)" if "gauss" in title else "U(-sqrt3 sigma, sqrt3 sigma)")),
                    ha="center", va="center", fontsize=11)
    fig.suptitle(suptitle, fontsize=10)
    _save(fig, path)


def _curve_set(rows, x, x_label, psnr_x, setting):
    """One set of seed Fig. 2's curves for results.json: loss and held-out PSNR per mapping."""
    return {"setting": setting, "x": np.asarray(x).tolist(), "x_label": x_label,
            "mse": {r.name: np.asarray(r.training_mse).tolist() for r in rows},
            "test_psnr_x": np.asarray(psnr_x).tolist(),
            "test_psnr": {r.name: np.asarray(r.test_psnr_curve).tolist() for r in rows}}


def _curve_colour(name):
    """One colour per mapping across curve sets: by sigma for the random ones (the uniform
    dashed beside its Gaussian)."""
    base = name.split(" (at")[0].replace("uniform", "gaussian")
    order = ["no mapping", "basic", "positional", "gaussian sigma=1", "gaussian sigma=10",
             "gaussian sigma=100"]
    return f"C{order.index(base)}" if base in order else None


#: Why the two curve sets of seed Fig. 2 disagree (the figure's caption).
CURVES_CAPTION = (
    "Adam (top) rescales every parameter's step, so the widest frequencies fit fastest, "
    "as the seed says. Plain gradient flow (bottom, the exact infinite-width NTK) moves "
    "each kernel eigendirection at the rate of its eigenvalue: the largest is the mean "
    "colour for every sigma, and sigma = 100 spreads the rest thin, so it trains slowest.")


def _curves_figure(sets, path):
    """Seed Fig. 2: training loss and held-out PSNR per mapping, one row per curve set."""
    plt = _pyplot()

    order = [k for k in ("mlp_adam", "ntk_gradient_flow") if k in sets]
    fig, axes = plt.subplots(len(order), 2, figsize=(11, 3.6 * len(order) + 0.6),
                             layout="constrained", squeeze=False)
    for (loss_ax, psnr_ax), key in zip(axes, order):
        curves = sets[key]
        plot = loss_ax.loglog if key == "ntk_gradient_flow" else loss_ax.semilogy
        for name, mse in curves["mse"].items():
            style = dict(label=name, lw=1.2, ls="--" if "uniform" in name else "-",
                         color=_curve_colour(name))
            plot(curves["x"], mse, **style)
            psnr_ax.plot(curves["test_psnr_x"], curves["test_psnr"][name], **style)
        if key == "ntk_gradient_flow":
            psnr_ax.set_xscale("log")
        for ax in (loss_ax, psnr_ax):
            ax.set_xlabel(curves["x_label"], fontsize=8)
        loss_ax.set_ylabel("training MSE")
        psnr_ax.set_ylabel("held-out PSNR (dB)")
        loss_ax.set_title(curves["setting"], fontsize=9, loc="left")
        psnr_ax.legend(fontsize=7, ncol=2)
    fig.suptitle("seed Fig. 2: training loss and PSNR per input mapping", fontsize=10)
    fig.text(0.5, 0, "\n".join(textwrap.wrap(CURVES_CAPTION, 150)), ha="center", va="bottom",
             fontsize=7)
    fig.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))
    _save(fig, path)


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    plt = _pyplot()
    with warnings.catch_warnings():
        # titles show file names; glyphs the font lacks (e.g. CJK) render as boxes
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        fig.savefig(path, dpi=110)
    plt.close(fig)


def _encoder_for(args, train_sides):
    """The encoder of ``--encoding`` / ``--scale`` (its length checked by
    :func:`_check_scale`); by default the paper's scale carried to the training grid, per
    axis (``train_sides``: pixels of each axis, x first)."""
    from .recipes import PAPER_SCALES, make_encoder, matched_scale

    encoding = args.encoding
    scale = args.scale
    if scale is None and encoding in PAPER_SCALES:
        per_axis = tuple(matched_scale(encoding, side) for side in train_sides)
        scale = per_axis[0] if len(set(per_axis)) == 1 else per_axis
    elif scale is None:
        scale = 1.0
    return make_encoder(encoding, scale, random_state=args.seed)


def _check_scale(args, axes):
    """``--scale`` has one value or one per axis of ``axes`` (checked before any work)."""
    if isinstance(args.scale, tuple) and len(args.scale) != len(axes):
        raise ValueError(f"--scale has {len(args.scale)} values; give one, or {len(axes)} (one "
                         f"per axis {','.join(axes)}).")


def _read_photo(path, size):
    """The photo as read, and as fitted: the long side capped at ``size``, grey as RGB."""
    from .datasets import fit_long_side, load_image

    original = load_image(path)
    img = fit_long_side(original, size)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return original, img


def run_image(args):
    """Fit a user's image on its even pixels and reconstruct it, at its own aspect ratio."""
    size = args.size or IMAGE_SIDE
    _check_side(size, MIN_IMAGE_SIDE, MAX_SIDE)
    # every combination of arguments is checked before anything is read, printed or fitted
    _std_points(args)
    _check_scale(args, "xy")
    if args.tune and args.model != "ntk":
        raise ValueError("--tune searches the scale with the exact NTK: use --model ntk.")
    if args.tune and args.encoding in ("none", "basic"):
        raise ValueError(f"--tune searches the scale: the {args.encoding!r} encoding has "
                         "none; use gaussian, uniform or positional.")
    if args.keep is not None and (args.tune or args.std):
        raise ValueError(f"--keep trains on scattered pixels; --{'tune' if args.tune else 'std'}"
                         " works on the even / odd pixel lattices: use one or the other.")
    if args.upscale > MAX_UPSCALED_SIDE // MIN_IMAGE_SIDE:  # too large for any photo
        raise ValueError(f"--upscale {args.upscale} asks for sides over {MAX_UPSCALED_SIDE} "
                         "pixels on any image; keep it within "
                         f"{MAX_UPSCALED_SIDE} / the image's long side.")
    original, img = _read_photo(args.path, size)
    H, W = img.shape[:2]
    if min(H, W) < MIN_IMAGE_SIDE:
        fitted = "" if (H, W) == original.shape[:2] else f" ({W} x {H} once fitted to --size)"
        raise ValueError(f"the image is {original.shape[1]} x {original.shape[0]} pixels"
                         f"{fitted}; sides below {MIN_IMAGE_SIDE} cannot be split into even and "
                         "odd pixels.")
    if args.upscale * max(H, W) > MAX_UPSCALED_SIDE:  # the image's own side, not the cap
        raise ValueError(f"--upscale {args.upscale} on this {W} x {H} image asks for a "
                         f"{args.upscale * max(H, W)}-pixel side; keep it within "
                         f"{MAX_UPSCALED_SIDE}.")
    _check_upscale_cost(args, W, H)
    from .recipes import compare_encodings   # torch: seconds, after the cheap checks
    with _Output(args.out) as output:
        # x and y each span [0, 1): the paper's scale is carried per axis
        # the paper's scale carried to the training grid: the whole image's with --keep
        train_sides = (W, H) if args.keep is not None else ((W + 1) // 2, (H + 1) // 2)
        encoder = _encoder_for(args, train_sides)
        search = None
        if args.tune:
            search = _tune(args, img, encoder)
            _tune_figure(search, output.path("tune.png"), Path(args.path).name)
            encoder.set_params(scale=search.best_scale)
        n_train = (((H + 1) // 2) * ((W + 1) // 2) if args.keep is None
                   else int(round(args.keep * H * W)))
        print(f"fitting {args.model} with {encoder.encoding} features (scale "
              f"{_format_scale(encoder.scale)}) on {n_train} pixels of "
              f"a {W} x {H} image ...", file=sys.stderr)
        (row,) = compare_encodings(img, [(args.model, encoder)], model=args.model, t=args.t,
                                   max_iter=args.iters, random_state=args.seed, verbose=_verbose(),
                                   upscale=args.upscale, std_points=_std_points(args),
                                   keep=args.keep)
        _save_png(row.reconstruction, output.path("reconstruction.png"))
        if row.uncertainty is not None:
            _std_figure(row.uncertainty, output.path("std.png"), Path(args.path).name)
        if row.upscaled is not None:
            _save_png(row.upscaled, output.path(f"upscaled_x{args.upscale}.png"))
        report = {"input": str(args.path), "input_size": [original.shape[1], original.shape[0]],
                  "size": [W, H], "upscale": args.upscale, "model": args.model,
                  "encoding": encoder.encoding,
                  "scale": np.asarray(encoder.scale).tolist(), "t": args.t,
                  "seed": args.seed, "test_psnr": round(row.test_psnr, 3),
                  "fit_seconds": round(row.fit_seconds, 3),
                  "protocol": ("train on pixels [::2, ::2], test on [1::2, 1::2]"
                               if args.keep is None else
                               f"train on a random {args.keep:g} of the pixels (seed "
                               f"{args.seed}), test on the rest")}
        if row.uncertainty is not None:
            report.update(row.uncertainty.as_dict())
        if search is not None:
            report["tune"] = search.as_dict()
        output.path("report.json").write_text(json.dumps(report, indent=2))
        _figure([("input", img), (f"reconstruction\n{row.test_psnr:.2f} dB", row.reconstruction)],
                output.path("figure.png"), Path(args.path).name)
        written = output.commit()
    print(f"held-out PSNR {row.test_psnr:.2f} dB in {row.fit_seconds:.1f} s; wrote "
          + ", ".join(str(p) for p in written))
    return 0


def run_video(args):
    """Fit every k-th frame of a clip and interpolate the frames in between."""
    from .datasets import load_video, make_video

    size = args.size or (SYNTHETIC_SIDE if args.synthetic else MAX_VIDEO_SIDE)
    _check_side(size, 4, MAX_VIDEO_SIDE)
    _std_points(args)                     # every argument checked before the clip is read
    _check_scale(args, "xyt")
    if args.synthetic:
        video = make_video(n_frames=args.frames, size=size, random_state=args.seed)
        source = "synthetic"
    else:  # frames at their own size and aspect ratio, the long side capped at --size
        video = load_video(args.path, max_frames=args.frames, max_side=size)
        source = str(args.path)
    if min(video.shape[1:3]) < 4:
        raise ValueError(f"frames of {video.shape[2]} x {video.shape[1]} pixels are too small; "
                         "sides of at least 4 pixels are needed.")
    from .recipes import check_frames, interpolate_video   # torch: after the clip is read
    T = video.shape[0]
    keep_every = args.keep_every or 10
    if args.keep_frames is not None:
        trained = check_frames(args.keep_frames, T)
        which = f"frames {','.join(map(str, trained))}"
    else:
        if T <= keep_every:
            raise ValueError(f"the clip has {T} frames; --keep-every {keep_every} needs more "
                             "than that to hold any frame out.")
        trained = np.arange(0, T, keep_every)
        which = f"every {_ordinal(keep_every)} frame"
    with _Output(args.out) as output:
        side = max(video.shape[1:3])
        encoder = _encoder_for(args, (side, side, side))
        print(f"fitting {args.model} on {which} of {T} frames ...", file=sys.stderr)
        result = interpolate_video(video, encoder, keep_every=keep_every,
                                   keep_frames=args.keep_frames, model=args.model,
                                   t=args.t, max_iter=args.iters, random_state=args.seed,
                                   verbose=_verbose(), std_points=_std_points(args))
        recon, per_frame = result.reconstruction, result.per_frame_psnr
        _save_gif(recon, output.path("reconstruction.gif"))
        by_distance = {d: round(p, 3) for d, p in result.psnr_by_distance().items()}
        report = {"input": source, "frames": int(video.shape[0]),
                  "size": [int(video.shape[2]), int(video.shape[1])],
                  "model": args.model, "encoding": encoder.encoding,
                  "scale": np.asarray(encoder.scale).tolist(),
                  "t": args.t, "seed": args.seed,
                  "training_frames": trained.tolist(),
                  "held_out_psnr": round(result.held_out_psnr, 3),
                  "fit_seconds": round(result.fit_seconds, 3),
                  "per_frame_psnr": [round(float(p), 3) for p in per_frame],
                  "distance_to_training_frame": result.distance.tolist(),
                  "psnr_by_distance": by_distance}
        std_by_distance = None
        if result.uncertainty is not None:
            report.update(result.uncertainty.as_dict())
            report["per_frame_std"] = [round(float(s), 6) for s in result.uncertainty.std]
            std_by_distance = {d: round(s, 6) for d, s in result.std_by_distance().items()}
            report["std_by_distance"] = std_by_distance
        output.path("report.json").write_text(json.dumps(report, indent=2))
        _distance_figure(by_distance, output.path("psnr_vs_distance.png"), source,
                         std_by_distance)
        show = np.setdiff1d(np.arange(T), trained)[:3]
        panels = [(f"frame {k}", video[k]) for k in show]
        panels += [(f"frame {k}\n{per_frame[k]:.1f} dB", recon[k]) for k in show]
        _figure(panels, output.path("figure.png"), f"held-out frames ({source})")
        written = output.commit()
    print(f"held-out-frame PSNR {result.held_out_psnr:.2f} dB in {result.fit_seconds:.1f} s; "
          "wrote " + ", ".join(str(p) for p in written))
    return 0


def _distance_figure(by_distance, path, source, std_by_distance=None):
    """Seed Fig. 3's reading: PSNR (and the ensemble's std) against the distance to the
    nearest training frame."""
    plt = _pyplot()

    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    ax.plot(list(by_distance), list(by_distance.values()), "o-", label="PSNR")
    ax.set(xlabel="frames to the nearest training frame", ylabel="mean PSNR (dB)",
           title=f"interpolation quality ({Path(source).name})")
    if std_by_distance is not None:
        right = ax.twinx()
        right.plot(list(std_by_distance), list(std_by_distance.values()), "s--", color="C3",
                   label="predictive std")
        right.set_ylabel("mean predictive std", color="C3")
    _save(fig, path)


def _std_figure(uncertainty, path, source):
    """The ensemble's std at held-out pixels, with the stride and the +-2 std coverage."""
    plt = _pyplot()

    fig, ax = plt.subplots(figsize=(5, 4.2), layout="constrained")
    shown = ax.imshow(uncertainty.std, cmap="magma", interpolation="nearest")
    fig.colorbar(shown, ax=ax, label="predictive std")
    where = ("every held-out pixel" if uncertainty.stride == 1 else
             f"every {_ordinal(uncertainty.stride)} held-out pixel per axis")
    # wrapped: a long file name ran past the figure's edge
    title = textwrap.wrap(f"{source}: ensemble std at {where}", 50)
    title.append(f"{100 * uncertainty.coverage:.1f}% of errors within +-2 std")
    ax.set_title("\n".join(title), fontsize=9)
    ax.axis("off")
    _save(fig, path)


def _tune(args, img, encoder):
    """``--tune``: the scale for this image by cross-validation inside its training pixels."""
    from .recipes import tune_scale

    if min(img.shape[:2]) < 2 * MIN_IMAGE_SIDE:
        raise ValueError(f"--tune splits the training pixels once more: the image needs sides "
                         f"of at least {2 * MIN_IMAGE_SIDE} pixels.")
    print(f"tuning the scale of {encoder.encoding} features ...", file=sys.stderr)
    search = tune_scale(img, encoder, t=args.t, verbose=_verbose())
    for scale, value in zip(search.scales, search.cv_psnr):
        mark = "  <- chosen" if scale == search.best_scale else ""
        print(f"scale {_format_scale(scale):>14}  CV PSNR {value:6.2f} dB{mark}")
    if search.note:
        print(f"note: {search.note}")
    return search


def _tune_figure(search, path, source):
    """The cross-validation curve of ``--tune``: PSNR against the scale."""
    plt = _pyplot()

    fig, ax = plt.subplots(figsize=(5, 3.4), layout="constrained")
    first = [np.atleast_1d(s)[0] for s in search.scales]
    ax.semilogx(first, search.cv_psnr, "o-")
    ax.axvline(np.atleast_1d(search.best_scale)[0], color="C3", ls="--", label="chosen")
    ax.set(xlabel="scale (x axis, cycles per unit length)", ylabel="validation PSNR (dB)",
           title=f"{source}: Fourier scale by cross-validation")
    ax.legend()
    _save(fig, path)


def _check_upscale_cost(args, W, H):
    """Say what an NTK upscale past the lattice path costs before starting, and refuse one
    over the budget. Up to ``max_fine_factor`` times the training lattice's density the
    upscaled image is one FFT convolution; past it every output pixel is a kernel row
    (a 12 x 8 photo at --upscale 600: 34.6 million points, 5 minutes)."""
    limit = SolverSettings().max_fine_factor
    refinement = args.upscale * (1 if args.keep is not None else 2)
    if args.model != "ntk" or refinement <= limit:
        return
    points = W * H * args.upscale ** 2
    n_train = (W * H * args.keep) if args.keep is not None else ((W + 1) // 2) * ((H + 1) // 2)
    seconds = points * (POINT_SECONDS + ENTRY_SECONDS * n_train)
    fast = limit // (refinement // args.upscale)
    what = (f"--upscale {args.upscale} refines the training pixels {refinement}-fold, past the "
            f"{limit}-fold one FFT convolution serves: its {W * args.upscale} x "
            f"{H * args.upscale} pixels are predicted point by point, about "
            f"{duration(seconds)}")
    if seconds > BUDGET_SECONDS:
        raise ValueError(f"{what}, over the {duration(BUDGET_SECONDS)} budget; use "
                         f"--upscale {fast} or less.")
    print(f"note: {what} (--upscale {fast} or less: one convolution).", file=sys.stderr)


def _std_points(args):
    """``--std-points`` when ``--std`` was given, after checking the model has a std."""
    if not args.std:
        return None
    if args.model != "ntk":
        raise ValueError("--std is the infinite-width ensemble's spread: use --model ntk.")
    return args.std_points


def _save_gif(video, path):
    from PIL import Image

    frames = [Image.fromarray(np.round(np.clip(f, 0, 1) * 255).astype(np.uint8)) for f in video]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=80, loop=0)


def _known_pixels(args, img, original):
    """The known pixels of ``--mask`` (of the photo's ``original`` shape, resized as the
    photo) or outside ``--hole``."""
    from .datasets import fit_long_side, load_image
    from .recipes import check_known

    H, W = img.shape[:2]
    if args.hole is not None:
        x, y, w, h = args.hole
        if x + w > W or y + h > H:
            raise ValueError(f"--hole {x},{y},{w},{h} reaches past the {W} x {H} image.")
        known = np.ones((H, W), bool)
        known[y:y + h, x:x + w] = False
        return check_known(known, (H, W))
    mask = load_image(args.mask)
    if mask.ndim == 3:
        mask = mask.mean(axis=2)
    if mask.shape != original:
        raise ValueError(f"the mask is {mask.shape[1]} x {mask.shape[0]} pixels but the photo "
                         f"{original[1]} x {original[0]}; give a mask of the photo's size.")
    return check_known(fit_long_side(mask, max(H, W)) > 0.5, (H, W))


def run_inpaint(args):
    """Fill the unknown pixels of a photo from its known ones."""
    size = args.size or IMAGE_SIDE
    _check_side(size, MIN_IMAGE_SIDE, MAX_SIDE)
    _std_points(args)                     # every argument checked before any work
    _check_scale(args, "xy")
    original, img = _read_photo(args.path, size)
    known = _known_pixels(args, img, original.shape[:2])
    from .recipes import inpaint          # torch: after the photo and the mask are read
    H, W = img.shape[:2]
    with _Output(args.out) as output:
        encoder = _encoder_for(args, (W, H))
        print(f"fitting {args.model} with {encoder.encoding} features (scale "
              f"{_format_scale(encoder.scale)}) on the {int(known.sum())} known pixels of a "
              f"{W} x {H} image ...", file=sys.stderr)
        result = inpaint(np.where(known[..., None], img, 0.0), known, encoder,
                         model=args.model, t=args.t, max_iter=args.iters,
                         random_state=args.seed, verbose=_verbose(), std_points=_std_points(args),
                         truth=img if args.hole is not None else None)
        _save_png(result.filled, output.path("filled.png"))
        report = {"input": str(args.path), "size": [W, H], "model": args.model,
                  "encoding": encoder.encoding, "scale": np.asarray(encoder.scale).tolist(),
                  "t": args.t, "seed": args.seed, "unknown_pixels": int((~known).sum()),
                  **({"mask": str(args.mask)} if args.mask else {"hole": list(args.hole)}),
                  **result.as_dict()}
        panels = [("known pixels", np.where(known[..., None], img, 1.0)),
                  ("filled" + (f"\n{result.hole_psnr:.2f} dB in the hole"
                               if result.hole_psnr is not None else ""), result.filled)]
        if result.std is not None:
            _inpaint_std_figure(result, known, output.path("std.png"), Path(args.path).name)
        output.path("report.json").write_text(json.dumps(report, indent=2))
        _figure(panels, output.path("figure.png"), Path(args.path).name)
        written = output.commit()
    score = "" if result.hole_psnr is None else f"PSNR in the hole {result.hole_psnr:.2f} dB; "
    print(f"{score}filled {int((~known).sum())} pixels in {result.fit_seconds:.1f} s; wrote "
          + ", ".join(str(p) for p in written))
    return 0


def _inpaint_std_figure(result, known, path, source):
    """The ensemble's std on a strided map of the photo, the unknown pixels outlined."""
    plt = _pyplot()

    fig, ax = plt.subplots(figsize=(5, 4.2), layout="constrained")
    shown = ax.imshow(result.std, cmap="magma", interpolation="nearest")
    fig.colorbar(shown, ax=ax, label="predictive std")
    s = result.stride
    ax.contour(~known[::s, ::s], levels=[0.5], colors="cyan", linewidths=0.8)
    where = "unknown pixels" + (f", every {_ordinal(s)}" if s > 1 else "")
    how = "estimated" if result.std_method == "lattice" else "exact"
    ax.set_title(f"{source}\nensemble std ({how}) at the {where}", fontsize=9)
    ax.axis("off")
    _save(fig, path)


COMMANDS = {"demo": run_demo, "image": run_image, "video": run_video, "inpaint": run_inpaint}


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C seen by the CLI's own handler.

    A subclass, not KeyboardInterrupt itself: CPython marks the process as killed
    by SIGINT (exit status -2 whatever ``main`` returns) when a bare
    KeyboardInterrupt leaves code it runs through ``PyRun_*``, as torch's lazy
    import does; the subclass is caught everywhere KeyboardInterrupt is.
    """


class _Interrupts:
    """Ctrl-C as a flag as well as an exception.

    skorch catches KeyboardInterrupt inside training and returns normally (it is
    how its early stopping works), so a fit cut short would look complete: the
    flag, set by our own handler, is checked before any result is written. The
    flag also names an interrupt that an import wrapped in another exception
    (``RuntimeError: Error calling __set_name__``).
    """

    def __init__(self):
        self.seen = False

    def handler(self, signum, frame):
        self.seen = True
        raise _Interrupted

    def check(self):
        if self.seen:
            raise _Interrupted


_INTERRUPTS = _Interrupts()


def _interrupted(command):
    # on a terminal a progress bar may hold the line (they show there only): start a new one
    start = "\n" if sys.stderr.isatty() else ""
    print(f"{start}{command}: interrupted", file=sys.stderr)
    return 130


def main(argv=None):
    """Entry point of the ``skfourier`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command = f"skfourier {args.command}"
    previous = None
    try:
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, _INTERRUPTS.handler)
        _INTERRUPTS.seen = False
        return COMMANDS[args.command](args)
    except StdBudgetError as exc:
        print(f"{command}: error: --std at {exc.points:,} points would take about "
              f"{duration(exc.seconds)}, over the {duration(exc.budget)} budget; use --std-points "
              f"{exc.within} or fewer.", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, OSError) as exc:
        if _INTERRUPTS.seen:
            return _interrupted(command)
        print(f"{command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print(f"{command}: error: not enough memory; use a smaller --size "
              "or --model ntk (exact and O(n) memory on pixel grids).", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return _interrupted(command)
    except Exception:
        if _INTERRUPTS.seen:  # Ctrl-C inside an import comes back as another exception
            return _interrupted(command)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
