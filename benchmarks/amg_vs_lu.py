"""Iterative (CG + GAMG with the rigid-body near-nullspace, CG + hypre BoomerAMG) against direct LU (MUMPS)
on the P2 elasticity system of the particle, at increasing sizes.

    .venv/bin/python benchmarks/amg_vs_lu.py [--unknowns 5e4 1.5e5 5e5] [--lu-max-unknowns 6e5]
                                             [--timeout 300] [--steps 40]

Every (size, solver) pair runs in a fresh process (benchmarks/worker.py) with a time cap; LU that runs out
of time or memory is reported as capped (its ratio is then a lower bound). Printed per size: set-up
(AMG hierarchy / factorisation) and solve times, iterations, peak memory, and the ratios LU / AMG for one
solve (set-up + solve) and for a run of `--steps` steps (set-up once, then one solve per step: what the
time loop does, the factorisation being reused). Target: AMG >= 10x faster than LU at >= 500k unknowns.
"""
from __future__ import annotations

import argparse

from bench_common import banner, cell_size_for_unknowns, run_worker, sphere_overrides, table

PRESETS = {"gamg": "cg_gamg", "hypre": "cg_hypre", "lu": "lu"}


def _run_cost(result: dict, steps: int) -> float:
    return result["setup_s"] + steps * result["solve_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unknowns", type=float, nargs="+", default=[5e4, 1.5e5, 5e5])
    parser.add_argument("--solvers", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--lu-max-unknowns", type=float, default=6e5, help="skip LU above this size")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per (size, solver)")
    parser.add_argument("--steps", type=int, default=40, help="steps of a run, for the per-run ratio")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    banner("AMG vs direct LU on the mechanics system (one process per size and solver)")
    rows = []
    for target in args.unknowns:
        overrides = sphere_overrides(cell_size_for_unknowns(target), args.overrides)
        results = {}
        for name in args.solvers:
            if name == "lu" and target > args.lu_max_unknowns:
                results[name] = {"error": f"skipped (> --lu-max-unknowns {args.lu_max_unknowns:.3g})"}
            else:
                results[name] = run_worker({"task": "linear", "preset": PRESETS[name], "overrides": overrides},
                                           timeout_s=args.timeout)
            r = results[name]
            unknowns = next((x["unknowns"] for x in results.values() if "unknowns" in x), int(target))
            row = {"unknowns": unknowns, "solver": name}
            if "error" in r:
                row["note"] = r["error"]
            else:
                row.update(setup_s=r["setup_s"], solve_s=r["solve_s"], its=r["iterations"],
                           gb=r["peak_memory_bytes"] / 2**30, dofs=r["displacement_dofs"],
                           run_s=_run_cost(r, args.steps))
            rows.append(row)
            print(f"  {row['unknowns']:9d} {name:6s} " + (row.get("note") or
                  f"set-up {row['setup_s']:7.2f} s  solve {row['solve_s']:7.2f} s  {row['its']:4d} its  "
                  f"{row['gb']:.2f} GB"), flush=True)
        lu = results.get("lu", {})
        for name in ("gamg", "hypre"):
            amg = results.get(name, {})
            if "error" in amg or not amg:
                continue
            if lu and "error" not in lu:
                single = (lu["setup_s"] + lu["solve_s"]) / (amg["setup_s"] + amg["solve_s"])
                per_run = _run_cost(lu, args.steps) / _run_cost(amg, args.steps)
                print(f"RATIO LU/{name} at {amg['unknowns']} unknowns: one solve {single:.2f}x, "
                      f"{args.steps}-step run {per_run:.2f}x")
            elif lu:
                bound = lu.get("wall_s", args.timeout) / (amg["setup_s"] + amg["solve_s"])
                print(f"RATIO LU/{name} at {amg['unknowns']} unknowns: LU {lu['error']}; one solve > "
                      f"{bound:.1f}x (lower bound)")
    print(table(rows, [("unknowns", "unknowns", "d"), ("solver", "solver", "s"), ("setup_s", "set-up s", ".2f"),
                       ("solve_s", "solve s", ".2f"), ("its", "its", "d"), ("gb", "peak GB", ".2f"),
                       ("run_s", f"{args.steps}-step s", ".1f"), ("note", "note", "s")]))


if __name__ == "__main__":
    main()
