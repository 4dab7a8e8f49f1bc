"""Sweep throughput: the same cases run serially (1 worker) and on N workers (default 2), in one run.

    .venv/bin/python benchmarks/sweep_throughput.py [--cases 8] [--workers 2] [--steps 10] [--cell-size 0.2]

Both runs go through the real sweep driver (LocalCluster, one `python -m solver run` process per case,
per-worker JIT caches seeded from your cache) into fresh folders; the wall time includes starting the
cluster. Cases are the verification sphere at C-rates spread over [0.5, 2], so every case is distinct.
Prints cases per minute for each run and the ratio (ideal: the worker count, on that many free cores).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from solver.sweep import run_sweep, sweep_from_dict

REPO = Path(__file__).resolve().parent.parent


def make_sweep(cases: int, steps: int, cell_size: float):
    return sweep_from_dict({
        "name": "throughput",
        "base": str(REPO / "cases" / "verification_sphere.toml"),
        "set": {"mesh.cell_size_fraction": cell_size, "mesh.surface_cell_size_fraction": cell_size / 2,
                "time.steps": steps},
        "grid": {"operation.c_rate": [round(float(c), 6) for c in np.linspace(0.5, 2.0, cases)]},
    })


def timed_run(sweep, out: Path, workers: int) -> float:
    started = time.perf_counter()
    report = run_sweep(sweep, out, workers=workers, progress=False, plot=False)
    elapsed = time.perf_counter() - started
    bad = [row for row in report.aggregate.rows if row["status"] != "completed"]
    if bad:
        raise SystemExit(f"{len(bad)} case(s) did not complete, e.g. {bad[0]['status']}: {bad[0]['message']}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--cell-size", type=float, default=0.2, help="mesh.cell_size_fraction")
    args = parser.parse_args()
    sweep = make_sweep(args.cases, args.steps, args.cell_size)
    print(f"{args.cases} cases (verification sphere, cell size {args.cell_size} R, {args.steps} steps), "
          f"{os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="sweep-throughput-") as scratch:
        rates = {}
        for workers in (1, args.workers):
            elapsed = timed_run(sweep, Path(scratch) / f"workers_{workers}", workers)
            rates[workers] = args.cases / elapsed * 60
            print(f"{workers} worker(s): {elapsed:7.1f} s  {rates[workers]:6.2f} cases/minute", flush=True)
    print(f"throughput ratio {args.workers} workers / serial: {rates[args.workers] / rates[1]:.2f}")


if __name__ == "__main__":  # the LocalCluster's worker processes re-import this file
    main()
