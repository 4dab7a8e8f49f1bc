"""In-process sweep of 1D kinetic cases: milliseconds per case, and the cost of a kinetic step vs a prescribed flux.

    PYTHONPATH=. python benchmarks/kinetics_sweep.py [--cases 40] [--cells 30] [--steps-per-charge 25]

Part 1: a rate-capability sweep (C-rates 0.2 .. 10, charge to 4.3 V) of cases/ncm811_kinetics_1d.toml reduced to
one cc step, run in one process by solver.reduced.kinetic_sweep.sweep_in_process (validation included, no files,
no stresses). Printed: ms per case (wall and CPU) against the target of 20 ms.
Part 2: the same charge as a prescribed-flux 1D run (spherical1d.solve, same mesh and steps) against the kinetic
run without stop conditions: the ratio of the time per step.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from solver import spherical1d  # noqa: E402
from solver.case import read_case_file, validate_case  # noqa: E402
from solver.kinetics1d import Step, run_protocol  # noqa: E402
from solver.reduced.kinetic_case import build_particle  # noqa: E402
from solver.reduced.kinetic_sweep import apply_indexed_overrides, sweep_in_process  # noqa: E402

CASE = REPO / "cases" / "ncm811_kinetics_1d.toml"


def rate_case(cells: int, steps_per_charge: int) -> dict:
    raw = read_case_file(CASE)
    raw["protocol"] = {"one_c_current_mA_g": 200.0, "steps_per_charge": steps_per_charge,
                       "steps": [{"kind": "cc", "c_rate": 1.0, "direction": "charge", "stop": {"voltage_V": 4.3}}]}
    raw["mesh"] = {"cell_size_fraction": 20.0 / cells, "surface_cell_size_fraction": 20.0 / cells}
    raw["output"] = {"pictures": False, "progress": False}
    return raw


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--cells", type=int, default=30)
    parser.add_argument("--steps-per-charge", type=int, default=25)
    args = parser.parse_args(argv)
    raw = rate_case(args.cells, args.steps_per_charge)
    rates = np.geomspace(0.2, 10.0, args.cases)
    variants = [[f"protocol.steps[0].c_rate={rate:.6g}"] for rate in rates]
    sweep_in_process(raw, variants[:3])                    # warm-up (imports, first calls)
    wall, cpu = time.perf_counter(), time.process_time()
    rows = sweep_in_process(raw, variants, n_cells=args.cells)
    wall, cpu = (time.perf_counter() - wall) * 1e3 / len(rows), (time.process_time() - cpu) * 1e3 / len(rows)
    failed = [row for row in rows if row["status"] != "completed"]
    steps = np.mean([row["time_steps"] for row in rows if "time_steps" in row])
    print(f"{len(rows)} cases, {args.cells} radial cells, {steps:.1f} time steps per case on average, "
          f"{len(failed)} not completed")
    for row in rows[:: max(1, len(rows) // 8)]:
        print(f"  {row['overrides'][0]:<32s} {row['capacity_mAh_g'][0]:8.2f} mAh/g  stop {row['stops'][0]:<16s} "
              f"{row['ms']:6.2f} ms")
    print(f"RATIO ms per 1D kinetic case (validation + run, in-process): wall {wall:.2f}, CPU {cpu:.2f}  (target <= 20)")

    # kinetic step vs prescribed-flux step, same mesh, same number of steps, no stop conditions
    case = validate_case(apply_indexed_overrides(raw, []))
    particle, scales = build_particle(case, n_cells=args.cells)
    duration, n_steps = 1800.0, 200
    flux = -scales.one_c_current_A / (particle.wetted_area_m2 * 96485.33212)
    problem = spherical1d.SphericalProblem(particle.transport.radius_m, particle.transport.diffusivity_m2_s,
                                           particle.transport.c_init_mol_m3, spherical1d.SurfaceFlux(flux),
                                           n_cells=args.cells)
    step = Step("cc", {"time_s": duration}, scales.one_c_current_A, dt_max_s=duration / n_steps)
    times = {}
    for name, job in (("prescribed", lambda: spherical1d.solve(problem, [0.0, duration], dt_max_s=duration / n_steps)),
                      ("kinetic", lambda: run_protocol(particle, [step], keep_profiles=False))):
        job()
        best = np.inf
        for _ in range(5):
            start = time.process_time()
            job()
            best = min(best, time.process_time() - start)
        times[name] = best * 1e3 / n_steps
    print(f"  per step: prescribed flux {times['prescribed']:.3f} ms, kinetic {times['kinetic']:.3f} ms (CPU, best of 5)")
    print(f"RATIO kinetic / prescribed-flux time per 1D step = {times['kinetic'] / times['prescribed']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
