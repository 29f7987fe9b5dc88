"""Matrix-free Krylov solver for scattered data: kernel rows recomputed at every matvec."""

from .base import BlockedKernel
from .iterative import KrylovSolver


class MatrixFreeSolver(KrylovSolver):
    """``solver="cg"``: CG / Lanczos on the kernel of any inputs, never stored."""

    name = "cg"

    def operator(self):
        blocked = self._cached("operator", lambda: BlockedKernel(
            self.kernel.features(self.X), self.kernel.params, self.alpha,
            self.settings.matvec_block_bytes))
        return blocked.matvec
