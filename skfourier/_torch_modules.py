"""Torch modules of the coordinate MLP (top-level classes so fitted models pickle)."""

import math

import torch
from torch import nn


class NTKLinear(nn.Module):
    """Dense layer in the NTK parameterisation: ``(weight_std / sqrt(fan_in)) W x + bias_std b``.

    Parameters are N(0, 1); the scaling lives in the forward pass, the
    convention under which gradient descent on a wide network follows its NTK.
    """

    def __init__(self, n_in, n_out, weight_std=1.0, bias_std=0.0, generator=None):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in, generator=generator))
        self.bias = nn.Parameter(torch.randn(n_out, generator=generator))
        self.weight_scale = weight_std / math.sqrt(n_in)
        self.bias_std = bias_std

    def forward(self, x):
        return nn.functional.linear(x, self.weight * self.weight_scale, self.bias * self.bias_std)


class Sine(nn.Module):
    """SIREN activation ``sin(omega_0 z)``."""

    def __init__(self, omega_0=30.0):
        super().__init__()
        self.omega_0 = omega_0

    def forward(self, x):
        return torch.sin(self.omega_0 * x)


def _standard_linear(n_in, n_out, weight_std, generator):
    layer = nn.Linear(n_in, n_out)
    nn.init.normal_(layer.weight, 0.0, weight_std / math.sqrt(n_in), generator=generator)
    nn.init.zeros_(layer.bias)
    return layer


def _siren_linear(n_in, n_out, omega_0, first, generator):
    """SIREN initialisation (Sitzmann et al. 2020).

    U(-1/n, 1/n) in the first layer, U(-sqrt(6/n)/w0, sqrt(6/n)/w0) after.
    """
    layer = nn.Linear(n_in, n_out)
    bound = 1.0 / n_in if first else math.sqrt(6.0 / n_in) / omega_0
    nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
    nn.init.uniform_(layer.bias, -1.0 / math.sqrt(n_in), 1.0 / math.sqrt(n_in),
                     generator=generator)
    return layer


class CoordinateMLP(nn.Module):
    """Per-pixel MLP: (Linear, activation[, BatchNorm]) x hidden, Linear, output activation.

    The seed paper's network is a stack of 1x1 convolutions with batch norm
    after each hidden layer (Conv, ReLU, BatchNorm); on a batch of pixels this
    Linear stack with ``BatchNorm1d`` computes exactly the same map.

    ``seed`` drives a private generator for every initial weight, so fits in
    concurrent threads (threaded joblib or dask workers) stay reproducible.
    """

    def __init__(self, n_in, n_out, hidden=(256, 256, 256), activation="relu",
                 batch_norm=False, output_activation="sigmoid", parameterization="standard",
                 weight_std=1.0, bias_std=0.0, omega_0=30.0, seed=0):
        super().__init__()
        self.seed = seed
        generator = torch.Generator().manual_seed(seed)
        sizes = [n_in, *hidden]
        layers = []

        def make_linear(first, n_in_, n_out_):
            if parameterization == "ntk":
                return NTKLinear(n_in_, n_out_, weight_std, bias_std, generator)
            if activation == "sine":
                return _siren_linear(n_in_, n_out_, omega_0, first, generator)
            return _standard_linear(n_in_, n_out_, weight_std, generator)

        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(make_linear(i == 0, a, b))
            layers.append({"relu": nn.ReLU, "tanh": nn.Tanh}[activation]()
                          if activation != "sine" else Sine(omega_0))
            if batch_norm:
                layers.append(nn.BatchNorm1d(b))
        layers.append(make_linear(len(sizes) == 1, sizes[-1], n_out))
        if output_activation == "sigmoid":
            layers.append(nn.Sigmoid())
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
