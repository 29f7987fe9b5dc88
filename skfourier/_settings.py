"""The solvers' tuning constants in one place, each with where its value comes from.

:class:`SolverSettings` is a frozen dataclass: the defaults below are the
measured choices, and an estimator's ``solver_options={"name": value}``
overrides any of them for its own fits (validated by
:meth:`SolverSettings.from_options`). Solvers read them from their
``settings`` attribute, so tests reach a branch by passing options, never by
patching module globals. No torch here: the CLI reads
:data:`EXACT_STD_POINTS` without loading it.
"""

import dataclasses
import numbers

import numpy as np

#: Test points up to which ``return_std`` is exact by default (a solve per point); past
#: them ``std_method="auto"`` estimates (see ``SolverSettings.exact_std_points``).
EXACT_STD_POINTS = 512

_EPS = float(np.finfo(np.float64).eps)


def null_tolerance(values, size=None):
    """The one rule for "numerically zero": ``size * eps * max |values|``.

    Eigenvalues of a kernel (dense spectrum, Ritz values of a Lanczos
    matrix) below it are null directions, and a Lanczos step whose new
    vector's norm falls below it (with ``values`` the step's diagonal) has
    found an invariant subspace. ``size`` is the dimension of the operator
    the values belong to (default ``values.size``): rounding in a product of
    ``size`` terms is of that order (numpy's ``pinvh`` rule).
    """
    values = np.asarray(values)
    if values.size == 0:
        return 0.0
    size = values.size if size is None else size
    return size * _EPS * float(np.max(np.abs(values)))


def _field(default, provenance):
    return dataclasses.field(default=default, metadata={"provenance": provenance})


@dataclasses.dataclass(frozen=True)
class SolverSettings:
    """Tuning constants of the solvers, with the measurement behind each default.

    Pass any subset as ``NTKRegressor(solver_options={...})``; every field is
    a number. Each default carries its provenance in its field's
    ``metadata["provenance"]``: the measurement behind it (2-core machines)
    where one was made, else the bound or design choice it is. Change them
    to trade time for accuracy or memory, or to force a branch
    (``plain_cg_iterations=0`` always preconditions).

    Attributes
    ----------
    fft_from : int
        ``solver="auto"`` takes the FFT solver for grid data from this many
        training samples on; below, a dense factorisation is as fast.
    exact_std_points : int
        ``std_method="auto"`` is exact up to this many test points.
    std_probe_tol, image_probe_tol : float
        Stopping rule of the exact solves behind an estimated std: on a video
        or over a hole, and on an image's whole test lattice (whose nodes are
        refined on differences that the probes' error must stay below).
    std_budget_seconds, std_probe_points : float, int
        An exact std over more than ``std_probe_points`` points times that
        many first and is refused when all would take longer than
        ``std_budget_seconds`` (the message gives the numbers).
    variance_block : int
        Test points per block of an exact variance (columns of one solve).
    predict_block_bytes, matvec_block_bytes : int
        Bytes of kernel rows a prediction / a matrix-free matvec holds at once.
    lanczos_basis_bytes : int
        Bytes of Lanczos vectors kept for forming a finite-t solution without
        replaying the recurrence (past them, it is replayed).
    min_fill : float
        The FFT solver takes training points that fill at least this share of
        their bounding grid (a masked grid).
    mask_modes : int
        Strongest torus modes deflated by CG on a masked grid with a wide kernel.
    mask_deflation_iterations : float
        Predicted plain-CG steps above which a masked grid deflates those modes.
    max_frames : int
        A masked grid whose samples are whole slices of its first array axis
        (kept video frames at any times) is solved on those slices alone when
        there are at most this many, dense between them.
    max_fine_factor : int
        A lattice prediction may use a fine grid this many times larger than
        train + test, and refinements up to this factor are recognised.
    exact_axis, exact_block : int
        Axes of at most ``exact_axis`` points (the frames kept of a video)
        are solved exactly by the preconditioner, up to ``exact_block``
        points per block.
    plain_cg_iterations : float
        Plain CG is kept when its predicted iteration count is at most this.
    line_contrast, line_points : float, int
        The kernel's spectral lines are kept exact in the preconditioner when
        they stand ``line_contrast`` above the circulant on lattices of at
        least ``line_points`` points, ``line_contrast * line_points / n`` on
        smaller ones (whose fewer CG steps repay the lines' set-up less).
    circulant_floor : float
        Relative floor of the circulant preconditioner's eigenvalues.
    max_ring : int
        Largest boundary ring deflated.
    slope_step : float
        Relative step of the central difference that gives the kernel's slope.
    lowrank_std_tol, lowrank_check_every, lowrank_probes, lowrank_chunk
        Of the NNGP's low-rank std (LOVE): relative change of the probes' std
        that ends the basis, Lanczos steps between checks, probe points,
        basis columns per cross product.
    corner, min_corner, refine_rtol, settle_rtol
        Of the whole-lattice std estimate: smallest width of the exact end
        layers, smallest corner block, relative difference of neighbouring
        values below which the centre lines are interpolated, relative
        distance within which an edge has settled.
    hole_corner_rtol, hole_checks, hole_check_rtol
        Of the std estimate over a hole in a masked grid: relative distance
        of model and exact variance within which a corner block ends, random
        exact check points, largest relative std error they accept (the video
        estimate's checks too).
    flat_rtol, frame_shape_rtol
        Of the video std estimate: relative distance from the centre's variance
        within which two adjacent corners of a frame make its map flat,
        and of a frame's level from its class' middle frame past which the
        frame's map gets its own shape.

    Examples
    --------
    >>> import dataclasses
    >>> from skfourier import NTKRegressor, SolverSettings
    >>> SolverSettings().exact_std_points
    512
    >>> field = {f.name: f for f in dataclasses.fields(SolverSettings)}["max_ring"]
    >>> field.metadata["provenance"][:38]
    'the spatial edges of a 256^2 clip of 1'
    >>> model = NTKRegressor(solver_options={"exact_std_points": 4096})
    """

    fft_from: int = _field(4096, "a 64 x 64 lattice; below it a dense Cholesky "
                                 "(2 x 8 n^2 bytes: 0.27 GB at 4096) is cheap")
    exact_std_points: int = _field(EXACT_STD_POINTS, "exact std costs a solve per point: 512 "
                                   "points at 256^2 take ~1-3 min (0.15-0.42 s each)")
    std_probe_tol: float = _field(2e-4, "256^2 x 100 clip at scale 10, every 10th frame "
                                  "kept, 12 random voxels: std within 2.7e-4 of tol 1e-6's "
                                  "in 13 CG steps (1e-4: 7e-5 in 15, 1e-6: 37; 4e-4: 8.6e-4 "
                                  "in 10); 1e-3 moves it 0.16-0.23%")
    image_probe_tol: float = _field(1e-6, "256^2 image at scale 10, NNGP at t = None: 50 "
                                    "solves in 6.9 s at 1e-6, 356 in 17.8 s at 1e-4 (its "
                                    "variance, ~1e-3 of the prior, refined on the probes' "
                                    "error); the other kernels and times within 1 s")
    std_budget_seconds: float = _field(600.0, "design choice: the longest exact std run "
                                       "without being asked (a 48 x 48 x 20 clip's 41,472 "
                                       "held-out voxels ran half an hour without a word)")
    std_probe_points: int = _field(16, "design choice: a first block timed alone, small "
                                   "against the 256-point blocks that follow")
    variance_block: int = _field(256, "the block the per-point std costs in "
                                 "benchmarks/README.md were measured with")
    predict_block_bytes: int = _field(1 << 28, "a bound on memory (256 MiB of test-by-"
                                      "train kernel), not a speed optimum")
    matvec_block_bytes: int = _field(1 << 26, "a bound on memory (64 MiB of kernel rows)")
    lanczos_basis_bytes: int = _field(1 << 30, "a bound on memory (1 GiB of Lanczos vectors); "
                                      "keeping them saved the replay, 3.3 of 10.7 s of a "
                                      "128^2 scale search")
    min_fill: float = _field(0.05, "design choice: past 20 cells of the bounding grid per "
                             "training point the FFT operator does more work than the points "
                             "justify")
    mask_modes: int = _field(256, "128^2 grid at the papers' sigma 1, half the pixels "
                             "missing: 952 CG steps with the masked circulant, 115 with 255 "
                             "modes deflated (63: 282)")
    mask_deflation_iterations: float = _field(
        1000, "predicted plain-CG steps (256^2, random half missing): 327 at scale 10, where "
        "the masked circulant alone takes 1.6 s and with the modes 4.2 s; 2945 at scale 1, "
        "20.3 s alone and 7.5 s with them")
    max_frames: int = _field(32, "256^2 x 100 clip, 12 irregular frames kept, scale (10, 10, "
                             "0.5): 232 CG steps in 52 s on the kept frames, ~35 min on the "
                             "bounding grid; a bound: the frame blocks hold 16 m^2 bytes a "
                             "spatial frequency")
    max_fine_factor: int = _field(64, "a fine grid up to 64x train + test costs less than "
                                  "the dense cross kernel it replaces (refinements up to 64)")
    exact_axis: int = _field(32, "128^2 x 10 frames at scale 0.5: 95 CG iterations with the "
                             "frames exact instead of 162 with the circulant")
    exact_block: int = _field(64, "a bound: the block inverses hold 24 n block "
                              "bytes")
    plain_cg_iterations: float = _field(300, "256^2 at scale 100: plain CG 51 iterations, "
                                        "143 with the circulant; wide kernels need thousands")
    line_contrast: float = _field(4.0, "median line/circulant contrast 2.2 / 8.6 / 34 at "
                                  "512^2 / 1024^2 / 2048^2: 60 / 151 / 423 iterations "
                                  "without the lines, 30 / 58 with them at the larger two")
    line_points: int = _field(1 << 20, "512^2 at scale 20 (contrast 8.6): the lines cut CG "
                              "from 60 to 18 steps, but their set-up (2 m circulant solves) "
                              "took the fit from 3.1 to 6.9 s; at scale 40 (contrast 33) 140 "
                              "-> 15 steps, 7.0 -> 6.3 s; 1024^2 at scale 40 (8.6): 151 -> 30 "
                              "steps, 29.3 -> 22.5 GEMM units")
    circulant_floor: float = _field(1e-6, "T. Chan's circulant can have tiny or negative "
                                    "eigenvalues: floored at 1e-6 of the largest, below "
                                    "the kernels' own smallest at alpha 1e-6")
    max_ring: int = _field(12288, "the spatial edges of a 256^2 clip of 10 frames (10,200 "
                           "points): 7 s to build, 0.065 s per CG step, 0.6 GB")
    slope_step: float = _field(1e-4, "central difference of the NTK in u: truncation "
                               "O(step^2), rounding O(eps / step)")
    lowrank_std_tol: float = _field(1e-3, "within 5e-3 of the exact std on 32^2 and 64^2 "
                                    "lattices at the demo's flow scale")
    lowrank_check_every: int = _field(20, "design choice: a check costs an eigh of the "
                                      "k x k tridiagonal")
    lowrank_probes: int = _field(256, "design choice: points spread evenly over the "
                                 "test set")
    lowrank_chunk: int = _field(32, "a bound on memory")
    corner: int = _field(8, "64^2 lattices: corners 5-40% off without blocks, <= 0.64% with "
                         "8 x 8 (or twice the kernel's half width)")
    min_corner: int = _field(2, "design choice: the corner blocks' smallest side")
    refine_rtol: float = _field(2e-3, "256^2 demo t: the centre row drifts +-0.1% (real), so "
                                "0.2% and not 0.1%")
    settle_rtol: float = _field(2e-3, "256^2 at scale 10: the centre row's ends settle "
                                "within 4 steps")
    hole_corner_rtol: float = _field(5e-3, "a 64^2 hole in a 256^2 photo at scale 10: the "
                                     "model's corners meet the exact variance within 0.5% "
                                     "4-5 steps in, and miss the std by <= 0.5% past them")
    hole_checks: int = _field(8, "design choice: 8 exact solves (~2 s at 256^2) against "
                              "100-150 for the estimate")
    hole_check_rtol: float = _field(1e-2, "the estimate's goal: the std within 1%")
    flat_rtol: float = _field(1e-2, "the video estimate's goal, the std within 1%, with half "
                              "of it to spare: a frame's variance within 1% of its centre's at "
                              "two adjacent corners is flat (256^2 clip at scale 10: 0.3% "
                              "past a training frame's neighbours, the other corners within "
                              "1.4x of these)")
    frame_shape_rtol: float = _field(5e-3, "a 32^2 clip of 23 frames keeping every 5th: a "
                                     "frame past the last training frame 0.9% from its "
                                     "class' middle in level has a map 1% off (std)")

    @classmethod
    def from_options(cls, options):
        """Settings with ``options`` (a dict or ``None``) over the defaults; ValueError naming
        the valid names on an unknown name or a value that is not a positive number."""
        if options is None:
            return cls()
        if not isinstance(options, dict):
            raise ValueError(f"solver_options must be a dict or None, got {options!r}.")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - set(fields))
        if unknown:
            raise ValueError(f"unknown solver_options {unknown}; valid names: {sorted(fields)}.")
        for name, value in options.items():
            integer = fields[name].type is int
            kind = numbers.Integral if integer else numbers.Real
            if (isinstance(value, bool) or not isinstance(value, kind) or not np.isfinite(value)
                    or value < 0):
                what = "a non-negative integer" if integer else "a non-negative number"
                raise ValueError(f"solver_options[{name!r}] must be {what}, got {value!r}.")
        return cls(**options)
