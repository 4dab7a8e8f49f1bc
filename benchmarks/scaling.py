"""Solve cost against size on 1 and 2 ranks: time and memory per unknown per step, ~1e5 to >= 1e6 unknowns
(issue 7's sphere and issue 16's polycrystal).

    .venv/bin/python benchmarks/scaling.py [--particles sphere polycrystal] [--unknowns 1e5 3e5 1e6]
                                           [--ranks 1 2] [--steps 2] [--set KEY=VALUE ...]

Particles (bench_common.PARTICLES, one uniform cell size everywhere, sized for each target): `sphere`, the
verification sphere as a full floating sphere; `polycrystal`, P-NCM83 with 100 Voronoi grains of anisotropic
layered oxide and its ~50 (scaled) pores. Each (particle, size, rank count) runs in a fresh process
(benchmarks/worker.py under mpirun: mesh from the cache, which the first rank count fills; set-up; one
mechanics solve that pays the preconditioner set-up; then `--steps` fixed steps of transport + mechanics with
the case's solvers). Prints, per particle and rank count, relative to the smallest size: wall and CPU time per
unknown per step (target: within 1.5x, issue 16) and peak memory (VmHWM summed over ranks) per unknown, also
above the memory of the loaded libraries; and at every size the speed-up of each rank count over the first.
CPU time is summed over ranks: on 1 rank it is the work, robust against the other users of a shared machine;
on several it also counts MPI's busy waiting. Wall-time speed-ups need free cores.
"""
from __future__ import annotations

import argparse
import os

from bench_common import PARTICLES, banner, rank_ratios, run_worker, step_row, table

COLUMNS = [("ranks", "ranks", "d"), ("unknowns", "unknowns", "d"), ("cells", "cells", "d"),
           ("step_s", "s/step", ".2f"), ("ksp_s", "KSP s/step", ".2f"), ("us_per_unknown", "us/unk/step", ".2f"),
           ("cpu_us_per_unknown", "CPU us/unk", ".2f"), ("mech_its", "mech its", "d"),
           ("kb_per_unknown", "KB/unknown", ".2f"), ("marginal_kb", "KB/unk >base", ".2f"),
           ("time_ratio", "time ratio", ".2f"), ("cpu_ratio", "CPU ratio", ".2f"), ("memory_ratio", "mem ratio", ".2f"),
           ("speedup", "speed-up", ".2f")]


def size_ratios(name: str, rows: list[dict]) -> list[str]:
    """RATIO lines of one particle on one rank count: largest/smallest size, per unknown (rows gain the ratios)."""
    base, last = rows[0], rows[-1]
    for row in rows:
        row["time_ratio"] = row["us_per_unknown"] / base["us_per_unknown"]
        row["cpu_ratio"] = row["cpu_us_per_unknown"] / base["cpu_us_per_unknown"]
        row["memory_ratio"] = row["marginal_kb"] / base["marginal_kb"]
    if len(rows) < 2:
        return []
    worst = max(rows, key=lambda row: abs(row["cpu_ratio"] - 1.0))["cpu_ratio"]
    where = f"{name}, {base['ranks']} rank(s), {base['unknowns']}..{last['unknowns']} unknowns"
    return [f"RATIO {where}: time per unknown per step largest/smallest CPU {last['cpu_ratio']:.2f}, "
            f"wall {last['time_ratio']:.2f} (furthest from 1: CPU {worst:.2f}; target <= 1.5); "
            f"mechanics iterations {base['mech_its']} -> {last['mech_its']}",
            f"RATIO {where}: memory per unknown above the libraries largest/smallest {last['memory_ratio']:.2f} "
            f"({base['marginal_kb']:.2f} -> {last['marginal_kb']:.2f} KB/unknown; peak "
            f"{last['kb_per_unknown'] * last['unknowns'] / 2**20:.2f} GB)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", nargs="+", choices=list(PARTICLES), default=list(PARTICLES))
    parser.add_argument("--unknowns", type=float, nargs="+", default=[1e5, 3e5, 1e6])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per run")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    for name in args.particles:
        particle = PARTICLES[name]
        banner(f"{name}: time and memory per unknown per step, ranks {args.ranks} ({os.cpu_count()} cores here; "
               f"{args.steps} steps per run, one process per run)")
        by_ranks = {ranks: [] for ranks in args.ranks}
        for target in args.unknowns:
            task = {"task": "steps", "steps": args.steps, "case": str(particle.case),
                    "overrides": particle.overrides(particle.cell_size(target), args.overrides)}
            for ranks in args.ranks:
                result = run_worker(task, ranks=ranks, timeout_s=args.timeout)
                if "error" in result:
                    print(f"  ~{target:.3g} unknowns, {ranks} rank(s): {result['error']}", flush=True)
                    continue
                row = step_row(result)
                by_ranks[ranks].append(row)
                print(f"  {row['unknowns']:9d} unknowns, {ranks} rank(s): {row['step_s']:7.2f} s/step "
                      f"(CPU {row['cpu_s']:.2f} s), {row['mech_its']} mechanics iterations, "
                      f"{row['kb_per_unknown']:.2f} KB/unknown ({row['marginal_kb']:.2f} above the process baseline)",
                      flush=True)
        measured = {ranks: rows for ranks, rows in by_ranks.items() if rows}
        if not measured:
            continue
        lines = [line for rows in measured.values() for line in size_ratios(name, rows)]
        lines += rank_ratios(name, measured)
        print(table([row for rows in measured.values() for row in rows], COLUMNS))
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
