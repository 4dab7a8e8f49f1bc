"""Phase-field damage over the cycles of a kinetic protocol (issue 17): solver/kinetic_run.py reports every cycle's
end to the fields (fracture_cycles.csv), jumps blocks of cycles with damage.cycle_jumping (solver/cycle_jumping.py),
dates the crack initiation by cycle and particle voltage, writes the damage per step in timeseries.csv and the
damage field into the field files.

The particle: a dense 5 um sphere (octant, 0.3 R cells, P1 displacement), charged at 2C to 4.1 V and discharged at
1C to 3.7 V per cycle, with AT2 damage (damage from the first load) and asymptotic fatigue whose threshold the first
cycle passes, so that the damage grows from cycle to cycle (max d: 0.17, 0.25, 0.31, ... 0.66 at cycle 10). The
cells are coarser than the crack profile needs (a warning says so): these tests check the cycling, not a crack.
"""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from solver.case import validate_case
from solver.errors import CaseError

CYCLES = 3
JUMPED_CYCLES = 12


def _raw(cycles: int, formulation: str = "3d", **damage) -> dict:
    return {
        "name": "damage_cycles", "geometry": {"kind": "sphere", "radius_um": 5.0,
                                              "symmetry": "octant" if formulation == "3d" else "full"},
        "mesh": {"cell_size_fraction": 0.3, "surface_cell_size_fraction": 0.3},
        "material": {"c_max_mol_m3": 49000.0, "diffusivity_m2_s": 1e-14, "young_modulus_GPa": 150.0,
                     "poisson_ratio": 0.3, "partial_molar_volume_m3_mol": 1.39e-6, "ocp": "nmc811_chen2020"},
        "operation": {"li_fraction_start": 0.9, "li_fraction_end": 0.3},     # (the window a protocol replaces)
        "solver": {"formulation": formulation, "displacement_degree": 1},
        "output": {"pictures": False, "progress": False},
        "kinetics": {"exchange_current_density_A_m2": 2.0},
        "protocol": {"cycles": cycles, "steps_per_charge": 4, "voltage_tolerance_V": 1e-2, "steps": [
            {"kind": "cc", "c_rate": 2.0, "direction": "charge", "stop": {"voltage_V": 4.1}},
            {"kind": "cc", "c_rate": 1.0, "direction": "discharge", "stop": {"voltage_V": 3.7}}]},
        "damage": {"model": "AT2", "length_scale_um": 2.0, "fracture_energy_J_m2": 3.0, "fatigue": "asymptotic",
                   "fatigue_threshold_J_m3": 1e5, **damage},
    }


def _run(raw: dict, out):
    from solver.pipeline import run_case

    summary = run_case(validate_case(raw), out, mesh_cache=None)
    assert summary["status"] == "completed", summary["message"]
    return summary, _rows(out / "timeseries.csv"), _rows(out / "fracture_cycles.csv")


def _rows(path) -> list[dict]:
    with open(path) as handle:
        return list(csv.DictReader(handle))


def _column(rows: list[dict], key: str) -> np.ndarray:
    return np.array([float(row[key]) for row in rows])


def _damage(path) -> np.ndarray:
    import meshio

    return meshio.read(path).point_data["damage"]


@pytest.mark.parametrize("formulation", ["3d", "axisymmetric"])
def test_every_cycle_ends_in_a_row_the_damage_never_decreases_and_reaches_the_field_files(formulation, tmp_path):
    """Three explicit cycles: fracture_cycles.csv has one row per cycle end (none extrapolated), the damage of
    every node never decreases from one protocol step's field file to the next (charge and discharge, across
    cycles), the per-step max_damage column never decreases and ends at the summary's, and the field files carry
    the damage and the surface current density (every field's point fields)."""
    out = tmp_path / formulation
    summary, series, cycles = _run(_raw(CYCLES, formulation), out)
    assert [(int(row["cycle"]), int(row["extrapolated"])) for row in cycles] == [(1, 0), (2, 0), (3, 0)]
    assert summary["cycles"] == {"requested": CYCLES, "solved": CYCLES, "extrapolated": 0, "jumps": [],
                                 "stopped_broken_at": None}
    files = sorted(out.glob("fields_[0-9][0-9][0-9].vtu"))
    assert len(files) == 2 * CYCLES                      # one per protocol step
    damage = [_damage(path) for path in files]
    assert damage[0].max() > 0.1                         # AT2 damages from the first charge
    for before, after in zip(damage, damage[1:]):
        assert np.all(after >= before - 1e-12)
    assert damage[-1].max() > damage[0].max() + 0.05     # fatigue: each cycle adds damage
    max_damage = _column(series, "max_damage")
    assert np.all(np.diff(max_damage) >= -1e-12)
    assert max_damage[-1] == pytest.approx(summary["fracture"]["max_damage"], rel=1e-12)
    assert float(cycles[-1]["max_damage"]) == pytest.approx(summary["fracture"]["max_damage"], rel=1e-12)
    assert {"crack_volume_fraction", "fracture_state"} <= set(series[0])
    import meshio

    current = meshio.read(files[0]).point_data["surface_current_density_A_m2"]
    assert current.max() > 0 and np.count_nonzero(current) < current.size


def test_the_initiation_is_dated_by_the_voltage_and_cycle_the_timeseries_records(tmp_path):
    """With initiation_damage = 0.2 the crack initiates in the second cycle (max d 0.17 after the first): the
    initiation's time, voltage and cycle are those of the timeseries row where max_damage first exceeds 0.2."""
    summary, series, _ = _run(_raw(CYCLES, initiation_damage=0.2), tmp_path / "run")
    initiation = summary["fracture"]["initiation"]
    first = int(np.argmax(_column(series, "max_damage") > 0.2))
    assert first > 0 and initiation is not None
    row = series[first]
    assert initiation["time_s"] == pytest.approx(float(row["time_s"]), rel=1e-12)
    assert initiation["voltage_V"] == pytest.approx(float(row["voltage_V"]), rel=1e-12)
    assert initiation["cycle"] == int(row["cycle"]) == 2
    assert initiation["extrapolated"] is False and initiation["damage"] > 0.2


def test_cycle_jumping_solves_fewer_cycles_than_it_reports_and_lands_near_the_explicit_damage(tmp_path):
    """Twelve cycles explicitly and with cycle jumping (the CycleJumping defaults): the jumped run solves fewer
    cycles, reports all twelve (jumped cycle ends marked extrapolated, one "jump" row per jump in timeseries.csv at
    the cycle reached, its clock advanced by the jumped cycles), and its damage at the last cycle is within 0.01 of
    the explicit run's at every node (measured: 8 of 12 cycles solved, jumps of 2, 1, 1 cycles; max |d difference|
    1.9e-3 with max d 0.2354 against 0.2345; the tolerance is ~5x that)."""
    slower = {"fatigue_threshold_J_m3": 5e5}      # fatigue sets in at the third cycle: a first jump before it
    explicit, _, explicit_cycles = _run(_raw(JUMPED_CYCLES, **slower), tmp_path / "explicit")
    jumped, series, cycles = _run(_raw(JUMPED_CYCLES, cycle_jumping=True, **slower), tmp_path / "jumped")
    log = jumped["cycles"]
    assert log["jumps"] and log["solved"] < JUMPED_CYCLES
    assert log["solved"] + log["extrapolated"] == JUMPED_CYCLES == int(cycles[-1]["cycle"])
    assert explicit["cycles"]["solved"] == JUMPED_CYCLES and len(explicit_cycles) == JUMPED_CYCLES
    marked = [int(row["cycle"]) for row in cycles if row["extrapolated"] == "1"]
    assert marked == [jump["to_cycle"] for jump in log["jumps"]]
    jump_rows = [row for row in series if row["phase"] == "jump"]
    assert [int(row["cycle"]) for row in jump_rows] == marked
    assert jumped["time"]["steps"] == len(series) - 1 - len(jump_rows)       # time steps solved: no start, no jumps
    assert np.all(np.diff(_column(series, "time_s")) >= 0) and np.all(np.diff(_column(series, "cycle")) >= 0)
    # the clock: the jumped run ends about when the explicit one does (each jumped cycle as long as the one before)
    assert jumped["final"]["time_s"] == pytest.approx(explicit["final"]["time_s"], rel=0.02)
    difference = np.abs(_damage(tmp_path / "jumped" / "fields_final.vtu")
                        - _damage(tmp_path / "explicit" / "fields_final.vtu")).max()
    assert difference < 0.01


@pytest.mark.parametrize("changes, message", [
    ({"fatigue": "none", "fatigue_threshold_J_m3": None, "cycle_jumping": True},
     "damage.cycle_jumping = true: needs damage.fatigue = 'asymptotic' or 'logarithmic'"),
    ({"jump_max_cycles": 10}, "damage.jump_max_cycles = 10: has no effect without damage.cycle_jumping = true"),
    ({"cycle_jumping": True, "jump_fit_cycles": 1}, "damage.jump_fit_cycles = 1: must be a whole number in [2, 100]"),
    ({"cycle_jumping": True, "jump_max_toughness_drop": 1.0}, "damage.jump_max_toughness_drop = 1.0: must be in (0, 1)"),
    ({"cycle_jumping": True, "jump_fit_cycles": 3},
     "damage.cycle_jumping = true: protocol.cycles = 3 leaves no cycle to jump"),
])
def test_bad_jumping_input_is_a_case_error_naming_the_key(changes, message):
    raw = _raw(CYCLES)
    raw["damage"].update(changes)
    raw["damage"] = {key: value for key, value in raw["damage"].items() if value is not None}
    with pytest.raises(CaseError) as error:
        validate_case(raw)
    assert message in str(error.value)


@pytest.mark.parametrize("key", ["cycle_jumping", "stop_when_broken"])
def test_cycle_keys_without_a_protocol_are_refused_naming_the_key(key):
    raw = _raw(CYCLES, **{key: True})
    del raw["kinetics"], raw["protocol"]
    with pytest.raises(CaseError, match=rf"damage.{key} = true: needs a \[kinetics\] case with a \[protocol\]"):
        validate_case(raw)


def test_stop_when_broken_ends_the_cycles_at_the_first_broken_cycle_end(tmp_path, monkeypatch):
    """damage.stop_when_broken: the protocol's cycles end after the first cycle whose fracture_cycles.csv row is
    broken; the run is complete (a population study asked for no more) and says where it stopped. "Broken" is
    forced here from max d > 0.2 on (reached in the second of three cycles: the initiation test above), as the
    coarse sphere is never cut apart; the census rule itself is tested in tests/test_crack_census.py."""
    from solver.fields.damage import DamageField

    census_state = DamageField.state_name
    monkeypatch.setattr(DamageField, "state_name",
                        lambda self: "broken" if self.max_damage() > 0.2 else census_state(self))
    summary, _, cycles = _run(_raw(CYCLES, stop_when_broken=True), tmp_path / "run")
    assert [(int(row["cycle"]), row["state"]) for row in cycles][-1] == (2, "broken")
    assert len(cycles) == 2 and all(row["state"] != "broken" for row in cycles[:-1])
    assert summary["cycles"]["stopped_broken_at"] == 2 and summary["cycles"]["solved"] == 2
    assert summary["fracture"]["state"] == "broken"


def test_a_protocol_step_that_cannot_go_on_names_the_cause_of_its_last_try(tmp_path, monkeypatch):
    """When every time step fails in a coupled field's solve (here the mechanics solve, made to fail once the
    protocol has begun, as a cracked-through particle's CG does with DIVERGED_INDEFINITE_PC), the failed run names
    that cause, not a surface Li limit (which a protocol step assumed before: "the particle is full at the
    surface")."""
    from solver.errors import SolveError
    from solver.fields.mechanics import MechanicsField

    solve = MechanicsField.solve_displacement
    calls = {"n": 0}

    def failing_after_the_first_solves(self):
        calls["n"] += 1
        if calls["n"] > 3:
            raise SolveError("mechanics: linear solver did not converge (PETSc reason DIVERGED_INDEFINITE_PC)")
        return solve(self)

    monkeypatch.setattr(MechanicsField, "solve_displacement", failing_after_the_first_solves)
    from solver.pipeline import run_case

    summary = run_case(validate_case(_raw(1)), tmp_path / "run", mesh_cache=None)
    assert summary["status"] == "failed"
    message = summary["message"]
    assert "no converged step" in message and "the last try: mechanics: linear solver did not converge" in message
    assert "at the surface" not in message
