"""A kernel matrix applied without storing it: blocks of rows recomputed at every matvec."""

import numpy as np

from ..kernels import ntk_kernel

# Bytes of one block of kernel rows held during a matvec.
_BLOCK_BYTES = 1 << 26


class BlockedKernel:
    """``(K(F, F) + alpha I) V`` in O(n) memory (plus one block of rows).

    Each matvec recomputes the kernel: O(n^2 d) time, the price of not holding
    an n x n matrix; suitable for n up to a few 10^4 scattered samples.
    """

    def __init__(self, F, kernel_params, alpha):
        self.F = F
        self.kernel_params = kernel_params
        self.alpha = alpha

    def matvec(self, V):
        n = self.F.shape[0]
        rows = max(1, _BLOCK_BYTES // (8 * n))
        out = np.empty_like(V)
        for start in range(0, n, rows):
            sl = slice(start, start + rows)
            out[sl] = ntk_kernel(self.F[sl], self.F, **self.kernel_params) @ V
        if self.alpha:
            out += self.alpha * V
        return out
