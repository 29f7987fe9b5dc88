"""
How sure is the network? Calibration, and seed Fig. 3 read as a posterior
==========================================================================

:meth:`NTKRegressor.predict` with ``return_std=True`` gives the spread of the
outputs over the ensemble of infinitely wide networks trained from random
initialisations (Lee et al. 2019; neural-tangents'
``gradient_descent_mse_ensemble``). Two questions:

1. **Calibration.** On an image's held-out pixels (train on ``[::2, ::2]``,
   test on ``[1::2, 1::2]``), how many errors fall inside the +-k std band,
   against the 68 / 95 / 99.7% of a Gaussian? The network's prior sets the
   scale of the std (``weight_std``, ``depth``), not the image, so the band
   can be too narrow or too wide; its *shape* (where the model is unsure) is
   what it gets from the data. We show the raw coverage for a smooth and a
   sharp Fourier scale, and the coverage after one scalar rescaling of the std
   chosen on the training pixels of a coarser split (never the test pixels).
2. **Distance to the data.** The seed paper found that video frames far from
   the training frames get noisy with sigma = 5 but not with sigma = 0.5. The
   posterior says why: with a sharp temporal scale the ensemble's std jumps to
   the prior's level one frame away from the training frames (the data say
   nothing there, and each network fills the gap with its own noise), while
   with sigma = 0.5 it grows smoothly with the distance.

Measured at the sizes below (64 x 64 image; 32 x 32 x 31-frame clip, one frame
in ten for training; NTK of depth 4, converged for the image, t = 1000 for the
clip), two cores, 35 s::

    held-out errors inside +-1 / 2 / 3 std   raw                 rescaled (factor)
    smooth, sigma = 2.5                      0.65 / 0.80 / 0.88  0.63 / 0.78 / 0.85 (0.89)
    sharp, sigma = 10                        0.99 / 1.00 / 1.00  0.85 / 0.98 / 1.00 (0.41)
    Gaussian                                 0.68 / 0.95 / 1.00

    mean std by frames to the nearest training frame   0      1      2      5
    sigma_t = 0.5                                      0.18   0.20   0.22   0.28
    sigma_t = 5                                        0.18   0.51   0.55   0.55

The sharp scale's band is about twice too wide and one factor fixes it; the
smooth scale's errors are heavier-tailed than a Gaussian (edges of the photo
it cannot resolve), so its +-1 std band is right and its +-2 std band too
narrow. In the clip, sigma_t = 5 is at the prior's spread one frame away from
the training frames, sigma_t = 0.5 approaches it slowly: the seed's noisy
frames are the ensemble disagreeing. (At t = 1000 the training frames are not
yet fitted exactly, hence a std above zero at distance 0.)

Why these sizes: the exact std costs a Krylov solve per point, so calibration
on every held-out pixel of the paper's 512 x 512 photo would be 65,536 solves
on a 65,536-pixel lattice.
At that scale ``skfourier image PHOTO --std`` maps every held-out pixel
(``--std-points`` strides it to fewer); the FFT solver estimates a
whole held-out lattice from exact solves at nodes of its centre row and
column and in its corners (within 1% of exact in the tests; at 512 x 512,
49-107 solves, 4-24 s for all 65,536 held-out pixels), and the
NNGP posterior at a finite ``t`` on scattered pixels has a low-rank path
(``benchmarks/``).
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from skfourier import FourierFeatureTransformer, NTKRegressor
from skfourier.datasets import image_to_regression, load_sample_image, make_video
from skfourier.model_selection import PixelGridSplit
from skfourier.recipes import interpolate_video, make_encoder

QUICK = os.environ.get("SKFOURIER_EXAMPLES_QUICK") == "1"
SIZE = 16 if QUICK else 64
VIDEO_SIDE, FRAMES = (8, 12) if QUICK else (32, 31)
KEEP = 4 if QUICK else 10
NOMINAL = {1: 0.683, 2: 0.954, 3: 0.997}

# %%
# Calibration on held-out pixels
# ------------------------------
X, y = image_to_regression(load_sample_image("china", size=SIZE))
train, test = next(PixelGridSplit().split(X))
# a coarser split inside the training pixels picks the one scalar rescaling of the std
inner_train, inner_test = next(PixelGridSplit().split(X[train]))


def coverage(errors, std, k):
    return float(np.mean(np.abs(errors) <= k * std[:, None]))


rows = {}
for name, sigma in [("smooth, sigma=2.5", 2.5 * SIZE / 128), ("sharp, sigma=10", 10 * SIZE / 128)]:
    def model():
        return NTKRegressor(depth=4, weight_std=np.sqrt(2), alpha=1e-6,
                            encoder=FourierFeatureTransformer(scale=sigma, random_state=0))
    mean, std = model().fit(X[train], y[train]).predict(X[test], return_std=True)
    errors = y[test] - mean
    # the rescaling: the ratio of the errors' rms to the std on the inner split
    inner = model().fit(X[train][inner_train], y[train][inner_train])
    m_in, s_in = inner.predict(X[train][inner_test], return_std=True)
    ratio = np.sqrt(np.mean((y[train][inner_test] - m_in) ** 2, axis=1).mean()
                    / np.mean(s_in ** 2))
    rows[name] = ([coverage(errors, std, k) for k in NOMINAL],
                  [coverage(errors, ratio * std, k) for k in NOMINAL], ratio)

print(f"{'model':<20} {'raw coverage (1/2/3 std)':>26} {'rescaled':>22}  factor")
for name, (raw, rescaled, ratio) in rows.items():
    print(f"{name:<20} {' / '.join(f'{c:.2f}' for c in raw):>26} "
          f"{' / '.join(f'{c:.2f}' for c in rescaled):>22}  {ratio:.2f}")
print("Gaussian             " + " / ".join(f"{c:.2f}" for c in NOMINAL.values()))

# %%
# Standard deviation against the distance to the training frames
# ---------------------------------------------------------------
video = make_video(n_frames=FRAMES, size=VIDEO_SIDE, random_state=0)
spatial = 10 * VIDEO_SIDE / 256
results = {}
for sigma_t in (0.5, 5.0):
    encoder = make_encoder("gaussian", (spatial, spatial, sigma_t))
    results[sigma_t] = interpolate_video(video, encoder, keep_every=KEEP, t=1e3,
                                         std_points=4 * FRAMES)
    print(f"sigma_t={sigma_t}: held-out PSNR {results[sigma_t].held_out_psnr:.2f} dB, "
          f"coverage of +-2 std {results[sigma_t].uncertainty.coverage:.2f}, std by distance "
          + ", ".join(f"{d}: {s:.3f}" for d, s in results[sigma_t].std_by_distance().items()))

# %%
# The figure: coverage bars, and std / PSNR against the distance
fig, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
width = 0.2
for i, (name, (raw, rescaled, _)) in enumerate(rows.items()):
    offset = (i - 0.5) * 2 * width
    left.bar(np.arange(3) + offset - width / 2, raw, width, label=f"{name}, raw")
    left.bar(np.arange(3) + offset + width / 2, rescaled, width, label=f"{name}, rescaled",
             alpha=0.6)
left.plot(np.arange(3), list(NOMINAL.values()), "k_", markersize=30, label="Gaussian")
left.set(xticks=range(3), xticklabels=["+-1 std", "+-2 std", "+-3 std"],
         ylabel="held-out errors inside", title=f"calibration, {SIZE}x{SIZE} image")
left.legend(fontsize=7)
for sigma_t, result in results.items():
    by_std, by_psnr = result.std_by_distance(), result.psnr_by_distance()
    middle.plot(list(by_std), list(by_std.values()), "o-", label=f"sigma_t = {sigma_t}")
    far = {d: p for d, p in by_psnr.items() if d > 0}
    right.plot(list(far), list(far.values()), "o-", label=f"sigma_t = {sigma_t}")
middle.set(xlabel="frames to the nearest training frame", ylabel="mean predictive std",
           title="ensemble spread")
right.set(xlabel="frames to the nearest training frame", ylabel="PSNR (dB)",
          title="interpolation quality")
middle.legend()
right.legend()
fig.savefig("uncertainty.png", dpi=100)
