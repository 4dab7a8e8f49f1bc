"""The seed-001 crack census (issue 17 validation): calibrate the fatigue threshold on the P particles' census after
30 cycles, then predict the GP particles' census after 30 and 100 cycles and P's after 100.

    python -m solver.studies.crack_census --out results/crack_census [--particles 20] [--workers 2]
        [--cycles 100] [--reference-threshold-J-m3 4e6] [--check-particles 3] [--retry-failed] [--set KEY=VALUE ...]

Measured (docs/science.md#measured-outcomes; SEM cross-sections of 2042 particles, 1C cycling): intact after 30 cycles
GP 75.9 %, P ~15.1 % (P: 67.3 % mildly damaged, 17.6 % broken); intact after 100 cycles GP 37.2 %, P 8.5 %.

1. Reference runs (DIR/reference, a sweep: resumable, finished cases kept). For seeds 1..--particles and both
   architectures (geometry.porosity "p_ncm83" / "gp_ncm83": one seed gives the same grains and orientations, only
   the pores differ), the cycling fracture section cases/section_ncm83_damage_cycles.toml (400 grains of 0.5 um,
   Butler-Volmer kinetics, 1C between 3.5 and 4.3 V, AT1 with weaker grain boundaries, asymptotic fatigue) over
   --cycles cycles with cycle jumping, at the fatigue threshold alpha_0 = --reference-threshold-J-m3, each run
   ending at its first broken cycle end (damage.stop_when_broken; the census keeps it broken).
2. The threshold as a clock. alpha_T enters the model only through the fatigue function of alpha_bar / alpha_T
   (Carrara et al. 2020, solver/physics/damage.py), and what a cycle adds to alpha_bar (the degraded driving
   energy's increase) does not depend on alpha_T. Where a cycle adds little against alpha_T (the assumption cycle
   jumping makes as well), the particle at alpha_T after n cycles is the particle at alpha_0 after
   n alpha_0 / alpha_T cycles: one set of runs gives the census at every alpha_T, read at cycle
   round(n alpha_0 / alpha_T) (at least 1; beyond a run's last row a particle is unknown unless broken). This is
   checked, not assumed: --check-particles seeds of each architecture run again at the calibrated alpha_T
   (DIR/check), and the table says for how many of their states the two agree.
3. Calibration, one parameter (alpha_T = damage.fatigue_threshold_J_m3; nothing else is fitted): over a log scan of
   alpha_T, the value whose P census after 30 cycles is nearest the measured one (the sum of the squared
   differences of the intact, mild and broken fractions; the census is a step function of alpha_T, so the
   calibrated value is the middle of the best step and the step is its resolution). P after 30 cycles then agrees
   by construction, as far as one parameter can make three fractions agree.
4. Predictions at the calibrated alpha_T: the census of P and GP after 30 and 100 cycles with 95 % Wilson intervals
   (solver/sweep/census.py), next to the measured fractions.

Writes DIR/table.md and table.csv (predicted vs measured, n, unknown and failed per cell), calibration.csv (the
scan), particles.csv (per particle: first mild and broken cycle at alpha_0, cycles solved, run time) and
study.json; the reference sweep's own census.csv/png are at alpha_0.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from solver.crack_census import STATES
from solver.errors import CaseError
from solver.studies import claim_study_folder
from solver.sweep.tables import write_csv

REPO = Path(__file__).resolve().parents[2]
BASE_CASE = REPO / "cases" / "section_ncm83_damage_cycles.toml"
ARCHITECTURES = {"P": "p_ncm83", "GP": "gp_ncm83"}
THRESHOLD_KEY = "damage.fatigue_threshold_J_m3"
CALIBRATION_CYCLE = 30
PREDICTED_CYCLES = (30, 100)
# the seed paper's census (fractions); None: not reported
MEASURED = {("P", 30): {"intact": 0.151, "mild": 0.673, "broken": 0.176},
            ("GP", 30): {"intact": 0.759, "mild": None, "broken": None},
            ("P", 100): {"intact": 0.085, "mild": None, "broken": None},
            ("GP", 100): {"intact": 0.372, "mild": None, "broken": None}}
MAPPED, DIRECT = "reference at alpha_0, mapped", "direct at alpha_T"   # the two sources of a census row
SCAN_POINTS = 241                   # alpha_T values, log-spaced over SCAN_RANGE x alpha_0
SCAN_RANGE = (0.25, 30.0)


def census_sweep(name: str, seeds: int, cycles: int, threshold_J_m3: float, overrides: dict):
    """The Sweep of one set of census runs: both architectures x seeds, at one fatigue threshold."""
    from solver.sweep.spec import sweep_from_dict

    fixed = {"protocol.cycles": cycles, "damage.cycle_jumping": True, "damage.stop_when_broken": True,
             THRESHOLD_KEY: threshold_J_m3, "output.pictures": False, "output.progress": False,
             "output.snapshots": 1, **overrides}
    raw = {"name": name, "base": str(BASE_CASE), "set": fixed,
           "grid": {"geometry.seed": list(range(1, seeds + 1)),
                    "geometry.porosity": list(ARCHITECTURES.values())},
           "run": {"timeout_s": 4 * 3600}}
    return sweep_from_dict(raw, REPO)


def load_particles(folder: Path, sweep) -> dict[str, list[dict]]:
    """Per architecture, per seed: {"seed", "case_id", "particle" (solver.sweep.census.Particle or None: not a
    particle of the census), "summary"}."""
    from solver.sweep.census import particle
    from solver.sweep.store import SweepFolder

    store = SweepFolder(folder)
    problems: list[str] = []
    found = {label: [] for label in ARCHITECTURES}
    label_of = {porosity: label for label, porosity in ARCHITECTURES.items()}
    for case in sweep.cases:
        state = store.state(case.case_id)
        found[label_of[case.inputs["geometry.porosity"]]].append({
            "seed": case.inputs["geometry.seed"], "case_id": case.case_id,
            "particle": particle(store, case.case_id, state, problems), "summary": state.summary or {}})
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return found


def mapped_cycle(cycle: int, scale: float) -> int:
    """The reference run's cycle that stands for `cycle` at alpha_T = alpha_0 / scale (module docstring, 2)."""
    return max(1, int(math.floor(cycle * scale + 0.5)))


def census_of(states: list[str]) -> dict:
    """Counts of each state (and unknown, failed) and each state's fraction of the known ones with its 95 % Wilson
    interval: {"n", "intact", ..., "fraction_intact", "fraction_intact_low", ...}."""
    from solver.sweep.census import FAILED, UNKNOWN, fraction_columns

    counts = {state: states.count(state) for state in (*STATES, UNKNOWN, FAILED)}
    return {"particles": len(states), "n": sum(counts[state] for state in STATES), **counts,
            **fraction_columns(counts)}


def states_at(entries: list[dict], cycle: int, scale: float = 1.0) -> list[str]:
    """The census state of each particle at `cycle` read at the mapped cycle; not run yet: skipped."""
    return [entry["particle"].state_at(mapped_cycle(cycle, scale))[0] for entry in entries
            if entry["particle"] is not None]


def mismatch(row: dict, measured: dict) -> float | None:
    """Sum over the measured states of (predicted - measured fraction)^2; None without known particles."""
    if row["n"] == 0:
        return None
    return sum((row[f"fraction_{state}"] - value) ** 2 for state, value in measured.items() if value is not None)


def calibrate(p_entries: list[dict], reference_J_m3: float, points: int = SCAN_POINTS) -> tuple[dict, list[dict]]:
    """(best, scan): the scan rows (alpha_T, P census at the calibration cycle, mismatch) and the calibrated
    alpha_T: the geometric middle of the first run of scan points with the least mismatch, with that run's ends
    as its resolution. A census without known particles at any alpha_T: best["threshold_J_m3"] is None."""
    thresholds = reference_J_m3 * np.geomspace(*SCAN_RANGE, points)
    scan = []
    for threshold in thresholds:
        row = census_of(states_at(p_entries, CALIBRATION_CYCLE, reference_J_m3 / threshold))
        scan.append({"threshold_J_m3": float(threshold), "mapped_cycle":
                     mapped_cycle(CALIBRATION_CYCLE, reference_J_m3 / threshold), **row,
                     "mismatch": mismatch(row, MEASURED[("P", CALIBRATION_CYCLE)])})
    scored = [i for i, row in enumerate(scan) if row["mismatch"] is not None]
    if not scored:
        return {"threshold_J_m3": None, "low_J_m3": None, "high_J_m3": None, "mismatch": None,
                "informative": False}, scan
    least = min(scan[i]["mismatch"] for i in scored)
    first = next(i for i in scored if scan[i]["mismatch"] <= least + 1e-12)
    last = first
    while last + 1 < len(scan) and scan[last + 1]["mismatch"] is not None \
            and scan[last + 1]["mismatch"] <= least + 1e-12:
        last += 1
    low, high = scan[first]["threshold_J_m3"], scan[last]["threshold_J_m3"]
    # a best step over the whole scan: the P census does not move with alpha_T there, and nothing is calibrated
    best = {"threshold_J_m3": float(f"{math.sqrt(low * high):.3g}"), "low_J_m3": low, "high_J_m3": high,
            "mismatch": least, "informative": not (first == 0 and last == len(scan) - 1)}
    return best, scan


def prediction_rows(particles: dict[str, list[dict]], threshold_J_m3: float, reference_J_m3: float,
                    source: str) -> list[dict]:
    """The census of each architecture at 30 and 100 cycles at alpha_T = threshold_J_m3, read from runs at
    reference_J_m3 (equal: read directly), with the measured fractions beside."""
    rows = []
    for label in ARCHITECTURES:
        for cycle in PREDICTED_CYCLES:
            row = {"architecture": label, "cycle": cycle, "source": source, "threshold_J_m3": threshold_J_m3,
                   **census_of(states_at(particles[label], cycle, reference_J_m3 / threshold_J_m3))}
            for state in STATES:
                row[f"measured_{state}"] = MEASURED[(label, cycle)][state]
            # the calibration read the mapped reference runs: only that row agrees by construction
            row["by_construction"] = (label, cycle) == ("P", CALIBRATION_CYCLE) and source == MAPPED
            rows.append(row)
    return rows


def agreement(reference: dict[str, list[dict]], check: dict[str, list[dict]], threshold_J_m3: float,
              reference_J_m3: float) -> dict:
    """How many particle states at 30 and 100 cycles the mapped reference and the direct run at alpha_T share
    (particles whose both states are known)."""
    same = compared = 0
    differing = []
    for label, entries in check.items():
        by_seed = {entry["seed"]: entry for entry in reference[label]}
        for entry in entries:
            mapped = by_seed.get(entry["seed"])
            if entry["particle"] is None or mapped is None or mapped["particle"] is None:
                continue
            for cycle in PREDICTED_CYCLES:
                direct = entry["particle"].state_at(cycle)[0]
                read = mapped["particle"].state_at(mapped_cycle(cycle, reference_J_m3 / threshold_J_m3))[0]
                if direct in STATES and read in STATES:
                    compared += 1
                    same += direct == read
                    if direct != read:
                        differing.append(f"{label} seed {entry['seed']} cycle {cycle}: direct {direct}, mapped {read}")
    return {"compared": compared, "agree": same, "differing": differing}


def particle_rows(particles: dict[str, list[dict]]) -> list[dict]:
    """Per reference particle: the first cycle end it was mild and broken at, the last cycle, cycles solved, time."""
    rows = []
    for label, entries in particles.items():
        for entry in entries:
            found = entry["particle"]
            rows_ = found.rows if found is not None else ()
            first = {state: next((r.cycle for r in rows_ if r.state == state), None) for state in ("mild", "broken")}
            summary = entry["summary"]
            rows.append({"architecture": label, "seed": entry["seed"], "case_id": entry["case_id"],
                         "status": summary.get("status"), "first_mild_cycle": first["mild"],
                         "first_broken_cycle": first["broken"], "last_cycle": rows_[-1].cycle if rows_ else None,
                         "cycles_solved": (summary.get("cycles") or {}).get("solved"),
                         "run_time_s": (summary.get("timing_s") or {}).get("total")})
    return rows


def percent(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def cell(row: dict, state: str) -> str:
    if row[f"fraction_{state}"] is None:
        return "-"
    return (f"{percent(row[f'fraction_{state}'])} [{percent(row[f'fraction_{state}_low'])}, "
            f"{percent(row[f'fraction_{state}_high'])}]")


def table_lines(rows: list[dict], best: dict, reference_J_m3: float, check: dict | None) -> list[str]:
    lines = [f"alpha_T calibrated on P after {CALIBRATION_CYCLE} cycles: {best['threshold_J_m3']:.3g} J/m^3 "
             f"(the best step of the scan: {best['low_J_m3']:.3g} - {best['high_J_m3']:.3g} J/m^3; runs at "
             f"alpha_0 = {reference_J_m3:.3g} J/m^3 read at cycle n alpha_0 / alpha_T)"
             + ("" if best["informative"] else "; UNINFORMATIVE: the P census is the same over the whole scan, "
                "so alpha_T is not determined by it") if best["threshold_J_m3"]
             else f"alpha_T could not be calibrated: no P particle of known state at cycle {CALIBRATION_CYCLE} "
                  f"at any scanned alpha_T (runs at alpha_0 = {reference_J_m3:.3g} J/m^3)", "",
             "| architecture | cycle | runs | n (unknown, failed) | intact % [95 %] | mild % [95 %] | broken % [95 %] | "
             "measured intact / mild / broken % | note |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        measured = " / ".join(percent(row[f"measured_{state}"]) for state in STATES)
        note = "calibrated on it: as near as one parameter gets, by construction" if row["by_construction"] \
            else "prediction"
        lines.append(f"| {row['architecture']} | {row['cycle']} | {row['source']} | {row['n']} ({row['unknown']}, "
                     f"{row['failed']}) | "
                     f"{cell(row, 'intact')} | {cell(row, 'mild')} | {cell(row, 'broken')} | {measured} | {note} |")
    if check is not None:
        lines += ["", f"Direct check at alpha_T (DIR/check): {check['agree']} of {check['compared']} particle states "
                      f"at {' and '.join(map(str, PREDICTED_CYCLES))} cycles agree with the reference runs read "
                      "at the mapped cycle."]
        lines += [f"- {text}" for text in check["differing"]]
    return lines


def run_set(sweep, folder: Path, workers: int | None, retry_failed: bool) -> None:
    from solver.sweep.engine import run_sweep

    report = run_sweep(sweep, folder, workers=workers, plot=True, retry_failed=retry_failed)
    print(f"{sweep.name}: {report.total} cases, {report.skipped} already finished", file=sys.stderr)


def parse_overrides(texts: list[str]) -> dict:
    from solver.case import parse_override

    overrides = {}
    for text in texts:
        parts, value = parse_override(text)
        overrides[".".join(parts)] = value
    return overrides


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solver.studies.crack_census", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="study folder (created; reused to resume)")
    parser.add_argument("--particles", type=int, default=20, help="seeds per architecture (>= 20 for the issue)")
    parser.add_argument("--cycles", type=int, default=100, help="cycles of the reference runs")
    parser.add_argument("--reference-threshold-J-m3", type=float, default=4e6,
                        help="alpha_0: the fatigue threshold of the reference runs (J/m^3)")
    parser.add_argument("--check-particles", type=int, default=3,
                        help="seeds per architecture run again at the calibrated alpha_T (0: no check)")
    parser.add_argument("--workers", type=int, help="local worker processes (default: the sweep engine's)")
    parser.add_argument("--retry-failed", action="store_true", help="run failed cases of both sweeps again")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value of every run, e.g. --set geometry.grain_count=100 (repeatable)")
    args = parser.parse_args(argv)
    try:
        for name in ("particles", "cycles"):
            if getattr(args, name) < 1:
                raise CaseError(f"--{name} = {getattr(args, name)}: must be a whole number >= 1")
        if args.check_particles < 0 or args.reference_threshold_J_m3 <= 0:
            raise CaseError("--check-particles must be >= 0 and --reference-threshold-J-m3 > 0; got "
                            f"{args.check_particles} and {args.reference_threshold_J_m3}")
        out = claim_study_folder(args.out)
        overrides = parse_overrides(args.overrides)
        alpha_0 = args.reference_threshold_J_m3
        reference = census_sweep("crack_census_reference", args.particles, args.cycles, alpha_0, overrides)
        run_set(reference, out / "reference", args.workers, args.retry_failed)
        particles = load_particles(out / "reference", reference)
        best, scan = calibrate(particles["P"], alpha_0)
        write_csv(scan, out / "calibration.csv")
        write_csv(particle_rows(particles), out / "particles.csv")
        threshold = best["threshold_J_m3"]
        rows = prediction_rows(particles, threshold, alpha_0, MAPPED) if threshold else []
        check = None
        if threshold and args.check_particles:
            direct = census_sweep("crack_census_check", min(args.check_particles, args.particles), args.cycles,
                                  threshold, overrides)
            run_set(direct, out / "check", args.workers, args.retry_failed)
            checked = load_particles(out / "check", direct)
            check = agreement(particles, checked, threshold, alpha_0)
            rows += prediction_rows(checked, threshold, threshold, DIRECT)
        write_csv(rows, out / "table.csv")
        lines = ["# Seed-001 crack census: predicted vs measured", ""] + table_lines(rows, best, alpha_0, check)
        (out / "table.md").write_text("\n".join(lines) + "\n")
        (out / "study.json").write_text(json.dumps({"calibration": best, "reference_threshold_J_m3": alpha_0,
                                                    "particles": args.particles, "cycles": args.cycles,
                                                    "overrides": overrides, "check": check}, indent=2) + "\n")
    except CaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
