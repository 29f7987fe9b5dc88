"""
Training curves and the NTK's prediction (seed Fig. 2)
======================================================

How fast a coordinate network fits an image depends on the scale of its
Fourier features. The seed paper explains it with the NTK: in the kernel's
eigenbasis the training residual decays as ``exp(-eta lambda_i t / N)``, and a
larger ``sigma`` lifts the eigenvalues of high-frequency directions, so they
are learned sooner.

Left: training loss of the MLP (Adam) per iteration for Gaussian features at
three scales. Middle: PSNR on the held-out pixels, recorded every few
iterations by the :class:`~skfourier.callbacks.HeldOutPSNR` callback. Right:
the training MSE the infinite-width network follows under gradient flow
(:meth:`NTKRegressor.training_curve`), at the paper's own scale: the 512 x
512 photo, the 256 x 256 even-pixel training lattice, sigma = 1, 10, 100 as
quoted. The FFT solver fits that lattice exactly and gives the whole curve
from one Lanczos basis per scale (1 to 20 s each). Trained long enough, the
infinite-width curves take the trained networks' order (sigma = 100 lowest,
sigma = 1 highest). Early on the broad kernel of sigma = 1 is ahead: its
largest eigenvalues are the largest of the three, so gradient flow takes the
low frequencies fastest, a head start that Adam, whose steps are normalised
per parameter, does not show.

The MLPs run at 64 x 64 (a 32 x 32 training grid, the paper's sigma carried
to it, x 1/8): one full-batch Adam step of the paper's 3 x 256 network on
65,536 pixels takes about 0.9 s on two cores (``benchmarks/``), so the
seed's 400 steps at three scales would take 18 minutes. Measured: 49 s for
the whole example on two cores. ``skfourier demo``
draws both: the Adam-trained MLP's curves (on a 40 x 40 training grid) and the
NTK's for all nine mappings of seed Fig. 1.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from skfourier import CoordinateMLPRegressor, FourierFeatureTransformer, NTKRegressor
from skfourier.callbacks import HeldOutPSNR
from skfourier.datasets import image_to_regression, load_sample_image
from skfourier.model_selection import PixelGridSplit

QUICK = os.environ.get("SKFOURIER_EXAMPLES_QUICK") == "1"
SIZE, ITERS = (16, 10) if QUICK else (64, 400)
NTK_SIZE = 24 if QUICK else 512  # the paper's image; its training lattice is half as wide

X, y = image_to_regression(load_sample_image("china", size=SIZE))
train, test = next(PixelGridSplit().split(X))
to_grid = SIZE // 2 / 256
X_ntk, y_ntk = image_to_regression(load_sample_image("china", size=NTK_SIZE))
train_ntk, _ = next(PixelGridSplit().split(X_ntk))
times = np.logspace(1, 6, 30)

fig, (ax_loss, ax_psnr, ax_ntk) = plt.subplots(1, 3, figsize=(14, 4))
for sigma, color in zip((1, 10, 100), ("C0", "C1", "C2")):
    ff = FourierFeatureTransformer(scale=sigma * to_grid, n_frequencies=128, random_state=0)
    F = ff.fit_transform(X)
    mlp = CoordinateMLPRegressor(max_iter=ITERS, random_state=0,
                                 callbacks=[HeldOutPSNR(F[test], y[test], every=10)])
    mlp.fit(F[train], y[train])
    label = f"sigma = {sigma} (x {to_grid:g})"
    ax_loss.semilogy(mlp.loss_curve_, color=color, label=label)
    psnr_curve = np.asarray(mlp.net_.history[:, "valid_psnr"], dtype=float)
    steps = np.flatnonzero(np.isfinite(psnr_curve))
    ax_psnr.plot(steps + 1, psnr_curve[steps], color=color, label=label)
    paper = FourierFeatureTransformer(scale=sigma * NTK_SIZE / 512, n_frequencies=128,
                                      random_state=0)
    ntk = NTKRegressor(depth=4, weight_std=np.sqrt(2), alpha=1e-6, encoder=paper)
    ntk.fit(X_ntk[train_ntk], y_ntk[train_ntk])  # FFT solver: a stationary map on a grid
    ax_ntk.loglog(times, ntk.training_curve(times), color=color,
                  label=f"sigma = {sigma}, {ntk.solver_} solver")

ax_loss.set(xlabel="iteration", ylabel="training MSE", title="MLP training loss")
ax_psnr.set(xlabel="iteration", ylabel="held-out PSNR (dB)", title="MLP test PSNR")
ax_ntk.set(xlabel="gradient-flow time t", ylabel="training MSE",
           title=f"infinite width, {NTK_SIZE} x {NTK_SIZE} photo")
for ax in (ax_loss, ax_psnr, ax_ntk):
    ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig("training_curves.png", dpi=100)
