import json
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from skfourier.cli import main
from skfourier.datasets import image_to_regression, load_sample_image, make_video
from skfourier.metrics import psnr
from skfourier.recipes import make_encoder, make_model


def _run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_demo_writes_table_json_and_figure(tmp_path, capsys):
    out = tmp_path / "demo"
    code, stdout, _ = _run(["demo", "--size", "24", "--iters", "40", "--out", str(out)],
                           capsys)
    assert code == 0
    assert "test PSNR" in stdout and "gaussian" in stdout
    report = json.loads((out / "results.json").read_text())
    assert report["size"] == 24 and len(report["results"]) == 9  # seed Fig. 1's rows
    assert (out / "demo.png").stat().st_size > 1000
    assert (out / "training_curves.png").stat().st_size > 1000
    names = {r["name"]: r["test_psnr"] for r in report["results"]}
    assert names["no mapping"] < names["basic"]
    assert "uniform sigma=10 (at 0.469)" in names  # the paper's sigma carried to 12 px
    flow, adam = report["training_curves"]["ntk_gradient_flow"], \
        report["training_curves"]["mlp_adam"]
    assert "gradient flow" in flow["setting"] and "Adam" in adam["setting"]
    assert set(flow["mse"]) == set(names)
    assert len(flow["x"]) == 25 and all(len(v) == 25 for v in flow["mse"].values())
    for mse in flow["mse"].values():  # gradient flow never increases the training loss
        assert np.all(np.diff(mse) <= 1e-12)
    # the NTK's held-out PSNR at its last time is the table's (the same model)
    assert all(abs(flow["test_psnr"][n][-1] - names[n]) < 1e-2 for n in names)
    # seed Fig. 2's setting: no mapping and the Gaussian sigmas, loss per iteration and
    # PSNR every 10 iterations
    assert list(adam["mse"]) == ["no mapping"] + [f"gaussian sigma={s} (at {a})" for s, a in
                                                  ((1, "0.0469"), (10, "0.469"),
                                                   (100, "4.69"))]
    assert adam["x"] == list(range(1, 41)) and adam["test_psnr_x"] == [10, 20, 30, 40]
    assert all(len(v) == 40 for v in adam["mse"].values())
    assert all(len(v) == 4 and np.all(np.isfinite(v)) for v in adam["test_psnr"].values())
    assert not list(tmp_path.glob(".skfourier-*"))  # no temporary folder left


def test_demo_mlp(tmp_path, capsys):
    code, stdout, _ = _run(["demo", "--model", "mlp", "--size", "16", "--iters", "5",
                            "--out", str(tmp_path / "d")], capsys)
    assert code == 0 and "positional" in stdout
    curves = json.loads((tmp_path / "d" / "results.json").read_text())["training_curves"]
    assert list(curves) == ["mlp_adam"]  # the demo's own rows: no second MLP run
    assert len(curves["mlp_adam"]["mse"]) == 9
    assert all(len(v) == 1 for v in curves["mlp_adam"]["test_psnr"].values())  # iteration 5


def test_upscale_is_checked_against_the_image_not_the_size_cap(tmp_path, capsys):
    """--size 4096 on a 16 x 16 photo: the image stays 16 x 16, so --upscale 4 is 64 x 64."""
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "in.png")
    code, _, _ = _run(["image", str(tmp_path / "in.png"), "--size", "4096", "--upscale", "4",
                       "--t", "100", "--out", str(tmp_path / "o")], capsys)
    assert code == 0
    assert np.asarray(Image.open(tmp_path / "o" / "upscaled_x4.png")).shape == (64, 64, 3)


def test_image_command_keeps_the_aspect_ratio_and_upscales(tmp_path, capsys):
    arr = (np.random.RandomState(0).uniform(size=(20, 30, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "in.png")
    out = tmp_path / "res"
    code, stdout, _ = _run(["image", str(tmp_path / "in.png"), "--size", "16", "--out",
                            str(out), "--t", "100", "--upscale", "2"], capsys)
    assert code == 0 and "held-out PSNR" in stdout
    # the long side capped at 16, the aspect ratio kept: 30 x 20 -> 16 x 11
    assert np.asarray(Image.open(out / "reconstruction.png")).shape == (11, 16, 3)
    assert np.asarray(Image.open(out / "upscaled_x2.png")).shape == (22, 32, 3)
    report = json.loads((out / "report.json").read_text())
    assert report["t"] == 100 and report["encoding"] == "gaussian"
    assert report["size"] == [16, 11] and report["input_size"] == [30, 20]
    # the paper's sigma = 10 carried to each axis of the 8 x 6 training grid
    assert report["scale"] == pytest.approx([10 * 8 / 256, 10 * 6 / 256])
    assert (out / "figure.png").exists()
    # at its own size by default (below the 1024 cap), never upscaled
    code, _, _ = _run(["image", str(tmp_path / "in.png"), "--out", str(tmp_path / "own"),
                       "--t", "100"], capsys)
    assert np.asarray(Image.open(tmp_path / "own" / "reconstruction.png")).shape == (20, 30, 3)


def test_image_command_reconstructs_from_a_random_share_of_pixels(tmp_path, capsys):
    img = (load_sample_image("china", size=48) * 255).round().astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "in.png")
    out = tmp_path / "keep"
    code, stdout, err = _run(["image", str(tmp_path / "in.png"), "--keep", "0.3", "--out",
                              str(out)], capsys)
    assert code == 0 and "held-out PSNR" in stdout and "on 691 pixels" in err
    assert "digits" not in err and "it/s" not in err  # no progress bars where no one watches
    report = json.loads((out / "report.json").read_text())
    assert report["protocol"] == "train on a random 0.3 of the pixels (seed 0), test on the rest"
    # the paper's sigma carried to the whole 48-pixel grid, the pixels it trains on
    assert report["scale"] == pytest.approx(10 * 48 / 256)
    # the same random split and model by hand give the reported score
    X, y = image_to_regression(img / 255)
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:691], order[691:]
    model = make_model("ntk", make_encoder("gaussian", report["scale"]))
    assert report["test_psnr"] == pytest.approx(
        psnr(y[test], model.fit(X[train], y[train]).predict(X[test])), abs=2e-3)
    assert np.asarray(Image.open(out / "reconstruction.png")).shape == (48, 48, 3)


def test_inpaint_fills_a_hole_or_a_mask(tmp_path, capsys):
    img = (load_sample_image("china", size=48) * 255).round().astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "in.png")
    out = tmp_path / "hole"
    code, stdout, err = _run(["inpaint", str(tmp_path / "in.png"), "--hole", "10,20,12,8",
                              "--scale", "2", "--std", "--std-points", "64", "--out", str(out)],
                             capsys)
    assert code == 0 and "PSNR in the hole" in stdout and "2208 known pixels" in err
    assert len(err.strip().splitlines()) == 1         # the announcement, no progress bars
    report = json.loads((out / "report.json").read_text())
    assert report["hole"] == [10, 20, 12, 8] and report["unknown_pixels"] == 96
    # 96 unknown pixels > 64 of a dense fit (too few for the FFT solver): exact, strided
    assert report["std_stride"] == 6 and report["std_method"] == "exact"
    assert "offers no estimate" in report["std_note"]
    assert 0 <= report["coverage_2std"] <= 1 and report["std_mean_unknown"] > 0
    assert {p.name for p in out.iterdir()} == {
        "filled.png", "report.json", "figure.png", "std.png", ".skfourier_written"}
    # the known pixels are kept, the hole's score is the model's by hand
    filled = np.asarray(Image.open(out / "filled.png"))
    known = np.ones((48, 48), bool)
    known[20:28, 10:22] = False
    assert np.array_equal(filled[known], img[known])
    X, y = image_to_regression(img / 255)
    model = make_model("ntk", make_encoder("gaussian", 2.0)).fit(X[known.ravel()],
                                                                 y[known.ravel()])
    assert report["hole_psnr"] == pytest.approx(
        psnr(y[~known.ravel()], np.clip(model.predict(X[~known.ravel()]), 0, 1)), abs=2e-3)
    mask = np.full((48, 48), 255, np.uint8)
    mask[5:15, 30:40] = 0
    Image.fromarray(mask).save(tmp_path / "mask.png")
    code, stdout, _ = _run(["inpaint", str(tmp_path / "in.png"), "--mask",
                            str(tmp_path / "mask.png"), "--out", str(tmp_path / "m")], capsys)
    assert code == 0 and "filled 100 pixels" in stdout
    assert json.loads((tmp_path / "m" / "report.json").read_text())["unknown_pixels"] == 100
    # the same folder again without --std: the earlier run's std.png goes, the user's
    # own file stays
    (out / "notes.txt").write_text("mine")
    code, _, _ = _run(["inpaint", str(tmp_path / "in.png"), "--hole", "10,20,12,8",
                       "--scale", "2", "--out", str(out)], capsys)
    assert code == 0
    assert {p.name for p in out.iterdir()} == {
        "filled.png", "report.json", "figure.png", "notes.txt", ".skfourier_written"}


def test_image_command_refuses_tiny_images(tmp_path, capsys):
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    code, _, err = _run(["image", str(tmp_path / "dot.png"), "--out", str(tmp_path / "o")],
                        capsys)
    assert code == 2 and "1 x 1 pixels" in err and not (tmp_path / "o").exists()


def test_sixteen_bit_png_round_trips(tmp_path):
    from skfourier.datasets import load_image

    values = np.array([[0, 1000, 40000], [65535, 12345, 300]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    np.testing.assert_allclose(load_image(tmp_path / "deep.png"), values / 65535, atol=1e-12)


def test_help_imports_neither_torch_nor_sklearn():
    code = ("import sys; from skfourier.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'sklearn', 'skorch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().endswith("[]")


@pytest.mark.parametrize("delay", [0.3, 3.0], ids=["during-imports", "during-training"])
def test_ctrl_c_exits_130_and_writes_nothing(tmp_path, delay):
    """skorch swallows Ctrl-C inside training, and an import wraps it in another error
    (or leaves CPython's exit status -2): the CLI must still stop, exit 130, write nothing."""
    out = tmp_path / "demo"
    proc = subprocess.Popen([sys.executable, "-m", "skfourier", "demo", "--model", "mlp",
                             "--size", "16", "--iters", "1000000", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".skfourier-*")):
        time.sleep(0.1)  # the output folder's temporary twin exists: the command has begun
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1].strip().endswith("interrupted")
    assert "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".skfourier-*"))


def test_video_synthetic_and_gif(tmp_path, capsys):
    out = tmp_path / "v"
    code, stdout, _ = _run(["video", "--synthetic", "--size", "8", "--frames", "12",
                            "--keep-every", "4", "--out", str(out)], capsys)
    assert code == 0 and "held-out-frame PSNR" in stdout
    report = json.loads((out / "report.json").read_text())
    assert len(report["per_frame_psnr"]) == 12
    # seed Fig. 3's axis: training frames 0, 4, 8 are at distance 0
    assert report["distance_to_training_frame"] == [0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 3]
    by_distance = report["psnr_by_distance"]
    assert set(by_distance) == {"0", "1", "2", "3"} and by_distance["0"] > by_distance["2"]
    assert (out / "psnr_vs_distance.png").stat().st_size > 1000
    with Image.open(out / "reconstruction.gif") as gif:
        assert gif.n_frames == 12
    frames = [Image.fromarray((f * 255).astype(np.uint8)) for f in make_video(12, 8)]
    frames[0].save(tmp_path / "clip.gif", save_all=True, append_images=frames[1:])
    code, _, _ = _run(["video", str(tmp_path / "clip.gif"), "--keep-every", "4",
                       "--out", str(tmp_path / "v2")], capsys)
    assert code == 0


@pytest.mark.parametrize("args, message", [
    (["image", "missing.png"], "not found"),
    (["image", "{junk}"], "cannot read"),
    (["video", "missing.gif"], "not found"),
    (["video", "--synthetic", "--frames", "5", "--keep-every", "10"], "needs more"),
    (["demo", "--size", "4"], "between 8 and 4096"),
    (["demo", "--size", "100000"], "between 8 and 4096"),
    (["video", "--synthetic", "--size", "5000"], "between 4 and 256"),
    (["image", "{junk}", "--upscale", "2000"], "over 8192 pixels on any image"),
    (["image", "{photo}", "--upscale", "1000"], "on this 16 x 16 image asks for a 16000"),
    (["image", "{strip}", "--size", "64"], "(64 x 1 once fitted to --size)"),
    (["image", "{junk}", "--keep", "0.5", "--tune"], "use one or the other"),
    # refused before anything is announced, read or fitted (the photo exists and is fine)
    (["image", "{photo}", "--model", "mlp", "--std"], "use --model ntk"),
    (["image", "{photo}", "--model", "mlp", "--tune"], "use --model ntk"),
    (["image", "{photo}", "--encoding", "basic", "--tune"], "has none"),
    (["video", "--synthetic", "--model", "mlp", "--std"], "use --model ntk"),
    (["inpaint", "{photo}", "--mask", "{small}"], "give a mask of the photo's size"),
    (["inpaint", "{photo}", "--mask", "{black}"], "no pixel as known"),
    (["inpaint", "{photo}", "--mask", "{white}"], "nothing to fill"),
    (["inpaint", "{photo}", "--hole", "10,10,20,3"], "reaches past the 16 x 16 image"),
    (["inpaint", "{photo}", "--mask", "missing.png"], "not found"),
    (["inpaint", "{photo}", "--hole", "1,1,2,2", "--model", "mlp", "--std"], "--model ntk"),
    (["video", "--synthetic", "--frames", "6", "--keep-frames", "0,7"], "frame 7 is not in"),
    (["video", "--synthetic", "--frames", "6", "--keep-frames", "0,2,2"], "listed twice"),
    (["video", "--synthetic", "--frames", "3", "--keep-frames", "0,1,2"], "leave at least one"),
    (["image", "{junk}", "--keep", "0.5", "--std"], "use one or the other"),
    (["demo", "--out", "{file}"], "not a folder"),
    (["demo", "--out", "{nodir}/x"], "does not exist"),
])
def test_errors_are_one_line_exit_2_nothing_written(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "junk.png").write_bytes(b"not an image")
    (tmp_path / "file").write_text("x")
    images = {"photo": np.zeros((16, 16, 3), np.uint8), "small": np.zeros((8, 16), np.uint8),
              "strip": np.zeros((8, 600), np.uint8),
              "black": np.zeros((16, 16), np.uint8), "white": np.full((16, 16), 255, np.uint8)}
    for name, array in images.items():
        Image.fromarray(array).save(tmp_path / f"{name}.png")
    args = [a.format(junk=tmp_path / "junk.png", file=tmp_path / "file",
                     nodir=tmp_path / "nodir", **{k: tmp_path / f"{k}.png" for k in images})
            for a in args]
    before = set(tmp_path.iterdir())
    code, stdout, stderr = _run(args, capsys)
    assert code == 2 and stdout == ""
    assert message in stderr and len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stderr
    assert set(tmp_path.iterdir()) == before


@pytest.mark.parametrize("args", [["demo", "--size", "abc"], ["demo", "--model", "svm"],
                                  ["image"], ["video"], ["fly"], ["demo", "--iters", "0"],
                                  ["image", "x.png", "--keep", "1"],
                                  ["video", "--synthetic", "--keep-frames", "0,a"],
                                  ["video", "--synthetic", "--keep-every", "1"],
                                  ["inpaint", "x.png"], ["inpaint", "x.png", "--hole", "1,2,3"],
                                  ["inpaint", "x.png", "--hole", "1,2,0,3"],
                                  ["inpaint", "x.png", "--hole", "1,1,2,2", "--mask", "m.png"],
                                  ["video", "--synthetic", "--keep-frames", "0",
                                   "--keep-every", "2"],
                                  ["image", "x.png", "--keep", "0"],
                                  ["demo", "--seed", "-1"], ["image", "x.png", "--seed", "abc"]])
def test_bad_arguments_exit_2(capsys, args):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "error" in err
    if "--seed" in args:  # the flag named, not numpy's message
        assert "--seed: expected an integer from 0 to 2**32 - 1" in err


def test_module_and_console_script_help():
    for cmd in ([sys.executable, "-m", "skfourier", "--help"], ["skfourier", "image", "--help"]):
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert result.returncode == 0 and "usage" in result.stdout


def test_per_axis_scale_on_the_command_line(tmp_path, capsys):
    code, _, _ = _run(["video", "--synthetic", "--size", "8", "--frames", "11", "--keep-every",
                       "5", "--scale", "3,3,0.5", "--out", str(tmp_path / "v")], capsys)
    assert code == 0
    assert json.loads((tmp_path / "v" / "report.json").read_text())["scale"] == [3, 3, 0.5]
    arr = (np.random.RandomState(0).uniform(size=(12, 12, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "in.png")
    code, _, err = _run(["image", str(tmp_path / "in.png"), "--scale", "1,2,3", "--out",
                         str(tmp_path / "i")], capsys)
    assert code == 2 and "3 values; give one, or 2" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "i").exists()


def test_image_std_map_and_tune(tmp_path, capsys):
    img = (load_sample_image("china", size=40) * 255).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "in.png")
    out = tmp_path / "res"
    code, stdout, err = _run(["image", str(tmp_path / "in.png"), "--size", "40", "--t", "300",
                              "--tune", "--std", "--std-points", "64", "--out", str(out)],
                             capsys)
    assert code == 0 and "<- chosen" in stdout
    report = json.loads((out / "report.json").read_text())
    tune = report["tune"]
    assert len(tune["scales"]) == 7 and tune["best_scale"] in tune["scales"]
    assert tune["cv_psnr"][tune["scales"].index(tune["best_scale"])] == max(tune["cv_psnr"])
    assert report["scale"] == tune["best_scale"]
    # 20 x 20 held-out pixels, strided to at most 64: every 3rd -> 7 x 7
    assert report["std_points"] == 49 and report["std_stride"] == 3
    assert 0 < report["std_mean"] and 0 <= report["coverage_2std"] <= 1
    for name in ("std.png", "tune.png"):
        assert (out / name).stat().st_size > 1000


def test_std_and_tune_need_the_ntk(tmp_path, capsys):
    Image.new("RGB", (32, 32)).save(tmp_path / "in.png")
    for flag in ("--std", "--tune"):
        code, _, err = _run(["image", str(tmp_path / "in.png"), "--model", "mlp", flag,
                             "--out", str(tmp_path / "o")], capsys)
        assert code == 2 and "--model ntk" in err and not (tmp_path / "o").exists()


def test_video_on_irregular_training_frames(tmp_path, capsys):
    """--keep-frames: any set of training frames (a masked lattice for the FFT solver)."""
    out = tmp_path / "v"
    code, stdout, err = _run(["video", "--synthetic", "--size", "8", "--frames", "12",
                              "--keep-frames", "0,1,4,5,9,11", "--out", str(out)], capsys)
    assert code == 0 and "held-out-frame PSNR" in stdout
    assert "on frames 0,1,4,5,9,11 of 12 frames" in err
    report = json.loads((out / "report.json").read_text())
    assert report["training_frames"] == [0, 1, 4, 5, 9, 11]
    assert report["distance_to_training_frame"] == [0, 0, 1, 1, 0, 0, 1, 2, 1, 0, 1, 0]
    # the held-out score is that of the same fit by hand
    from skfourier.recipes import interpolate_video

    by_hand = interpolate_video(make_video(n_frames=12, size=8), make_encoder(
        "gaussian", report["scale"]), keep_frames=[0, 1, 4, 5, 9, 11])
    assert report["held_out_psnr"] == pytest.approx(by_hand.held_out_psnr, abs=2e-3)
    code, _, err = _run(["video", "--synthetic", "--size", "8", "--frames", "12",
                         "--keep-every", "4", "--out", str(tmp_path / "w")], capsys)
    assert code == 0 and "every 4th frame of 12" in err


def test_video_std_grows_with_the_distance_to_training_frames(tmp_path, capsys):
    out = tmp_path / "v"
    code, _, _ = _run(["video", "--synthetic", "--size", "8", "--frames", "12",
                       "--keep-every", "4", "--std", "--out", str(out)], capsys)
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    by_distance = report["std_by_distance"]
    assert set(by_distance) == {"0", "1", "2", "3"}
    # pinned at the training frames, growing away from them (seed Fig. 3 as a posterior)
    assert by_distance["0"] < 1e-4 < by_distance["1"] < by_distance["2"] < by_distance["3"]
    assert len(report["per_frame_std"]) == 12


def test_upscale_past_the_lattice_path_is_announced_or_refused(tmp_path, capsys):
    """Past a 64-fold refinement of the training pixels an upscale is predicted point by
    point: announced with its cost before starting, refused (nothing written, before
    torch's import) when over the 10 minute budget."""
    photo = tmp_path / "photo.png"
    Image.fromarray((load_sample_image("china", size=12) * 255).round().astype(np.uint8)).save(
        photo)
    out = tmp_path / "big"
    code, stdout, err = _run(["image", str(photo), "--upscale", "600", "--out", str(out)],
                             capsys)
    assert code == 2 and not out.exists() and stdout == ""
    assert re.search(r"error: --upscale 600 refines the training pixels 1200-fold, past the "
                     r"64-fold .* 7200 x 7200 pixels are predicted point by point, about "
                     r"[0-9.]+ min, over the 10.0 min budget; use --upscale 32 or less\.$",
                     err.strip()), err
    code, _, err = _run(["image", str(photo), "--upscale", "33", "--out",
                         str(tmp_path / "ok")], capsys)
    assert code == 0 and "note: --upscale 33 refines the training pixels 66-fold" in err
    assert (tmp_path / "ok" / "upscaled_x33.png").exists()


def test_video_std_over_the_time_budget_is_refused_with_the_flag_that_fits(tmp_path, capsys):
    """Every voxel of a 64 x 64 x 20 clip (81,920) trained on irregular frames (no frame-by-
    frame estimate: that needs a full training grid), exact, would take over an hour:
    refused after a timed probe of 16 points, in the CLI's words, nothing written."""
    out = tmp_path / "v"
    code, stdout, err = _run(["video", "--synthetic", "--size", "64", "--frames", "20",
                              "--keep-frames", "0,3,4,9,15,19", "--std", "--std-points",
                              "1000000", "--out", str(out)], capsys)
    assert code == 2 and not out.exists() and stdout == ""
    assert re.search(r"error: --std at 81,920 points would take about [0-9.]+ (min|h), over "
                     r"the 10.0 min budget; use --std-points [0-9]+ or fewer\.", err), err


@pytest.mark.parametrize("args", [["image", "missing.png"], ["video", "missing.gif"],
                                  ["inpaint", "missing.png", "--hole", "1,1,2,2"]])
def test_a_missing_file_is_reported_before_torch_loads(args, tmp_path):
    """Torch takes seconds to import: a typo in the path is answered at once."""
    code = ("import sys; from skfourier.cli import main; "
            f"rc = main({args!r}); print(rc, 'torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, check=True)
    assert proc.stdout.split() == ["2", "False"] and "not found" in proc.stderr


def test_demo_table_rounds_once_as_the_figure_does():
    """21.1745 printed as 21.17 (demo.png's '.2f'), not via the JSON's 21.175 as 21.18."""
    from skfourier.cli import _table
    from skfourier.recipes import ImageResult

    line = _table([ImageResult("gaussian sigma=10", "gaussian", 10.0, 21.1745, 0.5)])
    assert "21.17" in line.splitlines()[1] and "21.18" not in line
