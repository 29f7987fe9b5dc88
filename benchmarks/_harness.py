"""Timing and memory helpers shared by the benchmarks."""

import multiprocessing
import resource
import time

import numpy as np


def best_time(func, repeat=3, warmup=1):
    """Best wall time of ``func()`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def _high_water_mark():
    """Peak resident memory of this process in bytes.

    Linux's VmHWM belongs to the address space, which exec() renews; ru_maxrss
    instead carries the parent's peak over fork + exec into a spawned child.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child(conn, target, args):
    before = _high_water_mark()
    result = target(*args)
    conn.send((result, _high_water_mark() - before))
    conn.close()


def peak_memory(target, *args):
    """Run ``target(*args)`` in a fresh process; return (its result, peak RSS growth in bytes).

    The growth is measured from the child's own high-water mark after imports,
    so it counts what the call allocates (numpy and torch alike).
    """
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(child, target, args))
    proc.start()
    result, grown = parent.recv()
    proc.join()
    return result, grown


def row(benchmark, case, ours, reference, ref_name, goal="", note="", headline=None):
    """One table row: times in seconds and the ratio reference / ours (>1: we are faster).

    ``headline``: the row's line in README.md's headline table, ``(what, skfourier,
    reference)`` texts made from this run's numbers (see :func:`seconds`), or ``None``.
    """
    return {"benchmark": benchmark, "case": case, "ours_s": ours, "reference": ref_name,
            "reference_s": reference, "speedup": reference / ours if ours else np.nan,
            "goal": goal, "note": note, "headline": headline}


def seconds(value):
    """A duration as the headline table writes it: ``"0.34 s"``, ``"33 s"``, ``"12.6 min"``,
    ``"3.1 h"``, ``"4.2 days"``, ``"1.5 years"``."""
    day = 86400
    if value >= 365 * day:
        return f"{value / (365 * day):.1f} years"
    if value >= 2 * day:
        return f"{value / day:.1f} days"
    if value >= 7200:
        return f"{value / 3600:.1f} h"
    if value >= 600:
        return f"{value / 60:.1f} min"
    return f"{value:.2g} s" if value < 10 else f"{value:.0f} s"
