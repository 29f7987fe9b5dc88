"""CG's preconditioner for a grid's kernel: the circulant, exact short axes, and the choice.

:class:`Circulant` is T. Chan's circulant approximation of the Toeplitz
kernel, inverted by FFT, with short axes (the few frames kept of a video)
kept exact. :func:`choose` decides per operator and tolerance between plain
CG, the circulant, the circulant with the kernel's spectral lines kept
exact (:mod:`.lines`) and the boundary deflation around either
(:mod:`.deflation`), and says by name what it chose.
"""

from functools import cached_property

import numpy as np
import scipy.fft
import torch

from ..._settings import null_tolerance
from ..._validation import memory_budget
from ..base import matmul
from .deflation import BoundaryDeflation
from .grid import channel_major, samples
from .lines import LineWoodbury


def chan_generator(generator, shape, axes=None):
    """T. Chan's optimal circulant approximation (one level per axis) of the Toeplitz kernel.

    Only along ``axes`` (default: all); the others keep their 2N - 1 lags.
    """
    out = generator
    for axis in range(len(shape)) if axes is None else axes:
        n = shape[axis]
        i = np.arange(n).reshape([-1 if a == axis else 1 for a in range(out.ndim)])
        pos = np.take(out, np.arange(n - 1, 2 * n - 1), axis=axis)      # t(i)
        neg = np.take(out, np.arange(-1, n - 1), axis=axis)              # t(i - N), i >= 1
        out = ((n - i) * pos + i * neg) / n
    return out


class Circulant:
    """The inverse of T. Chan's circulant of ``generator`` (+ ``alpha``), exact on short axes.

    Parameters
    ----------
    generator, shape, alpha
        As :class:`~.operator.ToeplitzKernel`.
    settings : SolverSettings
        ``exact_axis``, ``exact_block`` (which axes stay exact) and
        ``circulant_floor`` (the eigenvalues' relative floor).
    lag_index : ndarray of int, shape (m, m), optional
        For a :class:`~.operator.FrameKernel` (its ``generator`` and
        ``lag_index``): the kept frames, at any times, are the one exact axis.
    """

    def __init__(self, generator, shape, alpha, settings, lag_index=None):
        self.generator = generator
        self.shape = tuple(shape)
        self.alpha = alpha
        self.settings = settings
        self.lag_index = lag_index
        self.axes = tuple(range(len(self.shape)))
        self.n = int(np.prod(self.shape))

    @cached_property
    def chan(self):
        """Eigenvalues of the full circulant (+ alpha) on the torus, ``fftn`` order."""
        chan = scipy.fft.fftn(chan_generator(self.generator, self.shape), axes=self.axes,
                              workers=-1).real
        # the circulant approximant can have tiny or negative eigenvalues: floor them
        return np.maximum(chan, self.settings.circulant_floor * np.abs(chan).max()) + self.alpha

    @cached_property
    def exact_axes(self):
        """Axes the preconditioner keeps Toeplitz: the short ones (few video frames).

        Smallest first, up to ``settings.exact_block`` points per block, never
        all axes, and within the memory budget (the blocks' inverses and their
        eigendecompositions hold about ``24 n block`` bytes). A circulant wraps
        the first frame onto the last; on an axis of ten samples that error is
        no boundary effect but the whole axis. Kept frames at any times
        (``lag_index``) are no Toeplitz axis at all: the first axis, alone.
        """
        if self.lag_index is not None:
            return (0,)
        exact, block = [], 1
        for axis in sorted(self.axes, key=lambda a: self.shape[a])[:-1]:
            n = self.shape[axis]
            if (n > self.settings.exact_axis or block * n > self.settings.exact_block
                    or 24 * self.n * block * n > memory_budget()):
                break
            exact.append(axis)
            block *= n
        return tuple(exact)

    @cached_property
    def _blocks(self):
        """Eigenpairs of the preconditioner's blocks, one block per frequency of the circulant axes.

        Chan's circulant along the other axes diagonalises them by FFT; what
        is left at each frequency ``w`` is a Hermitian Toeplitz matrix over
        the exact axes, ``T_w[s, s'] = c_(s - s')(w)``. Returns its
        eigenvalues (without ``alpha``) and eigenvectors, as torch tensors.
        """
        exact = self.exact_axes
        circ = tuple(a for a in self.axes if a not in exact)
        C = scipy.fft.rfftn(chan_generator(self.generator, self.shape, circ), axes=circ,
                            workers=-1)
        C = np.moveaxis(C, exact, range(len(exact)))        # lags of the exact axes first
        if self.lag_index is not None:
            T = C[self.lag_index]
        else:
            sizes = [self.shape[a] for a in exact]
            pos = [g.ravel() for g in np.meshgrid(*map(np.arange, sizes), indexing="ij")]
            T = C[tuple(p[:, None] - p[None, :] + n - 1 for p, n in zip(pos, sizes))]
        return torch.linalg.eigh(torch.from_numpy(np.moveaxis(T, (0, 1), (-2, -1)).copy()))

    @cached_property
    def _block_inverse(self):
        """Inverses of the preconditioner's blocks, eigenvalues floored as the circulant's are."""
        lam, V = self._blocks
        lam = torch.clamp(lam, min=self.settings.circulant_floor * float(lam.abs().max()))
        return (V / (lam + self.alpha)[..., None, :]) @ V.conj().transpose(-2, -1)

    def spectrum(self):
        """Eigenvalues of the operator this preconditioner inverts, ``alpha`` included.

        With short axes that is the block approximant, not Chan's circulant:
        the full circulant wraps an axis of ten frames onto itself and
        overstates its smallest eigenvalue by orders of magnitude (256^2 x 11
        frames at scale 5: it predicted 250 plain CG iterations, and plain CG
        stalled at a relative residual of 0.3 after 200).
        """
        if not self.exact_axes:
            return self.chan.ravel()
        # not floored as the inverse is: the small eigenvalues are what predict CG's cost
        return np.maximum(self._blocks[0].numpy().ravel(), 0.0) + self.alpha

    def __call__(self, R):
        """The preconditioner's inverse applied to ``R`` (n, k), column-major samples.

        Without short axes, the circulant's inverse by FFT. With them
        (:attr:`exact_axes`), a circulant along the long axes only and the
        exact Toeplitz coupling along the short ones: one small dense solve
        per frequency (128^2 x 10 frames at scale 0.5: 95 CG iterations
        instead of 162).
        """
        exact = self.exact_axes
        if not exact:
            # a symmetric kernel gives a symmetric circulant: real, even eigenvalues, so the
            # real FFT's half spectrum holds them all
            axes = tuple(a + 1 for a in self.axes)
            F = scipy.fft.rfftn(channel_major(R, self.shape), axes=axes, workers=-1)
            F /= self.chan[..., :self.shape[-1] // 2 + 1]
            return samples(scipy.fft.irfftn(F, s=self.shape, axes=axes, workers=-1))
        A = np.moveaxis(channel_major(R, self.shape), 0, -1)
        front = range(len(exact))
        A = np.moveaxis(A, exact, front)
        circ = tuple(range(len(exact), len(self.shape)))
        F = scipy.fft.rfftn(A, axes=circ, workers=-1)         # (exact..., frequencies..., k)
        blocks = F.reshape((-1,) + F.shape[len(exact):])       # (block, frequencies..., k)
        Z = self._block_inverse @ torch.from_numpy(np.moveaxis(blocks, 0, -2).copy())
        F = np.moveaxis(Z.numpy(), -2, 0).reshape(F.shape)
        out = scipy.fft.irfftn(F, s=A.shape[len(exact):-1], axes=circ, workers=-1)
        # column-major as the operator's vectors, one copy: CG's products and its next matvec
        # would otherwise stride over the channels (a 256^2 x 10 grid, 12 columns: a column
        # dot product 22 ms instead of 2)
        return samples(np.ascontiguousarray(np.moveaxis(np.moveaxis(out, front, exact), -1, 0)))


def choose(operator, tol, settings):
    """CG's preconditioner for a :class:`~.operator.ToeplitzKernel`: ``(name, apply)``.

    ``apply`` is ``None`` for plain CG (name ``"none"``). The circulant's
    eigenvalues approximate the kernel's, so they predict plain CG's
    iteration count, ``sqrt(cond) / 2 * log(2 / tol)`` with the constant mode
    (CG removes it in one step) left out. A narrow kernel (large Fourier
    scale for the spacing) is well conditioned, and there the circulant,
    whose torus pairs opposite edges, slows CG down (256^2 at scale 100: 51
    plain iterations, 143 with it): plain CG is kept up to
    ``settings.plain_cg_iterations`` predicted iterations. Wider kernels get
    the circulant with the boundary ring deflated (:mod:`.deflation`; 256^2
    at scale 1: 34 iterations where the circulant alone needs 276 and plain
    CG thousands), or the circulant alone where no ring fits.

    On large lattices the kernel's spectral lines stand far above the
    circulant (:meth:`~.lines.SpectralLines.contrast` above
    ``settings.line_contrast``, scaled up by ``settings.line_points / n`` on
    smaller lattices): then the circulant is built from the rest of the
    kernel and the lines are kept exact by Woodbury (:mod:`.lines`; 1024^2 at
    scale 40: 30 iterations instead of 151, 2048^2 at scale 80: 58 instead of
    423). Their set-up, ``2 m`` circulant solves, must be repaid by the steps
    they save: at 512^2 and contrast 8.6 it is not (60 -> 18 steps, 3.1 ->
    6.9 s), at contrast 33 it is (140 -> 15 steps, 7.0 -> 6.3 s). Not on
    lattices with short axes: there the block approximant already keeps the
    frames exact, and the lines gained nothing (256^2 x 10 frames at scale 5,
    contrast 7: 49 iterations instead of 51, for a 20 s setup).
    """
    circulant = Circulant(operator.generator, operator.shape, operator.alpha, settings)
    if _plain_cg_suffices(circulant, tol, settings):
        return "none", None
    inner, names = circulant, ["circulant"]
    if circulant.exact_axes:
        names = ["circulant with exact short axes"]
    elif operator.lines is not None:
        rest = Circulant(operator.generator - operator.lines.generator, operator.shape,
                         operator.alpha, settings)
        bar = settings.line_contrast * max(1.0, settings.line_points / operator.n)
        if operator.lines.contrast(rest.chan) > bar:
            inner = LineWoodbury(operator.lines, rest)
            names.append("spectral lines")
    deflation = BoundaryDeflation.on_ring(operator, inner, settings.max_ring)
    if deflation is not None:
        names.append("boundary deflation")
    return " + ".join(names), inner if deflation is None else deflation


def choose_frames(operator, tol, settings):
    """CG's preconditioner for a :class:`~.operator.FrameKernel`: ``(name, apply)``.

    The circulant in space, exact over the kept frames (one ``m x m`` block
    per spatial frequency, whatever their times), or plain CG where the
    blocks' spectrum predicts at most ``settings.plain_cg_iterations`` steps.
    A 128^2 clip with 12 irregular frames of 100 at scale (10, 10, 0.5): 122
    steps in 8.6 s, where the 100-frame bounding grid seen through the mask
    took 629 in 280 s. The plain-CG rule is the full lattice's: narrow kernels
    (128^2 at scale (40, 40, 5): 67 plain steps, 425 with the circulant) keep
    plain CG.
    """
    circulant = Circulant(operator.generator, operator.shape, operator.alpha, settings,
                          lag_index=operator.lag_index)
    if _plain_cg_suffices(circulant, tol, settings):
        return "none", None
    return "circulant exact on the kept frames", circulant


def _plain_cg_suffices(circulant, tol, settings):
    """Whether the spectrum ``circulant`` inverts predicts at most
    ``settings.plain_cg_iterations`` plain CG steps (then the preconditioner costs more
    than it saves)."""
    lam = circulant.spectrum()
    return lam.size < 2 or plain_cg_iterations(lam, tol) <= settings.plain_cg_iterations


def plain_cg_iterations(eigenvalues, tol):
    """Plain CG's predicted iteration count, ``sqrt(cond) / 2 * log(2 / tol)``.

    The largest eigenvalue (the constant mode, which CG removes in one step)
    is left out of the condition number.
    """
    lam = np.sort(np.ravel(eigenvalues))
    return 0.5 * np.sqrt(lam[-2] / max(lam[0], 1e-300)) * np.log(2.0 / tol)


class MaskedCirculant:
    """The bounding grid's circulant preconditioner seen through a mask: ``P_o C^-1 P_o^T``.

    Parameters
    ----------
    masked : MaskedOperator
    inner : callable
        The bounding grid's preconditioner (column-major (N, k) -> (N, k)).
    """

    def __init__(self, masked, inner):
        self.masked = masked
        self.inner = inner

    def __call__(self, R):
        return np.asfortranarray(self.inner(self.masked.scatter(R))[self.masked.observed])


def low_modes(circulant, observed, count):
    """The ``count`` real torus sinusoids (cosines, and sines where they are not zero) of
    the largest circulant eigenvalues, at the ``observed`` cells: (n, ~count) columns."""
    shape, chan = circulant.shape, circulant.chan
    order = np.argsort(-chan.ravel(), kind="stable")
    coords = np.unravel_index(observed, shape)
    columns, seen = [], set()
    for flat in order:
        k = np.unravel_index(flat, shape)
        mirror = tuple(-ki % n for ki, n in zip(k, shape))
        if mirror in seen:       # its pair's cosine and sine are already in
            continue
        seen.add(tuple(int(ki) for ki in k))
        phase = sum(2 * np.pi * ki * c / n for ki, c, n in zip(k, coords, shape))
        columns.append(np.cos(phase))
        if mirror != tuple(k):   # a sine that is not identically zero on the grid
            columns.append(np.sin(phase))
        if len(columns) >= count:
            break
    return np.column_stack(columns)


class LowModeDeflation:
    """Deflated CG (A-DEF2) on a masked grid: the kernel's strongest torus modes, restricted
    to the observed cells, solved exactly; the masked circulant for the rest.

    A wide kernel's energy sits in few Fourier modes. On a full grid the circulant holds
    them; through a mask, the circulant's inverse of the zero-filled residual excites every
    frequency and no longer separates them, and CG pays for each (a 128^2 grid at the
    papers' sigma 1, half the pixels missing: 952 steps with the masked circulant alone).
    With ``Z`` those modes on the observed cells (``n x r``), ``E = Z^T A Z`` and
    ``Q = Z E^+ Z^T``, CG from ``x0 = Q b`` with ``P = (I - Q A) M^-1`` keeps the
    residual orthogonal to ``Z`` (Tang, Nabben, Vuik & Erlangga 2009): 952 -> 115 steps
    there with r = 255. ``E`` is inverted on its range (null directions dropped by
    :func:`~skfourier._settings.null_tolerance`), as alpha = 0 allows.

    Parameters
    ----------
    masked : MaskedOperator
    inner : callable
        ``M^-1`` on the observed cells (a :class:`MaskedCirculant`).
    Z : ndarray of shape (n, r)
    block : int
        Columns of ``Z`` per batched matvec while building ``A Z``.
    """

    def __init__(self, masked, inner, Z, block=64):
        self.inner = inner
        # orthonormal: sinusoids seen through a hole or a band are far from orthogonal, and
        # E of the raw columns is too ill-conditioned for an accurate projection
        self.Z = np.asfortranarray(np.linalg.qr(Z)[0])
        AZ = np.empty_like(self.Z)
        for lo in range(0, Z.shape[1], block):
            AZ[:, lo:lo + block] = masked.matvec(self.Z[:, lo:lo + block])
        self.AZ = AZ
        E = matmul(self.Z.T, AZ)
        lam, V = np.linalg.eigh((E + E.T) / 2)
        keep = lam > null_tolerance(lam)
        self.E_inv = (V[:, keep] / lam[keep]) @ V[:, keep].T

    def start(self, B):
        """``x0 = Q b``: the solution in the modes' span, so that ``Z^T r0 = 0``."""
        return np.asfortranarray(matmul(self.Z, self.E_inv @ matmul(self.Z.T, B)))

    def __call__(self, R):
        Y = self.inner(R)
        Y -= matmul(self.Z, self.E_inv @ matmul(self.AZ.T, Y))
        return Y


def choose_masked(masked, tol, settings):
    """CG's preconditioner for a :class:`~.operator.MaskedOperator`: ``(name, apply)``.

    The masked matrix ``B_oo`` is a principal submatrix of the bounding
    grid's ``B``, so its eigenvalues lie inside ``B``'s (interlacing): the
    full grid's circulant spectrum bounds plain CG's count here too. Where
    that predicts at most ``settings.plain_cg_iterations`` steps, plain CG;
    else the bounding grid's circulant restricted to the observed cells, and
    for wide kernels (more than ``settings.mask_deflation_iterations``
    predicted steps) the ``settings.mask_modes`` strongest modes deflated
    (:class:`LowModeDeflation`) where they fit a quarter of the points and the
    memory budget. Narrower kernels skip the modes: their set-up (a QR of the
    modes and a matvec per mode) and the two products with them per step cost
    more than the steps they save (256^2 at scale 10: 160 steps in 1.6 s
    without, 83 steps in 4.2 s with them).
    """
    operator = masked.operator
    circulant = Circulant(operator.generator, operator.shape, operator.alpha, settings)
    lam = circulant.spectrum()
    predicted = plain_cg_iterations(lam, tol) if lam.size > 1 else 0.0
    if predicted <= settings.plain_cg_iterations:
        return "none", None
    inner = MaskedCirculant(masked, circulant)
    count = min(settings.mask_modes, masked.n // 4)
    if (predicted <= settings.mask_deflation_iterations or count < 1
            or 2 * 8 * masked.n * count > memory_budget() // 4):
        return "masked circulant", inner
    Z = low_modes(circulant, masked.observed, count)
    return "masked circulant + low-mode deflation", LowModeDeflation(masked, inner, Z)
