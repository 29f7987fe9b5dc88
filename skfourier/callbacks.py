"""skorch callbacks for coordinate MLPs: held-out PSNR and a tqdm progress bar."""

import numpy as np
import torch
from skorch.callbacks import Callback

__all__ = ["HeldOutPSNR", "ProgressBar"]


class HeldOutPSNR(Callback):
    """Record the PSNR on held-out pixels every ``every`` iterations.

    One no-grad forward pass over the held-out set in evaluation mode; the
    full training batch is untouched, so full-batch training keeps its speed.
    The value goes into the net's history under ``name`` (NaN on the
    iterations in between).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Held-out inputs (after any feature map the MLP itself does not apply).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Held-out targets in [0, 1].
    every : int, default=10
        Score every this many iterations (and always on the last).
    name : str, default="valid_psnr"
        History key.

    Examples
    --------
    >>> import numpy as np
    >>> from skfourier import CoordinateMLPRegressor
    >>> from skfourier.callbacks import HeldOutPSNR
    >>> X = np.random.RandomState(0).uniform(size=(64, 2))
    >>> y = X.mean(1)
    >>> mlp = CoordinateMLPRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=0,
    ...                              callbacks=[HeldOutPSNR(X[:8], y[:8], every=2)])
    >>> history = mlp.fit(X, y).net_.history[:, "valid_psnr"]
    >>> len(history)
    5
    """

    def __init__(self, X, y, every=10, name="valid_psnr"):
        self.X = X
        self.y = y
        self.every = every
        self.name = name

    def initialize(self):
        if not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"every must be a positive integer, got {self.every!r}.")
        self._y = np.asarray(self.y, dtype=np.float64).reshape(len(self.y), -1)
        return self

    def on_train_begin(self, net, **kwargs):
        self._start = len(net.history)

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history) - self._start
        last = epoch == net.max_epochs or epoch % self.every == 0
        value = np.nan
        if last:
            module = net.module_
            was_training = module.training
            module.eval()
            with torch.no_grad():
                dtype = next(module.parameters()).dtype
                x = torch.as_tensor(np.asarray(self.X), dtype=dtype, device=net.device)
                pred = module(x).double().cpu().numpy()
            module.train(was_training)
            value = float(-10 * np.log10(np.mean((pred - self._y) ** 2)))
        net.history.record(self.name, value)


class ProgressBar(Callback):
    """A tqdm bar over iterations showing the training loss, PSNR and any ``*_psnr`` record.

    Added automatically by ``CoordinateMLPRegressor(verbose=1)``; the bar's
    length is the net's ``max_epochs`` (the estimator's ``max_iter``).
    """

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=net.max_epochs, desc="fit", unit="it")

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        loss = row["train_loss"]
        shown = {"loss": f"{loss:.3g}", "psnr": f"{-10 * np.log10(max(loss, 1e-30)):.2f}"}
        for key, value in row.items():
            if key.endswith("_psnr") and np.isfinite(value):
                shown[key] = f"{value:.2f}"
        self._bar.set_postfix(shown, refresh=False)
        self._bar.update(1)

    def on_train_end(self, net, **kwargs):
        self._bar.close()
