"""Masked lattices: exact fits of any subset of a grid, against the full lattice and dense.

Rows 1-2: the issue's targets (256^2 photo, random 50% split; 512^2 photo with a
128^2 hole), fit + predict of the held-out pixels in GEMM-4096 units, against the
dense Cholesky on the same protocol at 128^2 (the largest that fits comfortably).
Then the iteration table: a 128^2 training grid (china.jpg at 128 x 128), depth 4,
alpha 1e-6, t = None, the kernel at 1, 10 and 100 "paper sigma" (the scale times
128 / 256) for random masks keeping 90 / 50 / 10%, a 32^2 and a 64^2 hole and a
KFold band, each against the full lattice's CG count on the same grid (ratio
masked / full). Finite t is a Lanczos run whose length does not depend on the mask
(35 / 20 / 15 steps at scales 1 / 10 / 100 and the demo's t, masked or not).
Before the table: the std at every pixel of a 64^2 hole in a 256^2 photo (the
hole estimate, against exact solves at random hole pixels: their time per point
times the hole's pixels, and the largest relative error there), and
``cross_val_score`` with ``KFold(5, shuffle=True)`` on a 256^2 photo.
``--large`` adds a 1024^2 photo with a random 25% missing and a 256^2 x 100
video trained on 12 irregular frames (peak memory of each in a fresh process).
"""

import time

import numpy as np
import torch
from sklearn.model_selection import KFold, cross_val_score, train_test_split

from _harness import best_time, peak_memory, row
from _harness import seconds as _seconds
from skfourier import FourierFeatureTransformer, NTKRegressor
from skfourier.datasets import (image_to_regression, load_sample_image, make_video,
                                video_to_regression)
from skfourier.metrics import psnr, psnr_scorer

_GEMM = "one float64 GEMM 4096^3"
# 12 irregular kept frames of 100 (gaps of 7 to 12 frames)
_FRAMES = (0, 7, 15, 24, 31, 40, 52, 60, 71, 80, 88, 99)


def _model(scale, solver="auto", depth=4):
    return NTKRegressor(depth=depth, weight_std=np.sqrt(2), alpha=1e-6, solver=solver,
                        max_iter=5000,
                        encoder=FourierFeatureTransformer(scale=scale, random_state=0))


def _fit_predict(X, y, train, test, scale, solver="auto"):
    model = _model(scale, solver)
    start = time.perf_counter()
    pred = model.fit(X[train], y[train]).predict(X[test])
    return time.perf_counter() - start, model, psnr(y[test], pred)


def _centre_hole(side, hole):
    r, c = np.divmod(np.arange(side * side), side)
    lo = (side - hole) // 2
    return (r >= lo) & (r < lo + hole) & (c >= lo) & (c < lo + hole)


def _hole_std(side, hole, scale, checks):
    """Fit around a centred hole and the std at all its pixels; exact std at ``checks``
    random hole pixels: (seconds, exact seconds per point, largest relative error, model)."""
    X, y = image_to_regression(load_sample_image("china", size=side))
    inside = _centre_hole(side, hole)
    model = _model(scale)
    start = time.perf_counter()
    model.fit(X[~inside], y[~inside])
    _, std = model.predict(X[inside], return_std=True)
    seconds = time.perf_counter() - start
    method = model.solver_info_["std_method"]
    at = np.random.default_rng(1).choice(inside.sum(), checks, replace=False)
    model.set_params(std_method="exact")
    start = time.perf_counter()
    _, exact = model.predict(X[inside][at], return_std=True)
    per_point = (time.perf_counter() - start) / checks
    return seconds, per_point, np.abs(std[at] / exact - 1).max(), method


def _large_photo():
    """1024^2 photo, a random 25% of the pixels missing: (seconds, CG steps, PSNR)."""
    X, y = image_to_regression(load_sample_image("china", size=1024))
    train, test = train_test_split(np.arange(len(X)), test_size=0.25, random_state=0)
    seconds, model, score = _fit_predict(X, y, train, test, 40.0)
    return seconds, model.n_iter_, score


def _irregular_video(side):
    """side^2 x 100 frames, 12 irregular frames kept: (seconds, CG steps, PSNR,
    preconditioner)."""
    X, y = video_to_regression(make_video(n_frames=100, size=side))
    kept = np.isin(np.arange(len(X)) // side ** 2, _FRAMES)    # rows run frame by frame
    model = _model((10.0, 10.0, 0.5), depth=3)
    start = time.perf_counter()
    pred = model.fit(X[kept], y[kept]).predict(X[~kept])
    return (time.perf_counter() - start, model.n_iter_, psnr(y[~kept], pred),
            model.solver_info_["preconditioner"])


def _masks(side):
    n = side * side
    r, c = np.divmod(np.arange(n), side)
    rng = np.random.default_rng(0)

    def random(p):
        return np.sort(rng.permutation(n)[:int(p * n)])

    def hole(h):
        return np.flatnonzero(~_centre_hole(side, h))

    return {"random 90%": random(0.9), "random 50%": random(0.5), "random 10%": random(0.1),
            f"{side // 4}^2 hole": hole(side // 4), f"{side // 2}^2 hole": hole(side // 2),
            "KFold(5) band": np.flatnonzero((r < side // 5) | (r >= 2 * side // 5))}


def run(quick=False, large=False):
    a = torch.randn(4096, 4096, dtype=torch.float64)
    gemm = best_time(lambda: a @ a)
    rows = []
    side = 64 if quick else 256
    X, y = image_to_regression(load_sample_image("china", size=side))
    train, test = train_test_split(np.arange(len(X)), test_size=0.5, random_state=0)
    ours, model, ours_psnr = _fit_predict(X, y, train, test, 10.0 * side / 256)
    small = 64 if quick else 128
    Xs, ys = image_to_regression(load_sample_image("china", size=small))
    tr, te = train_test_split(np.arange(len(Xs)), test_size=0.5, random_state=0)
    dense, _, dense_psnr = _fit_predict(Xs, ys, tr, te, 10.0 * small / 256, "cholesky")
    rows.append(row("masked fit + predict", f"{side}^2 photo, random 50% split, scale "
                    f"{10 * side / 256:g}, t = None", ours, gemm, _GEMM,
                    "<= 2.5 GEMM units", f"{ours / gemm:.1f} units, "
                    f"{model.solver_info_['preconditioner']}, {model.n_iter_} CG steps, "
                    f"{ours_psnr:.2f} dB; dense Cholesky at {small}^2 (n = {len(tr)}): "
                    f"{dense:.1f} s, {dense_psnr:.2f} dB",
                    headline=(f"exact NTK, {side} x {side} photo, random half of the pixels",
                              f"{_seconds(ours)}, {ours_psnr:.2f} dB",
                              f"dense Cholesky at {small} x {small}: {_seconds(dense)}, "
                              f"{dense_psnr:.2f} dB")))
    if not quick:
        X, y = image_to_regression(load_sample_image("china", size=512))
        hole = _centre_hole(512, 128)
        ours, model, ours_psnr = _fit_predict(X, y, np.flatnonzero(~hole),
                                              np.flatnonzero(hole), 20.0)
        rows.append(row("masked fit + predict", "512^2 photo, 128^2 hole (n = 245,760), "
                        "scale 20, t = None", ours, gemm, _GEMM,
                        "<= 15 GEMM units", f"{ours / gemm:.1f} units, "
                        f"{model.solver_info_['preconditioner']}, {model.n_iter_} CG steps, "
                        f"{ours_psnr:.2f} dB inside the hole"))
    side, hole = (64, 32) if quick else (256, 64)
    seconds, per_point, error, method = _hole_std(side, hole, 10.0, 4 if quick else 16)
    rows.append(row("std over a hole", f"{side}^2 photo, {hole}^2 hole, std at all "
                    f"{hole * hole} hole pixels, scale 10, t = None", seconds,
                    per_point * hole * hole, f"exact std at every hole pixel ({per_point:.2f} "
                    "s a point, timed at random ones)", "<= 60 s",
                    f"fit + std, std_method {method!r}; largest error against the exact std "
                    f"at {4 if quick else 16} random hole pixels {error:.2%}"))
    side = 64 if quick else 256
    X, y = image_to_regression(load_sample_image("china", size=side))
    start = time.perf_counter()
    scores = cross_val_score(_model(10.0 * side / 256), X, y, scoring=psnr_scorer,
                             cv=KFold(5, shuffle=True, random_state=0))
    seconds = time.perf_counter() - start
    rows.append(row("cross_val_score", f"{side}^2 photo, KFold(5, shuffle=True), scale "
                    f"{10 * side / 256:g}, t = None", seconds, gemm, _GEMM,
                    "<= 12 GEMM units", f"{seconds / gemm:.1f} units, 5 masked fits of 80% "
                    f"of the pixels, PSNR {scores.mean():.2f} +- {scores.std():.2f} dB"))
    if large:
        (seconds, steps, score), grown = peak_memory(_large_photo)
        rows.append(row("masked fit + predict", "1024^2 photo, random 25% missing (n = "
                        "786,432), scale 40, t = None", seconds, gemm, _GEMM,
                        "<= 3 min, < 4 GB", f"{seconds / gemm:.1f} units, {steps} CG steps, "
                        f"{score:.2f} dB, peak {grown / 1e9:.2f} GB"))
        # the kept frames alone (dense in time, Toeplitz in space), not the 100-frame grid
        (seconds, steps, score, preconditioner), grown = peak_memory(_irregular_video, 256)
        rows.append(row("masked fit + predict", "video 256^2 x 100 frames, 12 irregular "
                        f"frames kept {_FRAMES}, scale (10, 10, 0.5), depth 3, t = None",
                        seconds, gemm, _GEMM, "<= 2 min",
                        f"{seconds / gemm:.1f} units, {preconditioner}, {steps} CG steps, "
                        f"{score:.2f} dB on the other 88 frames, peak {grown / 1e9:.2f} GB",
                        headline=("exact NTK, video 256 x 256, 12 irregular of 100 frames",
                                  f"{_seconds(seconds)}, {grown / 1e9:.1f} GB",
                                  f"one 4096^3 GEMM {_seconds(gemm)}: ours "
                                  f"{seconds / gemm:.0f} units")))
    side = 32 if quick else 128
    X, y = image_to_regression(load_sample_image("china", size=side))
    for sigma in (1.0, 10.0, 100.0):
        scale = sigma * side / 256
        full, full_model, _ = _fit_predict(X, y, np.arange(len(X)), np.arange(1), scale,
                                           "fft")
        for name, train in _masks(side).items():
            seconds, model, _ = _fit_predict(X, y, train, np.arange(1), scale, "fft")
            rows.append(row("masked CG iterations", f"{side}^2 grid, {name}, paper sigma "
                            f"{sigma:g}", seconds, full, "full lattice, same grid", "",
                            f"{model.n_iter_} vs {full_model.n_iter_} steps "
                            f"({model.n_iter_ / full_model.n_iter_:.1f}x); "
                            f"{model.solver_info_['preconditioner']} vs "
                            f"{full_model.solver_info_['preconditioner']}"))
    return rows
