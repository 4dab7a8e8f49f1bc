"""PETSc solvers: one options prefix each, converged-reason checks, the elasticity rigid-body modes."""
from __future__ import annotations

import numpy as np
from petsc4py import PETSc

from solver import compat
from solver.errors import SolveError

_REASONS = {v: k for k, v in PETSc.KSP.ConvergedReason.__dict__.items() if isinstance(v, int)}

PRESETS = {
    # CG + algebraic multigrid: scalable for the SPD diffusion and elasticity operators in 3D.
    "cg_hypre": {"ksp_type": "cg", "pc_type": "hypre", "pc_hypre_type": "boomeramg"},
    "gmres_hypre": {"ksp_type": "gmres", "pc_type": "hypre", "pc_hypre_type": "boomeramg"},
    "cg_gamg": {"ksp_type": "cg", "pc_type": "gamg", "pc_gamg_type": "agg", "pc_gamg_agg_nsmooths": 1,
                "mg_levels_ksp_type": "chebyshev", "mg_levels_pc_type": "jacobi",
                "mg_levels_ksp_chebyshev_esteig_steps": 10},
    "cg_jacobi": {"ksp_type": "cg", "pc_type": "jacobi"},
    # MUMPS: PETSc's own LU is serial only and factorised a 32k-dof P2 elasticity matrix ~3x slower
    "lu": {"ksp_type": "preonly", "pc_type": "lu",
           **({"pc_factor_mat_solver_type": "mumps"} if PETSc.Sys.hasExternalPackage("mumps") else {})},
}


# A PETSc built without hypre (the PyPI dolfinx wheel's) gets the same Krylov method with GAMG, which is as
# scalable for these scalar SPD operators; the answers agree within the solver tolerance.
HYPRE_FALLBACK = {"cg_hypre": "cg_gamg", "gmres_hypre": "gmres_gamg"}
PRESETS["gmres_gamg"] = {**PRESETS["cg_gamg"], "ksp_type": "gmres"}


def available_preset(preset: str) -> str:
    """`preset`, or its GAMG twin when this PETSc has no hypre."""
    if preset in HYPRE_FALLBACK and not PETSc.Sys.hasExternalPackage("hypre"):
        return HYPRE_FALLBACK[preset]
    return preset


def make_ksp(comm, prefix: str, preset: str, rtol: float, matrix=None) -> PETSc.KSP:
    """A KSP configured through its own options prefix (PETSc options are one database per process)."""
    preset = available_preset(preset)
    options = PETSc.Options()
    for key, value in PRESETS[preset].items():
        options[f"{prefix}{key}"] = value
    direct = PRESETS[preset]["ksp_type"] == "preonly"
    if not direct:    # a direct solve reads no tolerances: set, they would be reported unused at PETSc's exit
        options[f"{prefix}ksp_rtol"] = rtol
        options[f"{prefix}ksp_atol"] = 1e-50
        options[f"{prefix}ksp_max_it"] = 2000
    ksp = PETSc.KSP().create(comm)
    ksp.setOptionsPrefix(prefix)
    if matrix is not None:
        ksp.setOperators(matrix)
    ksp.setFromOptions()
    # Time steps change the fields little: the previous solution is a far better start than zero.
    # (A direct solve takes no initial guess: PETSc refuses a nonzero guess with KSPPREONLY.)
    ksp.setInitialGuessNonzero(not direct)
    return ksp


# A solve whose true relative residual ||b - A x|| / ||b|| is above this is a failure, whatever its rtol:
# PETSc measures CG's convergence in the preconditioned norm, from a warm start, so a loose rtol can stop
# with an answer that is not one (linear_rtol = 1e-2 took 0-5 mechanics iterations per step and reported 3x
# the peak stress). The default solves end 20x below their rtol at worst (mechanics 1e-6 -> 2e-5 on the
# verification sphere): far from this bound.
TRUE_RESIDUAL_LIMIT = 1e-2
# CG "breaks down" when round-off flips the sign of an inner product of an already converged residual: measured
# DIVERGED_INDEFINITE_PC at a residual of 6.5e-20 (CG + GAMG on a floating single grain, dolfinx 0.9,
# tests/test_anisotropic.py). Such a stop whose true residual meets the solve's own rtol is an answer.
_REASON = PETSc.KSP.ConvergedReason
ROUND_OFF_BREAKDOWNS = (_REASON.DIVERGED_INDEFINITE_PC, _REASON.DIVERGED_INDEFINITE_MAT, _REASON.DIVERGED_BREAKDOWN)


def solve(ksp: PETSc.KSP, rhs, solution, what: str) -> int:
    """Solve and raise SolveError with PETSc's converged reason on failure (not a ROUND_OFF_BREAKDOWNS stop whose
    true relative residual meets rtol), or when the true residual is above TRUE_RESIDUAL_LIMIT of ||b||; returns
    the iteration count."""
    _drop_worse_than_zero_guess(ksp, rhs, solution)
    ksp.solve(rhs, solution)
    reason = ksp.getConvergedReason()
    if reason in ROUND_OFF_BREAKDOWNS and true_relative_residual(ksp, rhs, solution) <= ksp.getTolerances()[0]:
        reason = 0          # converged before the breakdown: accepted (and checked against the limit below)
    if reason < 0:
        name = _REASONS.get(reason, str(reason))
        raise SolveError(f"{what}: linear solver did not converge (PETSc reason {name} "
                         f"after {ksp.getIterationNumber()} iterations, residual {ksp.getResidualNorm():.3e})",
                         reason=name)
    relative = true_relative_residual(ksp, rhs, solution)
    if relative > TRUE_RESIDUAL_LIMIT:
        raise SolveError(f"{what}: the linear solve stopped ({_REASONS.get(reason, reason)} after "
                         f"{ksp.getIterationNumber()} iterations) with a true residual of {relative:.2e} of the "
                         f"right-hand side (> {TRUE_RESIDUAL_LIMIT:g}): not an answer; tighten solver.linear_rtol",
                         reason="TRUE_RESIDUAL_TOO_LARGE")
    solution.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
    return ksp.getIterationNumber()


def _residual(ksp: PETSc.KSP, rhs, solution):
    residual = rhs.duplicate()
    ksp.getOperators()[0].mult(solution, residual)
    residual.aypx(-1.0, rhs)
    return residual


def true_relative_residual(ksp: PETSc.KSP, rhs, solution) -> float:
    """||b - A x|| / ||b|| (one matrix-vector product); 0 for b = 0."""
    norm_b = rhs.norm()
    return _residual(ksp, rhs, solution).norm() / norm_b if norm_b > 0 else 0.0


def _drop_worse_than_zero_guess(ksp: PETSc.KSP, rhs, solution) -> None:
    """A warm start farther from the solution than zero (e.g. after a rejected step returned the load
    to ~0) would trip PETSc's divergence test against ||b||; start from zero then."""
    if not ksp.getInitialGuessNonzero() or solution.norm() == 0.0:
        return
    if _residual(ksp, rhs, solution).norm() >= rhs.norm():
        solution.set(0.0)


def rigid_body_modes(space) -> PETSc.NullSpace:
    """Orthonormal translations and rotations of a 3D (6 modes) or 2D (3 modes) vector space: the elasticity
    (near-)nullspace."""
    index_map = space.dofmap.index_map
    block_size = space.dofmap.index_map_bs
    n_owned = index_map.size_local
    x = compat.dof_coordinates(space)[:n_owned]
    # in-plane rotation about z (x, y) -> (-y, x); in 3D also the rotations about y and x
    rotations = [(0, 1)] if block_size == 2 else [(0, 1), (2, 0), (1, 2)]
    modes = [np.zeros((n_owned, block_size)) for _ in range(block_size + len(rotations))]
    for i in range(block_size):
        modes[i][:, i] = 1.0
    for mode, (i, j) in zip(modes[block_size:], rotations):
        mode[:, i], mode[:, j] = -x[:, j], x[:, i]
    vectors = []
    for mode in modes:
        vec = PETSc.Vec().createMPI((n_owned * block_size, PETSc.DECIDE), bsize=block_size, comm=space.mesh.comm)
        vec.setArray(mode.ravel())
        vectors.append(vec)
    _orthonormalise(vectors)
    return PETSc.NullSpace().create(vectors=vectors, comm=space.mesh.comm)


def _orthonormalise(vectors) -> None:
    for i, vec in enumerate(vectors):
        for previous in vectors[:i]:
            vec.axpy(-previous.dot(vec), previous)
        vec.scale(1.0 / vec.norm())
