"""The benchmark runner's bookkeeping (benchmarks/run.py): each section and each headline row
says which run it comes from, and a partial run replaces only its own rows."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
run = pytest.importorskip("run")
harness = pytest.importorskip("_harness")


def _rows(what):
    return [harness.row("fit", "case", 1.5, 3.0, "reference", headline=(what, "1.5 s", "3 s")),
            harness.row("fit", "other", 2.0, np.nan, "")]


def test_headlines_name_their_run_and_keep_other_sections(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n\n{run.HEADLINE_START}\n| what | skfourier | reference | run |\n"
                      f"|---|---|---|---|\n| stale row | 1 | 2 |\n{run.HEADLINE_END}\n\noutro\n")
    run.write_headlines({"masked": ("t", _rows("masked fit"), "2026-01-02, commit aaa")},
                        path=readme)
    run.write_headlines({"fourier": ("t", _rows("features"), "2026-01-03, commit bbb")},
                        path=readme)
    run.write_headlines({"masked": ("t", _rows("masked again"), "2026-01-04, commit ccc")},
                        path=readme)
    text = readme.read_text()
    assert text.startswith("intro") and text.rstrip().endswith("outro")
    table = text.split(run.HEADLINE_START)[1].split(run.HEADLINE_END)[0].strip().splitlines()
    # the stale row without a run is gone; sections in the runner's order, one row each
    assert table[2:] == ["| features | 1.5 s | 3 s | fourier, 2026-01-03, commit bbb |",
                         "| masked again | 1.5 s | 3 s | masked, 2026-01-04, commit ccc |"]


def test_sections_print_their_run(tmp_path):
    path = tmp_path / "BENCH.md"
    run.write_readme({"kernels": ("title", _rows("x"), "2026-01-02, commit aaa")}, path=path)
    text = path.read_text()
    assert "## kernels: title\n\nRun: 2026-01-02, commit aaa.\n" in text
    assert "| fit | case | 1.5 | reference | 3 | 2 |" in text
    assert run.run_stamp().split(", commit ")[1]          # a commit (or "unknown"), never empty


def test_seconds_reads_as_people_write_durations():
    assert [harness.seconds(v) for v in (0.3412, 3.3, 33.2, 754.0, 11160.0, 3.6e5, 4.7e7)] == [
        "0.34 s", "3.3 s", "33 s", "12.6 min", "3.1 h", "4.2 days", "1.5 years"]
