"""
Which sigma for my image? Tuning the scale and the training time in one call
============================================================================

The Fourier-feature scale and the NTK's training time ``t`` are tuned together
on the papers' protocol: :class:`~skfourier.model_selection.PixelGridSplit`
trains on the even pixels of a 512 x 512 photo (a 256 x 256 lattice, the grid
the papers' sigma = 1 / 10 / 100 are meant for) and scores the odd ones.

:class:`NTKRegressorCV` with ``scales=`` does it in one call at that full
resolution: each training fold is a lattice, so every fit is exact on the FFT
solver, and all finite times of a fold come from one Lanczos basis. It returns
the same scores and the same choice as the scikit-learn way,
:class:`~sklearn.model_selection.GridSearchCV` over ``encoder__scale`` and
``t`` (checked at the end on a smaller copy of the photo).

Measured (two cores, 512 x 512 china.jpg, depth-4 NTK, 5 scales x 4 times,
alpha = 1e-6): 46-56 s, about a minute with the check (a fifth time, 100 x the
demo's, doubles it: the longest Lanczos run sets the cost); the check on
64 x 64 agrees to 7e-16. Short training
(the demo's t, as in seed Fig. 1) wants sigma = 10: too small a scale is still
blurry, too large a scale fits noise; converged (t = None), every scale up to
10 lands within 0.01 dB, since a broad kernel ends up interpolating the
neighbouring pixel too, and sigma = 100 stays far behind at every time.
"""

import os
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV

from skfourier import FourierFeatureTransformer, NTKRegressor, NTKRegressorCV
from skfourier.datasets import image_to_regression, load_sample_image
from skfourier.model_selection import PixelGridSplit
from skfourier.recipes import demo_training_time

QUICK = os.environ.get("SKFOURIER_EXAMPLES_QUICK") == "1"
SIZE = 32 if QUICK else 512
CHECK_SIZE = 16 if QUICK else 64

img = load_sample_image("china", size=SIZE)
X, y = image_to_regression(img)
t_demo = demo_training_time(img)
times = [t_demo / 10, t_demo, 10 * t_demo, None]
# the papers' values are for a 256-pixel training grid: carried to other sizes
scales = [s * (SIZE // 2) / 256 for s in (1, 3, 10, 30, 100)]
kernel = dict(depth=4, weight_std=np.sqrt(2))

start = time.perf_counter()
search = NTKRegressorCV(times=times, alphas=[1e-6], scales=scales, cv=PixelGridSplit(),
                        encoder=FourierFeatureTransformer(random_state=0), **kernel).fit(X, y)
print(f"{SIZE}x{SIZE}: best scale {search.best_scale_:.3g}, t {search.best_t_}, "
      f"{-10 * np.log10(-search.best_score_):.2f} dB held out, "
      f"{time.perf_counter() - start:.0f} s, final fit on {search.solver_}")

# %%
# Heat map of the held-out PSNR
psnr = -10 * np.log10(-search.cv_results_["mean_test_score"]).reshape(len(scales), len(times))
fig, ax = plt.subplots(figsize=(6.5, 4.5))
im = ax.imshow(psnr, cmap="viridis", aspect="auto")
ax.set_xticks(range(len(times)), [f"{t / t_demo:g} T" if t else "converged" for t in times])
ax.set_yticks(range(len(scales)), [f"{s:.3g}" for s in scales])
ax.set(xlabel=f"NTK training time (T = the demo's, {t_demo:.3g})",
       ylabel="Gaussian scale sigma",
       title=f"held-out PSNR (dB), {SIZE}x{SIZE} photo, even -> odd pixels")
for (i, j), value in np.ndenumerate(psnr):
    ax.text(j, i, f"{value:.1f}", ha="center", va="center", color="w", fontsize=8)
fig.colorbar(im, label="PSNR (dB)")
fig.tight_layout()
fig.savefig("tuning.png", dpi=100)

# %%
# The same search, the scikit-learn way
# -------------------------------------
# ``GridSearchCV`` refits one ``NTKRegressor`` per candidate and fold. On a
# smaller copy of the photo it gives the same scores and the same choice.
Xs, ys = image_to_regression(load_sample_image("china", size=CHECK_SIZE))
small_scales = [s * (CHECK_SIZE // 2) / 256 for s in (1, 10, 100)]
small_times = [1e2, 1e4, None]
one_call = NTKRegressorCV(times=small_times, alphas=[1e-6], scales=small_scales,
                          cv=PixelGridSplit(), encoder=FourierFeatureTransformer(random_state=0),
                          **kernel).fit(Xs, ys)
brute = GridSearchCV(NTKRegressor(alpha=1e-6, encoder=FourierFeatureTransformer(random_state=0),
                                  **kernel),
                     {"alpha": [1e-6], "encoder__scale": small_scales, "t": small_times},
                     cv=PixelGridSplit(), scoring="neg_mean_squared_error").fit(Xs, ys)
gap = np.max(np.abs(one_call.cv_results_["mean_test_score"]
                    - brute.cv_results_["mean_test_score"]))
print(f"{CHECK_SIZE}x{CHECK_SIZE}: largest score difference {gap:.1e}; same choice: "
      f"{one_call.best_scale_ == brute.best_params_['encoder__scale']}")
