"""One measurement in a fresh process (so that its peak memory is its own): prints one JSON line.

    python benchmarks/worker.py '{"task": "steps", "overrides": [...], "steps": 3}'
    python benchmarks/worker.py '{"task": "linear", "overrides": [...], "preset": "lu"}'
    python benchmarks/worker.py '{"task": "mesh", "case": "cases/p_ncm83.toml", "overrides": [...]}'
    (under mpirun for several ranks)

steps:  the 3D problem of the case advanced `steps` fixed steps (transport + mechanics, as in a run), after a
        first mechanics solve that pays the preconditioner set-up. Reports time per step, the bare PETSc
        KSPSolve time, iterations, unknowns and the peak memory (VmHWM, summed over ranks).
mesh:   a fresh mesh of the case (no cache) to a dolfinx mesh: wall and CPU time, the builder's stages (grain
        solids, boolean), surface and volume meshing, cells, grains, pores, peak memory.
linear: the mechanics system of the case (eigenstrain of a radial concentration profile) solved by one
        linalg preset: set-up (AMG hierarchy or factorisation) and solve times, iterations, peak memory.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from bench_common import CASE, peak_memory_bytes


def _problem(task: dict, comm):
    from solver import compat
    from solver.case import load_case
    from solver.geometry import build_particle_mesh
    from solver.problem import ChemoMechanicalProblem
    from solver.pipeline import DEFAULT_MESH_CACHE

    case = load_case(task.get("case", CASE), task["overrides"])
    t0 = time.perf_counter()
    particle = build_particle_mesh(case["geometry"], case["mesh"], comm, cache_dir=DEFAULT_MESH_CACHE)
    mesh_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    problem = ChemoMechanicalProblem(case, particle, comm)
    setup_s = time.perf_counter() - t0
    unknowns = compat.dof_count_global(problem.V_c) + compat.dof_count_global(problem.V_u)
    info = {"cells": compat.cell_count_global(particle.mesh), "unknowns": unknowns,
            "displacement_dofs": compat.dof_count_global(problem.V_u), "ranks": comm.size,
            "mesh_s": mesh_s, "setup_s": setup_s}
    return case, problem, info


def _ksp_seconds() -> float:
    return PETSc.Log.Event("KSPSolve").getPerfInfo()["time"]


def _slowest(comm, seconds: float) -> float:
    return comm.allreduce(seconds, op=MPI.MAX)


def steps(task: dict, comm) -> dict:
    from solver.case import end_time_s

    case, problem, info = _problem(task, comm)
    n = task.get("steps", 3)
    dt = end_time_s(case, problem.particle.radius_m) / case["time"]["steps"]
    t0 = time.perf_counter()
    problem.solve_mechanics()
    info["first_mechanics_s"] = _slowest(comm, time.perf_counter() - t0)
    step_s, cpu_s, ksp_s, iterations = [], [], [], []
    previous = None
    for _ in range(n):
        k0, t0, c0 = _ksp_seconds(), time.perf_counter(), time.process_time()
        report = problem.advance(dt, previous, case["time"]["scheme"])
        problem.accept_step()
        step_s.append(_slowest(comm, time.perf_counter() - t0))
        cpu_s.append(comm.allreduce(time.process_time() - c0, op=MPI.SUM))
        ksp_s.append(_slowest(comm, _ksp_seconds() - k0))
        iterations.append([report.transport_iterations, report.mechanics_iterations])
        previous = dt
    info.update(step_s=step_s, cpu_s=cpu_s, ksp_s=ksp_s, iterations=iterations,
                **{f"mean_{key}": float(np.mean(values)) if values else 0.0
                   for key, values in (("step_s", step_s), ("cpu_s", cpu_s), ("ksp_s", ksp_s))})
    return info


def linear(task: dict, comm) -> dict:
    from solver import compat, linalg

    _, problem, info = _problem(task, comm)
    # a radial profile: the eigenstrain load of a charging particle (a uniform c would load nothing)
    x = compat.dof_coordinates(problem.V_c)
    r2 = np.sum(x**2, axis=1) / problem.particle.radius_m**2
    problem.c.x.array[:] = problem.c_max * (0.9 - 0.1 * r2)
    compat.assemble_vector_into(problem.mech_b, problem.mech_L, problem.mech_a, problem.mech_bcs)
    if problem.floating:
        problem.rigid_modes.remove(problem.mech_b)
    ksp = linalg.make_ksp(comm, "bench_", task["preset"], task.get("rtol", 1e-8), problem.mech_A)
    solution = problem.mech_b.duplicate()
    t0, c0 = time.perf_counter(), time.process_time()
    ksp.setUp()
    info["setup_s"] = _slowest(comm, time.perf_counter() - t0)
    info["setup_cpu_s"] = comm.allreduce(time.process_time() - c0, op=MPI.SUM)
    solves, cpu = [], []
    for _ in range(2):
        solution.set(0.0)
        t0, c0 = time.perf_counter(), time.process_time()
        ksp.solve(problem.mech_b, solution)
        solves.append(_slowest(comm, time.perf_counter() - t0))
        cpu.append(comm.allreduce(time.process_time() - c0, op=MPI.SUM))
    info.update(solve_s=min(solves), solve_cpu_s=min(cpu), iterations=ksp.getIterationNumber(),
                reason=ksp.getConvergedReason())
    return info


def mesh(task: dict, comm) -> dict:
    from solver.case import load_case
    from solver.geometry import build_particle_mesh

    case = load_case(task["case"], task["overrides"])
    t0, c0 = time.perf_counter(), time.process_time()
    particle = build_particle_mesh(case["geometry"], case["mesh"], comm, cache_dir=None)
    d = particle.description
    return {"mesh_s": _slowest(comm, time.perf_counter() - t0), "cpu_s": comm.allreduce(time.process_time() - c0),
            "geometry_s": d["geometry_seconds"], "stages_s": d.get("geometry_stage_seconds", {}),
            "surface_s": d["mesh_counts"]["surface_mesh_seconds"], "volume_s": d["mesh_counts"]["volume_mesh_seconds"],
            "cells": d["cells"], "grains": d.get("grain_count", 0), "pores": d.get("pore_count", 0),
            "min_quality": d["quality"]["min_quality"]}


def _resident_bytes() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    task = json.loads(sys.argv[1])
    comm = MPI.COMM_WORLD
    import dolfinx.fem  # noqa: F401  (libraries loaded before the baseline memory reading)
    import solver.problem  # noqa: F401
    baseline = comm.allreduce(_resident_bytes(), op=MPI.SUM)
    PETSc.Log.begin()
    result = {"steps": steps, "linear": linear, "mesh": mesh}[task["task"]](task, comm)
    result["peak_memory_bytes"] = comm.allreduce(peak_memory_bytes(), op=MPI.SUM)
    result["baseline_memory_bytes"] = baseline
    if comm.rank == 0:
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
