"""Run every benchmark, print one table, and rewrite benchmarks/README.md.

Usage: ``python benchmarks/run.py [--quick] [--large] [name ...]`` (names:
fourier, kernels, ntk, mlp, scale, krylov, uncertainty, masked). Every figure is a ratio against a
reference measured in the same process, so machines of different speed give comparable numbers.
"""

import argparse
import datetime
import importlib
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
# README.md's headline table lies between these lines; run.py rewrites the rows of the
# sections it ran and keeps the others (each row names its run)
HEADLINE_START = "<!-- headline table: written by benchmarks/run.py from its rows -->"
HEADLINE_END = "<!-- end of headline table -->"
BENCHMARKS = ("fourier", "kernels", "ntk", "mlp", "scale", "krylov", "uncertainty", "masked")
# Standing remarks printed under a section's table: what the figures mean, which goals miss.
NOTES = {
    "fourier": "Both transformers return a fresh n x 512 array: first-touch page faults of "
               "that output are a large share of every time here, the bound's included. "
               "The bound is the faster of np.cos and torch.cos per dtype (numpy's SIMD "
               "float32 kernel, torch's float64 one), and the transformer takes the same "
               "library; it beats the bound because its phases are made block by block in "
               "cache, where the bound reads an output-sized input. Before the per-dtype "
               "choice, float32 ran torch's cos at 1.30-1.38x the np.cos bound.",
    "kernels": "Each ReLU layer costs one arccos and one sqrt per entry (2.7 and 1.1 ns per "
               "entry on 2 cores, compute-bound) plus a few cheap passes over a cache-sized "
               "tile. K(X) computes its upper triangle only, so depth 3 is within the 2x goal; "
               "a cross kernel K(X, Y) of the same shape has no such half and costs ~2.3x. "
               "Before (issue #14): 1.8x at depth 1, 2.9x at depth 3.",
    "ntk": "Ratio > 1 means faster than the reference. The n = 16,384 fit is the size at "
           "which multi-threaded OpenBLAS Cholesky crashed; torch's runs it. With memory= "
           "each candidate still hashes its training features and loads the decomposition "
           "from disk (~10 ms each at n = 1024), so the 5x goal for a t search is met by "
           "NTKRegressorCV, which scores every t from one in-memory decomposition per fold. "
           "Dense products now go through torch's BLAS: numpy's OpenBLAS threads spinning "
           "beside torch's had made each cross kernel of the search 2-15x slower.",
    "uncertainty": "The scale search runs every fold on the FFT solver and all finite times "
                   "of a fold from one Lanczos basis; the brute force refits per candidate. "
                   "The basis is as long as the brute force's longest run (the largest t at "
                   "the smallest scale dominates both), so sharing it saves 1.06-1.5x, not 5x, "
                   "and the final refit on all pixels, the same work for both, is half of "
                   "ours (profiled at 256^2: 5.3 of 11.1 s). The std rows: a whole test "
                   "lattice's std comes from exact solves at nodes of its centre row and "
                   "column and in its corners (35-71 of 65,536 points at 256^2, mirror images "
                   "sharing a solve, stopped at residual 1e-6), the separable model between; "
                   "against the exact values at 97 points (8 x 8 in each corner, near the "
                   "edges, inside) it is within 0.024% (NNGP, t = None), 0.12% (NNGP, demo "
                   "t), 0.22% and 0.026% (NTK). The NNGP's exact value is a Lanczos "
                   "quadrature at a finite t (no basis replay). LOVE serves scattered points "
                   "(last image row; at 128^2, scale 5 it warns, unsettled at 1000 steps: its "
                   "1% is not guaranteed there). Video rows: the 256^2 x 100 clip took 408 s "
                   "(146 solves) on commit 28595e1, 201 s (122) on 6615a72 and now 89 solves: "
                   "each frame's level also gives its mirror frame's (no search for the jump "
                   "past the last training frame), flatness from two adjacent corners, "
                   "lighter end layers; and each solve is cheaper: the cross kernel of test "
                   "voxels whose fine-lag table exceeded its budget came from the features "
                   "of all 655,360 training voxels (~8 s a block of 12), now from exponential "
                   "sums over the grid (~0.4 s), and the preconditioner's output is "
                   "column-major as CG's other vectors (its dot products 22 -> 2 ms). Exact "
                   "per-voxel times vary from call to call on this machine (page faults), so "
                   "the reference column is rough.",
    "masked": "Iteration ratio = masked / full-lattice CG steps on the same bounding grid. "
              "Narrow kernels (sigma 10, 100) run plain CG on both and stay within ~1x; wide "
              "ones (sigma 1) lose the full lattice's deflated circulant and run the bounding "
              "grid's circulant seen through the mask with the kernel's 256 strongest torus "
              "modes on the observed cells deflated: 1.1-4.2x the full lattice's steps "
              "(without the modes 8-37x: random 90% 1211, 50% 967, 10% 381, holes and bands "
              "251-270 steps). At 256^2 and sigma 1, half missing: 1759 steps in 20 s "
              "without the modes, 205 in 7.5 s with them. Finite t is Lanczos, whose length "
              "does not depend on the mask. The hole's std is the lattice estimate (exact "
              "centre lines and corners of the hole, checked at 8 random exact points); "
              "its reference is the exact per-point cost times the hole's pixels. Irregular "
              "video frames are solved on the kept frames alone (Toeplitz in space, dense "
              "in time: one 12 x 12 block per spatial frequency, in the operator and, "
              "with Chan's circulant in space, in the preconditioner). Before, on the "
              "100-frame bounding grid through the mask, a kernel as wide as the clip in "
              "time took 107 / 316 / 629 CG steps at 32^2 / 64^2 / 128^2 (128^2: 280 s; "
              "256^2 extrapolated ~35 min); on the kept frames 33 / 76 / 122 steps with "
              "the block preconditioner (128^2: 8.6 s).",
    "krylov": "Iterations before the deflated preconditioner (30 plain CG steps, then T. "
              "Chan's circulant), measured on the same systems when it landed, with the CG "
              "time ratio old / new: 256^2 scale 1: 307 (4.0x), scale 10: 94 (1.4x), scale "
              "100: 89 (2.0x, plain CG now); 512^2 scale 1: 625 (5.7x); video 128^2 x 5 "
              "frames scale 0.5: 772 (2.8x), scale 5: 118 (0.9x). A deflated step costs a "
              "matvec, the product on the ring's faces alone, a circulant solve and a ring "
              "solve, so iterations drop more than time. Videos: the "
              "few training frames are solved exactly by the preconditioner (circulant in "
              "space only; 128^2 x 5 frames: 79 -> 71 and 33 -> 31 iterations, 10 frames at "
              "scale 0.5: 162 -> 95), and the ring may hold 12,288 points, so the 256^2 x 10-"
              "frame clip is deflated (10,200 points, ~20 s to build); before, it fell back "
              "to the circulant and had not converged after 8 minutes. Dense products moved "
              "to torch's BLAS and the CG updates in place: 512^2 at scale 1 went from 9.1 to "
              "7.2 s at the same 57 iterations. 1024^2 at scale 40: issue #14 before: 150 s "
              "= 73 units, 241 iterations; the deflated circulant first: 83 s = 50 units, "
              "150 iterations; the ring product on the faces alone: 44 units; vectors "
              "column-major (each channel one contiguous grid, so every transform runs "
              "over contiguous data): 30 units. 2048^2 at scale 80 went 533 -> 376 units "
              "and 8.1 -> 6.9 GB with the same two changes."
              " Plain CG or not is decided from the spectrum of the operator the "
              "preconditioner inverts (on videos the block approximant; the full circulant "
              "wrapped the frames and overstated the smallest eigenvalue): the video "
              "example's 256^2 x 101-frame clip (depth 4, bias 1) at scale 5 had stalled in "
              "plain CG at 1000 iterations (residual 1.4e-3), now 122 iterations and 132 s; "
              "at scale (10, 10, 0.5) 1000 -> 102. Mixed precision was measured and not "
              "landed: float32 FFT matvecs and circulant inside a float64 refinement (inner "
              "tolerance 1e-2; the float32 deflation stalls CG near 1e-4) gave 1.18x at 512^2"
              " scale 1 (67 iterations instead of 57, 6.1 s instead of 7.2 s). The "
              "kernel's spectral lines kept exact (Woodbury around the circulant of the "
              "rest, on lattices without short axes where the lines stand > 4x above the "
              "circulant): 1024^2 at scale 40 151 -> 30 iterations, 29.3 -> 22.5 units; "
              "2048^2 at scale 80 423 -> 58 iterations, 389 -> 143 units (554 -> 202 s), "
              "peak 6.1 -> 6.7 GB; the other rows do not use them (contrast below 4, or "
              "a video's exact frame axis) and are unchanged. Below 1024^2 the lines must "
              "stand further above the circulant (4 x 2^20 / n) to repay their set-up (2 m "
              "circulant solves): 512^2 at scale 20 (contrast 8.6) took 18 iterations but "
              "6.9 s with them, 60 iterations and 3.1 s without (issue 25: 5.6 -> 3.1 GEMM "
              "units). Finite-t fits keep their Lanczos vectors (up to 1 GiB) instead of "
              "replaying the recurrence: a third of a scale search's fold time.",
    "scale": "The 512^2 and 1024^2 training grids come from china.jpg upsampled from 427 px, "
             "smooth at that scale, hence their high PSNR. Dense and Nystroem rows: ratio = "
             "their time / the exact FFT solver's time. These rows and section krylov's "
             "come from one run on one commit: the 1024^2 lattice at t = None (scale 40, "
             "depth 4) is the same case in both, measured twice (before, this table still "
             "showed a run from before the spectral lines: 204 s and 240 iterations).",
}


def _fmt(value, digits=3):
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return f"{value:.{digits}g}"


def table(rows):
    head = ("| benchmark | case | ours | reference | reference value | ratio (ref / ours) "
            "| goal | note |")
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        lines.append(f"| {r['benchmark']} | {r['case']} | {_fmt(r['ours_s'])} | {r['reference']} "
                     f"| {_fmt(r['reference_s'])} | {_fmt(r['speedup'])} | {r['goal']} "
                     f"| {r['note']} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*",
                        help=f"some of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke test")
    parser.add_argument("--large", action="store_true",
                        help="also the largest cases (krylov: 1024^2 and 2048^2 lattices, "
                        "256^2 x 100 video; masked: 1024^2 photo with 25%% missing, "
                        "256^2 x 100 video on 12 irregular frames; uncertainty: std at every "
                        "held-out voxel of a 256^2 x 100 video)")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite README.md")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark {sorted(unknown)}; choose from {', '.join(BENCHMARKS)}")
    sys.path.insert(0, str(HERE))
    stamp = run_stamp()
    print(f"run: {stamp}", file=sys.stderr, flush=True)
    sections = {}
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(f"bench_{name}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        options = ({"large": True} if args.large and name in ("krylov", "masked", "uncertainty")
                   else {})
        sections[name] = (module.__doc__.strip().splitlines()[0],
                          module.run(quick=args.quick, **options), stamp)
        print(table(sections[name][1]), flush=True)
        if not args.no_write and not args.quick:  # after each section: partial runs persist
            write_readme({name: sections[name]})
            write_headlines({name: sections[name]})


def run_stamp():
    """``"2026-12-06, commit 1a2b3c4"`` (``" + uncommitted changes"`` when the tree differs):
    what every section and headline row says it was measured on."""
    def git(*words):
        try:
            return subprocess.run(["git", *words], cwd=HERE, capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") \
        else ""
    return f"{datetime.date.today()}, commit {commit}{dirty}"


def write_readme(sections, path=HERE / "README.md"):
    old = path.read_text() if path.exists() else ""
    blocks = _split_sections(old)
    for name, (title, rows, stamp) in sections.items():
        note = f"\n{NOTES[name]}\n" if name in NOTES else ""
        blocks[name] = f"## {name}: {title}\n\nRun: {stamp}.\n\n{table(rows)}\n{note}"
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
               f"Python {platform.python_version()}, numpy {np.__version__}, "
               f"torch {torch.__version__}")
    body = [
        "# Benchmarks\n",
        "Regenerate with `python benchmarks/run.py` (or one section: "
        "`python benchmarks/run.py ntk`). Times are seconds (memory rows: GB); "
        "ratio = reference / ours, so > 1 means skfourier is faster.\n",
        f"Last run: {datetime.date.today()} on {machine}.\n",
    ]
    body += [blocks[name] for name in BENCHMARKS if name in blocks]
    path.write_text("\n".join(body))


def write_headlines(sections, path=HERE.parent / "README.md"):
    """Rewrite the headline rows of ``sections`` in README.md's table (between
    :data:`HEADLINE_START` and :data:`HEADLINE_END`); rows of other sections stay."""
    text = path.read_text()
    if HEADLINE_START not in text or HEADLINE_END not in text:
        return
    head, rest = text.split(HEADLINE_START, 1)
    body, tail = rest.split(HEADLINE_END, 1)
    kept = {}          # section -> its rows, in the order of BENCHMARKS
    for line in body.strip().splitlines()[2:]:
        section = line.rstrip(" |").rsplit("|", 1)[-1].strip().split(",")[0]
        kept.setdefault(section, []).append(line)
    for name, (_, rows, stamp) in sections.items():
        kept[name] = [f"| {' | '.join(r['headline'])} | {name}, {stamp} |"
                      for r in rows if r.get("headline")]
    lines = ["| what | skfourier | reference in the same run | run |", "|---|---|---|---|"]
    lines += [line for name in BENCHMARKS for line in kept.get(name, [])]
    path.write_text(f"{head}{HEADLINE_START}\n" + "\n".join(lines) + f"\n{HEADLINE_END}{tail}")


def _split_sections(text):
    blocks, current = {}, None
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            current = line[3:].split(":")[0].strip()
            blocks[current] = ""
        if current:
            blocks[current] += line
    # one blank line between sections however often the file is rewritten
    return {name: block.rstrip("\n") + "\n" for name, block in blocks.items()}


if __name__ == "__main__":
    main()
