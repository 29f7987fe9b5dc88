"""Exact NTK regression of whole images: the FFT-structured solver vs dense and Nystroem.

The sample image (china.jpg) resized to 2s x 2s, training on the s x s even
lattice, testing on the odd one; Gaussian features at the matched scale
10 s / 256; depth-4 ReLU NTK, RGB, alpha = 1e-6. Finite t uses the demo's
flow scale c = t / N = 1000 / (48 * 48 * 3).
"""

import time

import numpy as np
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import Ridge

from _harness import peak_memory, row, seconds
from skfourier import FourierFeatureTransformer, NTKRegressor
from skfourier.recipes import DEMO_FLOW_SCALE
from skfourier.datasets import image_to_regression, load_sample_image
from skfourier.kernels import ntk_kernel
from skfourier.metrics import psnr
from skfourier.model_selection import PixelGridSplit


def _problem(side):
    X, y = image_to_regression(load_sample_image("china", size=2 * side))
    train, test = next(PixelGridSplit().split(X))
    enc = FourierFeatureTransformer(scale=10 * side / 256, random_state=0)
    return X, y, train, test, enc


def _exact(side, finite, solver):
    X, y, train, test, enc = _problem(side)
    t = DEMO_FLOW_SCALE * y[train].size if finite else None
    start = time.perf_counter()
    model = NTKRegressor(depth=4, weight_std=np.sqrt(2), alpha=1e-6, t=t, encoder=enc,
                         solver=solver).fit(X[train], y[train])
    fitted = time.perf_counter() - start
    pred = model.predict(X[test])
    total = time.perf_counter() - start
    return total, fitted, psnr(y[test], pred), model.n_iter_


def _nystroem(side, landmarks=4096):
    X, y, train, test, enc = _problem(side)
    F = enc.fit(X).transform(X)
    kernel = dict(depth=4, weight_std=np.sqrt(2))
    start = time.perf_counter()
    idx = np.random.RandomState(0).choice(train, landmarks, replace=False)
    # sklearn's Nystroem on the same (precomputed) kernel: K_mm to fit, K_nm to embed
    ny = Nystroem(kernel="precomputed", n_components=landmarks, random_state=0)
    ny.fit(ntk_kernel(F[idx], **kernel))
    ridge = Ridge(alpha=1e-6).fit(ny.transform(ntk_kernel(F[train], F[idx], **kernel)), y[train])
    pred = ridge.predict(ny.transform(ntk_kernel(F[test], F[idx], **kernel)))
    return time.perf_counter() - start, psnr(y[test], pred)


def run(quick=False):
    rows, fft_at = [], {}
    sides = (64, 128) if quick else (128, 256, 512, 1024)
    for side in sides:
        for finite in (False, True):
            (total, fitted, score, iters), grown = peak_memory(_exact, side, finite, "fft")
            label = "t = c N" if finite else "t = None"
            if not finite:
                fft_at[side] = total, grown
            rows.append(row("exact NTK, fft", f"{side}^2 train ({side * side:,} px), {label}",
                            total, np.nan, "", "256^2 <= 10 s, 512^2 <= 60 s, 1024^2 <= 600 s",
                            f"fit {fitted:.1f} s, {iters} iterations, peak {grown / 1e9:.2f} GB, "
                            f"test PSNR {score:.2f} dB"))
    dense_side = 64 if quick else 128
    (total, fitted, score, _), grown = peak_memory(_exact, dense_side, False, "cholesky")
    fft_total = _exact(dense_side, False, "fft")[0]
    big = 256 if 256 in fft_at else max(fft_at)   # the first lattice dense cannot hold
    rows.append(row("dense vs fft", f"{dense_side}^2 train, t = None", fft_total, total,
                    "dense Cholesky (largest size that fits)", "",
                    f"dense PSNR {score:.2f} dB, peak {grown / 1e9:.2f} GB; at 256^2 it would "
                    f"need ~{total * (256 / dense_side) ** 6:.0f} s and "
                    f"{2 * 8 * 65536 ** 2 / 1e9:.0f} GB",
                    headline=(f"exact NTK, {big} x {big} training grid",
                              f"{seconds(fft_at[big][0])}, {fft_at[big][1] / 1e9:.1f} GB",
                              f"dense Cholesky at {dense_side} x {dense_side} "
                              f"{seconds(total)}; at {big} x {big} "
                              f"~{seconds(total * (big / dense_side) ** 6)} and "
                              f"{2 * 8 * big ** 4 / 1e9:.0f} GB (extrapolated)")))
    landmarks = 1024 if quick else 4096
    for side in ((64,) if quick else (128, 256)):
        ny_time, ny_psnr = _nystroem(side, landmarks=landmarks)
        total, _, score, _ = _exact(side, False, "fft")
        rows.append(row("exact fft vs Nystroem", f"{side}^2 train, t = None", total, ny_time,
                        f"Nystroem (sklearn, {landmarks} landmarks) + Ridge",
                        "higher PSNR, less time",
                        f"PSNR exact {score:.2f} dB vs Nystroem {ny_psnr:.2f} dB",
                        headline=(f"exact NTK vs Nystroem, {side} x {side} training grid",
                                  f"{seconds(total)}, {score:.2f} dB",
                                  f"Nystroem ({landmarks} landmarks) + Ridge "
                                  f"{seconds(ny_time)}, {ny_psnr:.2f} dB")
                        if side == 256 else None))
    return rows
