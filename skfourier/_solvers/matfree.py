"""Matrix-free Krylov solver for scattered data: kernel rows recomputed at every matvec."""

import numpy as np

from ..kernels import ntk_diagonal, ntk_kernel
from .iterative import KrylovSolver

# Bytes of one block of kernel rows held during a matvec.
_BLOCK_BYTES = 1 << 26


class BlockedKernel:
    """``(K(F, F) + alpha I) V`` in O(n) memory (plus one block of rows).

    Each matvec recomputes the kernel: O(n^2 d) time, the price of not holding
    an n x n matrix; suitable for n up to a few 10^4 scattered samples. The
    diagonal is set exactly, as in ``ntk_kernel(F)``: row blocks are cross
    kernels, where ``arccos`` near correlation 1 costs ~1e-8 relative, an
    error that ill-conditioned kernels amplify into the coefficients.
    """

    def __init__(self, F, kernel_params, alpha):
        self.F = F
        self.kernel_params = kernel_params
        self.alpha = alpha
        self.diagonal = ntk_diagonal(F, **kernel_params)

    def matvec(self, V):
        n = self.F.shape[0]
        rows = max(1, _BLOCK_BYTES // (8 * n))
        out = np.empty_like(V)
        for start in range(0, n, rows):
            sl = slice(start, start + rows)
            block = ntk_kernel(self.F[sl], self.F, **self.kernel_params)
            local = np.arange(block.shape[0])
            block[local, start + local] = self.diagonal[sl]
            out[sl] = block @ V
        if self.alpha:
            out += self.alpha * V
        return out


class MatrixFreeSolver(KrylovSolver):
    """``solver="cg"``: CG / Lanczos on the kernel of any inputs, never stored."""

    name = "cg"

    def _operator(self):
        if getattr(self, "_blocked", None) is None:
            self._blocked = BlockedKernel(self.kernel.features(self.X), self.kernel.params,
                                          self.alpha)
        return self._blocked.matvec, None
