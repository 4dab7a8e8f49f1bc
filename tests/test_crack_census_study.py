"""The seed-001 crack census study (solver/studies/crack_census.py): the threshold-as-clock reading, the one-parameter
calibration and the predictions on hand-built particles whose answer is known, and the command end to end on tiny
sections."""
import json
import subprocess
import sys

import pytest

from solver.studies import crack_census as study
from solver.sweep.census import CycleRow, Particle

ALPHA_0 = 4e6


def entry(seed: int, rows, finished: bool = True) -> dict:
    return {"seed": seed, "case_id": f"case{seed}", "particle": Particle(f"case{seed}", tuple(rows), finished),
            "summary": {"status": "completed"}}


def broken_at(seed: int, cycle: int) -> dict:
    """Mild from the first cycle, broken at `cycle` (a run ending there: damage.stop_when_broken)."""
    return entry(seed, [CycleRow(1, "mild", False), CycleRow(cycle, "broken", False)])


def intact_through(seed: int, cycles: int) -> dict:
    return entry(seed, [CycleRow(1, "intact", False), CycleRow(cycles, "intact", False)])


# P: 3 particles intact through 100 cycles, 17 broken at 10, 13, ..., 58 (at alpha_0); GP: 20 intact
P_BROKEN_AT = [10 + 3 * i for i in range(17)]
P = [intact_through(seed, 100) for seed in (1, 2, 3)] + [broken_at(4 + i, b) for i, b in enumerate(P_BROKEN_AT)]
GP = [intact_through(seed, 100) for seed in range(1, 21)]


def test_the_mapped_cycle_reads_the_reference_run_at_n_alpha_0_over_alpha_T():
    assert study.mapped_cycle(30, 1.0) == 30 and study.mapped_cycle(30, 0.5) == 15
    assert study.mapped_cycle(100, 0.666) == 67 and study.mapped_cycle(30, 0.01) == 1    # never before cycle 1
    assert study.states_at(P, 30, 1.0).count("broken") == 7       # 10, 13, ..., 28
    assert study.states_at(P, 30, 0.5).count("broken") == 2       # cycle 15: 10 and 13


def test_the_calibration_picks_the_step_nearest_the_measured_p_census_and_the_predictions_follow():
    """P after 30 cycles: intact is 3/20 at every alpha_T; the least squared distance to (15.1, 67.3, 17.6) % is 4
    broken (20 % broken, 65 % mild: 0.0011 against 0.0014 for 3 broken), i.e. the mapped cycle in [19, 21]:
    alpha_T in (30 / 21.5, 30 / 18.5] alpha_0."""
    best, scan = study.calibrate(P, ALPHA_0)
    assert 30 / 21.5 * ALPHA_0 < best["low_J_m3"] <= best["threshold_J_m3"] <= best["high_J_m3"] <= 30 / 18.5 * ALPHA_0
    assert len(scan) == study.SCAN_POINTS
    # beyond cycle 100 the three intact runs are unknown (they ended there), the broken ones stay broken
    assert all(row["n"] == (20 if row["mapped_cycle"] <= 100 else 17) for row in scan)
    assert min(row["mismatch"] for row in scan) == pytest.approx(best["mismatch"])
    rows = {(row["architecture"], row["cycle"]): row
            for row in study.prediction_rows({"P": P, "GP": GP}, best["threshold_J_m3"], ALPHA_0, study.MAPPED)}
    p30 = rows[("P", 30)]
    assert (p30["intact"], p30["mild"], p30["broken"], p30["by_construction"]) == (3, 13, 4, True)
    assert p30["measured_broken"] == 0.176 and p30["fraction_broken"] == pytest.approx(0.2)
    assert p30["fraction_broken_low"] < 0.2 < p30["fraction_broken_high"]
    direct = study.prediction_rows({"P": P, "GP": GP}, best["threshold_J_m3"], best["threshold_J_m3"], study.DIRECT)
    assert not any(row["by_construction"] for row in direct)     # only the calibrated reading agrees by construction
    p100 = rows[("P", 100)]           # mapped cycle ~65: all 17 broken (the last at 58)
    assert (p100["intact"], p100["broken"], p100["unknown"], p100["by_construction"]) == (3, 17, 0, False)
    assert rows[("GP", 30)]["fraction_intact"] == rows[("GP", 100)]["fraction_intact"] == 1.0
    assert rows[("GP", 100)]["measured_intact"] == 0.372 and rows[("GP", 100)]["measured_mild"] is None
    lines = study.table_lines([rows[key] for key in sorted(rows)], best, ALPHA_0, None)
    assert f"| P | 30 | {study.MAPPED} | 20 (0, 0) | 15.0 [" in "\n".join(lines) and "by construction" in "\n".join(lines)
    assert best["informative"] and "UNINFORMATIVE" not in "\n".join(lines)


def test_unknown_and_failed_particles_stay_out_of_n_and_no_known_particle_means_no_calibration():
    finished_early = entry(30, [CycleRow(1, "mild", False), CycleRow(40, "mild", False)])
    crashed = entry(31, [CycleRow(1, "mild", False)], finished=False)
    row = study.census_of(study.states_at([finished_early, crashed, broken_at(32, 20)], 100, 1.0))
    assert (row["particles"], row["n"], row["unknown"], row["failed"], row["broken"]) == (3, 1, 1, 1, 1)
    best, scan = study.calibrate([entry(33, [], finished=False)], ALPHA_0)      # failed before its first cycle
    assert best["threshold_J_m3"] is None and all(line["mismatch"] is None for line in scan)


def test_the_direct_check_counts_the_states_that_agree():
    """At alpha_T = 2 alpha_0 the reference run is read at half the cycles: a direct run broken at 40 agrees with a
    reference broken at 20 (30 cycles: mild and mild; 100: broken and broken); one broken at 25 does not at 30."""
    reference = {"P": [broken_at(1, 20), broken_at(2, 20)], "GP": []}
    direct = {"P": [broken_at(1, 40), broken_at(2, 25)], "GP": []}
    found = study.agreement(reference, direct, 2 * ALPHA_0, ALPHA_0)
    assert (found["compared"], found["agree"]) == (4, 3)
    assert found["differing"] == ["P seed 2 cycle 30: direct broken, mapped mild"]


def test_bad_arguments_are_named_not_a_traceback(tmp_path, capsys):
    assert study.main(["--out", str(tmp_path / "out"), "--particles", "0"]) == 2
    assert "--particles = 0: must be a whole number >= 1" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# the coarse section of tests/test_regression.py's cycling fracture row: 4 grains, two upper pore classes, coarse
# cells, l raised to what they resolve, 4 steps per charge
TINY = ["geometry.grain_count=4", "geometry.volume_scale=150",
        "geometry.volume_classes_um3=[[0.01, 0.03, 0.8], [0.03, 0.2, 0.2]]", "mesh.cell_size_fraction=0.5",
        "mesh.surface_cell_size_fraction=0.3", "damage.length_scale_um=3", "protocol.steps_per_charge=4",
        "protocol.voltage_tolerance_V=0.01", "output.fields=false"]


def test_the_study_command_runs_calibrates_or_says_it_cannot_and_writes_its_tables(tmp_path):
    """Two tiny particles per architecture over 3 cycles (a smoke test of the command, not a result): the tables
    and the study record exist and say what they could compute; a second call resumes (nothing rerun)."""
    out = tmp_path / "census"
    arguments = ["--out", str(out), "--particles", "1", "--cycles", "3", "--check-particles", "0", "--workers", "1"]
    arguments += [item for text in TINY for item in ("--set", text)]

    def command():   # its own process: the sweep's aggregation refuses a process that has loaded dolfinx
        done = subprocess.run([sys.executable, "-m", "solver.studies.crack_census", *arguments],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    assert "# Seed-001 crack census" in command().stdout
    record = json.loads((out / "study.json").read_text())
    assert record["particles"] == 1 and record["overrides"]["geometry.grain_count"] == 4
    particles = (out / "particles.csv").read_text().splitlines()
    assert len(particles) == 3 and particles[0].startswith("architecture,seed,case_id,status")
    assert "completed" in particles[1] and "completed" in particles[2]
    assert len((out / "calibration.csv").read_text().splitlines()) == study.SCAN_POINTS + 1
    table = (out / "table.md").read_text()
    if record["calibration"]["threshold_J_m3"] is None:
        assert "could not be calibrated" in table
    elif not record["calibration"]["informative"]:
        assert "UNINFORMATIVE" in table
    else:
        assert "| GP | 100 |" in table
    again = command()
    assert "crack_census_reference: 2 cases, 2 already finished" in again.stderr
    assert (out / "particles.csv").read_text().splitlines() == particles      # the same runs, times included
