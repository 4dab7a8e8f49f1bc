"""Time steps against accuracy: fixed steps vs adaptive steps (solver/stepping.py) on the galvanostatic sphere.

    .venv/bin/python benchmarks/adaptive_steps.py [--tau 1.0] [--fixed 10 20 40 80 160 320]
                                                  [--tolerances 1e-2 3e-3 1e-3 3e-4 1e-4] [--3d]

The verification sphere is charged to D t / R^2 = --tau. Error: the largest difference, over all accepted
steps, between the computed surface hoop stress (the peak hoop stress) and the analytic series at that time,
relative to the largest analytic value. The stepping code is the 3D loop's (run_time_loop); the spherical_1d
formulation makes the space error negligible (its mesh is 400 cells), so the error is the time error.
With --3d, a coarse 3D octant model repeats one fixed and one adaptive setting (same error measure, its
space error included) to show that the steps saved carry over.
"""
from __future__ import annotations

import argparse
import csv
import tempfile
import time

import numpy as np

from bench_common import CASE, banner, table


def _run(overrides: list[str], folder: str) -> dict:
    from mpi4py import MPI

    from solver import analytic
    from solver.case import load_case
    from solver.pipeline import run_case

    case = load_case(CASE, ["output.pictures=false", "output.progress=false", "output.fields=false", *overrides])
    started = time.perf_counter()
    summary = run_case(case, folder, MPI.COMM_SELF, render=False)
    seconds = time.perf_counter() - started
    with open(f"{folder}/timeseries.csv") as handle:
        rows = [row for row in csv.DictReader(handle)][1:]
    t = np.array([float(row["time_s"]) for row in rows])
    hoop = np.array([float(row["peak_hoop_Pa"]) for row in rows])
    material, particle = summary["case"]["material"], summary["particle"]
    _, exact = analytic.galvanostatic_sphere_stresses(
        particle["radius_m"], t, particle["radius_m"], material["diffusivity_m2_s"], particle["surface_flux_mol_m2_s"],
        material["young_modulus_Pa"], material["poisson_ratio"], material["partial_molar_volume_m3_mol"])
    error = float(np.max(np.abs(hoop - exact)) / np.max(np.abs(exact)))
    return {"steps": summary["time"]["steps"], "rejected": summary["time"]["rejected_steps"],
            "error_pct": 100 * error, "final_error_pct": 100 * abs(hoop[-1] / exact[-1] - 1), "seconds": seconds}


def _steps_for(rows: list[dict], error_pct: float) -> float | None:
    """Steps (accepted + rejected) needed for `error_pct`, interpolated log-log along a series."""
    points = sorted(((r["steps"] + r["rejected"], r["error_pct"]) for r in rows), key=lambda p: p[0])
    for (n0, e0), (n1, e1) in zip(points, points[1:]):
        if e0 >= error_pct >= e1 > 0:
            w = np.log(e0 / error_pct) / np.log(e0 / e1)
            return float(np.exp(np.log(n0) + w * np.log(n1 / n0)))
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tau", type=float, default=1.0, help="D t_end / R^2")
    parser.add_argument("--fixed", type=int, nargs="+", default=[10, 20, 40, 80, 160, 320])
    parser.add_argument("--tolerances", type=float, nargs="+", default=[1e-2, 3e-3, 1e-3, 3e-4, 1e-4])
    parser.add_argument("--scheme", default="bdf2", choices=("bdf2", "backward_euler"))
    parser.add_argument("--3d", dest="three_d", action="store_true", help="also a coarse 3D check")
    args = parser.parse_args()
    common = [f"time.t_end_dimensionless={args.tau}", f'time.scheme="{args.scheme}"',
              "operation.li_fraction_end=0.05", "operation.stop_at_surface_limit=false"]
    banner(f"steps vs accuracy, galvanostatic sphere to tau = {args.tau} ({args.scheme}, spherical_1d)")
    fixed, adaptive = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.fixed:
            row = _run([*common, 'solver.formulation="spherical_1d"', f"time.steps={n}"], f"{tmp}/f{n}")
            fixed.append(dict(row, mode="fixed", setting=str(n)))
        for tolerance in args.tolerances:
            row = _run([*common, 'solver.formulation="spherical_1d"', "time.adaptive=true",
                        f"time.tolerance={tolerance}"], f"{tmp}/a{tolerance}")
            adaptive.append(dict(row, mode="adaptive", setting=f"tol {tolerance:g}"))
        print(table(fixed + adaptive, [("mode", "mode", "s"), ("setting", "setting", "s"), ("steps", "steps", "d"),
                                       ("rejected", "rejected", "d"), ("error_pct", "max err %", ".4f"),
                                       ("final_error_pct", "final err %", ".4f")]))
        for target in (1.0, 0.3, 0.1):
            n_fixed, n_adaptive = _steps_for(fixed, target), _steps_for(adaptive, target)
            if n_fixed and n_adaptive:
                print(f"RATIO steps for {target}% hoop-stress error: fixed {n_fixed:.0f} / adaptive {n_adaptive:.0f}"
                      f" = {n_fixed / n_adaptive:.2f}")
        if args.three_d:
            coarse = ['geometry.symmetry="octant"', "mesh.cell_size_fraction=0.2", "mesh.surface_cell_size_fraction=0.08"]
            banner("3D octant model, coarse mesh: the same comparison at one setting each")
            rows = [dict(_run([*common, *coarse, "time.steps=80"], f"{tmp}/3f"), mode="3d fixed", setting="80"),
                    dict(_run([*common, *coarse, "time.adaptive=true", "time.tolerance=1e-3"], f"{tmp}/3a"),
                         mode="3d adaptive", setting="tol 0.001")]
            print(table(rows, [("mode", "mode", "s"), ("setting", "setting", "s"), ("steps", "steps", "d"),
                               ("rejected", "rejected", "d"), ("error_pct", "max err %", ".4f"),
                               ("seconds", "run s", ".1f")]))
            print(f"RATIO 3D run time fixed / adaptive = {rows[0]['seconds'] / rows[1]['seconds']:.2f}")


if __name__ == "__main__":
    main()
