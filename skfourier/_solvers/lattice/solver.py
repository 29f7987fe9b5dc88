"""``solver="fft"``: exact Krylov solves with the multilevel Toeplitz kernel of a grid.

The family's parts, one concern a module: :mod:`.grid` (the grid and the
only conversion between coordinate columns and array axes), :mod:`.lags`
(the kernel on the grid's lags), :mod:`.operator` (FFT matvecs),
:mod:`.precond` with :mod:`.deflation` and :mod:`.lines` (CG's
preconditioner and its choice), :mod:`.predict` (predictions on
refinements, shared with the dense solvers), :mod:`.variance` (the
whole-lattice std estimate). This module fits, predicts and gives cross
kernels.
"""

import numpy as np

from ..._validation import check_allocation, memory_budget
from ..heap import heap_temporaries
from ..iterative import KrylovSolver
from .grid import Grid
from .lags import frame_operator, grid_columns, lag_kernel, lattice_operator
from .operator import MaskedOperator
from .predict import lattice_prediction
from .precond import choose, choose_frames, choose_masked
from .variance import lattice_variance


class FFTSolver(KrylovSolver):
    """``solver="fft"``: exact Krylov solves with the multilevel Toeplitz kernel of a grid.

    Needs a stationary encoder and training coordinates on one regular grid:
    every point of it, or any subset (a *masked* grid, whose operator is the
    bounding grid's scattered and gathered through the mask, or, for whole
    kept frames, the frames' own :class:`~.operator.FrameKernel`;
    :class:`~.grid.Grid` raises otherwise). Predictions on any refinement of
    the training grid are one FFT convolution of the coefficients on the
    bounding grid (zeros in its empty cells); elsewhere the dense blocks.
    """

    name = "fft"
    estimates = ("lattice", "lanczos")

    def fit(self, X, Y):
        """Recognise the grid of ``X`` (full, or masked: any subset of a grid's points) and
        remember the data; ValueError naming the fix when ``X`` is no such grid, fills too
        little of it (``settings.min_fill``) or its bounding grid is too large."""
        if not self.kernel.stationary:
            raise ValueError(
                "solver='fft' needs a stationary Fourier feature map inside the model: "
                "pass encoder=FourierFeatureTransformer(...) with a 'basic', 'positional', "
                "'gaussian', 'uniform' or 'transformer' encoding and include_input=False, "
                f"and fit on pixel coordinates (got encoder={self.kernel.encoder!r}).")
        try:
            self.grid = Grid(X, "the training coordinates")
        except ValueError as exc:      # its kind kept: "auto" says more of duplicates
            raise type(exc)(f"solver='fft' needs grid data: {exc}") from None
        grid, settings = self.grid, self.settings
        if grid.fill < settings.min_fill:
            raise ValueError(
                f"solver='fft' needs training points that fill at least "
                f"{settings.min_fill:.0%} of their grid: these {X.shape[0]} points lie on a "
                f"{grid.describe()} grid ({grid.size} cells, "
                f"{grid.fill:.1%} filled). Use solver='cholesky', 'eigh' or 'cg', or "
                "lower solver_options['min_fill'].")
        # CG's vectors and the FFTs' zero-padded complex arrays: ~16 grid-sized arrays a channel
        check_allocation(grid.size * 8 * 16 * max(1, Y.shape[1]), "the FFT solver's "
                         f"{grid.describe()} bounding grid",
                         "train on a smaller grid or use solver='cg'.")
        return super().fit(X, Y)

    @property
    def masked(self):
        """Whether the training points are a subset of their grid (not every point)."""
        return self.grid.observed is not None

    @property
    def frames(self):
        """The kept frames' indices where the training points are whole frames of their grid,
        at most ``settings.max_frames`` of them and their blocks (``m x m`` complex per
        spatial frequency, twice: operator and preconditioner) within a quarter of the
        memory budget: solved on those frames alone (:class:`~.operator.FrameKernel`).
        Else ``None`` (the bounding grid through the mask). Found once (a sort of the
        observed cells)."""
        def build():
            frames = self.grid.frames
            if frames is None or frames.size > self.settings.max_frames:
                return None
            frequencies = np.prod([2 * n for n in self.grid.shape[1:]]) // 2
            fits = 32 * frames.size ** 2 * frequencies <= memory_budget() // 4
            return frames if fits else None

        return self._cached("frames", build)

    @property
    def toeplitz(self):
        """The bounding grid's operator ``K + alpha I`` (built on first use); the lines
        only where the full grid's preconditioner may use them."""
        return self._cached("toeplitz", lambda: lattice_operator(
            self.kernel, self.grid, self.alpha, self.settings, lines=not self.masked))

    def _training(self, kernel, alpha, toeplitz=None):
        """The training points' operator for ``kernel``: the kept frames' alone, or the
        bounding grid's (``toeplitz`` where built already), itself or seen through the mask."""
        if self.frames is not None:
            return frame_operator(kernel, self.grid, alpha, self.frames)
        if toeplitz is None:
            toeplitz = lattice_operator(kernel, self.grid, alpha, self.settings, lines=False)
        return toeplitz if not self.masked else MaskedOperator(toeplitz, self.grid.observed)

    def _training_operator(self):
        return self._cached("operator", lambda: self._training(
            self.kernel, self.alpha, None if self.frames is not None else self.toeplitz))

    def operator(self):
        return self._training_operator().matvec

    def preconditioner(self):
        """CG's preconditioner (:func:`~.precond.choose` on a full grid,
        :func:`~.precond.choose_frames` on kept frames, :func:`~.precond.choose_masked` on
        another masked one), chosen once, for the solver's ``tol`` whatever the call's: a
        looser call (the std's probe solves at 1e-6) keeps the fit's choice, since plain
        CG's predicted count is optimistic there (256^2 at scale 10: plain CG 738 steps
        where the deflated circulant takes 42)."""
        def build():
            if self.frames is not None:
                return choose_frames(self._training_operator(), self.tol, self.settings)
            if self.masked:
                return choose_masked(self._training_operator(), self.tol, self.settings)
            return choose(self.toeplitz, self.tol, self.settings)

        return self._cached("preconditioner", build)

    def prior_matvec(self, V):
        prior = self._cached("prior", lambda: self._training(self.kernel.with_kind("nngp"), 0.0))
        return self.from_operator(prior.matvec(self.to_operator(V)))

    def to_operator(self, V):
        return self.grid.to_operator(V)

    def from_operator(self, V):
        return self.grid.from_operator(V)

    def fast_std(self):
        if len(self.grid.shape) != 2:
            return ""
        if self.masked:
            return ("ask for the missing cells of one rectangular hole with std_method='auto' "
                    "(estimated from a few solves)")
        return ("ask for every held-out pixel of a whole test lattice with std_method='auto' "
                "(estimated from a few solves)")

    def estimate_variance(self, method, X, c, tol):
        """The whole-lattice estimate's exact solves run on reused memory
        (:func:`~..heap.heap_temporaries`: a 256^2 x 100 clip's std, measured on an
        earlier version, in 197 s instead of 278 s, the same 122 solves)."""
        if method == "lattice":
            with heap_temporaries():
                return lattice_variance(self, X, c, tol)
        return super().estimate_variance(method, X, c, tol)

    def cross_kernel(self, kernel, X):
        """On a refinement of the training grid, the columns are windows of one fine-lag
        kernel (a 256^2 grid, 128 test points: 0.04 s instead of 2.8 s); elsewhere, or where
        that kernel would be too large, exponential sums over the grid
        (:func:`~.lags.grid_columns`) where the grid is at least half full, else the
        features."""
        fine = self.grid.locate(X, self.settings.max_fine_factor)
        if fine is not None:
            r, index = fine
            # column of point f: the lags r p - f over the grid points p
            shape = np.array(self.grid.shape)
            n_lags = np.maximum(r * (shape - 1) - index.min(axis=0), index.max(axis=0)) + 1
            budget = self.settings.max_fine_factor * (self.grid.size + X.shape[0])
            if np.prod(2 * n_lags - 1) <= budget:
                return self._fine_columns(kernel, X, r, index, n_lags)
        if self.grid.fill < 0.5:    # the bounding grid's columns would cost more than the points'
            return super().cross_kernel(kernel, X)
        return self.grid.from_array(grid_columns(kernel, self.grid, X).reshape(
            self.grid.shape + (X.shape[0],)))

    def _fine_columns(self, kernel, X, r, index, n_lags):
        """The cross kernel at the points of refinement ``r``, fine indices ``index``, from a
        fine-lag kernel of ``n_lags`` lags per axis (kept for the next block)."""
        # kept per kernel and refinement for the next block, if it has the lags these need;
        # a lock makes the check and the replacement one step (see Solver._cached)
        with self._lock:
            key = ("fine lags", kernel.params["kind"], tuple(r))
            lags = self._built.get(key)
            if lags is None or np.any(np.array(lags.shape) < 2 * n_lags - 1):
                lags = self._built[key] = lag_kernel(kernel, self.grid.spacing / r,
                                                     tuple(n_lags))
        shape = self.grid.shape
        columns = np.empty((self.grid.size, X.shape[0]))
        for j, start in enumerate((np.array(lags.shape) - 1) // 2 - index):
            window = (slice(a, a + ri * (ni - 1) + 1, ri) for a, ri, ni in zip(start, r, shape))
            columns[:, j] = lags[tuple(window)].ravel()
        return self.grid.from_array(columns.reshape(shape + (X.shape[0],)))

    def predict(self, X, coefs, kernel=None):
        kernel = kernel or self.kernel
        pred = lattice_prediction(self.grid, X, coefs, kernel, self.settings)
        return super().predict(X, coefs, kernel) if pred is None else pred
