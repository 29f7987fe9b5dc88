"""
Tuning the scale and the training time with GridSearchCV
========================================================

Everything is an ordinary scikit-learn estimator, so the Fourier-feature
scale and the NTK's training time ``t`` are tuned together by
:class:`~sklearn.model_selection.GridSearchCV`, with the papers' protocol as
the splitter (:class:`~skfourier.model_selection.PixelGridSplit`: train on the
even pixels, score the odd ones) and PSNR as the score.

``memory=`` caches the kernel eigendecomposition of each training set, keyed
on the features and the kernel parameters: candidates that differ only in
``t`` (or ``alpha``, ``learning_rate``) then cost one matrix product each,
not one decomposition each.
"""

import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skfourier import FourierFeatureTransformer, NTKRegressor
from skfourier.datasets import image_to_regression, load_sample_image
from skfourier.metrics import psnr_scorer
from skfourier.model_selection import PixelGridSplit

QUICK = os.environ.get("SKFOURIER_EXAMPLES_QUICK") == "1"
SIZE = 16 if QUICK else 64

X, y = image_to_regression(load_sample_image("china", size=SIZE))
scales = list(np.geomspace(0.5, 16, 6) * SIZE / 64)
times = [1e1, 1e2, 1e3, 1e4, None]

with tempfile.TemporaryDirectory() as cache:
    pipe = make_pipeline(FourierFeatureTransformer(random_state=0),
                         NTKRegressor(depth=4, weight_std=np.sqrt(2), alpha=1e-6, memory=cache))
    search = GridSearchCV(pipe, {"fourierfeaturetransformer__scale": scales,
                                 "ntkregressor__t": times},
                          cv=PixelGridSplit(), scoring=psnr_scorer)
    search.fit(X, y)
print("best:", search.best_params_, f"{search.best_score_:.2f} dB")

# %%
# Heat map of the held-out PSNR
scores = search.cv_results_["mean_test_score"].reshape(len(scales), len(times))
fig, ax = plt.subplots(figsize=(6, 4.5))
im = ax.imshow(scores, cmap="viridis", aspect="auto")
ax.set_xticks(range(len(times)), [f"{t:g}" if t else "converged" for t in times])
ax.set_yticks(range(len(scales)), [f"{s:.2g}" for s in scales])
ax.set(xlabel="NTK training time t", ylabel="Gaussian scale sigma",
       title=f"held-out PSNR, {SIZE}x{SIZE} image")
for (i, j), value in np.ndenumerate(scores):
    ax.text(j, i, f"{value:.1f}", ha="center", va="center", color="w", fontsize=8)
fig.colorbar(im, label="PSNR (dB)")
fig.tight_layout()
fig.savefig("tuning.png", dpi=100)
