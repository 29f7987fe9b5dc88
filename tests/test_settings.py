"""SolverSettings: the solvers' tuning constants, their provenance and their validation."""

import dataclasses

import numpy as np
import pytest

from skfourier import SolverSettings
from skfourier._settings import EXACT_STD_POINTS, null_tolerance
from skfourier._validation import check_allocation


def test_every_setting_says_where_its_value_comes_from():
    for field in dataclasses.fields(SolverSettings):
        assert len(field.metadata["provenance"]) > 10, field.name
    assert SolverSettings().exact_std_points == EXACT_STD_POINTS
    with pytest.raises(dataclasses.FrozenInstanceError):
        SolverSettings().max_ring = 5


def test_options_override_the_defaults_and_are_validated():
    settings = SolverSettings.from_options({"max_ring": 10, "line_contrast": 0.5})
    assert settings.max_ring == 10 and settings.line_contrast == 0.5
    assert settings.corner == SolverSettings().corner
    assert SolverSettings.from_options(None) == SolverSettings()
    for options, match in [({"max_rings": 1}, "unknown"), ({"corner": 2.5}, "integer"),
                           ({"refine_rtol": np.nan}, "non-negative number"),
                           ({"exact_axis": True}, "integer"), ([("corner", 2)], "dict")]:
        with pytest.raises(ValueError, match=match):
            SolverSettings.from_options(options)


def test_one_null_rule():
    values = np.array([1.0, 1e-3, 1e-17, 0.0])
    assert null_tolerance(values) == pytest.approx(4 * np.finfo(float).eps)
    assert null_tolerance(values, size=1000) == pytest.approx(1000 * np.finfo(float).eps)
    assert null_tolerance(np.array([])) == 0.0


def test_allocation_errors_name_the_limit_the_user_set():
    with pytest.raises(ValueError, match=r"allowed by max_kernel_memory=1000; subsample"):
        check_allocation(10 ** 6, "the thing", "subsample.", limit=1000)
    with pytest.raises(ValueError, match=r"allowed \(half the memory\)"):
        check_allocation(10 ** 18, "the thing", "subsample.")
