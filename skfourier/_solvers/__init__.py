"""Linear-algebra back ends of the NTK estimators: one module per solver family.

Every family implements :class:`~.base.Solver` (fit on training inputs and
targets; ``phi_c(K + alpha I)`` applied for many flow scales; training curve;
cross-kernel prediction) and is chosen by name.
"""

from .base import KernelFunction, Solver, flow_scale
from .dense import CholeskySolver, NotPositiveDefinite, SpectralSolver, check_kernel_memory
from .matfree import MatrixFreeSolver
from .structured import FFTSolver

#: Solver families by their ``NTKRegressor(solver=...)`` name.
SOLVERS = {cls.name: cls for cls in (SpectralSolver, CholeskySolver, FFTSolver,
                                     MatrixFreeSolver)}

__all__ = ["SOLVERS", "CholeskySolver", "FFTSolver", "KernelFunction", "MatrixFreeSolver",
           "NotPositiveDefinite", "Solver", "SpectralSolver", "check_kernel_memory",
           "flow_scale"]
