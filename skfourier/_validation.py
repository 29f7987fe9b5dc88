"""Parameter checks shared by the estimators: every failure is a ValueError that names the fix."""

import numbers

import numpy as np


def check_number(value, name, *, low=None, high=None, low_inclusive=True,
                 integer=False, allow_none=False, allow_inf=False):
    """Return ``value`` if it is a (finite) number within bounds, else raise ValueError."""
    if value is None and allow_none:
        return value
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a real number"
        raise ValueError(f"{name} must be {what}, got {value!r}.")
    if np.isnan(value) or (np.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if low is not None:
        bad = value < low if low_inclusive else value <= low
        if bad:
            sign = ">=" if low_inclusive else ">"
            raise ValueError(f"{name} must be {sign} {low}, got {value!r}.")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}.")
    return value


def check_option(value, name, options):
    """Return ``value`` if it is one of ``options``, else raise ValueError listing them."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}.")
    return value
