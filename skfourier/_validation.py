"""Parameter checks shared by the estimators: every failure is a ValueError that names the fix."""

import numbers
import os

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


class StdBudgetError(ValueError):
    """An exact std refused for its time: ``points`` would take about ``seconds``, over the
    ``budget`` (seconds); about ``within`` points fit it. The CLI rephrases it as
    ``--std-points``."""

    def __init__(self, message, points, seconds, budget, within):
        super().__init__(message)
        self.points, self.seconds, self.budget, self.within = points, seconds, budget, within


def duration(seconds):
    """Seconds as people read them: ``"45 s"``, ``"12.5 min"``, ``"3.2 h"``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def memory_budget():
    """Bytes one allocation may take by default: half of the machine's physical memory."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2 ** 30
    return total // 2


def check_allocation(n_bytes, what, fix, limit=None):
    """ValueError naming the bytes before allocating more than ``limit``.

    ``limit`` is the user's ``max_kernel_memory`` where set (the message names
    it), else half the RAM.
    """
    allowed = ("(half the memory)" if limit is None
               else f"by max_kernel_memory={limit!r}")
    limit = memory_budget() if limit is None else limit
    if n_bytes > limit:
        raise ValueError(f"{what} would need {n_bytes / 2 ** 30:.3g} GiB, more than the "
                         f"{limit / 2 ** 30:.3g} GiB allowed {allowed}; {fix}")
    return n_bytes
