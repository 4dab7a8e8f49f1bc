"""Parameter sweeps: a sweep file (base case + grid / list / sample), Dask execution with one process per
case, an atomic folder per case with resume and failure records, and one aggregated results table.

    from solver.sweep import load_sweep, run_sweep
    sweep = load_sweep("cases/sweeps/c_rate.toml")
    report = run_sweep(sweep, "results/c_rate", workers=2)
    report.aggregate.csv, report.aggregate.parquet, report.aggregate.plot

Command line: `python -m solver sweep SWEEP.toml --out DIR [--workers N] [--cluster local|slurm ...]`.
File format and cluster use: docs/sweeps.md. Nothing in this package imports dolfinx: the cases run in
their own processes (`python -m solver run`), so the driver can write Parquet and draw with VTK.
"""
from solver.sweep.engine import run_one, run_sweep
from solver.sweep.spec import Sweep, SweepCase, load_sweep, sweep_from_dict
from solver.sweep.store import SweepFolder

__all__ = ["Sweep", "SweepCase", "SweepFolder", "load_sweep", "run_one", "run_sweep", "sweep_from_dict"]
