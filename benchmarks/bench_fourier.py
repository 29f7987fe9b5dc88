"""FourierFeatureTransformer.transform vs RBFSampler.transform and the np.cos bound.

n = 10^6 coordinates, 512 output columns, float32 and float64. The bound is
one cos pass over phases of the output's shape into a new array, as the
transformers return one: every output entry needs one transcendental and one
first-touch write. Both numpy's and torch's cos are timed and the faster is
the bound (numpy in float32, torch in float64 on these machines); the
transformer uses the same library per dtype.
"""

import numpy as np
import torch
from sklearn.kernel_approximation import RBFSampler

from _harness import best_time, row, seconds
from skfourier import FourierFeatureTransformer


def run(quick=False):
    n = 100_000 if quick else 1_000_000
    width = 512
    rows = []
    for dtype in (np.float32, np.float64):
        X = np.random.RandomState(0).uniform(size=(n, 2)).astype(dtype)
        ours = FourierFeatureTransformer(n_frequencies=width // 2, random_state=0).fit(X)
        rbf = RBFSampler(n_components=width, random_state=0).fit(X)
        t_ours = best_time(lambda: ours.transform(X))
        t_rbf = best_time(lambda: rbf.transform(X))
        # the bound allocates its output too: first-touch page faults of a fresh
        # n x 512 array are a large share of the cost on these machines
        big = np.random.RandomState(1).uniform(size=(n, width)).astype(dtype)
        tbig = torch.from_numpy(big)
        bounds = {"np.cos": best_time(lambda: np.cos(big)),
                  "torch.cos": best_time(lambda: torch.cos(tbig))}
        fastest = min(bounds, key=bounds.get)
        t_cos = bounds[fastest]
        name = np.dtype(dtype).name
        gbs = n * width * np.dtype(dtype).itemsize / t_ours / 1e9
        rows.append(row("fourier transform", f"n={n:.0e}, 512 cols, {name}", t_ours, t_rbf,
                        "RBFSampler.transform", "speedup >= 1",
                        f"writes {gbs:.2f} GB/s",
                        headline=(f"Fourier features, {n:.0e} x 512, {name}", seconds(t_ours),
                                  f"RBFSampler {seconds(t_rbf)}")))
        rows.append(row("fourier transform", f"n={n:.0e}, 512 cols, {name}", t_ours, t_cos,
                        f"{fastest} of output-shaped phases into a new array (bound)",
                        "ours <= 1.1x bound",
                        f"ours / bound = {t_ours / t_cos:.2f}; np.cos {bounds['np.cos']:.3f} "
                        f"s, torch.cos {bounds['torch.cos']:.3f} s"))
    return rows
