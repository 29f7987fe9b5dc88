"""Scale search with NTKRegressorCV vs brute-force GridSearchCV; predictive std at every pixel.

The sample image (china.jpg) at 2s x 2s, the papers' split (train on the
s x s even lattice, test on the odd one), Gaussian features, depth-4 ReLU NTK,
RGB. The search: 5 scales x 5 times (the demo's flow scale x 0.1, 1, 10, 100,
and converged), alpha = 1e-6, cv=PixelGridSplit(), every fold an FFT fit. The
std (scale 10 at 512^2): the NNGP and NTK ensembles at the demo's training
time and at t = None, every test pixel of a 256^2 lattice (the estimate from
exact centre-line nodes and corners), and the NNGP at the demo's time on a
scattered 3/4 of a 128^2 lattice's (the Lanczos low-rank path), each against
the exact per-point solves of the same model timed on 128 points. Then the
std at every held-out voxel of a synthetic clip keeping every 10th frame, with
``skfourier video``'s model (its default scale, 10 at 256 pixels): a
64 x 64 x 30 clip, and with ``--large`` the 256 x 256 x 100 one, each against
exact solves at 16 of its voxels (half on a spatial edge), timed and scaled to
all of them.
"""

import time

import numpy as np
from sklearn.model_selection import GridSearchCV

from _harness import row, seconds
from skfourier import FourierFeatureTransformer, NTKRegressor, NTKRegressorCV
from skfourier.datasets import image_to_regression, load_sample_image, make_video, \
    video_to_regression
from skfourier.model_selection import FrameHoldoutSplit, PixelGridSplit
from skfourier.recipes import demo_training_time, make_encoder, make_model, matched_scale

SCALES = [1.0, 3.0, 10.0, 30.0, 100.0]
KERNEL = dict(depth=4, weight_std=np.sqrt(2))


def _grid(side):
    img = load_sample_image("china", size=2 * side)
    X, y = image_to_regression(img)
    t = demo_training_time(img)
    times = [t / 10, t, 10 * t, 100 * t, None]
    return X, y, times, [s * side / 256 for s in SCALES]


def _ours(side):
    X, y, times, scales = _grid(side)
    start = time.perf_counter()
    search = NTKRegressorCV(times=times, alphas=[1e-6], scales=scales, cv=PixelGridSplit(),
                            encoder=FourierFeatureTransformer(random_state=0), **KERNEL).fit(X, y)
    return time.perf_counter() - start, search


def _brute(side, scales=None):
    X, y, times, all_scales = _grid(side)
    start = time.perf_counter()
    search = GridSearchCV(
        NTKRegressor(alpha=1e-6, encoder=FourierFeatureTransformer(random_state=0), **KERNEL),
        {"t": times, "alpha": [1e-6], "encoder__scale": scales or all_scales},
        cv=PixelGridSplit(), scoring="neg_mean_squared_error").fit(X, y)
    return time.perf_counter() - start, search


def _std(side, kind="nngp", converged=False, scattered=False, points=128):
    X, y, _, _ = _grid(side)
    train, test = next(PixelGridSplit().split(X))
    if scattered:  # not a whole lattice: no estimate from profiles
        test = np.sort(np.random.default_rng(0).permutation(test)[:len(test) * 3 // 4])
    img_t = None if converged else demo_training_time(np.zeros((2 * side, 2 * side, 3)))
    model = NTKRegressor(kernel=kind, t=img_t, alpha=1e-6, **KERNEL,
                         encoder=FourierFeatureTransformer(scale=10 * side / 256,
                                                           random_state=0)).fit(X[train], y[train])
    start = time.perf_counter()
    model.predict(X[test], return_std=True)
    estimate = time.perf_counter() - start
    start = time.perf_counter()
    # 512 points or fewer are exact: the per-point cost of the exact path
    model.predict(X[test[:points]], return_std=True)
    exact = (time.perf_counter() - start) / points * len(test)
    return estimate, exact, len(test)


def _video_std(side, frames, checks=16):
    """Every held-out voxel of a side^2 x frames synthetic clip, every 10th frame kept, the
    CLI's model: (seconds of the std, exact seconds per voxel x voxels, voxels, largest
    relative error at ``checks`` exact voxels, half on a spatial edge)."""
    X, y = video_to_regression(make_video(n_frames=frames, size=side))
    train, test = next(FrameHoldoutSplit(keep_every=10).split(X))
    model = make_model("ntk", make_encoder("gaussian", matched_scale("gaussian", side)))
    model.fit(X[train], y[train])
    start = time.perf_counter()
    _, std = model.predict(X[test], return_std=True)
    estimate = time.perf_counter() - start
    rng = np.random.default_rng(1)
    t, i, j = np.unravel_index(test[rng.choice(len(test), checks, replace=False)],
                               (frames, side, side))
    i[:checks // 2] = rng.choice([0, side - 1], checks // 2)
    at = np.searchsorted(test, np.ravel_multi_index((t, i, j), (frames, side, side)))
    model.set_params(std_method="exact")
    start = time.perf_counter()
    _, exact = model.predict(X[test[at]], return_std=True)
    per_voxel = (time.perf_counter() - start) / checks
    return estimate, per_voxel * len(test), len(test), np.abs(std[at] / exact - 1).max()


def run(quick=False, large=False):
    rows = []
    side = 32 if quick else 128
    ours, search = _ours(side)
    brute, reference = _brute(side)
    same = (search.best_scale_, search.best_t_) == (reference.best_params_["encoder__scale"],
                                                    reference.best_params_["t"])
    rows.append(row("scale search", f"{2 * side}^2 photo, 5 scales x 5 times", ours, brute,
                    "GridSearchCV, same grid and folds", "ours <= 0.6x GridSearchCV",
                    f"same choice: {same} (scale {search.best_scale_:.3g}, t {search.best_t_}); "
                    f"ours / GridSearchCV = {ours / brute:.2f}",
                    headline=(f"scale search, 5 scales x 5 times, {2 * side} x {2 * side} "
                              "photo", f"NTKRegressorCV {seconds(ours)}",
                              f"GridSearchCV {seconds(brute)} (ours {ours / brute:.2f}x)")))
    if not quick:
        ours, search = _ours(256)
        # the brute force at 512^2 on one scale (5 of the 25 candidates), times 5
        one, _ = _brute(256, scales=[10.0])
        rows.append(row("scale search", "512^2 photo, 5 scales x 5 times", ours, 5 * one,
                        "GridSearchCV, 5 x its time on one scale", "ours <= 120 s",
                        f"best scale {search.best_scale_:.3g}, t {search.best_t_}, "
                        f"{-10 * np.log10(-search.best_score_):.2f} dB"))
    side = 32 if quick else 256
    for kind, converged in (("nngp", False), ("nngp", True), ("ntk", True), ("ntk", False)):
        estimate, exact, m = _std(side, kind=kind, converged=converged)
        rows.append(row(f"{kind.upper()} std, every test pixel",
                        f"{side}^2 lattice, {m:,} points, t = {'None' if converged else 'demo'}",
                        estimate, exact, "exact per-point solves (timed on 128, scaled)",
                        "256^2 <= 30 s", "exact centre-line nodes and corners, separable model "
                        "between: <= 1% of exact in tests"))
    side = 32 if quick else 128
    estimate, exact, m = _std(side, scattered=True)
    rows.append(row("NNGP std, scattered test pixels", f"{side}^2 lattice, {m:,} of its test "
                    "pixels, t = demo", estimate, exact,
                    "exact per-point solves (timed on 128, scaled)", "",
                    "Lanczos low rank (LOVE), <= 1% of exact in tests"))
    for side, frames in ([(32, 23)] if quick else [(64, 30)] + ([(256, 100)] if large else [])):
        estimate, exact, m, error = _video_std(side, frames)
        target = side == 256 and frames == 100
        rows.append(row("NTK std, every held-out voxel", f"video {side}^2 x {frames} frames, "
                        f"every 10th kept, {m:,} voxels, scale {matched_scale('gaussian', side):g}"
                        ", t = None", estimate, exact,
                        "exact per-voxel solves (timed on 16, scaled)",
                        "<= 2 min" if target else "",
                        f"a level per frame, one map shape per offset class; largest error at "
                        f"16 exact voxels (half on an edge) {error:.2%}",
                        headline=("NTK std at every held-out voxel, video 256 x 256 x 100",
                                  seconds(estimate), f"exact solves ~{seconds(exact)}")
                        if target else None))
    return rows
