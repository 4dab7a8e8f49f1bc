"""The fracture census of a sweep (issue 17, population studies): per group of cases that differ only in their seed
and per cycle, how many particles are intact, mild or broken, as fractions with their spread.

    from solver.sweep.census import census
    table = census("results/census_seeds", cycles=[1, 30, 100])
    table.rows, table.csv, table.plot

What a particle's state is at cycle k (the particle: one case of the sweep whose run wrote a fracture entry):
- from fracture_cycles.csv (solver/fields/damage.py, one row per cycle end a cycling driver reported): the state of
  its last row with cycle <= k. Damage never decreases, so the state is monotone in the cycle; between rows (cycles a
  cycle jump stepped over) the last row's state is a lower bound, and the census counts it. A state read from an
  extrapolated row (a cycle jump's end) is counted in `extrapolated` as well.
- before the first row: "intact" when the first row is intact (d starts at 0 and never decreases, so it was intact
  before), otherwise "unknown" (the crack came at some cycle the run did not report).
- a run without fracture_cycles.csv (no cycling driver: one charge or one protocol run) counts as one cycle: its
  summary.json["fracture"]["state"] is its state at cycle 1, and later cycles are "unknown".
- after the last row: "broken" when that row is broken (damage never decreases, so a particle cut apart stays cut
  apart; runs with damage.stop_when_broken end there, and a run that failed after breaking is broken all the
  same); otherwise "unknown" for a run that finished (completed or cut off: it never reached that cycle).
- a case that did not finish (failed, crashed, timeout, invalid, lost), or whose cycle table cannot be read:
  "failed" at every cycle after its last readable row (at every cycle without one), never intact.
- cases not run yet and finished runs without a fracture entry (no [damage] section) are no particles of the
  census; they are counted per group in `pending` and `no_fracture`.

Groups are the values of the swept keys other than the sweep's `seed_key` (the replicates of one parameter point are
pooled). Per group and cycle (one row of DIR/census.csv): `cases`, `pending`, `no_fracture`, `failed`, `unknown`,
`n` (particles of known state), the counts `intact`, `mild`, `broken`, `extrapolated`, and for each state its
fraction of `n` with the binomial standard error sqrt(p (1 - p) / n) and the 95 % Wilson score interval
(`fraction_<state>_low`/`_high`: it stays inside [0, 1] and is not empty at p = 0 or 1, where the standard error is
0). Failed and unknown particles are not in `n`: their counts stand beside it, so that a census with many failures
reads as such.

DIR/census.png (+ .pdf, .svg, house style): the fraction intact against the cycle per group, with the Wilson
interval as error bars (a band over more than MAX_ERROR_BARS cycles). Runs in the sweep driver's aggregation
(solver/sweep/aggregate.py) whenever a case has a fracture entry; nothing here imports dolfinx.
"""
from __future__ import annotations

import csv
import json
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from solver import figure_style
from solver.crack_census import STATES
from solver.damage_section import CYCLES_FILE
from solver.errors import CaseError
from solver.sweep.plot import key_value_label
from solver.sweep.store import CaseState, SweepFolder, read_json
from solver.sweep.tables import write_csv

CENSUS_NAME = "census"
FAILED, UNKNOWN = "failed", "unknown"
WILSON_Z = 1.959963984540054        # two-sided 95 %: the normal quantile at 0.975
MAX_ERROR_BARS = 12                 # more cycles than this: the interval drawn as a band


class CycleRow(NamedTuple):
    """One row of a run's fracture_cycles.csv, as far as the census reads it."""

    cycle: int
    state: str
    extrapolated: bool


@dataclass(frozen=True)
class Particle:
    """One case's evidence: its cycle rows in order, and whether its run finished (else "failed" after them)."""

    case_id: str
    rows: tuple[CycleRow, ...]
    finished: bool

    def state_at(self, cycle: int) -> tuple[str, bool]:
        """(state, read from an extrapolated row) at the end of `cycle`, by the rules of the module docstring."""
        before = [row for row in self.rows if row.cycle <= cycle]
        if before:
            if before[-1] is self.rows[-1] and cycle > self.rows[-1].cycle and before[-1].state != "broken":
                return (UNKNOWN if self.finished else FAILED), False
            return before[-1].state, before[-1].extrapolated
        if not self.rows:
            return FAILED, False
        return ("intact" if self.rows[0].state == "intact" else UNKNOWN), False


@dataclass
class Census:
    rows: list[dict]
    csv: Path | None
    plot: Path | None
    note: str = ""
    problems: list[str] = field(default_factory=list)   # cases whose cycle table could not be read


def read_cycle_rows(path: Path) -> tuple[CycleRow, ...]:
    """The rows of a fracture_cycles.csv, sorted by cycle (ValueError if a row is not what the field writes)."""
    with open(path, newline="") as handle:
        found = []
        for row in csv.DictReader(handle):
            cycle, state = int(row["cycle"]), row["state"]
            if cycle < 1 or state not in STATES:
                raise ValueError(f"row {row}: cycle must be >= 1 and state one of {', '.join(STATES)}")
            found.append(CycleRow(cycle, state, bool(int(row["extrapolated"]))))
    return tuple(sorted(found, key=lambda r: r.cycle))


def particle(folder: SweepFolder, case_id: str, state: CaseState, problems: list[str]) -> Particle | None:
    """The census evidence of one case in `state`; None when it is no particle of the census (pending, or no
    fracture entry)."""
    if not state.finished:
        return None
    fracture = (state.summary or {}).get("fracture")
    if state.good and not isinstance(fracture, dict):
        return None
    table = folder.case_dir(case_id) / CYCLES_FILE
    rows: tuple[CycleRow, ...] = ()
    if table.is_file():
        try:
            rows = read_cycle_rows(table)
            if not rows:   # the field writes no file rather than an empty one
                raise ValueError("no rows")
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"{table}: {exc}; counted as failed")
            return Particle(case_id, (), finished=False)
    elif state.good:   # one load history: its final state is the state after cycle 1
        rows = (CycleRow(1, str(fracture.get("state")), False),) if fracture.get("state") in STATES else ()
        if not rows:
            problems.append(f"{folder.case_dir(case_id)}: fracture state {fracture.get('state')!r} is none of "
                            f"{', '.join(STATES)}; counted as failed")
    return Particle(case_id, rows, finished=state.good and bool(rows))


def binomial(count: int, n: int) -> dict:
    """Column suffix -> value: "" p = count / n, "_se" its standard error, "_low"/"_high" the 95 % Wilson score
    interval (all None when n = 0)."""
    if n == 0:
        return {"": None, "_se": None, "_low": None, "_high": None}
    p, z2 = count / n, WILSON_Z ** 2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = WILSON_Z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return {"": p, "_se": math.sqrt(p * (1 - p) / n), "_low": max(0.0, centre - half), "_high": min(1.0, centre + half)}


def fraction_columns(counts: dict) -> dict:
    """fraction_<state>, _se, _low, _high of each state among the particles of known state (`counts`: state ->
    count, every one of STATES at least; failed and unknown ones are not in n)."""
    n = sum(counts[state] for state in STATES)
    return {f"fraction_{state}{suffix}": value
            for state in STATES for suffix, value in binomial(counts[state], n).items()}


def group_of(inputs: dict, keys: list[str]) -> str:
    return json.dumps([inputs.get(key) for key in keys], sort_keys=True)


def census_rows(cases: list[tuple[str, dict]], particles: dict[str, Particle | None], pending: set[str],
                keys: list[str], cycles: list[int]) -> list[dict]:
    """One row per group (in order of first appearance) and cycle; `cases` are (case id, swept inputs), `pending`
    the ids of those not run yet."""
    groups: dict[str, list[tuple[str, dict]]] = {}
    for case_id, inputs in cases:
        groups.setdefault(group_of(inputs, keys), []).append((case_id, inputs))
    rows = []
    for members in groups.values():
        present = [particles[case_id] for case_id, _ in members if particles.get(case_id) is not None]
        waiting = sum(case_id in pending for case_id, _ in members)
        for cycle in cycles:
            counts = dict.fromkeys((*STATES, FAILED, UNKNOWN), 0)
            extrapolated = 0
            for one in present:
                state, jumped = one.state_at(cycle)
                counts[state] += 1
                extrapolated += jumped
            n = sum(counts[s] for s in STATES)
            row = {key: members[0][1].get(key) for key in keys}
            row.update({"cycle": cycle, "cases": len(members), "pending": waiting,
                        "no_fracture": len(members) - waiting - len(present), "failed": counts[FAILED],
                        "unknown": counts[UNKNOWN], "n": n, **{s: counts[s] for s in STATES},
                        "extrapolated": extrapolated})
            row.update(fraction_columns(counts))
            rows.append(row)
    return rows


def check_cycles(cycles) -> list[int]:
    whole = isinstance(cycles, (list, tuple, set, range)) and all(
        isinstance(c, numbers.Integral) and not isinstance(c, bool) and c >= 1 for c in cycles)
    if not whole or not cycles:
        raise CaseError(f"cycles = {cycles!r}: must be a non-empty list of whole numbers >= 1 (cycle ends)")
    return sorted({int(c) for c in cycles})


def manifest_cases(folder: SweepFolder) -> tuple[list[tuple[str, dict]], list[str], str | None, str]:
    """(cases as (id, inputs), swept keys, seed key, name) from DIR/sweep.json."""
    manifest = read_json(folder.root / "sweep.json")
    if not isinstance(manifest, dict) or "cases" not in manifest:
        raise CaseError(f"{folder.root}: no sweep.json with cases there (run the sweep first)")
    seed_key = manifest.get("seed_key", (manifest.get("source") or {}).get("seed_key"))  # older folders: the file's
    cases = [(c["case_id"], c["inputs"]) for c in manifest["cases"]]
    return cases, list(manifest.get("swept_keys", [])), seed_key, str(manifest.get("name", folder.root.name))


def census(folder, cycles=None, *, sweep=None, pooled=None, write: bool = True, plot: bool = True) -> Census:
    """The census of the sweep folder `folder` at `cycles` (default: every cycle some particle reported).

    `sweep` (a solver.sweep.Sweep) saves reading DIR/sweep.json; `pooled` are the swept keys whose cases are pooled
    into one group (default: the sweep's seed_key). With `write`, DIR/census.csv and (with `plot`) DIR/census.png."""
    folder = folder if isinstance(folder, SweepFolder) else SweepFolder(folder)
    folder.claim(create=False)
    if sweep is not None:
        cases = [(c.case_id, c.inputs) for c in sweep.cases]
        swept, seed_key, name = list(sweep.swept_keys), sweep.seed_key, sweep.name
    else:
        cases, swept, seed_key, name = manifest_cases(folder)
    pooled = [seed_key] if pooled is None and seed_key else list(pooled or [])
    unknown = [key for key in pooled if key not in swept]
    if unknown:
        raise CaseError(f"pooled = {pooled!r}: {unknown[0]!r} is not a swept key ({', '.join(swept) or 'none'})")
    keys = [key for key in swept if key not in pooled]
    problems: list[str] = []
    states = {case_id: folder.state(case_id) for case_id, _ in cases}
    particles = {case_id: particle(folder, case_id, states[case_id], problems) for case_id, _ in cases}
    pending = {case_id for case_id, state in states.items() if not state.finished}
    if cycles is None:
        cycles = sorted({row.cycle for one in particles.values() if one for row in one.rows}) or [1]
    rows = census_rows(cases, particles, pending, keys, check_cycles(cycles))
    result = Census(rows, None, None, "not written", problems)
    if write:
        result.csv = write_csv(rows, folder.root / f"{CENSUS_NAME}.csv")
        result.plot, result.note = plot_census(rows, keys, folder.root / f"{CENSUS_NAME}.png", name) if plot \
            else (None, "plot not requested")
    return result


def plot_census(rows: list[dict], keys: list[str], png: Path, name: str) -> tuple[Path | None, str]:
    """Fraction intact against the cycle, one series per group, the Wilson interval as error bars (as a band when
    there are more than MAX_ERROR_BARS cycles)."""
    drawn = [row for row in rows if row["n"] > 0]
    if not drawn:
        return None, "no particle of known state: no census plot"
    groups: dict[str, list[dict]] = {}
    for row in drawn:
        groups.setdefault(group_of(row, keys), []).append(row)
    cycles = sorted({row["cycle"] for row in drawn})
    gaps = [b - a for a, b in zip(cycles, cycles[1:])]
    # groups side by side at each cycle, so that equal fractions do not hide each other's error bars
    dodge = 0.25 * min(gaps, default=1) / max(len(groups), 1)
    banded = len({row["cycle"] for row in rows}) > MAX_ERROR_BARS   # bars at many cycles would hide the curves
    with figure_style.style():
        fig, ax = figure_style.figure("column", height_in=2.9 + 0.14 * max(len(groups) - 1, 0))
        for i, members in enumerate(groups.values()):
            style = figure_style.series_style(i, len(groups), len(members))
            if len(members) < 2:
                style["linestyle"] = "none"
            y = [row["fraction_intact"] for row in members]
            low = [row["fraction_intact_low"] for row in members]
            high = [row["fraction_intact_high"] for row in members]
            text = ", ".join(key_value_label(key, members[0][key]) for key in keys) or "all particles"
            label = f"{text} ({members[0]['cases']} cases)"
            if banded:
                x = [row["cycle"] for row in members]
                ax.plot(x, y, label=label, **style)
                ax.fill_between(x, low, high, color=style["color"], alpha=0.18, linewidth=0)
                continue
            x = [row["cycle"] + (i - (len(groups) - 1) / 2) * dodge for row in members]
            ax.errorbar(x, y, yerr=[[p - a for p, a in zip(y, low)], [b - p for p, b in zip(y, high)]], capsize=2.5,
                        label=label, **style)
        ax.set_xlabel(figure_style.label("charge cycle"))
        ax.set_ylabel(figure_style.label("fraction of particles intact"))
        ax.set_ylim(-0.03, 1.03)
        if len(cycles) == 1:
            ax.set_xticks(cycles)
        ax.set_title(f"{name}: census, 95 % Wilson intervals")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1)
        figure_style.save(fig, png)
    return png, f"fraction intact against the cycle, {len(groups)} group(s)"
