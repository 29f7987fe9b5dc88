"""Matrix-free Krylov solver for scattered data: kernel rows recomputed at every matvec."""

from .base import BlockedKernel
from .iterative import KrylovSolver


class MatrixFreeSolver(KrylovSolver):
    """``solver="cg"``: CG / Lanczos on the kernel of any inputs, never stored."""

    name = "cg"

    def _operator(self):
        if getattr(self, "_blocked", None) is None:
            self._blocked = BlockedKernel(self.kernel.features(self.X), self.kernel.params,
                                          self.alpha)
        return self._blocked.matvec
