"""Linear-algebra back ends of NTKRegressor: one module per solver family."""

from .dense import (SpectralSolution, check_kernel_memory, cholesky_coefficients,
                    default_kernel_memory)

__all__ = ["SpectralSolution", "check_kernel_memory", "cholesky_coefficients",
           "default_kernel_memory"]
