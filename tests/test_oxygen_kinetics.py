"""[oxygen] with [kinetics]: the release switched by the particle potential (oxygen.release_onset_V) and the
reduction of trapped O2 only while the particle discharges (oxygen.reduction_during = "discharge"),
solver/fields/oxygen.py. Coarse 3D octant spheres, a few seconds each."""
import copy
import csv
import json

import pytest

from solver.errors import CaseError

ONSET_V = 3.95


def _raw(**oxygen):
    """A 5 um sphere charged from x = 0.9 at 2C to 4.1 V (V passes ONSET_V on the way), rested, discharged."""
    return {"name": "o2_kinetics", "geometry": {"kind": "sphere", "radius_um": 5.0, "symmetry": "octant"},
            "mesh": {"cell_size_fraction": 0.3, "surface_cell_size_fraction": 0.3},
            "material": {"c_max_mol_m3": 49000.0, "diffusivity_m2_s": 1e-14, "young_modulus_GPa": 150.0,
                         "poisson_ratio": 0.3, "partial_molar_volume_m3_mol": 1.39e-6, "ocp": "nmc811_chen2020"},
            "operation": {"li_fraction_start": 0.9, "li_fraction_end": 0.3, "c_rate": 2.0},
            "output": {"pictures": False, "progress": False, "fields": False},
            "kinetics": {"exchange_current_density_A_m2": 2.0},
            "protocol": {"steps_per_charge": 20, "voltage_tolerance_V": 1e-3, "steps": [
                {"kind": "cc", "c_rate": 2.0, "direction": "charge", "stop": {"voltage_V": 4.1}},
                {"kind": "rest", "stop": {"time_s": 300.0}},
                {"kind": "cc", "c_rate": 1.0, "direction": "discharge", "stop": {"voltage_V": 3.8}}]},
            "oxygen": {"diffusivity_m2_s": 1e-18, "release_per_li": 0.05, **oxygen}}


def _run(raw, folder):
    from solver.case import validate_case
    from solver.pipeline import run_case

    run_case(validate_case(raw), folder, mesh_cache=None)
    summary = json.loads((folder / "summary.json").read_text())
    with open(folder / "timeseries.csv") as handle:
        li = list(csv.DictReader(handle))
    with open(folder / "o2_timeseries.csv") as handle:
        o2 = list(csv.DictReader(handle))
    # the two series step together: one row per accepted step (+ the start)
    assert [round(float(r["time_s"]), 6) for r in li] == [round(float(r["time_s"]), 6) for r in o2]
    return summary, li, o2


def test_release_only_at_or_above_the_onset_potential(tmp_path):
    # release_below_li_fraction = 0 would release nothing: the onset replaces the Li-fraction rule
    summary, li, o2 = _run(_raw(release_onset_V=ONSET_V, release_below_li_fraction=0.0, escape="none"),
                           tmp_path / "gated")
    released = [float(r["released_mol"]) for r in o2]
    voltage = [float(r["voltage_V"]) for r in li]
    for k in range(1, len(li)):
        gained = released[k] - released[k - 1]
        if voltage[k] < ONSET_V:
            assert gained == pytest.approx(0.0, abs=1e-30), (k, voltage[k])
    below = [k for k in range(1, len(li)) if voltage[k] < ONSET_V]
    above = [k for k in range(1, len(li)) if voltage[k] >= ONSET_V and float(li[k]["current_A"]) > 0]
    assert below and above
    assert all(released[k] > released[k - 1] for k in above)
    assert summary["o2"]["budget"]["released_mol"] > 0


def test_trapped_o2_reduced_only_while_discharging(tmp_path):
    raw = _raw(release_onset_V=ONSET_V, escape="none", trap_regions=["bulk"], trap_rate_1_s=0.01,
               reduction_rate_1_s=0.001, reduction_during="discharge")
    _, li, o2 = _run(raw, tmp_path / "reduce")
    reduced = [float(r["reduced_mol"]) for r in o2]
    step = [int(float(r["step"])) for r in li]          # 0 charge, 1 rest, 2 discharge
    for k in range(1, len(li)):
        if step[k] < 2:               # charge or rest (its current is 0 only to round-off): nothing reduced
            assert reduced[k] == reduced[k - 1], k
    discharging = [k for k in range(1, len(li)) if step[k] == 2]
    assert discharging and reduced[discharging[-1]] > reduced[discharging[0] - 1] > -1.0
    assert float(o2[-1]["trapped_mol"]) > 0


@pytest.mark.parametrize("key, value", [("release_onset_V", 4.4), ("reduction_during", "discharge")])
def test_potential_keys_need_kinetics(key, value):
    from solver.case import validate_case

    raw = _raw(**{key: value})
    del raw["kinetics"], raw["protocol"]
    with pytest.raises(CaseError, match=f"oxygen.{key}.*\\[kinetics\\]"):
        validate_case(raw)
    validate_case(copy.deepcopy(_raw(**{key: value})))     # with [kinetics]: accepted
