"""Analytic Neural Tangent Kernel and NNGP kernel of deep ReLU MLPs.

The network is ``depth`` hidden (Dense, ReLU) layers and a Dense read-out in
the NTK parameterisation, i.e. neural-tangents'
``stax.serial(*[Dense(1, W_std, b_std), Relu()] * depth, Dense(1, W_std, b_std))``.
With ``Sigma^0(x, y) = W_std^2 x.y / d + b_std^2`` and ``Theta^0 = Sigma^0``,
each ReLU layer applies the arc-cosine recursion (Cho & Saul 2009,
Jacot et al. 2018, Arora et al. 2019)::

    c = Sigma(x, y) / sqrt(Sigma(x, x) Sigma(y, y)),  theta = arccos(c)
    Sigma'(x, y) = W_std^2 sqrt(Sigma(x, x) Sigma(y, y)) (sin theta + (pi - theta) c) / (2 pi)
                   + b_std^2
    Theta'(x, y) = Sigma'(x, y) + W_std^2 Theta(x, y) (pi - theta) / (2 pi)

The cosine is clipped to [-1, 1], pairs with a zero-variance input take the
limit (zero contribution), and the diagonal is evaluated with ``c = 1``
exactly, since ``arccos`` amplifies rounding near 1.
"""

import math

import numpy as np
import torch
from sklearn.gaussian_process.kernels import Hyperparameter, Kernel
from sklearn.utils.validation import check_array

from ._validation import check_number, check_option

__all__ = ["ntk_kernel", "ntk_diagonal", "stationary_ntk", "NeuralTangentKernel"]

KINDS = ("ntk", "nngp")
# Bytes of one block of kernel rows; the recursion holds about four such blocks.
_BLOCK_BYTES = 1 << 23


# Largest weight / bias std whose square is a finite float64.
_MAX_STD = 1e150


def check_kernel_params(depth, weight_std, bias_std, kind, kind_name="kind"):
    """Validate the network parameters; ValueError naming the parameter and the fix."""
    check_number(depth, "depth", low=0, integer=True)
    check_number(weight_std, "weight_std", low=0, low_inclusive=False)
    check_number(bias_std, "bias_std", low=0)
    check_option(kind, kind_name, KINDS)
    for value, name in ((weight_std, "weight_std"), (bias_std, "bias_std")):
        if float(value) > _MAX_STD:
            raise ValueError(f"{name}={value!r} is too large: {name}**2 overflows float64; "
                             f"use a value below {_MAX_STD:.0e} (typical: 1 to 2).")


def _relu_layers(nngp, ntk, var_x, var_y, depth, w2, b2, unit):
    """Apply ``depth`` (ReLU, Dense) steps in place to block tensors; return (nngp, ntk).

    Written as few full passes over the block as possible (the recursion is
    memory-bound): the normalisation is a product of row and column vectors,
    and constants are folded into those vectors.
    """
    k = w2 / (2.0 * math.pi)
    if unit:  # the diagonal: c = 1, theta = 0, J1 = pi, pi - theta = pi
        for _ in range(depth):
            nngp = var_x * (0.5 * w2) + b2
            if ntk is not None:
                ntk = ntk.mul_(0.5 * w2).add_(nngp)
            var_x = nngp
        return nngp, ntk
    c = torch.empty_like(nngp)
    theta = torch.empty_like(nngp)
    pi_k = torch.tensor(math.pi * k, dtype=nngp.dtype)
    for _ in range(depth):
        sx, sy = torch.sqrt(var_x), torch.sqrt(var_y)
        rx = torch.where(sx > 0, 1.0 / sx, torch.zeros((), dtype=sx.dtype))
        ry = torch.where(sy > 0, 1.0 / sy, torch.zeros((), dtype=sy.dtype))
        torch.mul(nngp, rx[:, None], out=c).mul_(ry).clamp_(-1.0, 1.0)
        torch.arccos(c, out=theta)
        pm_k = torch.add(pi_k, theta, alpha=-k, out=theta)  # k (pi - theta), in place
        # J1 = sin(theta) + (pi - theta) c with sin(theta) = sqrt(1 - c^2); |c| <= 1 keeps it real
        j1 = torch.addcmul(_ONE, c, c, value=-1.0, out=nngp).sqrt_()
        j1.addcmul_(pm_k, c, value=1.0 / k)
        nngp = j1.mul_((k * sx)[:, None]).mul_(sy)
        if b2:
            nngp.add_(b2)
        if ntk is not None:
            ntk = ntk.mul_(pm_k).add_(nngp)
        var_x = var_x * (0.5 * w2) + b2
        var_y = var_y * (0.5 * w2) + b2
    return nngp, ntk


_ONE = torch.ones((), dtype=torch.float64)


def _as_tensor(X, name):
    # force_writeable: torch cannot wrap read-only arrays (joblib memmaps)
    X = check_array(X, dtype=np.float64, ensure_2d=True, input_name=name, force_writeable=True)
    return torch.from_numpy(np.ascontiguousarray(X))


def ntk_kernel(X, Y=None, *, depth=3, weight_std=1.0, bias_std=0.0, kind="ntk"):
    """NTK or NNGP kernel matrix of a deep ReLU MLP in the NTK parameterisation.

    Equal to neural-tangents'
    ``stax.serial(*[Dense(1, W_std, b_std), Relu()] * depth, Dense(1, W_std, b_std))``
    ``kernel_fn(X, Y, kind)``. Computed in blocks of rows (peak memory about the
    size of the output) with torch's multi-threaded kernels, in float64.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
    Y : array-like of shape (n_samples_Y, n_features), default=None
        ``None`` means ``Y = X`` (the diagonal is then exact).
    depth : int, default=3
        Number of hidden (Dense, ReLU) layers.
    weight_std : float, default=1.0
        ``W_std`` of every Dense layer.
    bias_std : float, default=0.0
        ``b_std`` of every Dense layer.
    kind : {"ntk", "nngp"}, default="ntk"
        The Neural Tangent Kernel (gradient-descent training) or the NNGP
        kernel (Bayesian inference, last layer only).

    Returns
    -------
    K : ndarray of shape (n_samples_X, n_samples_Y), float64

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier.kernels import ntk_kernel
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> ntk_kernel(X, depth=1).round(4)
    array([[0.5   , 0.0796],
           [0.0796, 0.5   ]])

    The matrix is a valid precomputed kernel for scikit-learn:

    >>> from sklearn.kernel_ridge import KernelRidge
    >>> model = KernelRidge(kernel="precomputed", alpha=1e-3).fit(ntk_kernel(X), [0.0, 1.0])
    """
    check_kernel_params(depth, weight_std, bias_std, kind)
    tx = _as_tensor(X, "X")
    symmetric = Y is None
    ty = tx if symmetric else _as_tensor(Y, "Y")
    if tx.shape[1] != ty.shape[1]:
        raise ValueError(f"X has {tx.shape[1]} features but Y has {ty.shape[1]}.")
    d = tx.shape[1]
    w2, b2 = float(weight_std) ** 2, float(bias_std) ** 2
    qx = _squared_norms(tx, "X")
    qy = qx if symmetric else _squared_norms(ty, "Y")
    out = torch.empty((tx.shape[0], ty.shape[0]), dtype=torch.float64)
    rows = max(1, _BLOCK_BYTES // (8 * max(ty.shape[0], 1)))
    for start in range(0, tx.shape[0], rows):
        sl = slice(start, start + rows)
        g = torch.matmul(tx[sl], ty.T, out=out[sl]) if tx.shape[0] else out[sl]
        nngp = g.mul_(w2 / d).add_(b2)
        ntk = nngp.clone() if kind == "ntk" else None
        var_x, var_y = w2 * qx[sl] + b2, w2 * qy + b2
        nngp, ntk = _relu_layers(nngp, ntk, var_x, var_y, depth, w2, b2, unit=False)
        out[sl] = ntk if kind == "ntk" else nngp
        _check_finite(out[sl], depth, weight_std)  # per block: no n x n temporary
    if symmetric:
        diag = _diag(qx, depth, w2, b2, kind)
        _check_finite(diag, depth, weight_std)
        out.diagonal().copy_(diag)
    return out.numpy()


def _squared_norms(t, name):
    """``x . x / d`` per row; ValueError when it overflows float64 (inputs far too large)."""
    q = (t * t).sum(1) / max(t.shape[1], 1)
    if not torch.all(torch.isfinite(q)):
        big = float(t.abs().max())
        raise ValueError(f"{name} has entries so large ({big:.3g}) that their squared norm "
                         "overflows float64; rescale the inputs (coordinates in [0, 1), "
                         "Fourier features of magnitude <= 1).")
    return q


def _check_finite(out, depth, weight_std):
    """ValueError instead of a silently non-finite kernel (overflow through the layers)."""
    if not bool(torch.all(torch.isfinite(out))):
        raise ValueError(
            f"the kernel overflowed float64 through {depth} layers with weight_std="
            f"{weight_std!r}: each layer multiplies it by about weight_std**2 / 2. Rescale the "
            "inputs or lower weight_std (sqrt(2) keeps the scale constant).")


def _diag(q, depth, w2, b2, kind):
    var = w2 * q + b2
    ntk = var.clone() if kind == "ntk" else None
    nngp, ntk = _relu_layers(var.clone(), ntk, var, var, depth, w2, b2, unit=True)
    return ntk if kind == "ntk" else nngp


def ntk_diagonal(X, *, depth=3, weight_std=1.0, bias_std=0.0, kind="ntk"):
    """The diagonal ``K(x_i, x_i)`` of :func:`ntk_kernel`, in O(n) time and memory.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    depth, weight_std, bias_std, kind
        As in :func:`ntk_kernel`.

    Returns
    -------
    diag : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier.kernels import ntk_diagonal
    >>> ntk_diagonal(np.ones((2, 3)), depth=2)
    array([0.75, 0.75])
    """
    check_kernel_params(depth, weight_std, bias_std, kind)
    tx = _as_tensor(X, "X")
    out = _diag(_squared_norms(tx, "X"), depth, float(weight_std) ** 2, float(bias_std) ** 2,
                kind)
    _check_finite(out, depth, weight_std)
    return out.numpy()


def stationary_ntk(inner, norm_sq, *, depth=3, weight_std=1.0, bias_std=0.0, kind="ntk"):
    """The kernel of inputs with a constant squared norm, from their inner products.

    For a map with ``x . x / d = norm_sq`` for every input (Fourier features:
    ``sum_j a_j^2 / d``), the NTK depends on ``x . y / d`` alone; this evaluates
    it on an array of such inner products (e.g. on all lags of a grid).

    Parameters
    ----------
    inner : array-like
        Values of ``x . y / d``.
    norm_sq : float
        ``x . x / d``, common to all inputs.
    depth, weight_std, bias_std, kind
        As in :func:`ntk_kernel`.

    Returns
    -------
    K : ndarray of the shape of ``inner``

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier.kernels import ntk_kernel, stationary_ntk
    >>> X = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> np.allclose(stationary_ntk(X @ X.T / 2, 0.5, depth=2), ntk_kernel(X, depth=2))
    True
    """
    check_kernel_params(depth, weight_std, bias_std, kind)
    check_number(norm_sq, "norm_sq", low=0)
    inner = np.asarray(inner, dtype=np.float64)
    if not np.all(np.isfinite(inner)):
        raise ValueError("inner contains NaN or infinite values.")
    w2, b2 = float(weight_std) ** 2, float(bias_std) ** 2
    flat = torch.from_numpy(inner.reshape(1, -1).copy())
    var = w2 * float(norm_sq) + b2
    nngp = flat.mul_(w2).add_(b2)
    ntk = nngp.clone() if kind == "ntk" else None
    var_x = torch.full((1,), var, dtype=torch.float64)
    var_y = torch.full((flat.shape[1],), var, dtype=torch.float64)
    nngp, ntk = _relu_layers(nngp, ntk, var_x, var_y, depth, w2, b2, unit=False)
    result = ntk if kind == "ntk" else nngp
    _check_finite(result, depth, weight_std)
    out = result.numpy().reshape(inner.shape)
    # where the inner product equals the norm (zero lag) the value is the exact diagonal
    exact = float(_diag(torch.tensor([float(norm_sq)], dtype=torch.float64), depth, w2, b2,
                        kind)[0])
    out[inner == norm_sq] = exact
    return out


class NeuralTangentKernel(Kernel):
    """The NTK / NNGP of a deep ReLU MLP as a scikit-learn Gaussian-process kernel.

    Lets :class:`~sklearn.gaussian_process.GaussianProcessRegressor` use the
    infinite-width network's kernel (``kind="nngp"`` is the exact Bayesian
    posterior of the network; ``kind="ntk"`` the NTK-GP). The hyperparameters
    are fixed (not optimised by the GP's marginal likelihood); combine with
    ``ConstantKernel`` or ``WhiteKernel`` for tunable scale and noise.

    Parameters
    ----------
    depth : int, default=3
    weight_std : float, default=1.0
    bias_std : float, default=0.0
    kind : {"ntk", "nngp"}, default="ntk"

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.gaussian_process import GaussianProcessRegressor
    >>> from skfourier.kernels import NeuralTangentKernel
    >>> X = np.linspace(0.1, 1, 8)[:, None]
    >>> kernel = NeuralTangentKernel(depth=2, bias_std=0.5)
    >>> gp = GaussianProcessRegressor(kernel, alpha=1e-6).fit(X, np.sin(3 * X[:, 0]))
    >>> gp.predict(np.array([[0.5]])).round(2)  # sin(1.5) = 0.997
    array([0.99])
    """

    def __init__(self, depth=3, weight_std=1.0, bias_std=0.0, kind="ntk"):
        self.depth = depth
        self.weight_std = weight_std
        self.bias_std = bias_std
        self.kind = kind

    @property
    def hyperparameter_depth(self):
        return Hyperparameter("depth", "numeric", "fixed")

    @property
    def hyperparameter_weight_std(self):
        return Hyperparameter("weight_std", "numeric", "fixed")

    @property
    def hyperparameter_bias_std(self):
        return Hyperparameter("bias_std", "numeric", "fixed")

    def _params(self):
        return dict(depth=self.depth, weight_std=self.weight_std, bias_std=self.bias_std,
                    kind=self.kind)

    def __call__(self, X, Y=None, eval_gradient=False):
        if eval_gradient and Y is not None:
            raise ValueError("Gradient can only be evaluated when Y is None.")
        K = ntk_kernel(X, Y, **self._params())
        if eval_gradient:
            return K, np.empty((K.shape[0], K.shape[1], 0))
        return K

    def diag(self, X):
        return ntk_diagonal(X, **self._params())

    def is_stationary(self):
        return False

    def __repr__(self):
        return (f"{type(self).__name__}(depth={self.depth}, weight_std={self.weight_std}, "
                f"bias_std={self.bias_std}, kind={self.kind!r})")
