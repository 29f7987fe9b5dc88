"""scikit-learn's estimator checks on every public estimator."""

import pytest
from sklearn.base import clone
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfourier import (CoordinateMLPRegressor, FourierFeatureTransformer, NTKRegressor,
                       NTKRegressorCV)

ESTIMATORS = [
    FourierFeatureTransformer(n_frequencies=16, random_state=0),
    FourierFeatureTransformer(encoding="positional", n_frequencies=4, include_input=True),
    NTKRegressor(depth=2),
    NTKRegressor(depth=2, t=100.0, alpha=1e-3, solver="eigh"),
    NTKRegressor(depth=2, alpha=1e-3, solver="cg",
                 encoder=FourierFeatureTransformer(n_frequencies=32, scale=0.3, random_state=0)),
    NTKRegressorCV(times=(10.0, None), alphas=(1e-3, 1e-1)),
    CoordinateMLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
    CoordinateMLPRegressor(hidden_layer_sizes=(32, 32), output_activation="identity",
                           max_iter=150, lr=1e-2, random_state=0),
    CoordinateMLPRegressor(hidden_layer_sizes=(8, 8), batch_norm=True, activation="sine",
                           omega_0=3.0, max_iter=3, random_state=0),
]


def _expected_failures(estimator):
    method = getattr(estimator, "_expected_failed_checks", None)
    return method() if method is not None else {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# Checks scikit-learn runs outside parametrize_with_checks (its own test_common.py does).
COMMON_EXTRA = ["check_dataframe_column_names_consistency", "check_inplace_ensure_writeable"]
TRANSFORMER_EXTRA = ["check_transformer_get_feature_names_out",
                     "check_transformer_get_feature_names_out_pandas",
                     "check_get_feature_names_out_error", "check_set_output_transform",
                     "check_set_output_transform_pandas", "check_global_output_transform_pandas"]
EXTRA = [(est, check) for est in ESTIMATORS
         for check in COMMON_EXTRA + (TRANSFORMER_EXTRA
                                      if isinstance(est, FourierFeatureTransformer) else [])]


# the set_output checks themselves mix DataFrames and arrays (RBFSampler warns the same)
@pytest.mark.filterwarnings("ignore:X .* feature names:UserWarning")
@pytest.mark.parametrize("estimator, check", EXTRA,
                         ids=[f"{e!r}-{c}" for e, c in EXTRA])
def test_sklearn_extra_checks(estimator, check):
    getattr(estimator_checks, check)(type(estimator).__name__, clone(estimator))
