"""CoordinateMLPRegressor: a skorch-trained torch MLP for coordinate regression."""

import numbers

import numpy as np
import torch
from skorch import NeuralNetRegressor
from skorch.callbacks import LRScheduler
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._torch_modules import CoordinateMLP
from ._validation import check_number, check_option
from .callbacks import ProgressBar

ACTIVATIONS = ("relu", "tanh", "sine")
OUTPUT_ACTIVATIONS = ("sigmoid", "identity")
PARAMETERIZATIONS = ("standard", "ntk")
OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
LR_SCHEDULES = ("cosine", "exponential")
# Rows per forward pass at predict time.
_PREDICT_BATCH = 1 << 16


class _Batches:
    """One batch per pass: the whole training set (full batch) or a fresh random minibatch.

    Tensors are moved to the device once, so no per-iteration collation or copy
    happens; skorch's epoch becomes exactly one optimiser step.
    """

    def __init__(self, X, y, batch_size, seed):
        self.X, self.y, self.batch_size = X, y, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self):
        if self.batch_size is None or self.batch_size >= len(self.X):
            yield self.X, self.y
        else:
            idx = torch.randperm(len(self.X), generator=self.generator)[:self.batch_size]
            idx = idx.to(self.X.device)
            yield self.X[idx], self.y[idx]


class _CoordinateNet(NeuralNetRegressor):
    """NeuralNetRegressor that keeps the data on the device as tensors (see `_Batches`).

    The tensors take the module's dtype: float32 while training, float64 once
    fitted (:meth:`CoordinateMLPRegressor.fit`), so ``net_.predict`` runs the
    fitted network as :meth:`CoordinateMLPRegressor.predict` does.
    """

    def get_iterator(self, dataset, training=False):
        device = self.device
        dtype = next(self.module_.parameters()).dtype
        X = torch.as_tensor(dataset.X, dtype=dtype, device=device)
        # no targets when predicting (skorch's predict / forward)
        y = None if dataset.y is None else torch.as_tensor(dataset.y, dtype=dtype, device=device)
        # a private generator: minibatches do not depend on other threads' use of torch's RNG
        seed = self.module_.seed + len(self.history)
        return _Batches(X, y, self.batch_size if training else None, seed)


def _check_float32_range(a, name):
    """The network trains in float32: values beyond its range would become inf."""
    top = np.abs(a).max() if a.size else 0.0
    if top > np.finfo(np.float32).max:
        raise ValueError(f"{name} has values up to {top:.3g}, beyond float32 (max "
                         f"{np.finfo(np.float32).max:.3g}) in which the network trains; "
                         f"rescale {name} (e.g. colours to [0, 1]).")


class CoordinateMLPRegressor(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Coordinate MLP (pixel coordinates -> colour) trained with skorch.

    The finite network of the Fourier-features papers: ``hidden_layer_sizes``
    (Linear, activation[, BatchNorm]) blocks and a Linear read-out with an
    output activation, trained full-batch on the MSE loss. The seed network
    is written as 1x1 convolutions with batch norm after each hidden layer;
    on a batch of pixels this Linear stack with ``BatchNorm1d`` is the same
    computation (``batch_norm=True``). Put a
    :class:`~skfourier.FourierFeatureTransformer` in front to learn high
    frequencies.

    One iteration is one optimiser step: on the whole training set when
    ``batch_size=None`` (the papers' setting), else on a random minibatch.
    Training runs in float32; predictions for float64 input are float64.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 256, 256)
        Width of each hidden layer.
    activation : {"relu", "tanh", "sine"}, default="relu"
        Hidden activation; ``"sine"`` is SIREN (``sin(omega_0 z)`` with its
        initialisation: U(-1/n, 1/n) in the first layer, U(-sqrt(6/n)/omega_0,
        sqrt(6/n)/omega_0) after).
    batch_norm : bool, default=False
        BatchNorm after each hidden activation (the seed's setting).
    output_activation : {"sigmoid", "identity"}, default="sigmoid"
        ``"sigmoid"`` keeps colours in (0, 1).
    parameterization : {"standard", "ntk"}, default="standard"
        ``"standard"``: weights initialised N(0, weight_std^2 / fan_in), biases 0.
        ``"ntk"``: weights and biases N(0, 1), scaled by ``weight_std /
        sqrt(fan_in)`` and ``bias_std`` in the forward pass; a wide network
        trained by gradient descent then follows :class:`NTKRegressor` with the
        same ``depth = len(hidden_layer_sizes)``, ``weight_std``, ``bias_std``.
    weight_std : float, default=1.0
        Weight scale (see ``parameterization``); ignored by ``"sine"``.
    omega_0 : float, default=30.0
        SIREN's frequency factor for ``activation="sine"``.
    max_iter : int, default=400
        Number of optimiser steps.
    lr : float, default=1e-3
        Learning rate.
    lr_schedule : {None, "cosine", "exponential"}, default=None
        Learning-rate decay over the ``max_iter`` steps: cosine annealing to 0,
        or exponential decay by 10x overall.
    batch_size : int or None, default=None
        ``None``: full batch.
    optimizer : {"adam", "sgd"}, default="adam"
    device : str, default="cpu"
        Torch device, e.g. ``"cuda"``; ``"auto"`` takes CUDA when present. A
        model fitted on CUDA and loaded where CUDA is absent predicts on the
        CPU (``device_`` says so; skorch emits a ``DeviceWarning``).
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation and minibatch sampling; the global torch RNG is
        left untouched.
    verbose : int, default=0
        ``1`` shows a progress bar with loss and PSNR (and any ``*_psnr``
        history entry, e.g. from :class:`~skfourier.callbacks.HeldOutPSNR`).
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (e.g. ``HeldOutPSNR``, ``Checkpoint``).
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit``. Parameters
        that define the network (sizes, activations, batch norm,
        parameterisation, ``weight_std``, ``bias_std``, ``omega_0``) cannot
        change in between: a warm start then raises a ValueError.
    bias_std : float, default=0.0
        Bias scale of the ``"ntk"`` parameterisation (matching
        ``NTKRegressor(bias_std=...)``); ignored otherwise.

    Attributes
    ----------
    net_ : skorch.NeuralNetRegressor
        The trained skorch net (``net_.module_`` is the torch module,
        ``net_.history`` the training history). Training runs in float32;
        after ``fit`` the module is kept in float64, so that predictions do
        not depend on the batch they are computed in, and ``net_.predict(X)``
        gives :meth:`predict`'s values (as a 2-D float64 array). A
        ``warm_start`` fit returns it to float32 while it trains.
    loss_curve_ : ndarray of shape (`n_iter_`,)
        Training loss (MSE over all entries) at each iteration.
    n_iter_ : int
        Iterations run (accumulates with ``warm_start``).
    device_ : str
        The device that was used.
    n_outputs_ : int
        Number of target columns.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, for DataFrame input with
        string column names.

    See Also
    --------
    NTKRegressor : the infinite-width limit of this network.
    FourierFeatureTransformer : the input mapping of the papers.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skfourier import CoordinateMLPRegressor, FourierFeatureTransformer
    >>> from skfourier.datasets import load_sample_image, image_to_regression
    >>> X, y = image_to_regression(load_sample_image("china", size=16))
    >>> model = make_pipeline(
    ...     FourierFeatureTransformer(scale=2, n_frequencies=32, random_state=0),
    ...     CoordinateMLPRegressor(hidden_layer_sizes=(64, 64), max_iter=50, random_state=0))
    >>> model.fit(X, y).predict(X).shape
    (256, 3)
    """

    def __init__(self, hidden_layer_sizes=(256, 256, 256), *, activation="relu", batch_norm=False,
                 output_activation="sigmoid", parameterization="standard", weight_std=1.0,
                 omega_0=30.0, max_iter=400, lr=1e-3, lr_schedule=None, batch_size=None,
                 optimizer="adam", device="cpu", random_state=None, verbose=0, callbacks=None,
                 warm_start=False, bias_std=0.0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.batch_norm = batch_norm
        self.output_activation = output_activation
        self.parameterization = parameterization
        self.weight_std = weight_std
        self.omega_0 = omega_0
        self.max_iter = max_iter
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.bias_std = bias_std

    def _check_params(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral):
            sizes = (sizes,)
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
                   for s in sizes):
            raise ValueError("hidden_layer_sizes must be a tuple of positive integers, got "
                             f"{self.hidden_layer_sizes!r}.")
        check_option(self.activation, "activation", ACTIVATIONS)
        check_option(self.output_activation, "output_activation", OUTPUT_ACTIVATIONS)
        check_option(self.parameterization, "parameterization", PARAMETERIZATIONS)
        check_option(self.optimizer, "optimizer", OPTIMIZERS)
        if self.lr_schedule is not None:
            check_option(self.lr_schedule, "lr_schedule", LR_SCHEDULES)
        check_number(self.weight_std, "weight_std", low=0, low_inclusive=False)
        check_number(self.bias_std, "bias_std", low=0)
        check_number(self.omega_0, "omega_0", low=0, low_inclusive=False)
        check_number(self.max_iter, "max_iter", low=1, integer=True)
        check_number(self.lr, "lr", low=0, low_inclusive=False)
        check_number(self.batch_size, "batch_size", low=1, integer=True, allow_none=True)
        return tuple(int(s) for s in sizes)

    def _resolve_device(self):
        device = self.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if not isinstance(device, str):
            raise ValueError(f"device must be a string such as 'cpu' or 'cuda', got {device!r}.")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was asked for but torch sees no CUDA device; "
                             "use device='cpu' or 'auto'.")
        try:
            torch.device(device)
        except RuntimeError as exc:
            raise ValueError(f"device={device!r} is not a torch device ({exc}).") from exc
        return device

    def _build_net(self, n_in, n_out, hidden, device, seed):
        callbacks = list(self.callbacks or [])
        if self.lr_schedule == "cosine":
            callbacks.append(("lr_schedule", LRScheduler(
                policy=torch.optim.lr_scheduler.CosineAnnealingLR, T_max=self.max_iter)))
        elif self.lr_schedule == "exponential":
            callbacks.append(("lr_schedule", LRScheduler(
                policy=torch.optim.lr_scheduler.ExponentialLR,
                gamma=0.1 ** (1.0 / self.max_iter))))
        if self.verbose:
            callbacks.append(("progress", ProgressBar()))
        return _CoordinateNet(
            CoordinateMLP, module__n_in=n_in, module__n_out=n_out, module__hidden=hidden,
            module__activation=self.activation, module__batch_norm=self.batch_norm,
            module__output_activation=self.output_activation,
            module__parameterization=self.parameterization, module__weight_std=self.weight_std,
            module__bias_std=self.bias_std, module__omega_0=self.omega_0, module__seed=seed,
            criterion=torch.nn.MSELoss, optimizer=OPTIMIZERS[self.optimizer], lr=self.lr,
            max_epochs=self.max_iter, batch_size=self.batch_size, train_split=None,
            callbacks=callbacks, callbacks__print_log=None, device=device, verbose=0)

    def fit(self, X, y):
        """Train the network for ``max_iter`` optimiser steps.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs (coordinates or their Fourier features).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets (colours in [0, 1] for the sigmoid output).

        Returns
        -------
        self : CoordinateMLPRegressor
            The fitted estimator.
        """
        hidden = self._check_params()
        device = self._resolve_device()
        continuing = self.warm_start and hasattr(self, "net_")
        architecture = self._architecture(hidden)
        if continuing:
            self._check_same_architecture(architecture)
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True,
                             dtype=[np.float64, np.float32], force_writeable=True,
                             reset=not continuing)
        _check_float32_range(X, "X")
        _check_float32_range(y, "y")
        Y = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
        batch = len(X) if self.batch_size is None else min(self.batch_size, len(X))
        if self.batch_norm and batch < 2:
            raise ValueError(f"batch_norm=True needs at least 2 samples per batch, got "
                             f"n_samples={len(X)} with batch_size={self.batch_size}; use more "
                             "samples, a larger batch_size or batch_norm=False.")
        if continuing and Y.shape[1] != self.n_outputs_:
            raise ValueError(f"warm_start: y has {Y.shape[1]} outputs but the network was "
                             f"trained with {self.n_outputs_}.")
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
        # weights and minibatches come from private generators seeded by `seed`; fork_rng
        # keeps torch's global RNG (consumed by layer constructors) as the caller left it
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            if continuing:
                net = self.net_
                net.module_.float()
                net.max_epochs = self.max_iter  # this call's iterations
                net.partial_fit(X.astype(np.float32), Y)
            else:
                net = self._build_net(X.shape[1], Y.shape[1], hidden, device, seed)
                net.fit(X.astype(np.float32), Y)
        losses = np.asarray(net.history[:, "train_loss"], dtype=np.float64)
        if not np.all(np.isfinite(losses)):
            first = int(np.argmin(np.isfinite(losses)))
            way = "" if self.optimizer == "adam" else ", use optimizer='adam'"
            raise ValueError(
                f"training diverged: the loss became {losses[first]} at iteration {first + 1} "
                f"(lr={self.lr!r}, optimizer={self.optimizer!r}). Lower lr{way}, or rescale "
                "X and y.")
        self.net_ = net
        # predictions in float64 are independent of the batch they are computed in
        self.net_.module_.double()
        self.device_ = device
        self._fitted_architecture = architecture
        self._y_ndim = y.ndim
        self.n_outputs_ = Y.shape[1]
        self.loss_curve_ = losses
        self.n_iter_ = len(losses)
        return self

    def _architecture(self, hidden):
        """The parameters that define the module: a warm start cannot change them."""
        return {"hidden_layer_sizes": hidden, "activation": self.activation,
                "batch_norm": self.batch_norm, "output_activation": self.output_activation,
                "parameterization": self.parameterization, "weight_std": self.weight_std,
                "bias_std": self.bias_std, "omega_0": self.omega_0}

    def _check_same_architecture(self, architecture):
        changed = [f"{name} from {self._fitted_architecture[name]!r} to {value!r}"
                   for name, value in architecture.items()
                   if self._fitted_architecture[name] != value]
        if changed:
            raise ValueError(
                "warm_start=True continues training the fitted network, but "
                + ", ".join(changed) + " changed since it was built; set warm_start=False "
                "to train a new network with these settings.")

    def __setstate__(self, state):
        super().__setstate__(state)
        net = self.__dict__.get("net_")
        if net is not None and str(self.device_) != str(net.device):
            # skorch maps a CUDA-fitted net to the CPU where CUDA is absent (DeviceWarning);
            # predict follows it there
            self.device_ = str(net.device)

    def predict(self, X):
        """Network outputs at ``X`` (evaluation mode: batch norm uses running statistics).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            float64 for float64 input, float32 for float32 input.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                          force_writeable=True)
        module = self.net_.module_
        module.eval()
        out = np.empty((X.shape[0], self.n_outputs_), dtype=np.float64)
        with torch.no_grad():
            for start in range(0, X.shape[0], _PREDICT_BATCH):
                rows = slice(start, start + _PREDICT_BATCH)
                xb = torch.as_tensor(X[rows], dtype=torch.float64, device=self.device_)
                out[rows] = module(xb).cpu().numpy()
        out = out.astype(X.dtype, copy=False)
        return out.ravel() if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a sigmoid output cannot reach targets outside (0, 1), e.g. standardised data
        tags.regressor_tags.poor_score = self.output_activation == "sigmoid"
        # CUDA kernels are not bitwise reproducible
        tags.non_deterministic = self.device != "cpu"
        return tags
