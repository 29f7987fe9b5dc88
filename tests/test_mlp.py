import warnings

import joblib
import numpy as np
import pytest
import torch
from skorch.exceptions import DeviceWarning
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skfourier import CoordinateMLPRegressor, FourierFeatureTransformer, NTKRegressor
from skfourier._torch_modules import CoordinateMLP
from skfourier.callbacks import HeldOutPSNR
from skfourier.datasets import image_to_regression, load_sample_image
from skfourier.metrics import psnr, psnr_scorer
from skfourier.model_selection import PixelGridSplit

FAST = dict(hidden_layer_sizes=(16, 16), max_iter=5, random_state=0)


@pytest.fixture(scope="module")
def small():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(50, 2))
    return X, np.column_stack([X.mean(1), X[:, 0] * X[:, 1], np.sin(3 * X[:, 1])])


def _conv_twin(mlp):
    """The seed's 1x1-convolution network carrying the weights of a Linear CoordinateMLP."""
    layers = []
    for layer in mlp.layers:
        if isinstance(layer, torch.nn.Linear):
            conv = torch.nn.Conv2d(layer.in_features, layer.out_features, kernel_size=1)
            conv.weight.data = layer.weight.data[:, :, None, None].clone()
            conv.bias.data = layer.bias.data.clone()
            layers.append(conv)
        elif isinstance(layer, torch.nn.BatchNorm1d):
            bn = torch.nn.BatchNorm2d(layer.num_features)
            bn.load_state_dict(layer.state_dict())
            layers.append(bn)
        else:
            layers.append(layer)
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_linear_stack_equals_1x1_convolutions(batch_norm, mode):
    torch.manual_seed(0)
    H, W, C = 5, 7, 6
    mlp = CoordinateMLP(C, 3, hidden=(8, 8), batch_norm=batch_norm).double()
    conv = _conv_twin(mlp).double()
    if batch_norm:  # give the running statistics something to hold
        with torch.no_grad():
            mlp.train()(torch.randn(40, C, dtype=torch.float64))
        conv = _conv_twin(mlp).double()
    getattr(mlp, mode)()
    getattr(conv, mode)()
    image = torch.randn(1, C, H, W, dtype=torch.float64)
    pixels = image[0].reshape(C, H * W).T  # row-major pixels, one row each
    out_conv = conv(image)[0].reshape(3, H * W).T
    assert_allclose(mlp(pixels).detach().numpy(), out_conv.detach().numpy(), atol=1e-12)


def test_same_seed_same_weights_and_global_rng_untouched(small):
    X, Y = small
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = CoordinateMLPRegressor(**FAST).fit(X, Y)
    after = torch.rand(1)
    b = CoordinateMLPRegressor(**FAST).fit(X, Y)
    assert before == after
    for pa, pb in zip(a.net_.module_.parameters(), b.net_.module_.parameters()):
        assert torch.equal(pa, pb)
    assert_array_equal(a.predict(X), b.predict(X))
    c = CoordinateMLPRegressor(**{**FAST, "random_state": 1}).fit(X, Y)
    assert not np.array_equal(a.predict(X), c.predict(X))


def test_fitted_attributes_and_shapes(small):
    X, Y = small
    model = CoordinateMLPRegressor(**FAST).fit(X, Y)
    assert model.n_iter_ == 5 and model.loss_curve_.shape == (5,)
    assert model.n_outputs_ == 3 and model.n_features_in_ == 2 and model.device_ == "cpu"
    assert model.predict(X).dtype == np.float64
    assert model.predict(X.astype(np.float32)).dtype == np.float32
    one = CoordinateMLPRegressor(**FAST).fit(X, Y[:, 0])
    assert one.predict(X).shape == (50,)
    assert np.all((model.predict(X) > 0) & (model.predict(X) < 1))  # sigmoid output


def test_loss_decreases_full_batch_and_minibatch(small):
    X, Y = small
    for batch_size in (None, 16):
        model = CoordinateMLPRegressor(hidden_layer_sizes=(32, 32), max_iter=60, lr=1e-2,
                                       batch_size=batch_size, random_state=0).fit(X, Y)
        assert model.loss_curve_[-5:].mean() < 0.5 * model.loss_curve_[:5].mean()
    sizes = CoordinateMLPRegressor(**{**FAST, "batch_size": 16}).fit(X, Y).net_.history[
        :, "batches", :, "train_batch_size"]
    assert all(s == [16] for s in sizes)  # one step per iteration


def test_warm_start_continues(small):
    X, Y = small
    model = CoordinateMLPRegressor(**FAST, warm_start=True).fit(X, Y)
    first = model.predict(X)
    model.fit(X, Y)
    assert model.n_iter_ == 10 and len(model.loss_curve_) == 10
    assert not np.array_equal(first, model.predict(X))
    cold = CoordinateMLPRegressor(**FAST).fit(X, Y)
    cold.fit(X, Y)
    assert cold.n_iter_ == 5


@pytest.mark.parametrize("params", [
    {"activation": "tanh"}, {"activation": "sine", "omega_0": 10.0},
    {"batch_norm": True}, {"output_activation": "identity"}, {"optimizer": "sgd"},
    {"lr_schedule": "cosine"}, {"lr_schedule": "exponential"},
    {"parameterization": "ntk", "weight_std": 1.4, "bias_std": 0.1},
])
def test_options_train(small, params):
    X, Y = small
    model = CoordinateMLPRegressor(**{**FAST, "max_iter": 20, **params}).fit(X, Y)
    assert np.all(np.isfinite(model.predict(X)))
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_lr_schedule_reaches_low_rate(small):
    X, Y = small
    model = CoordinateMLPRegressor(**{**FAST, "lr_schedule": "exponential"}).fit(X, Y)
    assert model.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.1, rel=1e-6)


def test_siren_initialisation():
    torch.manual_seed(0)
    mlp = CoordinateMLP(2, 3, hidden=(64, 64), activation="sine", omega_0=30.0)
    linears = [m for m in mlp.layers if isinstance(m, torch.nn.Linear)]
    assert linears[0].weight.abs().max() <= 1 / 2
    bound = np.sqrt(6 / 64) / 30
    assert all(lin.weight.abs().max() <= bound for lin in linears[1:])


def test_verbose_progress_and_heldout_psnr(small, capsys):
    X, Y = small
    model = CoordinateMLPRegressor(**{**FAST, "max_iter": 6}, verbose=1,
                                   callbacks=[HeldOutPSNR(X[:10], Y[:10], every=3)])
    model.fit(X, Y)
    values = model.net_.history[:, "valid_psnr"]
    assert np.isnan(values[0]) and np.isfinite(values[2]) and np.isfinite(values[5])
    assert values[5] == pytest.approx(psnr(Y[:10], model.predict(X[:10])), abs=1e-3)
    err = capsys.readouterr().err
    assert "fit" in err and "valid_psnr" in err


def test_cuda_requested_but_absent(small, monkeypatch):
    X, Y = small
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA device"):
        CoordinateMLPRegressor(**FAST, device="cuda").fit(X, Y)
    assert CoordinateMLPRegressor(**FAST, device="auto").fit(X, Y).device_ == "cpu"


def test_cuda_fitted_model_predicts_on_cpu_after_load(small, tmp_path, monkeypatch):
    """Simulates the device move: the pickle says CUDA, the loading machine has none."""
    X, Y = small
    model = CoordinateMLPRegressor(**FAST).fit(X, Y)
    expected = model.predict(X)
    model.device_ = "cuda"          # as left by fit(device="cuda")
    model.net_.device = "cuda"
    joblib.dump(model, tmp_path / "m.joblib")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning) as record:  # skorch says it maps CUDA to the CPU
        loaded = joblib.load(tmp_path / "m.joblib")
    assert all("cpu" in str(w.message) for w in record)
    assert loaded.device_ == "cpu" and str(loaded.net_.device) == "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # predicting raises no further device warning
        assert_allclose(loaded.predict(X), expected, rtol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_predicts_after_load(small, tmp_path):
    X, Y = small
    model = CoordinateMLPRegressor(**FAST, device="cuda").fit(X, Y)
    joblib.dump(model, tmp_path / "m.joblib")
    assert_allclose(joblib.load(tmp_path / "m.joblib").predict(X), model.predict(X), rtol=1e-5)


@pytest.mark.parametrize("change", [{"hidden_layer_sizes": (8, 8)}, {"activation": "tanh"},
                                    {"batch_norm": True}, {"parameterization": "ntk"}])
def test_warm_start_refuses_a_changed_architecture(small, change):
    X, Y = small
    model = CoordinateMLPRegressor(**{**FAST, "hidden_layer_sizes": (8,)}, warm_start=True)
    model.fit(X, Y)
    name = next(iter(change))
    with pytest.raises(ValueError, match=f"{name} from .* changed.*warm_start=False"):
        model.set_params(**change).fit(X, Y)
    model.set_params(warm_start=False).fit(X, Y)  # a new network with the new settings
    assert model.n_iter_ == FAST["max_iter"]


@pytest.mark.parametrize("params, match", [
    ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
    ({"activation": "gelu"}, "activation"), ({"optimizer": "lbfgs"}, "optimizer"),
    ({"max_iter": 0}, "max_iter"), ({"lr": -1.0}, "lr"), ({"batch_size": 0}, "batch_size"),
    ({"parameterization": "mup"}, "parameterization"), ({"lr_schedule": "step"}, "lr_schedule"),
    ({"output_activation": "relu"}, "output_activation"), ({"device": "tpu"}, "device"),
])
def test_bad_parameters(small, params, match):
    X, Y = small
    with pytest.raises(ValueError, match=match):
        CoordinateMLPRegressor(**{**FAST, **params}).fit(X, Y)


def test_bad_inputs(small):
    X, Y = small
    with pytest.raises(ValueError, match="NaN"):
        CoordinateMLPRegressor(**FAST).fit(np.where(X > 0.9, np.nan, X), Y)
    model = CoordinateMLPRegressor(**FAST).fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        model.predict(np.zeros((3, 5)))


def test_pipeline_search_clone_and_joblib(image32, tmp_path):
    X, y, _ = image32
    pipe = make_pipeline(FourierFeatureTransformer(n_frequencies=32, random_state=0),
                         CoordinateMLPRegressor(hidden_layer_sizes=(32, 32), max_iter=20,
                                                random_state=0))
    search = GridSearchCV(pipe, {"fourierfeaturetransformer__scale": [1.0, 3.0],
                                 "coordinatemlpregressor__lr": [1e-3, 1e-2]},
                          cv=PixelGridSplit(), scoring=psnr_scorer, n_jobs=2).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    sequential = GridSearchCV(pipe, search.param_grid, cv=PixelGridSplit(),
                              scoring=psnr_scorer).fit(X, y)
    assert_allclose(search.cv_results_["mean_test_score"],
                    sequential.cv_results_["mean_test_score"], rtol=1e-6)
    fitted = search.best_estimator_
    assert not hasattr(clone(fitted)[-1], "net_")
    joblib.dump(fitted, tmp_path / "pipe.joblib")
    assert_array_equal(joblib.load(tmp_path / "pipe.joblib").predict(X), fitted.predict(X))


def _ntk_agreement(width, X, y, steps, eta, seed):
    """Relative gap between a wide SGD-trained network and NTKRegressor on the training set."""
    params = dict(hidden_layer_sizes=(width, width), parameterization="ntk",
                  weight_std=np.sqrt(2), bias_std=0.1, output_activation="identity",
                  optimizer="sgd", lr=eta, random_state=seed)
    # outputs at initialisation: replay iteration 0 from the same seed with lr -> 0
    f0 = CoordinateMLPRegressor(**{**params, "lr": 1e-30}, max_iter=1).fit(X, y).predict(X)
    net = CoordinateMLPRegressor(**params, max_iter=steps[0], warm_start=True)
    ntk = NTKRegressor(depth=2, weight_std=np.sqrt(2), bias_std=0.1).fit(X, y - f0)
    # torch's MSELoss is the mean over N entries: one SGD step moves f by
    # -(2 eta / N) Theta (f - y), i.e. gradient flow time t = 2 eta per step at learning_rate=1
    times = 2 * eta * np.asarray(steps)
    expected = ntk.predict_trajectory(X, times)
    gaps, done = [], 0
    for k, s in enumerate(steps):
        net.set_params(max_iter=s - done).fit(X, y)
        done = s
        moved = net.predict(X) - f0
        gaps.append(np.linalg.norm(moved - expected[k]) / np.linalg.norm(expected[k]))
    return np.array(gaps)


def test_wide_network_follows_ntk_regressor():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(64, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    steps = [20, 100, 400]
    wide = np.mean([_ntk_agreement(1024, X, y, steps, 0.05, s) for s in range(2)], axis=0)
    narrow = np.mean([_ntk_agreement(32, X, y, steps, 0.05, s) for s in range(2)], axis=0)
    assert np.all(wide < 0.1), wide
    assert wide.mean() < 0.5 * narrow.mean(), (wide, narrow)


def test_fourier_features_beat_plain_mlp():
    """Issue acceptance: 64x64 image, 32x32 training lattice, Gaussian scale ~3 vs no mapping."""
    X, y = image_to_regression(load_sample_image("china", size=64))
    train, test = next(PixelGridSplit().split(X))
    scores = {}
    for name, enc in {"none": FourierFeatureTransformer(encoding="none"),
                      "gaussian": FourierFeatureTransformer(scale=3.0, random_state=0)}.items():
        model = make_pipeline(enc, CoordinateMLPRegressor(max_iter=200, random_state=0))
        scores[name] = psnr(y[test], model.fit(X[train], y[train]).predict(X[test]))
    assert scores["gaussian"] >= scores["none"] + 3.0, scores


def test_the_fitted_skorch_net_predicts_as_the_estimator(small):
    """``net_`` is documented as the trained skorch net: its own predict works and matches."""
    X, Y = small
    for batch_norm in (False, True):          # eval mode: running statistics in both
        model = CoordinateMLPRegressor(**FAST, batch_norm=batch_norm).fit(X, Y)
        assert next(model.net_.module_.parameters()).dtype == torch.float64  # as documented
        direct = model.net_.predict(X)
        assert direct.dtype == np.float64
        assert_allclose(direct.reshape(model.predict(X).shape), model.predict(X), rtol=1e-12)
        # and a warm start trains it again, in float32
        model.set_params(warm_start=True, max_iter=2).fit(X, Y)
        assert_allclose(model.net_.predict(X).reshape(model.predict(X).shape),
                        model.predict(X), rtol=1e-12)
