"""One table over all cases of a sweep: swept inputs + summary metrics + status, as CSV and Parquet.

Columns: case_id, index, status, the swept keys (dotted, as in the sweep file), return_code, wall_s,
worker, message, then the summary.json numbers flattened to dotted names (peak.von_mises.value_Pa,
peak.von_mises.radius_fraction, peak.von_mises.time_s, peak.von_mises.position_m.x, ...,
final_li_fraction_mean, time.t_reached_s, mesh.cells, timing_s.total, ...). A summary name that equals
a swept key (time.steps, say) is prefixed "summary.". Cases not run yet have status "pending".

pyarrow (like VTK) may not share a process with Debian's dolfinx (see docs/sweeps.md), so this runs in
the sweep driver, which never imports dolfinx; it refuses to run where dolfinx is loaded.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from solver.sweep import tables
from solver.sweep.census import census
from solver.sweep.spec import Sweep
from solver.sweep.store import SweepFolder

SKIPPED_SUMMARY_KEYS = ("case", "case_name", "status", "message", "mesh.cell_regions", "mesh.facet_regions",
                        "mesh.description.parameters", "mesh.description.mesh_options")  # the case echoed
TABLE_NAME = "results"
EXIT_CODE_OF_STATUS = {"completed": 0, "cutoff": 0, "failed": 3, "invalid": 2}


def check_no_dolfinx() -> None:
    if "dolfinx" in sys.modules:
        raise RuntimeError("solver.sweep.aggregate: dolfinx is loaded in this process; pyarrow and VTK must not "
                           "share a process with it. Aggregate from the sweep driver (python -m solver sweep).")


def flatten_summary(summary: dict, prefix: str = "") -> dict:
    """Scalars of summary.json under dotted names; 3-vectors become .x/.y/.z; other lists are left out."""
    flat = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if name in SKIPPED_SUMMARY_KEYS:
            continue
        if isinstance(value, dict):
            flat.update(flatten_summary(value, name + "."))
        elif isinstance(value, list):
            if len(value) == 3 and all(isinstance(v, (int, float)) for v in value):
                flat.update({f"{name}.{axis}": v for axis, v in zip("xyz", value)})
        else:
            flat[name] = value
    return flat


def case_row(folder: SweepFolder, case) -> dict:
    state = folder.state(case.case_id)
    record = state.error or state.run or {}
    summary = state.summary or {}
    row = {"case_id": case.case_id, "index": case.index, "status": state.status, **case.inputs,
           "return_code": record.get("return_code", EXIT_CODE_OF_STATUS.get(state.status)),
           "wall_s": record.get("wall_s", summary.get("timing_s", {}).get("total")),
           "worker": record.get("worker"),
           "message": record.get("message", summary.get("message")) or None}
    for name, value in flatten_summary(summary).items():
        row[f"summary.{name}" if name in row else name] = value
    row["case_dir"] = os.path.relpath(folder.case_dir(case.case_id), folder.root)
    return row


def collect_rows(sweep: Sweep, folder: SweepFolder) -> list[dict]:
    return [case_row(folder, case) for case in sweep.cases]


def columns_of(rows: list[dict]) -> list[str]:
    return tables.columns_of(rows, last=("case_dir",))


def write_csv(rows: list[dict], path: Path) -> Path:
    return tables.write_csv(rows, path, columns_of(rows))


def _arrow_column(values: list):
    """One pyarrow array: bool, int64, float64 or (for anything mixed or textual) string."""
    import pyarrow as pa

    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.array(values, type=pa.bool_())
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.array(values, type=pa.int64())
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def write_parquet(rows: list[dict], path: Path) -> Path:
    check_no_dolfinx()
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = columns_of(rows)
    table = pa.table({c: _arrow_column([row.get(c) for row in rows]) for c in columns})
    return tables.replace_atomically(path, lambda target: pq.write_table(table, target))


def read_parquet(path: Path) -> list[dict]:
    check_no_dolfinx()
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


@dataclass
class Aggregate:
    rows: list[dict]
    csv: Path
    parquet: Path
    plot: Path | None
    plot_note: str = ""
    census: object = None       # solver.sweep.census.Census when a case has a fracture entry

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        return counts


def aggregate(sweep: Sweep, folder: SweepFolder, metric: str | None = None, x: str | None = None,
              series: str | None = None, plot: bool = True) -> Aggregate:
    """Write DIR/results.csv, DIR/results.parquet and (if anything finished) DIR/results_<metric>.png; when a case
    has a fracture entry, the census as well (DIR/census.csv, DIR/census.png: solver/sweep/census.py)."""
    check_no_dolfinx()
    rows = collect_rows(sweep, folder)
    csv_path = write_csv(rows, folder.root / f"{TABLE_NAME}.csv")
    parquet_path = write_parquet(rows, folder.root / f"{TABLE_NAME}.parquet")
    png, note = None, "plot not requested"
    if plot:
        from solver.sweep.plot import plot_metric

        png, note = plot_metric(sweep, rows, folder.root, metric or sweep.plot.metric, x or sweep.plot.x,
                                series or sweep.plot.series)
    fracture = None
    if any("fracture.state" in row for row in rows):   # a damage sweep: the census per cycle as well
        fracture = census(folder, sweep=sweep, plot=plot)
    return Aggregate(rows, csv_path, parquet_path, png, note, fracture)
