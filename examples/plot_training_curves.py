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
the training MSE the NTK predicts under gradient flow
(:meth:`NTKRegressor.training_curve`), from one eigendecomposition per scale.
The NTK curves show the same ordering as the trained networks.
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

X, y = image_to_regression(load_sample_image("china", size=SIZE))
train, test = next(PixelGridSplit().split(X))
to_grid = SIZE // 2 / 256
times = np.logspace(0, 5, 60)

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
    ntk = NTKRegressor(depth=4, weight_std=np.sqrt(2), solver="eigh").fit(F[train], y[train])
    ax_ntk.loglog(times, ntk.training_curve(times), color=color, label=label)

ax_loss.set(xlabel="iteration", ylabel="training MSE", title="MLP training loss")
ax_psnr.set(xlabel="iteration", ylabel="held-out PSNR (dB)", title="MLP test PSNR")
ax_ntk.set(xlabel="gradient-flow time t", ylabel="training MSE",
           title="NTK-predicted training curve")
for ax in (ax_loss, ax_psnr, ax_ntk):
    ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig("training_curves.png", dpi=100)
