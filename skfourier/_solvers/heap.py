"""Large temporaries from the heap during bursts of same-sized exact solves (glibc).

glibc serves every allocation over 32 MB with a fresh ``mmap`` and returns it
to the system on free, so each FFT temporary of a large grid is new memory,
and new memory costs a page fault per page on first touch (here, a virtual
machine with transparent huge pages on ``madvise``, more as the fit
fragments memory). A whole-lattice std estimate is a run of exact solves,
each a few dozen CG steps, each step a dozen such temporaries: on a 256^2 x
100 clip it spent about as long in the kernel (page faults) as in the
transforms: 278 s where the same 122 solves from reused memory took 197 s.
:func:`heap_temporaries` turns ``mmap`` off for its duration, so that freed
temporaries are reused, and gives the free memory back to the system at the
end (``malloc_trim``). Elsewhere (musl, macOS, Windows) it does nothing.
"""

import ctypes
import threading
from contextlib import contextmanager

# mallopt's parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4
# what glibc's dynamic thresholds settle at once a large block was freed (its DEFAULT_MMAP_
# THRESHOLD_MAX on 64-bit systems, the trim threshold twice that): restored on exit, since
# setting any of them turns the dynamic adjustment off
_RESTORED = ((_M_MMAP_MAX, 65536), (_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 64 << 20))


def _glibc():
    """The C library if it is glibc (``gnu_get_libc_version``), else ``None``."""
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version
        libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return libc


_LIBC = _glibc()
_lock = threading.Lock()
_depth = 0


@contextmanager
def heap_temporaries():
    """Allocations from the heap only (no ``mmap``) inside; nested and threaded uses share
    one period, and the last to leave restores the thresholds and trims the heap."""
    global _depth
    if _LIBC is None:
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            _LIBC.mallopt(_M_MMAP_MAX, 0)
            _LIBC.mallopt(_M_TRIM_THRESHOLD, 2 ** 31 - 1)   # keep freed blocks for reuse
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for param, value in _RESTORED:
                    _LIBC.mallopt(param, value)
                _LIBC.malloc_trim(0)
