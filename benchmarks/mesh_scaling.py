"""Meshing time and peak memory against grain count and pore count, with the ratios (issue 16).

    .venv/bin/python benchmarks/mesh_scaling.py [--grains 100 300 1000] [--pores gp_ncm83_unscaled:1 p_ncm83:1]
                                               [--repeats 2] [--set KEY=VALUE ...]
    .venv/bin/python benchmarks/mesh_scaling.py --grains 1000 --pores --repeats 1 \
        --set mesh.cell_size_fraction=0.15 --set mesh.surface_cell_size_fraction=0.1    # cells ~ the grain size

Grain series: cases/p_ncm83.toml with geometry.porosity = 0 and geometry.grain_count = N (the issue's own
measurement; mesh.min_quality lowered to 1e-5, the worst cell is printed). Pore series: CASE:SCALE runs
cases/CASE.toml with geometry.volume_scale = SCALE (1: the FIB-SEM pore volumes unscaled, ~3000 pores in
gp_ncm83_unscaled, ~1000 in p_ncm83). Every point is a fresh mesh (no cache) in a fresh process (worker.py:
its peak memory is its own), gmsh on 1 thread, `--repeats` times; the table shows the fastest run, the spread
(slowest / fastest - 1) of each point, and the time split: grain solids (the Voronoi complex), the OCC
booleans (clipping to the sphere, cutting the pores), surface and volume meshing. RATIO lines: the time ratio
of consecutive grain counts and the exponent k of a fit t ~ N^k, the peak-memory ratio; the pore points
against the first one. Results: docs/performance.md section 5.
"""
from __future__ import annotations

import argparse

import numpy as np

from bench_common import REPO, banner, run_worker, table

COLUMNS = [("label", "point", ""), ("grains", "grains", "d"), ("pores", "pores", "d"), ("cells", "cells", "d"),
           ("mesh_s", "mesh_s", ".1f"), ("spread", "spread", ".0%"), ("solids_s", "solids_s", ".1f"),
           ("sphere_s", "sphere_s", ".1f"), ("pores_s", "pores_s", ".1f"), ("surface_s", "surface_s", ".1f"),
           ("volume_s", "volume_s", ".1f"),
           ("min_quality", "min_q", ".1e"), ("memory_MB", "peak_MB", ".0f")]


def measure(label: str, case: str, overrides: list[str], repeats: int, timeout_s: float) -> dict:
    task = {"task": "mesh", "case": str(REPO / "cases" / f"{case}.toml"), "overrides": ["mesh.threads=1", *overrides]}
    runs = [run_worker(task, timeout_s=timeout_s) for _ in range(repeats)]
    failed = [run for run in runs if "error" in run]
    if failed:
        return {"label": label, "error": failed[0]["error"]}
    best = min(runs, key=lambda run: run["mesh_s"])
    stages = best["stages_s"]
    return {"label": label, "grains": best["grains"], "pores": best["pores"], "cells": best["cells"],
            "mesh_s": best["mesh_s"], "spread": max(run["mesh_s"] for run in runs) / best["mesh_s"] - 1.0,
            "solids_s": stages.get("grain_solids"), "sphere_s": stages.get("sphere_boolean"),
            "pores_s": stages.get("pore_boolean"),
            "surface_s": best["surface_s"], "volume_s": best["volume_s"], "min_quality": best["min_quality"],
            "memory_MB": max(run["peak_memory_bytes"] for run in runs) / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grains", type=int, nargs="*", default=[100, 300, 1000])
    parser.add_argument("--pores", nargs="*", default=["gp_ncm83_unscaled:1", "p_ncm83:1"],
                        help="CASE:VOLUME_SCALE items of the pore series")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="extra case override of the grain series, e.g. mesh.cell_size_fraction=0.15")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    args = parser.parse_args()

    banner(f"meshing vs grain count (p_ncm83, no pores, best of {args.repeats})")
    # the case's cells (0.25 R) are as large as 200 grains (0.27 R): slivers below its min_quality of 5e-4 (measured
    # 2.5e-4 at 200); the series keeps the sizes (what the issue measured) and accepts them, printing min_q
    grains = [measure(f"{n} grains", "p_ncm83", ["geometry.porosity=0", f"geometry.grain_count={n}",
                                                 "mesh.min_quality=1e-5", *args.overrides], args.repeats, args.timeout)
              for n in args.grains]
    print(table(grains, COLUMNS), flush=True)
    done = [row for row in grains if "error" not in row]
    for row in grains:
        if "error" in row:
            print(f"{row['label']}: {row['error']}")
    for a, b in zip(done, done[1:]):
        print(f"RATIO mesh time {b['grains']}/{a['grains']} grains = {b['mesh_s'] / a['mesh_s']:.2f} "
              f"(sphere boolean {b['sphere_s'] / a['sphere_s']:.2f}), "
              f"peak memory {b['memory_MB'] / a['memory_MB']:.2f}")
    if len(done) >= 2:
        n = np.log([row["grains"] for row in done])
        k = np.polyfit(n, np.log([row["mesh_s"] for row in done]), 1)[0]
        kb = np.polyfit(n, np.log([row["sphere_s"] for row in done]), 1)[0]
        worst = max(row["spread"] for row in done)
        print(f"RATIO mesh time ~ grains^{k:.2f} (sphere boolean ~ grains^{kb:.2f}); "
              f"run-to-run spread up to {worst:.0%}")

    if args.pores:
        banner(f"meshing vs pore count (best of {args.repeats})")
        pores = []
        for item in args.pores:
            case, _, scale = item.partition(":")
            pores.append(measure(f"{case} x{scale or 1}", case, [f"geometry.volume_scale={float(scale or 1)}"],
                                 args.repeats, args.timeout))
        print(table(pores, COLUMNS), flush=True)
        done = [row for row in pores if "error" not in row]
        for row in pores:
            if "error" in row:
                print(f"{row['label']}: {row['error']}")
        for row in done[1:]:
            first = done[0]
            print(f"RATIO {row['label']} / {first['label']}: pores {row['pores'] / max(first['pores'], 1):.2f}, "
                  f"mesh time {row['mesh_s'] / first['mesh_s']:.2f}, cells {row['cells'] / first['cells']:.2f}, "
                  f"peak memory {row['memory_MB'] / first['memory_MB']:.2f}")
        for row in done:
            print(f"RATIO {row['label']}: {row['pores']} pores meshed in {row['mesh_s']:.0f} s, "
                  f"{row['memory_MB'] / 1024:.2f} GB peak, {row['cells'] / max(row['pores'], 1):.0f} cells per pore "
                  f"(spread {row['spread']:.0%})")


if __name__ == "__main__":
    main()
