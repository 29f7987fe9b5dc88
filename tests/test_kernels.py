import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.kernel_ridge import KernelRidge

from skfourier.kernels import NeuralTangentKernel, ntk_diagonal, ntk_kernel, stationary_ntk


def _empirical_ntk(X, depth, weight_std, bias_std, width, seed):
    """NTK and last-layer (NNGP) Gram of one random wide MLP in the NTK parameterisation."""
    gen = torch.Generator().manual_seed(seed)
    sizes = [X.shape[1]] + [width] * depth + [1]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append(torch.randn(fan_out, fan_in, generator=gen, dtype=torch.float64))
        params.append(torch.randn(fan_out, generator=gen, dtype=torch.float64))
    for p in params:
        p.requires_grad_(True)

    def forward(x):
        h = x
        for i in range(0, len(params), 2):
            W, b = params[i], params[i + 1]
            h = weight_std / np.sqrt(W.shape[1]) * (W @ h) + bias_std * b
            if i < len(params) - 2:
                h = torch.relu(h)
        return h[0]

    grads = []
    for x in torch.from_numpy(X):
        g = torch.autograd.grad(forward(x), params)
        grads.append(torch.cat([gi.reshape(-1) for gi in g]))
    J = torch.stack(grads)
    n_last = params[-2].numel() + params[-1].numel()
    return (J @ J.T).numpy(), (J[:, -n_last:] @ J[:, -n_last:].T).numpy()


@pytest.mark.parametrize("depth, weight_std, bias_std", [
    (1, 1.0, 0.0), (2, np.sqrt(2), 0.1), (3, 1.5, 0.5), (3, np.sqrt(2), 0.0)])
def test_matches_empirical_ntk_of_wide_network(depth, weight_std, bias_std):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(5, 3))
    X[0] = 0.3 * X[1]  # a parallel pair: correlation exactly 1 off the diagonal
    seeds = range(8)
    emp = [_empirical_ntk(X, depth, weight_std, bias_std, 2048, s) for s in seeds]
    ntk_emp = np.mean([e[0] for e in emp], axis=0)
    nngp_emp = np.mean([e[1] for e in emp], axis=0)
    ntk = ntk_kernel(X, depth=depth, weight_std=weight_std, bias_std=bias_std)
    nngp = ntk_kernel(X, depth=depth, weight_std=weight_std, bias_std=bias_std, kind="nngp")
    scale = np.abs(ntk).max()
    assert np.abs(ntk_emp - ntk).max() / scale < 0.05
    assert np.abs(nngp_emp - nngp).max() / np.abs(nngp).max() < 0.05


def test_empirical_error_shrinks_with_width():
    X = np.random.RandomState(1).normal(size=(4, 2))
    ntk = ntk_kernel(X, depth=2, weight_std=np.sqrt(2), bias_std=0.2)

    def error(width):
        errs = [np.abs(_empirical_ntk(X, 2, np.sqrt(2), 0.2, width, s)[0] - ntk).max()
                for s in range(6)]
        return np.mean(errs)

    assert error(2048) < 0.5 * error(64)


def test_cross_kernel_consistent_and_symmetric():
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(7, 4)), rng.normal(size=(5, 4))
    K = ntk_kernel(np.vstack([X, Y]), depth=3, bias_std=0.3)
    assert_allclose(ntk_kernel(X, Y, depth=3, bias_std=0.3), K[:7, 7:], rtol=1e-7)
    assert_allclose(K, K.T)
    assert_allclose(np.diag(K), ntk_diagonal(np.vstack([X, Y]), depth=3, bias_std=0.3))
    assert np.linalg.eigvalsh(K).min() > 0


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
@pytest.mark.parametrize("bias_std", [0.0, 0.4])
def test_tiles_give_same_result(monkeypatch, kind, bias_std):
    import skfourier.kernels as kernels

    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(50, 3)), rng.normal(size=(11, 3))
    inner = rng.uniform(-0.5, 0.5, size=(4, 9))
    params = dict(depth=2, bias_std=bias_std, kind=kind)
    full, cross = ntk_kernel(X, **params), ntk_kernel(X, Y, **params)
    lags = stationary_ntk(inner, 0.5, **params)
    monkeypatch.setattr(kernels, "_ROWS", 3)  # 3 x 7 tiles, the last ones ragged
    monkeypatch.setattr(kernels, "_TILE", 21)
    tiled = ntk_kernel(X, **params)
    assert_allclose(tiled, full, rtol=1e-12)
    # the lower triangle (mirrored from the upper tiles) equals the cross kernel computed
    # on its own: a wrong mirroring would put another block there
    assert_allclose(tiled[30:, :30], ntk_kernel(X[30:], X[:30], **params), rtol=1e-12)
    assert_allclose(ntk_kernel(X, Y, **params), cross, rtol=1e-12)
    assert_allclose(stationary_ntk(inner, 0.5, **params), lags, rtol=1e-12)


def test_zero_norm_inputs_take_their_limit():
    X = np.array([[0.0, 0.0], [0.5, 0.25], [0.0, 0.0]])
    for kind in ("ntk", "nngp"):
        K = ntk_kernel(X, depth=3, kind=kind)
        assert np.all(np.isfinite(K))
        assert_allclose(K[0], 0.0)
        assert K[1, 1] > 0


def test_depth_zero_is_linear_kernel():
    X = np.random.RandomState(0).normal(size=(4, 3))
    assert_allclose(ntk_kernel(X, depth=0, weight_std=2.0, bias_std=0.5),
                    4.0 * X @ X.T / 3 + 0.25)


def test_usable_in_kernel_ridge_and_gp():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(20, 2)), rng.normal(size=20)
    K = ntk_kernel(X, depth=2)
    kr = KernelRidge(kernel="precomputed", alpha=1e-3).fit(K, y)
    gp = GaussianProcessRegressor(NeuralTangentKernel(depth=2), alpha=1e-3,
                                  optimizer=None).fit(X, y)
    Xt = rng.normal(size=(5, 2))
    assert_allclose(gp.predict(Xt), kr.predict(ntk_kernel(Xt, X, depth=2)), rtol=1e-8)
    kern = NeuralTangentKernel(depth=2, kind="nngp")
    assert_allclose(kern.diag(X), np.diag(kern(X)))
    assert "NeuralTangentKernel(depth=2" in repr(kern)
    assert kern(X, eval_gradient=True)[1].shape == (20, 20, 0)


@pytest.mark.parametrize("kwargs, match", [
    ({"depth": -1}, "depth"), ({"weight_std": 0.0}, "weight_std"),
    ({"bias_std": -1.0}, "bias_std"), ({"kind": "rbf"}, "kind")])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ntk_kernel(np.ones((2, 2)), **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="NaN"):
        ntk_kernel(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="features"):
        ntk_kernel(np.ones((2, 2)), np.ones((2, 3)))
