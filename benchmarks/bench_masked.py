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
"""

import time

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from _harness import best_time, row
from skfourier import FourierFeatureTransformer, NTKRegressor
from skfourier.datasets import image_to_regression, load_sample_image
from skfourier.metrics import psnr


def _fit_predict(X, y, train, test, scale, solver="auto"):
    model = NTKRegressor(depth=4, weight_std=np.sqrt(2), alpha=1e-6, solver=solver,
                         max_iter=5000,
                         encoder=FourierFeatureTransformer(scale=scale, random_state=0))
    start = time.perf_counter()
    pred = model.fit(X[train], y[train]).predict(X[test])
    return time.perf_counter() - start, model, psnr(y[test], pred)


def _masks(side):
    n = side * side
    r, c = np.divmod(np.arange(n), side)
    rng = np.random.default_rng(0)

    def random(p):
        return np.sort(rng.permutation(n)[:int(p * n)])

    def hole(h):
        lo = (side - h) // 2
        return np.flatnonzero(~((r >= lo) & (r < lo + h) & (c >= lo) & (c < lo + h)))

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
                    f"{10 * side / 256:g}, t = None", ours, gemm, "one float64 GEMM 4096^3",
                    "<= 2.5 GEMM units", f"{ours / gemm:.1f} units, "
                    f"{model.solver_info_['preconditioner']}, {model.n_iter_} CG steps, "
                    f"{ours_psnr:.2f} dB; dense Cholesky at {small}^2 (n = {len(tr)}): "
                    f"{dense:.1f} s, {dense_psnr:.2f} dB"))
    if not quick:
        X, y = image_to_regression(load_sample_image("china", size=512))
        r, c = np.divmod(np.arange(len(X)), 512)
        hole = (r >= 192) & (r < 320) & (c >= 192) & (c < 320)
        ours, model, ours_psnr = _fit_predict(X, y, np.flatnonzero(~hole),
                                              np.flatnonzero(hole), 20.0)
        rows.append(row("masked fit + predict", "512^2 photo, 128^2 hole (n = 245,760), "
                        "scale 20, t = None", ours, gemm, "one float64 GEMM 4096^3",
                        "<= 15 GEMM units", f"{ours / gemm:.1f} units, "
                        f"{model.solver_info_['preconditioner']}, {model.n_iter_} CG steps, "
                        f"{ours_psnr:.2f} dB inside the hole"))
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
