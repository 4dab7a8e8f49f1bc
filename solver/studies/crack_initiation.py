"""Crack initiation in a random NMC811 polycrystal during the first charge, against Parks et al. (issue 17 validation).

    python -m solver.studies.crack_initiation --out DIR [--seeds N] [--jobs J] [--quick] [--force]

Runs cases/ncm811_polycrystal_initiation.toml (3D, random grains, Butler-Volmer kinetics, CC charge to 4.3 V, AT1
damage with weaker grain boundaries) for geometry.seed = 1..N (grain layout and orientations; each a
`python -m solver run` subprocess, resumable; --jobs of them at a time) and tabulates per seed and over the seeds:

- where the first crack starts (damage.initiation_damage first exceeded): r / R, "core" (r < 0.5 R) or "rim";
- the particle voltage and state of charge at initiation;
- the voltage at which the crack volume grows fastest (the largest d(crack volume fraction) / dV between two
  recorded states of the charge);
- the crack volume fraction at the end of the charge (4.3 V; at the end of the run for one that failed, which the
  table's "run" column says);

next to Parks et al., J. Mater. Chem. A 11 (2023) 21322 (docs/crack_initiation_study.md says which of their
numbers could be checked). --quick: a coarse mesh, 8 grains and 4 steps (a smoke test of the pipeline, not a
result). Writes DIR/rows.csv, DIR/table.json and DIR/table.md.
"""
from __future__ import annotations

import csv
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from solver.section_statistics import zone_masks
from solver.studies import claim_study_folder, run_case_once, study_parser, write_tables
from solver.studies.gradient_porous import aggregate, markdown_table, write_csv

REPO = Path(__file__).resolve().parents[2]
CASE = "ncm811_polycrystal_initiation"
CORE_RADIUS_FRACTION = 0.5          # "core": inside half the radius (the paper's "centre")
QUICK = ("geometry.grain_count=8", "mesh.cell_size_fraction=0.3", "mesh.surface_cell_size_fraction=0.3",
         "protocol.steps_per_charge=4", "protocol.voltage_tolerance_V=0.01")
# What issue 17 quotes from Parks et al. (2023); none of it could be checked against the paper's text (the study doc)
PARKS = {"zone": "core", "initiation_voltage_V": 4.0, "fastest_growth_voltage_V": 4.1, "crack_volume_fraction": 0.09}
METRICS = ("initiation_radius_fraction", "initiation_voltage_V", "initiation_state_of_charge",
           "fastest_growth_voltage_V", "crack_volume_fraction")
COLUMNS = (("seed", "seed", "{}"), ("cells", "cells", "{}"),
           ("initiation_radius_fraction", "initiation r/R", "{:.2f}"), ("zone", "zone", "{}"),
           ("initiation_voltage_V", "initiation V", "{:.3f}"), ("initiation_state_of_charge", "initiation SOC", "{:.2f}"),
           ("fastest_growth_voltage_V", "fastest crack growth at V", "{:.3f}"),
           ("crack_volume_fraction", "crack volume fraction at the end (4.3 V if completed)", "{:.3f}"),
           ("state", "state", "{}"), ("status", "run", "{}"), ("run_time_s", "run time (s)", "{:.0f}"))


def fastest_growth_voltage(voltage_V, crack_volume_fraction) -> float:
    """The voltage (midpoint of the interval) where d(crack volume fraction) / dV is largest over intervals of rising
    voltage with growing cracks; nan when the cracks never grow."""
    best, where = 0.0, math.nan
    for (v0, f0), (v1, f1) in zip(zip(voltage_V, crack_volume_fraction),
                                  zip(voltage_V[1:], crack_volume_fraction[1:])):
        if v1 > v0 and f1 > f0 and (f1 - f0) / (v1 - v0) > best:
            best, where = (f1 - f0) / (v1 - v0), 0.5 * (v0 + v1)
    return where


def zone_of(radius_fraction: float) -> str:
    """"core" or "rim" (solver/section_statistics.zone_masks), "none" without an initiation."""
    if not math.isfinite(radius_fraction):
        return "none"
    return next(zone for zone, mask in zone_masks([radius_fraction], CORE_RADIUS_FRACTION).items() if mask[0])


def row_of(seed: int, summary: dict, timeseries: list[dict]) -> dict:
    """One seed's row from its summary.json and timeseries.csv rows (read_timeseries)."""
    fracture = summary["fracture"]
    initiation = fracture["initiation"] or {}
    radius = initiation.get("radius_fraction", math.nan)
    return {"seed": seed, "cells": summary["mesh"]["cells"], "initiation_radius_fraction": radius,
            "zone": zone_of(radius), "initiation_voltage_V": initiation.get("voltage_V", math.nan),
            "initiation_state_of_charge": initiation.get("state_of_charge", math.nan),
            "fastest_growth_voltage_V": fastest_growth_voltage([r["voltage_V"] for r in timeseries],
                                                               [r["crack_volume_fraction"] for r in timeseries]),
            "crack_volume_fraction": fracture["crack_volume_fraction"], "state": fracture["state"],
            "status": summary["status"], "run_time_s": summary["timing_s"]["total"]}


def read_timeseries(folder: Path) -> list[dict]:
    """The voltage and crack volume fraction of every recorded state of a run (timeseries.csv)."""
    with open(folder / "timeseries.csv") as stream:
        return [{key: float(row[key]) for key in ("voltage_V", "crack_volume_fraction")}
                for row in csv.DictReader(stream)]


def markdown(rows: list[dict]) -> str:
    """The per-seed table, the mean +- sample std over seeds and the cores counted, and Parks et al.'s row."""
    stats = aggregate(rows, (), METRICS)[0] if rows else {"n": 0}
    core = sum(row["zone"] == "core" for row in rows)
    summary_row = {"seed": f"mean ± std ({stats['n']} seeds)", "cells": "",
                   "zone": f"core in {core} of {len(rows)}", "state": "", "status": "", "run_time_s": ""}
    for metric in METRICS:
        mean, std = stats.get(f"{metric}_mean", math.nan), stats.get(f"{metric}_std", math.nan)
        summary_row[metric] = "-" if not math.isfinite(mean) else \
            f"{mean:.3f}" + (f" ± {std:.3f}" if math.isfinite(std) else "")
    parks = {"seed": "Parks et al. 2023 (as issue 17 quotes)", "cells": "", "zone": PARKS["zone"],
             "initiation_radius_fraction": "centre", "initiation_voltage_V": f"~{PARKS['initiation_voltage_V']}",
             "initiation_state_of_charge": "-", "fastest_growth_voltage_V": f"> {PARKS['fastest_growth_voltage_V']}",
             "crack_volume_fraction": f"~{PARKS['crack_volume_fraction']}", "state": "", "status": "",
             "run_time_s": ""}
    text_columns = [(key, title, "{}") for key, title, _ in COLUMNS]
    return ("# Crack initiation in a random NMC811 polycrystal, first charge to 4.3 V\n\n"
            + markdown_table(rows, COLUMNS) + "\n" + markdown_table([summary_row, parks], text_columns)
            .split("\n", 2)[2] + "\n")


def main(argv=None) -> int:
    parser = study_parser(__doc__, quick_help="8 grains, coarse mesh, 4 steps (a smoke test)")
    parser.add_argument("--seeds", type=int, default=3, help="geometry.seed = 1..N (default 3)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (default 1)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds = {args.seeds}: must be >= 1")
    if args.jobs < 1:
        parser.error(f"--jobs = {args.jobs}: must be >= 1")
    folder = claim_study_folder(args.out)

    def run(seed: int) -> dict | None:
        overrides = [f"geometry.seed={seed}", *(QUICK if args.quick else ())]
        return run_case_once(REPO / "cases" / f"{CASE}.toml", folder / "runs" / f"seed_{seed}", overrides, args.force)

    seeds = range(1, args.seeds + 1)
    with ThreadPoolExecutor(args.jobs) as pool:     # each run is its own process: threads only wait
        summaries = list(pool.map(run, seeds))
    rows = [row_of(seed, summary, read_timeseries(folder / "runs" / f"seed_{seed}"))
            for seed, summary in zip(seeds, summaries) if summary is not None and "fracture" in summary]
    write_csv(folder / "rows.csv", rows)
    write_tables(folder, {"rows": rows, "parks_2023": PARKS}, markdown(rows))
    return 0 if len(rows) == args.seeds else 1


if __name__ == "__main__":
    raise SystemExit(main())
