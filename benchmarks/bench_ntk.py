"""NTKRegressor: solvers vs KernelRidge, trajectories, cached grid search, memory and scaling."""

import os
import tempfile

import numpy as np
from sklearn.kernel_ridge import KernelRidge
from sklearn.model_selection import GridSearchCV, KFold

from _harness import best_time, peak_memory, row, seconds
from skfourier import FourierFeatureTransformer, NTKRegressor, NTKRegressorCV
from skfourier.kernels import ntk_kernel

KERNEL = dict(depth=4, weight_std=np.sqrt(2))


def _features(n, seed=0):
    coords = np.random.RandomState(seed).uniform(size=(n, 2))
    ff = FourierFeatureTransformer(n_frequencies=256, scale=10.0, random_state=0).fit(coords)
    y = np.random.RandomState(seed + 1).uniform(size=(n, 3))
    return ff.transform(coords), y


def _fit_peak(n):
    F, y = _features(n)
    NTKRegressor(**KERNEL, alpha=1e-6).fit(F, y)
    return None


def run(quick=False):
    rows = []
    n = 1024 if quick else 4096
    F, y = _features(n)
    Ft, _ = _features(n // 4, seed=5)

    # t = None end to end: our fit + predict vs KernelRidge on the same (public) kernel
    def kernel_ridge():
        kr = KernelRidge(kernel="precomputed", alpha=1e-6).fit(ntk_kernel(F, **KERNEL), y)
        return kr.predict(ntk_kernel(Ft, F, **KERNEL))

    t_kr = best_time(kernel_ridge, repeat=1)
    t_fit = best_time(lambda: NTKRegressor(**KERNEL, alpha=1e-6).fit(F, y).predict(Ft), repeat=1)
    rows.append(row("NTK fit+predict t=None", f"n={n}, RGB, kernels included", t_fit, t_kr,
                    "KernelRidge(precomputed) on ntk_kernel", "ours <= 1.1x KernelRidge",
                    "torch Cholesky (safe at n=16384)"))

    # 50 times from one decomposition vs 50 separate fits
    times = np.logspace(0, 5, 50)
    model = NTKRegressor(**KERNEL, t=1.0, solver="eigh")
    small = slice(0, n // 2)
    t_traj = best_time(lambda: model.fit(F[small], y[small]).predict_trajectory(Ft, times),
                       repeat=1, warmup=0)
    t_one = best_time(lambda: NTKRegressor(**KERNEL, t=1.0, solver="eigh").fit(
        F[small], y[small]).predict(Ft), repeat=1, warmup=0)
    rows.append(row("predict_trajectory", f"50 times, n={n // 2}", t_traj, 50 * t_one,
                    "50 separate fits (50 x one measured fit)", "speedup >= 20",
                    headline=(f"50-point training trajectory, n = {n // 2:,}", seconds(t_traj),
                              f"50 separate fits: {seconds(50 * t_one)}")))

    # GridSearchCV over 10 t values x 5 folds, with and without the decomposition cache
    grid = {"t": list(np.logspace(0, 4, 9)) + [None]}
    cv = KFold(5, shuffle=True, random_state=0)
    m = n // 4
    with tempfile.TemporaryDirectory() as cache:
        t_cached = best_time(lambda: GridSearchCV(
            NTKRegressor(**KERNEL, memory=os.path.join(cache, "c")), grid, cv=cv,
            refit=False).fit(F[:m], y[:m]), repeat=1, warmup=0)
    t_plain = best_time(lambda: GridSearchCV(NTKRegressor(**KERNEL), grid, cv=cv,
                                             refit=False).fit(F[:m], y[:m]), repeat=1, warmup=0)
    rows.append(row("GridSearchCV 10 t x 5 folds", f"n={m}", t_cached, t_plain,
                    "same search without memory=", "one eigh per fold"))
    # the documented fast path: one decomposition per fold scores every t (refit included)
    t_cv = best_time(lambda: NTKRegressorCV(**KERNEL, times=grid["t"], cv=cv).fit(F[:m], y[:m]),
                     repeat=1, warmup=0)
    rows.append(row("NTKRegressorCV 10 t x 5 folds", f"n={m}, refit included", t_cv, t_plain,
                    "GridSearchCV without memory=", "speedup >= 5",
                    "same folds and candidates, scored by MSE",
                    headline=(f"search over 10 times x 5 folds, n = {m:,}",
                              f"NTKRegressorCV {seconds(t_cv)}",
                              f"GridSearchCV {seconds(t_plain)}")))

    # peak memory of a fit vs one n x n float64 matrix
    _, grown = peak_memory(_fit_peak, n)
    rows.append(row("fit peak memory", f"n={n}, t=None", grown / 1e9, 8 * n * n / 1e9,
                    "one n x n float64 (GB)", "", f"peak = {grown / (8 * n * n):.2f} x n^2 x 8 B"))

    # scaling of fit (t = None, the default solver) with n; 16384 is the size where
    # multi-threaded OpenBLAS Cholesky segfaulted on these machines
    sizes = (1024, 2048) if quick else (4096, 8192, 16384)
    for size in sizes:
        Fs, ys = _features(size)
        t = best_time(lambda: NTKRegressor(**KERNEL, alpha=1e-6).fit(Fs, ys), repeat=1,
                      warmup=0)
        rows.append(row("fit time vs n", f"n={size}, t=None (cholesky)", t, np.nan, "", "",
                        "kernel + torch Cholesky",
                        headline=(f"NTK fit, t = None, n = {size:,} (dense)", seconds(t),
                                  "multi-threaded OpenBLAS Cholesky: segfault")
                        if size == 16384 else None))
    limit = 24 * 2 ** 30 // 2
    rows.append(row("largest dense n", "24 GiB machine, default max_kernel_memory", np.nan,
                    np.nan, "", "", f"cholesky n <= {int(np.sqrt(limit / 16))}, eigh n <= "
                    f"{int(np.sqrt(limit / 24))}"))
    return rows
