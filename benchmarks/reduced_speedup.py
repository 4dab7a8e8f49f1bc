"""Reduced formulations against 3D: peak-stress accuracy and run time, dense, hollow and core-shell particles.

    .venv/bin/python benchmarks/reduced_speedup.py [--geometries dense hollow core_shell] [--set key=value ...]

For each particle the verification case (octant 3D model, its own [mesh] sizes, 40 steps to D t / R^2 = 0.2)
runs as 3d, axisymmetric and spherical_1d; the reference is spherical_1d on a 10x finer radial mesh. Printed:
the largest relative error over the five peak measures (von Mises, max principal, hoop, radial, hydrostatic)
for each formulation, the whole-run wall time (mesh, set-up, loop, outputs; no pictures; forms compiled by a
warm-up run first) and the speed-up against 3D. The target: axisymmetric >= 50x faster than 3D at the
same (or better) peak-stress accuracy.

    .venv/bin/python benchmarks/reduced_speedup.py --gaps [--geometry-orders 1 2] [--geometries hollow dense]
                                                   [--levels 0.1/0.05 0.07/0.035] [--set output.peak_stress=...]

--gaps instead measures the 3D model against the axisymmetric one (the protocol of the slow test
tests/test_reduced.py::test_3d_converges_to_the_axisymmetric_peaks: 10 steps to D t / R^2 = 0.1) on the 3D mesh
sizes 0.1/0.05 and 0.07/0.035 R, for each mesh.geometry_order: the gap |3D / axisymmetric - 1| of each peak
measure ("-" where the two models put that peak at different radii), where the radial peak sits, and the 3D
run time (mesh, set-up, loop; forms compiled beforehand) with its time loop alone.
"""
from __future__ import annotations

import argparse
import tempfile
import time

from bench_common import CASE, banner, table

from solver import quantities

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


GAP_PROTOCOL = ["output.fields=false", "time.steps=10", "time.t_end_dimensionless=0.1"]
GAP_LEVELS = [(0.1, 0.05), (0.07, 0.035)]   # 3D (cell, surface) size / R
PEAK_KINDS = tuple(q.name for q in quantities.peak_quantities())


def peak_gaps(summary: dict, reference: dict, same_radius: float = 0.05) -> dict:
    """|summary / reference - 1| per peak measure; None where the two put the peak at different radii."""
    gaps = {}
    for kind, peak in reference["peak"].items():
        mine = summary["peak"][kind]
        same = abs(mine["radius_fraction"] - peak["radius_fraction"]) < same_radius
        gaps[kind] = abs(mine["value_Pa"] / peak["value_Pa"] - 1) if same else None
    return gaps


def _gap_rows(names: list[str], orders: list[int], overrides: list[str], tmp: str,
              levels=GAP_LEVELS) -> list[dict]:
    rows = []
    for name in names:
        common = [*GEOMETRIES[name], *GAP_PROTOCOL, *overrides]
        banner(f"{name} particle: 3D against axisymmetric")
        axisymmetric, _ = _run([*common, 'solver.formulation="axisymmetric"'], f"{tmp}/axisymmetric")
        radial = axisymmetric["peak"]["radial"]
        print(f"  axisymmetric radial peak {radial['value_Pa'] / 1e6:.3f} MPa at r/R = {radial['radius_fraction']:.3f}")
        for order in orders:
            for cell, surface in levels:
                summary, seconds = _run([*common, 'solver.formulation="3d"', f"mesh.cell_size_fraction={cell}",
                                         f"mesh.surface_cell_size_fraction={surface}",
                                         f"mesh.geometry_order={order}"], f"{tmp}/3d")
                gaps = peak_gaps(summary, axisymmetric)
                row = {"particle": name, "order": order, "sizes": f"{cell}/{surface}",
                       "cells": summary["mesh"]["cells"], "seconds": seconds,
                       "loop_s": summary["timing_s"]["time_loop"],
                       "radial_r": summary["peak"]["radial"]["radius_fraction"],
                       **{kind: None if gap is None else 100 * gap for kind, gap in gaps.items()}}
                rows.append(row)
                print("  order {order} {sizes}: {cells} tets, {seconds:.1f} s (loop {loop_s:.1f} s), radial peak at "
                      "r/R = {radial_r:.3f}; gaps %: ".format(**row)
                      + ", ".join(f"{k} {'-' if row[k] is None else format(row[k], '.2f')}" for k in PEAK_KINDS),
                      flush=True)
    for row in rows:
        straight = [r for r in rows if r["particle"] == row["particle"] and r["sizes"] == row["sizes"]
                    and r["order"] == 1]
        row["cost"] = row["seconds"] / straight[0]["seconds"] if straight else None
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geometries", nargs="+", default=list(GEOMETRIES), choices=list(GEOMETRIES))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--gaps", action="store_true", help="3D against axisymmetric under refinement (see above)")
    parser.add_argument("--geometry-orders", nargs="+", type=int, default=[1, 2], choices=[1, 2])
    parser.add_argument("--levels", nargs="+", default=[f"{c}/{s}" for c, s in GAP_LEVELS], metavar="CELL/SURFACE",
                        help="--gaps: 3D mesh sizes (fractions of R)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        banner("warm-up (form compilation)")
        warm = ["time.steps=2", "mesh.cell_size_fraction=0.3", "mesh.surface_cell_size_fraction=0.3"]
        for formulation in ("3d", "axisymmetric", "spherical_1d"):
            _run([f'solver.formulation="{formulation}"', *warm], f"{tmp}/warm")
        if args.gaps:
            for order in set(args.geometry_orders) - {1}:   # curved cells compile their own forms
                _run(['solver.formulation="3d"', f"mesh.geometry_order={order}", *warm], f"{tmp}/warm")
            levels = [tuple(float(v) for v in level.split("/")) for level in args.levels]
            rows = _gap_rows(args.geometries, args.geometry_orders, args.overrides, tmp, levels)
            print(table(rows, [("particle", "particle", "s"), ("order", "order", "d"), ("sizes", "cell/surface", "s"),
                               ("cells", "tets", "d"), *((kind, kind, ".2f") for kind in PEAK_KINDS),
                               ("radial_r", "radial r/R", ".3f"), ("seconds", "run s", ".1f"),
                               ("loop_s", "loop s", ".1f"), ("cost", "vs order 1", ".2f")]))
            return
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
