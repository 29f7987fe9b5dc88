"""Grid searches on a dask cluster (loopback) give the sequential search's scores."""

import re

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skfourier import CoordinateMLPRegressor, FourierFeatureTransformer, NTKRegressor
from skfourier.datasets import image_to_regression, load_sample_image
from skfourier.metrics import psnr_scorer
from skfourier.model_selection import PixelGridSplit

distributed = pytest.importorskip("distributed")


def _searches():
    X, y = image_to_regression(load_sample_image("china", size=24))
    ntk = GridSearchCV(
        make_pipeline(FourierFeatureTransformer(n_frequencies=64, random_state=0),
                      NTKRegressor(depth=3, alpha=1e-6)),
        {"fourierfeaturetransformer__scale": [0.5, 1.5, 4.0], "ntkregressor__t": [1e2, None]},
        cv=PixelGridSplit(), scoring=psnr_scorer)
    mlp = GridSearchCV(
        make_pipeline(FourierFeatureTransformer(n_frequencies=16, random_state=0),
                      CoordinateMLPRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=0)),
        {"fourierfeaturetransformer__scale": [1.0, 2.0]}, cv=PixelGridSplit(),
        scoring=psnr_scorer)
    return X, y, (ntk, mlp)


def _check_same_scores(client):
    X, y, searches = _searches()
    for search in searches:
        sequential = search.fit(X, y).cv_results_["mean_test_score"].copy()
        with joblib.parallel_config(backend="dask"), \
                distributed.get_task_stream(client) as stream:
            distributed_scores = search.fit(X, y).cv_results_["mean_test_score"]
        assert np.all(np.isfinite(sequential))
        assert_allclose(distributed_scores, sequential, rtol=1e-10)
        # the cluster did the work: its tasks are joblib's batches of fits, which hold every
        # (candidate, fold) fit, and they ran on the cluster's workers
        calls = [re.search(r"_fit_and_score_(\d+)_calls", str(task["key"]))
                 for task in stream.data]
        assert sum(int(c.group(1)) for c in calls if c) == len(sequential) * search.n_splits_
        workers = {task["worker"] for task in stream.data}
        assert workers and workers <= set(client.scheduler_info()["workers"])


def test_dask_threads_in_process():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        _check_same_scores(client)


@pytest.mark.slow
def test_dask_process_workers_on_loopback():
    """Real pickling: estimators travel to worker processes and back."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        _check_same_scores(client)
