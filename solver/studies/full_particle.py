"""The gradient-porous question on full 3D particles: P against GP from two finished runs (issue 16).

    mpirun -n 2 python -m solver run cases/p_ncm83_1000_grains.toml --out results/p1000
    mpirun -n 2 python -m solver run cases/gp_ncm83_1000_grains.toml --out results/gp1000
    python -m solver.studies.full_particle results/p1000 results/gp1000

prints a markdown table of the 2D section study's measures (solver/studies/section_study.py: core r < 0.5 R and
rim volume fractions of the max principal and hoop stress above thresholds, their mean tension, grain-boundary AREA
fractions with normal traction above thresholds), which the [grain_boundaries] extension of a 3D run records
(solver/grain_boundaries.py, summary.json grain_boundaries.zone_statistics), at the step of the largest core mean
tension ("peak") and at the end of charge, with the mesh, unknowns and run times of each run. Reads the folders
only; one run per architecture has no seed spread: the GP - P column is a difference, not a significance.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from solver.studies.section_study import MPA, state_columns


def run_row(folder: Path) -> dict:
    """One column: the run's mesh and times, and its zone measures at the peak step and at the end."""
    path = Path(folder) / "summary.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no summary.json (not a finished run folder)")
    summary = json.loads(path.read_text())
    zones = summary.get("grain_boundaries", {}).get("zone_statistics")
    if not zones:
        raise ValueError(f"{path}: no grain_boundaries.zone_statistics (a 3D polycrystal run with [grain_boundaries])")
    mesh = summary["mesh"]
    description = mesh.get("description", {})
    row = {"case": summary["case_name"], "status": summary["status"], "mpi_ranks": summary["mpi_ranks"],
           "grains": summary["case"]["geometry"]["grain_count"], "pores": description.get("pore_count"),
           "cells": mesh["cells"], "unknowns_concentration": mesh["dofs"]["concentration"],
           "unknowns_displacement": mesh["dofs"]["displacement"], "steps": summary["time"]["steps"],
           **{f"{name}_s": summary["timing_s"].get(name) for name in ("mesh", "setup", "total")},
           "peak_soc": zones["peak"]["state_of_charge"], "end_soc": zones["end"]["state_of_charge"],
           "peak_gb_traction_MPa": summary["grain_boundaries"]["peak_normal_traction"]["value_Pa"] / MPA}
    row.update(state_columns(zones["peak"], "peak"))
    row.update(state_columns(zones["end"], "end"))
    return row


def _cell(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-" if value is None else str(value)
    return "-" if not math.isfinite(value) else (f"{value:,}" if isinstance(value, int) else f"{value:.4g}")


def table(rows: list[dict]) -> str:
    """metric | one column per run | last - first (GP - P when called with P first)."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    head = "| metric | " + " | ".join(str(row["case"]) for row in rows) + (
        f" | {rows[-1]['case']} - {rows[0]['case']} |" if len(rows) > 1 else " |")
    lines = [head, "|---|" + "---|" * (len(rows) + (len(rows) > 1))]
    for key in keys[1:]:
        values = [row.get(key) for row in rows]
        cells = [_cell(v) for v in values]
        if len(rows) > 1:
            first, last = values[0], values[-1]
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (first, last))
            cells.append(_cell(last - first) if numeric else "")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solver.studies.full_particle", description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="finished 3D run folders (P first, then GP)")
    args = parser.parse_args(argv)
    try:
        rows = [run_row(folder) for folder in args.runs]
    except (OSError, ValueError, KeyError) as exc:
        parser.exit(2, f"error: {exc}\n")
    print(table(rows), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
