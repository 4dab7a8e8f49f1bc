"""2 MPI ranks against 1: the same 3D problem, the same steps, wall time per step.

    .venv/bin/python benchmarks/mpi_ranks.py [--unknowns 1.5e5] [--ranks 1 2] [--steps 3]

Each rank count runs benchmarks/worker.py under mpirun (a fresh job; mesh from the cache). Prints wall time
per step (slowest rank), bare KSPSolve time and the speed-up against the first rank count.
(benchmarks/scaling.py measures 1 and 2 ranks at every size; this one takes any rank counts at one size.) On a 2-core
machine shared with other work the speed-up is bounded by the cores actually free.
"""
from __future__ import annotations

import argparse
import os

from bench_common import banner, cell_size_for_unknowns, rank_ratios, run_worker, sphere_overrides, step_row, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unknowns", type=float, default=1.5e5)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    banner(f"MPI ranks {args.ranks} on ~{args.unknowns:.3g} unknowns ({os.cpu_count()} cores here)")
    overrides = sphere_overrides(cell_size_for_unknowns(args.unknowns), args.overrides)
    # the mesh is built (and cached) by a serial run first, so no rank count pays for meshing
    run_worker({"task": "steps", "steps": 0, "overrides": overrides}, timeout_s=args.timeout)
    by_ranks = {}
    for ranks in args.ranks:
        result = run_worker({"task": "steps", "steps": args.steps, "overrides": overrides}, ranks=ranks,
                            timeout_s=args.timeout)
        if "error" in result:
            print(f"  {ranks} rank(s): {result['error']}")
            continue
        by_ranks[ranks] = [step_row(result)]
    if not by_ranks:
        return
    lines = rank_ratios("sphere", by_ranks)
    print(table([rows[0] for rows in by_ranks.values()],
                [("ranks", "ranks", "d"), ("unknowns", "unknowns", "d"), ("step_s", "s/step", ".2f"),
                 ("ksp_s", "KSP s/step", ".2f"), ("first_solve_s", "1st solve s", ".2f"),
                 ("mech_its", "mech its", "d"), ("speedup", "speed-up", ".2f")]))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
