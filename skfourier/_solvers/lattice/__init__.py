"""The lattice family: stationary kernels on regular grids, solved with FFT matvecs.

One concern a module, each working in array-axis order: :mod:`.grid`
(recognition, refinements, offset classes, the only coordinate/axis
conversion), :mod:`.lags`, :mod:`.operator`, :mod:`.precond` (with
:mod:`.deflation` and :mod:`.lines`), :mod:`.predict`, :mod:`.variance` and
:mod:`.solver` (:class:`FFTSolver`).
"""

from .solver import FFTSolver

__all__ = ["FFTSolver"]
