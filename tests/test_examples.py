"""Every gallery example runs at tiny sizes and saves its figure."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("plot_*.py"))
FIGURES = {
    "plot_image_regression.py": "image_regression.png",
    "plot_training_curves.py": "training_curves.png",
    "plot_video_interpolation.py": "video_interpolation.png",
    "plot_position_embeddings.py": "position_embeddings.png",
    "plot_tuning.py": "tuning.png",
    "plot_encoding_table.py": "encoding_table.png",
    "plot_uncertainty.py": "uncertainty.png",
    "plot_inpainting.py": "inpainting.png",
}


def test_every_example_is_listed():
    assert {p.name for p in EXAMPLES} == set(FIGURES)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_and_saves_figure(script, tmp_path):
    env = {**os.environ, "SKFOURIER_EXAMPLES_QUICK": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / FIGURES[script.name]).stat().st_size > 5000
