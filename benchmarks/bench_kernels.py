"""ntk_kernel (n = 4096, 512-dim Fourier features) vs one GEMM of the same shape."""

import numpy as np
import torch

from _harness import best_time, row, seconds
from skfourier import FourierFeatureTransformer
from skfourier.kernels import ntk_kernel


def run(quick=False):
    n = 1024 if quick else 4096
    coords = np.random.RandomState(0).uniform(size=(n, 2))
    F = FourierFeatureTransformer(n_frequencies=256, random_state=0).fit_transform(coords)
    tf = torch.from_numpy(F)
    t_gemm = best_time(lambda: tf @ tf.T)
    rows = []
    for depth in (1, 3):
        t = best_time(lambda: ntk_kernel(F, depth=depth), repeat=3)
        rows.append(row("ntk_kernel", f"n={n}, d=512, depth={depth}, float64", t, t_gemm,
                        "GEMM F F^T (torch, float64)", "ours <= 2x GEMM",
                        f"ours / GEMM = {t / t_gemm:.2f}",
                        headline=(f"NTK kernel, depth {depth}, n = {n:,}, d = 512", seconds(t),
                                  f"one GEMM of that shape {seconds(t_gemm)} (ours "
                                  f"{t / t_gemm:.2f}x)") if depth == 3 else None))
    # a cross kernel has no symmetry to halve the work: every entry goes through the layers
    t = best_time(lambda: ntk_kernel(F, F.copy(), depth=3), repeat=3)
    rows.append(row("ntk_kernel, cross K(X, Y)", f"n={n}, d=512, depth=3, float64", t, t_gemm,
                    "GEMM F F^T (torch, float64)", "", f"ours / GEMM = {t / t_gemm:.2f}"))
    return rows
