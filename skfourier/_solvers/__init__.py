"""Linear-algebra back ends of the NTK estimators: one module per solver family.

Every family implements :class:`~.base.Solver` (fit on training inputs and
targets; ``phi_c(K + alpha I)`` applied for many flow scales; training curve;
cross-kernel prediction) and is chosen by name.
"""

from .base import STD_METHODS, KernelFunction, Solver, flow_scale
from .dense import (PEAK_MATRICES, CholeskySolver, NotPositiveDefinite, SpectralSolver,
                    check_kernel_memory)
from .lattice import FFTSolver
from .matfree import MatrixFreeSolver

#: Solver families by their ``NTKRegressor(solver=...)`` name.
SOLVERS = {cls.name: cls for cls in (SpectralSolver, CholeskySolver, FFTSolver,
                                     MatrixFreeSolver)}

__all__ = ["PEAK_MATRICES", "SOLVERS", "STD_METHODS", "CholeskySolver", "FFTSolver",
           "KernelFunction", "MatrixFreeSolver", "NotPositiveDefinite", "Solver",
           "SpectralSolver", "check_kernel_memory", "flow_scale"]
