"""Cost growth with size: time per unknown per step and peak memory per unknown, ~50k to >= 1M unknowns.

    .venv/bin/python benchmarks/scaling.py [--unknowns 5e4 1.5e5 5e5 1e6] [--steps 3] [--set key=value ...]

A full (floating) sphere with a uniform mesh sized for each target; each size runs in a fresh process
(benchmarks/worker.py: mesh from the cache, set-up, one mechanics solve with the preconditioner set-up, then
`--steps` fixed steps of transport + mechanics with CG + GAMG/hypre as configured). Prints, relative to the
smallest size: wall and CPU time per unknown per step (target: within 1.5x over the range) and peak memory
(VmHWM) per unknown, also above the memory of the loaded libraries (VmRSS before meshing).
"""
from __future__ import annotations

import argparse

from bench_common import banner, cell_size_for_unknowns, run_worker, sphere_overrides, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unknowns", type=float, nargs="+", default=[5e4, 1.5e5, 5e5, 1e6])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per size")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    banner(f"time and memory per unknown per step ({args.steps} steps per size, one process per size)")
    rows = []
    for target in args.unknowns:
        h = cell_size_for_unknowns(target)
        result = run_worker({"task": "steps", "steps": args.steps,
                             "overrides": sphere_overrides(h, args.overrides)}, timeout_s=args.timeout)
        if "error" in result:
            print(f"  {target:.3g} unknowns: {result['error']}", flush=True)
            continue
        n = result["unknowns"]
        row = {"unknowns": n, "cells": result["cells"], "step_s": result["mean_step_s"],
               "cpu_s": result["mean_cpu_s"], "ksp_s": result["mean_ksp_s"],
               "us_per_unknown": 1e6 * result["mean_step_s"] / n, "cpu_us_per_unknown": 1e6 * result["mean_cpu_s"] / n,
               "mech_its": max(its[1] for its in result["iterations"]),
               "kb_per_unknown": result["peak_memory_bytes"] / n / 1024,
               "marginal_kb": (result["peak_memory_bytes"] - result["baseline_memory_bytes"]) / n / 1024,
               "first_solve_s": result["first_mechanics_s"]}
        rows.append(row)
        print(f"  {n:9d} unknowns: {row['step_s']:7.2f} s/step (CPU {row['cpu_s']:.2f} s), "
              f"{row['mech_its']} mechanics iterations, {row['kb_per_unknown']:.2f} KB/unknown "
              f"({row['marginal_kb']:.2f} above the process baseline)", flush=True)
    if not rows:
        return
    base = rows[0]
    for row in rows:
        row["time_ratio"] = row["us_per_unknown"] / base["us_per_unknown"]
        row["cpu_ratio"] = row["cpu_us_per_unknown"] / base["cpu_us_per_unknown"]
        row["memory_ratio"] = row["marginal_kb"] / base["marginal_kb"]
    print(table(rows, [("unknowns", "unknowns", "d"), ("cells", "cells", "d"), ("step_s", "s/step", ".2f"),
                       ("us_per_unknown", "us/unk/step", ".2f"), ("cpu_us_per_unknown", "CPU us/unk", ".2f"),
                       ("mech_its", "mech its", "d"), ("kb_per_unknown", "KB/unknown", ".2f"),
                       ("marginal_kb", "KB/unk >base", ".2f"),
                       ("time_ratio", "time ratio", ".2f"), ("cpu_ratio", "CPU ratio", ".2f"),
                       ("memory_ratio", "mem ratio", ".2f")]))
    worst = max(row["cpu_ratio"] for row in rows)
    print(f"RATIO largest/smallest time per unknown per step: wall {rows[-1]['time_ratio']:.2f}, "
          f"CPU {rows[-1]['cpu_ratio']:.2f} (worst CPU {worst:.2f}; target <= 1.5) over "
          f"{base['unknowns']}..{rows[-1]['unknowns']} unknowns")
    print(f"RATIO largest/smallest memory per unknown above the process baseline (libraries, ~"
          f"{base['kb_per_unknown'] * base['unknowns'] / 1024 - base['marginal_kb'] * base['unknowns'] / 1024:.0f} MB): "
          f"{rows[-1]['memory_ratio']:.2f} ({rows[-1]['marginal_kb']:.2f} KB/unknown at {rows[-1]['unknowns']} unknowns; "
          f"peak {rows[-1]['kb_per_unknown'] * rows[-1]['unknowns'] / 2**20:.2f} GB)")


if __name__ == "__main__":
    main()
