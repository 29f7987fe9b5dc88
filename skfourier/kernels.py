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
# Entries of one tile (its four float64 scratch buffers, 8 MiB, stay in cache through every
# layer; smaller tiles pay torch's per-call overhead) and its rows (256 x 1024 tiles are
# efficient GEMMs). Measured at n = 4096: 2^15 to 2^19 entries within 25%, 2^18 fastest.
_TILE = 1 << 18
_ROWS = 256


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


def _relu_layers(rho, tau, pm, j, sx, sy, depth, w2, b2):
    """Apply ``depth`` (ReLU, Dense) steps to a tile of correlations, in place.

    Works on ``rho = Sigma / (s_x s_y)`` and ``tau = Theta / (s_x s_y)`` with
    ``s = sqrt(Sigma(x, x))`` rather than on the kernels themselves: the
    recursion needs ``rho`` for ``arccos`` anyway, and in these units a layer
    is an ``arccos``, a ``sqrt`` and a few cheap passes over a cache-resident
    tile, with no row and column scaling when ``bias_std = 0`` (``rho' = J1 /
    pi`` then).
    ``tau`` is ``None`` for the NNGP; ``pm`` and ``j`` are scratch tiles.
    Returns ``(rho, tau, s_x, s_y)`` after the last layer (``rho`` is left
    unscaled there when ``tau`` is the result).
    """
    k = w2 / (2.0 * math.pi)
    for layer in range(depth):
        nx, ny = torch.sqrt(sx * sx * (0.5 * w2) + b2), torch.sqrt(sy * sy * (0.5 * w2) + b2)
        # next layer's units: rho' = ak J1 + b2 e_x e_y, tau' = ak (J1 + tau (pi - theta)) + b2 e e
        if b2:
            ak, e = torch.outer(k * sx / nx, sy / ny), (1.0 / nx, 1.0 / ny)  # b2 > 0: n > 0
        else:
            ak, e = 1.0 / math.pi, None
        rho.clamp_(-1.0, 1.0)
        torch.sub(_PI, torch.arccos(rho, out=pm), out=pm)
        # J1 = sin(theta) + (pi - theta) cos(theta), sin(theta) = sqrt(1 - rho^2) for |rho| <= 1
        torch.addcmul(_ONE, rho, rho, value=-1.0, out=j).sqrt_().addcmul_(pm, rho)
        if tau is not None:
            _rescale(torch.addcmul(j, tau, pm, out=tau), ak, e, b2)
        if tau is None or layer < depth - 1:
            rho, j = _rescale(j, ak, e, b2), rho
        sx, sy = nx, ny
    return rho, tau, sx, sy


def _rescale(x, ak, e, b2):
    x.mul_(ak)
    if b2:
        x.addr_(e[0], e[1], alpha=b2)
    return x


_ONE = torch.ones((), dtype=torch.float64)
_PI = torch.tensor(math.pi, dtype=torch.float64)


def _fill_tiles(out, tiles, inner, d, qx, qy, depth, weight_std, b2, kind):
    """Write the kernel into ``out[rows, cols]`` for each ``(rows, cols)`` of ``tiles``.

    ``inner(rows, cols, buf)`` writes the inputs' inner products ``x . y``
    into ``buf`` (divided by ``d`` here), ``qx, qy`` are their ``x . x / d``.
    Each tile is worked on in four scratch buffers of ``_TILE`` entries,
    small enough to stay in cache across the passes of every layer.
    """
    w2 = float(weight_std) ** 2
    sx, sy = torch.sqrt(w2 * qx + b2), torch.sqrt(w2 * qy + b2)
    zero = torch.zeros((), dtype=torch.float64)
    rx, ry = (torch.where(s > 0, 1.0 / s, zero) for s in (sx, sy))
    # |rho| <= 1 and |tau| <= depth + 1 in every layer, so the output can only overflow
    # through the final scales: check the tiles only when their bound is not finite
    check = not _bounded(sx, sy, depth, w2, b2)
    scratch = torch.empty((4, min(_TILE, out.numel())), dtype=torch.float64)
    for rows, cols in tiles:
        shape = (rows.stop - rows.start, cols.stop - cols.start)
        rho, tau, pm, j = (b[:shape[0] * shape[1]].view(shape) for b in scratch)
        inner(rows, cols, rho)
        rho.mul_((w2 / d * rx[rows])[:, None]).mul_(ry[cols])  # correlation of Sigma^0
        if b2:
            rho.addr_(rx[rows], ry[cols], alpha=b2)
        tau = tau.copy_(rho) if kind == "ntk" else None  # Theta^0 = Sigma^0
        rho, tau, s_rows, s_cols = _relu_layers(rho, tau, pm, j, sx[rows], sy[cols], depth,
                                                w2, b2)
        block = torch.mul(tau if kind == "ntk" else rho, s_rows[:, None], out=out[rows, cols])
        block.mul_(s_cols)
        if check:
            _check_finite(block, depth, weight_std)


def _bounded(sx, sy, depth, w2, b2):
    """Whether ``(depth + 1) max(s_x) max(s_y)`` after ``depth`` layers is a finite float."""
    big = [float(s.max()) if s.numel() else 0.0 for s in (sx, sy)]
    for _ in range(depth):
        big = [math.sqrt(v * v * (0.5 * w2) + b2) for v in big]
    return math.isfinite((depth + 1) * big[0] * big[1])


def _tiles(m, n, symmetric):
    """Tiles of at most ``_TILE`` entries covering an m x n matrix (its upper part if symmetric)."""
    rows = max(1, min(m, _ROWS))
    cols = max(1, _TILE // rows)
    for i in range(0, m, rows):
        for j in range(i if symmetric else 0, n, cols):
            yield slice(i, min(i + rows, m)), slice(j, min(j + cols, n))


def _mirror_upper(out):
    """Copy the upper part filled by ``_tiles(..., symmetric=True)`` onto the lower one."""
    n = out.shape[0]
    for i in range(0, n, _ROWS):
        r = slice(i, min(i + _ROWS, n))
        out[r.stop:, r] = out[r, r.stop:].T
        block = out[r, r]
        block.copy_(torch.triu(block) + torch.triu(block, 1).T)


def _as_tensor(X, name):
    # force_writeable: torch cannot wrap read-only arrays (joblib memmaps)
    X = check_array(X, dtype=np.float64, ensure_2d=True, input_name=name, force_writeable=True)
    return torch.from_numpy(np.ascontiguousarray(X))


def ntk_kernel(X, Y=None, *, depth=3, weight_std=1.0, bias_std=0.0, kind="ntk"):
    """NTK or NNGP kernel matrix of a deep ReLU MLP in the NTK parameterisation.

    Equal to neural-tangents'
    ``stax.serial(*[Dense(1, W_std, b_std), Relu()] * depth, Dense(1, W_std, b_std))``
    ``kernel_fn(X, Y, kind)``. Computed in float64 with torch's multi-threaded
    kernels, in cache-sized tiles (peak memory: the output plus 8 MiB); with
    ``Y=None`` only the upper triangle is computed, then mirrored, so the
    matrix is exactly symmetric.

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
    d = max(tx.shape[1], 1)
    w2, b2 = float(weight_std) ** 2, float(bias_std) ** 2
    qx = _squared_norms(tx, "X")
    qy = qx if symmetric else _squared_norms(ty, "Y")
    out = torch.empty((tx.shape[0], ty.shape[0]), dtype=torch.float64)

    def inner(rows, cols, buf):
        torch.matmul(tx[rows], ty[cols].T, out=buf)

    _fill_tiles(out, _tiles(*out.shape, symmetric), inner, d, qx, qy, depth, weight_std, b2,
                kind)
    if symmetric:  # the upper part only (half the work), then the exact diagonal
        _mirror_upper(out)
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
    """The recursion at ``x = y`` (``theta = 0``, ``J1 = pi``), exact."""
    nngp = w2 * q + b2
    ntk = nngp.clone()
    for _ in range(depth):
        nngp = nngp * (0.5 * w2) + b2
        ntk = ntk * (0.5 * w2) + nngp
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
    b2 = float(bias_std) ** 2
    # a fresh copy, overwritten tile by tile with the kernel (each tile is read first)
    flat = torch.from_numpy(np.array(inner, dtype=np.float64).reshape(1, -1))
    q = torch.full((1,), float(norm_sq), dtype=torch.float64)

    def read(rows, cols, buf):
        buf.copy_(flat[rows, cols])

    _fill_tiles(flat, _tiles(*flat.shape, False), read, 1, q, q.expand(flat.shape[1]), depth,
                weight_std, b2, kind)
    out = flat.numpy().reshape(inner.shape)
    # where the inner product equals the norm (zero lag) the value is the exact diagonal
    exact = float(_diag(q, depth, float(weight_std) ** 2, b2, kind)[0])
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

    def __init__(self, depth=3, *, weight_std=1.0, bias_std=0.0, kind="ntk"):
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
