"""In-process sweeps of [kinetics] cases in the spherical_1d formulation: N cases, one process, one table.

    rows = sweep_in_process(raw_case, [["protocol.steps[0].c_rate=0.5"], ...])      # Python
    rows = sweep_in_process("cases/x.toml", variants, stresses=True)

Each variant is a list of `--set`-style overrides applied to the raw case (base files already merged), then
validated (solver.case.validate_case, numpy only) and run (solver/kinetics1d.py) without writing files. A row
holds the overrides, the status, every step's capacity (mAh/g), stop reason and end voltage, the overpotential
statistics, optionally the peak stresses with their voltage, and the milliseconds the case took. No new process
per case: a 1D case costs milliseconds, so process start-up (~1 s with dolfinx) would dominate.

Overrides address list items by index in brackets, e.g. protocol.steps[0].c_rate=2 (TOML values).
"""
from __future__ import annotations

import copy
import re
import time
from pathlib import Path

from solver.case import parse_override, read_case_file, validate_case
from solver.errors import CaseError, SolveError
from solver.reduced.kinetic_case import overpotential_statistics, peaks_with_voltage, run, step_table

_INDEXED = re.compile(r"^(.+?)\[(\d+)\]$")


def apply_indexed_overrides(raw: dict, overrides) -> dict:
    """`--set` overrides that may index lists: protocol.steps[1].stop.time_s=600."""
    raw = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = raw
        for part in path[:-1]:
            match = _INDEXED.match(part)
            name, index = (match.group(1), int(match.group(2))) if match else (part, None)
            node = node.setdefault(name, {}) if isinstance(node, dict) else None
            if index is not None:
                if not isinstance(node, list) or index >= len(node):
                    raise CaseError(f"--set {text!r}: {name} has no item {index}")
                node = node[index]
            if not isinstance(node, dict):
                raise CaseError(f"--set {text!r}: {part} is not a table")
        node[path[-1]] = value
    return raw


def run_one(raw: dict, overrides=(), *, stresses: bool = False, n_cells: int | None = None) -> dict:
    started = time.perf_counter()
    row = {"overrides": list(overrides)}
    try:
        case = validate_case(apply_indexed_overrides(raw, overrides))
        result, scales = run(case, keep_profiles=stresses, n_cells=n_cells)
    except (CaseError, SolveError) as exc:
        row.update(status="error", message=str(exc), ms=1e3 * (time.perf_counter() - started))
        return row
    steps = step_table(result, scales)
    row.update(status=result.status, message=result.message, steps=steps,
               capacity_mAh_g=[step["capacity_mAh_g"] for step in steps],
               stops=[step["stop"] for step in steps], end_voltage_V=[step["end_voltage_V"] for step in steps],
               overpotential=overpotential_statistics(result), time_steps=len(result.column("time_s")) - 1)
    if stresses:
        row["peak"] = peaks_with_voltage(result, result.particle.transport.radius_m)[0]
    row["ms"] = 1e3 * (time.perf_counter() - started)
    return row


def sweep_in_process(case, variants, *, stresses: bool = False, n_cells: int | None = None) -> list[dict]:
    """One row per variant (a list of overrides); `case` is a raw case dict or a case-file path."""
    raw = read_case_file(case) if isinstance(case, (str, Path)) else case
    return [run_one(raw, overrides, stresses=stresses, n_cells=n_cells) for overrides in variants]
