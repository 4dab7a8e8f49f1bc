"""The table logic of the crack-initiation study (solver/studies/crack_initiation.py) on made-up runs: no solves."""
import json
import math

import pytest

from solver.studies import crack_initiation as study


def test_fastest_growth_is_the_steepest_rise_per_volt():
    # slopes 0 (3.9-4.0 V), 0.02/0.1 = 0.2 (4.0-4.1 V), 0.05/0.1 = 0.5 (4.1-4.2 V), 0.01/0.1 = 0.1 (4.2-4.3 V)
    voltage = [3.9, 4.0, 4.1, 4.2, 4.3]
    crack = [0.0, 0.0, 0.02, 0.07, 0.08]
    assert study.fastest_growth_voltage(voltage, crack) == pytest.approx(4.15)
    # a voltage that falls (a retaken step, a relaxation) is not growth per volt
    assert study.fastest_growth_voltage([4.0, 3.99, 4.1], [0.0, 0.05, 0.06]) == pytest.approx(4.045)
    assert math.isnan(study.fastest_growth_voltage(voltage, [0.0] * 5))


def test_zone_splits_at_half_the_radius():
    assert study.zone_of(0.1) == "core"
    assert study.zone_of(0.49) == "core"
    assert study.zone_of(0.5) == "rim"
    assert study.zone_of(0.95) == "rim"
    assert study.zone_of(math.nan) == "none"


def _fake_run(folder, seed):
    """A run folder as `python -m solver run` leaves it: seed 1 cracks in the core at 4.05 V, seed 2 at the rim, seed
    3 not at all."""
    folder.mkdir(parents=True)
    initiation = {1: {"radius_fraction": 0.2, "voltage_V": 4.05, "state_of_charge": 0.6},
                  2: {"radius_fraction": 0.9, "voltage_V": 4.15, "state_of_charge": 0.7}}.get(seed)
    final = {1: 0.08, 2: 0.02, 3: 0.0}[seed]
    summary = {"status": "completed", "time": {}, "mesh": {"cells": 100 * seed}, "timing_s": {"total": 1.0},
               "fracture": {"initiation": initiation, "crack_volume_fraction": final,
                            "state": "broken" if final > 0.05 else ("mild" if final else "intact")}}
    (folder / "summary.json").write_text(json.dumps(summary))
    rows = ["time_s,phase,voltage_V,crack_volume_fraction,fracture_state", "0,start,3.8,0,intact", "1,cc,4.0,0,intact",
            f"2,cc,4.1,{final / 4},mild", f"3,cc,4.3,{final},mild"]
    (folder / "timeseries.csv").write_text("\n".join(rows) + "\n")
    return summary


def test_study_tabulates_every_seed_and_the_spread(tmp_path, monkeypatch):
    monkeypatch.setattr(study, "run_case_once",
                        lambda case, folder, overrides, force: _fake_run(folder, int(overrides[0].split("=")[1])))
    assert study.main(["--out", str(tmp_path / "out"), "--seeds", "3"]) == 0
    table = json.loads((tmp_path / "out" / "table.json").read_text())
    rows = {row["seed"]: row for row in table["rows"]}
    assert [rows[s]["zone"] for s in (1, 2, 3)] == ["core", "rim", "none"]
    assert rows[1]["initiation_voltage_V"] == 4.05 and math.isnan(rows[3]["initiation_voltage_V"])
    # seed 1: 0.02 between 4.0 and 4.1 V (0.2 / V), 0.06 between 4.1 and 4.3 V (0.3 / V): fastest at 4.2 V
    assert rows[1]["fastest_growth_voltage_V"] == pytest.approx(4.2)
    assert math.isnan(rows[3]["fastest_growth_voltage_V"])
    text = (tmp_path / "out" / "table.md").read_text()
    assert "core in 1 of 3" in text
    assert "4.100 ± 0.071" in text                       # initiation voltage over the two seeds that cracked
    assert "0.033 ± 0.042" in text                       # crack volume fraction over all three
    assert "Parks et al. 2023" in text and "~0.09" in text
    assert (tmp_path / "out" / "rows.csv").read_text().count("\n") == 4


def test_a_failed_run_makes_the_study_fail(tmp_path, monkeypatch):
    monkeypatch.setattr(study, "run_case_once", lambda case, folder, overrides, force: None)
    assert study.main(["--out", str(tmp_path / "out"), "--seeds", "1"]) == 1
    assert "core in 0 of 0" in (tmp_path / "out" / "table.md").read_text()
