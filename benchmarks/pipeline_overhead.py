"""Pipeline overhead: the time of a whole time step of a real run against the bare PETSc solve time in it.

    .venv/bin/python benchmarks/pipeline_overhead.py [--cell-size 0.1] [--surface-size 0.05] [--steps 40]
                                                     [--set key=value ...]

Runs the verification sphere through solver.pipeline.run_case (fields, snapshots, time series: everything but the
pictures) with PETSc logging on, and splits each step's time into: KSPSolve (the bare solve, including any
preconditioner set-up inside it), matrix/vector assembly, the rest of advance() (coupling bookkeeping,
warm-start checks), post-processing (stress evaluation, peaks, concentration probes) and output (XDMF/VTU
snapshots, time series). Prints the ratio (time loop + observers) / KSPSolve; the target is <= 1.25.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict

from bench_common import CASE, banner


def _timed(module, name: str, bucket: str, totals: dict) -> None:
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[bucket] += time.perf_counter() - t0
    setattr(module, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell-size", type=float, default=0.1, help="mesh.cell_size_fraction")
    parser.add_argument("--surface-size", type=float, default=0.05, help="mesh.surface_cell_size_fraction")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    from mpi4py import MPI
    from petsc4py import PETSc

    import solver.pipeline
    import solver.runs
    from solver import compat, writers
    from solver.case import load_case

    totals: dict[str, float] = defaultdict(float)

    def ksp_seconds():
        return PETSc.Log.Event("KSPSolve").getPerfInfo()["time"], PETSc.Log.Event("PCSetUp").getPerfInfo()["time"]

    loop = solver.runs.run_time_loop

    def timed_loop(*a, **k):      # KSP time inside the time loop only (not the solve before step 1)
        before = ksp_seconds()
        try:
            return loop(*a, **k)
        finally:
            after = ksp_seconds()
            totals["ksp"], totals["pc_setup"] = after[0] - before[0], after[1] - before[1]
    solver.runs.run_time_loop = timed_loop
    for name in ("assemble_matrix_into", "assemble_vector_into"):
        _timed(compat, name, "assembly", totals)
    _timed(writers.FieldWriter, "write", "output", totals)
    _timed(writers.TimeseriesWriter, "append", "output", totals)
    case = load_case(CASE, [f"mesh.cell_size_fraction={args.cell_size}",
                            f"mesh.surface_cell_size_fraction={args.surface_size}", f"time.steps={args.steps}",
                            "output.pictures=false", "output.progress=false", *args.overrides])
    PETSc.Log.begin()
    with tempfile.TemporaryDirectory() as tmp:
        summary = solver.pipeline.run_case(case, f"{tmp}/run", MPI.COMM_WORLD, render=False)
    if MPI.COMM_WORLD.rank:
        return
    timing = summary["timing_s"]
    ksp, pc_setup = totals["ksp"], totals["pc_setup"]
    steps = summary["time"]["steps"]
    loop = timing["time_loop"] + timing["postprocess_and_output"]
    parts = {
        "KSPSolve (bare solve)": ksp,
        "  of which PCSetUp": pc_setup,
        "assembly": totals["assembly"],
        "advance() other": timing["time_loop"] - ksp - totals["assembly"],
        "post-processing": timing["postprocess_and_output"] - totals["output"],
        "output (fields, time series)": totals["output"],
    }
    banner(f"pipeline overhead: {summary['mesh']['cells']} cells, "
           f"{sum(summary['mesh']['dofs'].values())} unknowns, {steps} steps, {summary['mpi_ranks']} rank(s)")
    for name, seconds in parts.items():
        print(f"  {name:32s} {seconds:8.2f} s  {seconds / steps * 1e3:9.1f} ms/step  {seconds / ksp:6.3f} x solve")
    print(f"  {'total (loop + observers)':32s} {loop:8.2f} s  {loop / steps * 1e3:9.1f} ms/step")
    print(f"RATIO total per step / bare PETSc solve per step = {loop / ksp:.3f}  (target <= 1.25)")
    print(f"RATIO whole run (mesh, set-up, JIT, loop) / bare solve = {timing['total'] / ksp:.3f}")


if __name__ == "__main__":
    main()
