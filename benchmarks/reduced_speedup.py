"""Reduced formulations against 3D: peak-stress accuracy and run time, dense, hollow and core-shell particles.

    .venv/bin/python benchmarks/reduced_speedup.py [--geometries dense hollow core_shell] [--set key=value ...]

For each particle the verification case (octant 3D model, its own [mesh] sizes, 40 steps to D t / R^2 = 0.2)
runs as 3d, axisymmetric and spherical_1d; the reference is spherical_1d on a 10x finer radial mesh. Printed:
the largest relative error over the five peak measures (von Mises, max principal, hoop, radial, hydrostatic)
for each formulation, the whole-run wall time (mesh, set-up, loop, outputs; no pictures; forms compiled by a
warm-up run first) and the speed-up against 3D. The target: axisymmetric >= 50x faster than 3D at the
same (or better) peak-stress accuracy.
"""
from __future__ import annotations

import argparse
import tempfile
import time

from bench_common import CASE, banner, table

GEOMETRIES = {
    "dense": [],
    "hollow": ['geometry.kind="hollow_sphere"', "geometry.void_radius_fraction=0.4"],
    "core_shell": ['geometry.kind="core_shell"', "geometry.shell_thickness_fraction=0.2",
                   "material.regions.shell.young_modulus_GPa=250", "material.regions.shell.diffusivity_m2_s=5e-15",
                   "material.regions.shell.partial_molar_volume_m3_mol=0.7e-6"],
}
QUIET = ["output.pictures=false", "output.progress=false", "output.snapshots=1"]
REFERENCE = ['solver.formulation="spherical_1d"', "mesh.surface_cell_size_fraction=0.005",
             "mesh.cell_size_fraction=0.01"]


def _run(overrides: list[str], folder: str) -> tuple[dict, float]:
    from mpi4py import MPI

    from solver.case import load_case
    from solver.pipeline import run_case

    case = load_case(CASE, [*QUIET, *overrides])
    started = time.perf_counter()
    summary = run_case(case, folder, MPI.COMM_SELF, render=False)
    return summary, time.perf_counter() - started


def _worst_error(summary: dict, reference: dict) -> tuple[float, str]:
    errors = {kind: abs(summary["peak"][kind]["value_Pa"] / peak["value_Pa"] - 1)
              for kind, peak in reference["peak"].items()}
    kind = max(errors, key=errors.get)
    return errors[kind], kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geometries", nargs="+", default=list(GEOMETRIES), choices=list(GEOMETRIES))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        banner("warm-up (form compilation)")
        for formulation in ("3d", "axisymmetric", "spherical_1d"):
            _run([f'solver.formulation="{formulation}"', "time.steps=2", "mesh.cell_size_fraction=0.3",
                  "mesh.surface_cell_size_fraction=0.3"], f"{tmp}/warm")
        for name in args.geometries:
            banner(f"{name} particle")
            common = [*GEOMETRIES[name], *args.overrides]
            reference, _ = _run([*common, *REFERENCE], f"{tmp}/reference")
            results = {}
            for formulation in ("3d", "axisymmetric", "spherical_1d"):
                summary, seconds = _run([*common, f'solver.formulation="{formulation}"'], f"{tmp}/{formulation}")
                error, kind = _worst_error(summary, reference)
                results[formulation] = (seconds, error)
                rows.append({"particle": name, "formulation": formulation, "cells": summary["mesh"]["cells"],
                             "unknowns": sum(summary["mesh"]["dofs"].values()), "seconds": seconds,
                             "error_pct": 100 * error, "worst": kind})
                print(f"  {formulation:13s} {seconds:8.2f} s   worst peak error {100 * error:6.2f} % ({kind})",
                      flush=True)
            t3d, e3d = results["3d"]
            for formulation in ("axisymmetric", "spherical_1d"):
                seconds, error = results[formulation]
                verdict = "at least as accurate" if error <= e3d else "LESS accurate"
                print(f"RATIO 3d / {formulation} run time ({name}) = {t3d / seconds:.1f}x; {verdict} "
                      f"({100 * error:.2f} % vs {100 * e3d:.2f} %)")
    for row in rows:
        row["speedup"] = next(r["seconds"] for r in rows if r["particle"] == row["particle"]
                              and r["formulation"] == "3d") / row["seconds"]
    print(table(rows, [("particle", "particle", "s"), ("formulation", "formulation", "s"), ("cells", "cells", "d"),
                       ("unknowns", "unknowns", "d"), ("seconds", "run s", ".2f"), ("error_pct", "worst err %", ".3f"),
                       ("worst", "worst peak", "s"), ("speedup", "vs 3d", ".1f")]))


if __name__ == "__main__":
    main()
