"""The one coupling mechanism: a fixed-point (staggered, block Gauss-Seidel) iteration with Aitken relaxation.

One field is iterated (its `solution` is compared with the `iterate` its forms read, e.g. Li transport with
D(c_k) and the fixed-stress split about c_k); the `inner` fields are solved between its iterates with the
relaxed state (e.g. mechanics and the hydrostatic stress it projects, when the flux is stress-assisted). The
residual r_k = G(x_k) - x_k of the iterated field drives Aitken's dynamic relaxation (Kuettler & Wall 2008):

    omega_k = -omega_{k-1} (r_{k-1} . (r_k - r_{k-1})) / |r_k - r_{k-1}|^2,   x_{k+1} = x_k + omega_k r_k

which turns the linear convergence of the split into a few iterations (on a linear map with a uniform
contraction it converges in two). Converged when max |r_k| < tolerance * max |G(x_k)| (owned dofs, all ranks).
Relaxation can be switched off (bounded Li content: each iteration is a semismooth Newton step).
Why one loop for every coupling: the fixed-stress split, a damage or potential field staggered with transport,
and Picard on D(c) are all "solve A with the others frozen, then the others": which fields iterate is a
parameter, not new code.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field

import numpy as np
from mpi4py import MPI

from solver.errors import SolveError


@dataclass
class CouplingReport:
    iterations: int
    change: float
    solves: dict = dataclass_field(default_factory=dict)    # {field name: linear iterations}


class FixedPointCoupling:
    """Iterate one field against others to a relative tolerance, at most max_iterations times."""

    def __init__(self, comm, tolerance: float, max_iterations: int):
        self.comm, self.tolerance, self.max_iterations = comm, tolerance, max_iterations

    def _dot(self, a: np.ndarray, b: np.ndarray) -> float:
        return self.comm.allreduce(float(np.dot(a, b)), op=MPI.SUM)

    def _max(self, a: np.ndarray) -> float:
        return self.comm.allreduce(float(np.abs(a).max()) if a.size else 0.0, op=MPI.MAX)

    def run(self, iterated, inner=(), start=None, nonlinear: bool = True, relax: bool = True,
            least_scale: float = 1e-300) -> CouplingReport:
        """Iterate `iterated` (a Field with `solution` and `iterate` Functions) from `start` (an array; the
        current iterate when None), solving the `inner` fields between iterates. `nonlinear=False`: one solve.
        `least_scale`: the change is relative to max(max |G(x_k)|, least_scale); a field whose zero state is
        meaningful (damage in [0, 1]: 1) gives the size below which changes count absolutely, so roundoff about
        zero does not count as a relative change of order one.
        Raises SolveError when max_iterations pass without convergence."""
        solution, iterate = iterated.solution.x.array, iterated.iterate.x.array
        n_owned = iterated.space.dofmap.index_map.size_local
        if start is not None:
            iterate[:] = start
        solves = {f.name: 0 for f in (iterated, *inner)}
        change, relaxation, previous_residual = 0.0, 1.0, None
        for iteration in range(1, self.max_iterations + 1):
            solves[iterated.name] += iterated.solve()
            residual = (solution - iterate)[:n_owned].copy()
            change = self._max(residual) / max(self._max(solution[:n_owned]), least_scale)
            if not nonlinear or change < self.tolerance:
                break
            if previous_residual is not None and relax:
                difference = residual - previous_residual
                relaxation = -relaxation * self._dot(previous_residual, difference) / max(
                    self._dot(difference, difference), 1e-300)
            previous_residual = residual
            solution[:] = iterate + relaxation * (solution - iterate)
            for other in inner:
                solves[other.name] += other.solve()
            iterate[:] = solution
        else:
            symbol = getattr(iterated, "symbol", iterated.name)
            raise SolveError(f"coupling iteration did not converge in {self.max_iterations} iterations "
                             f"(relative change of {symbol} {change:.2e} > coupling.tolerance "
                             f"{self.tolerance:.1e}); reduce the time step or raise coupling.max_iterations")
        return CouplingReport(iteration, change, solves)
