"""The P-vs-GP table of full 3D runs (solver/studies/full_particle.py) from their summary.json."""
import json

import numpy as np
import pytest

from solver import section_statistics
from solver.studies import full_particle

THRESHOLDS = [250e6, 500e6, 745e6]


def zone_state(values, soc):
    """A step of grain_boundaries.zone_statistics as a 3D run writes it: samples at r/R 0.25 (core) and 0.75 (rim)."""
    r = np.array([0.25, 0.25, 0.75, 0.75])
    weights = np.ones(4)
    stats = {name: section_statistics.zone_statistics(np.asarray(values, float), weights, r, THRESHOLDS, 0.5)
             for name in ("max_principal", "hoop", "gb_normal_traction")}
    return json.loads(json.dumps(dict(stats, gb_side_mismatch_rms_Pa=1e6, state_of_charge=soc)))   # keys as in JSON


def write_run(folder, name, peak_values, end_values):
    folder.mkdir()
    summary = {"case_name": name, "status": "completed", "mpi_ranks": 2, "case": {"geometry": {"grain_count": 1000}},
               "mesh": {"cells": 10, "dofs": {"concentration": 4, "displacement": 12}, "description": {"pore_count": 7}},
               "time": {"steps": 6}, "timing_s": {"mesh": 1.0, "setup": 2.0, "total": 30.0},
               "grain_boundaries": {"peak_normal_traction": {"value_Pa": 9e8},
                                    "zone_statistics": {"peak": zone_state(peak_values, 0.5),
                                                        "end": zone_state(end_values, 1.0)}}}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_table_compares_the_zone_measures_of_two_runs(tmp_path, capsys):
    p = write_run(tmp_path / "p", "p_run", [600e6, 100e6, 800e6, 0.0], [0.0] * 4)
    gp = write_run(tmp_path / "gp", "gp_run", [300e6, 100e6, 800e6, 800e6], [0.0] * 4)
    assert full_particle.main([str(p), str(gp)]) == 0
    lines = {line.split(" | ")[0].lstrip("| "): line.strip("| \n").split(" | ")[1:]
             for line in capsys.readouterr().out.splitlines()[2:]}
    # core samples 600 and 100 MPa (P): half the core above 500 MPa, mean tension 350 MPa; GP 300 and 100 MPa
    assert lines["peak_s1_core_above_500MPa"] == ["0.5", "0", "-0.5"]
    assert lines["peak_s1_core_mean_tension_MPa"] == ["350", "200", "-150"]
    assert lines["peak_s1_rim_above_745MPa"] == ["0.5", "1", "0.5"]
    assert lines["cells"] == ["10", "10", "0"]


def test_a_folder_without_zone_statistics_is_refused(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"case_name": "x", "grain_boundaries": {}}))
    with pytest.raises(SystemExit) as stop:
        full_particle.main([str(tmp_path)])
    assert stop.value.code == 2
    with pytest.raises(SystemExit):
        full_particle.main([str(tmp_path / "absent")])
