"""Physical sanity checks (solver/sanity.py): a non-physical result is flagged in summary.json, fatal on request.

Guards the first version's silent results: an LRMO run that completed with Li concentrations of -2338 mol/m^3,
a 12-grain polycrystal whose 8.3 GPa peak sat on a cell of quality 0.001, state of charge above 1 in titles.
"""
import json

import numpy as np
import pytest

from solver.sanity import POOR_CELL_QUALITY, SanityError, SanityMonitor, mean_ratio_quality

C_MAX = 49000.0
REGULAR_TET = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)


def test_a_physical_run_has_no_findings():
    monitor = SanityMonitor(C_MAX, log=lambda text: None)
    for t, soc in ((0.0, 0.0), (10.0, 0.5), (20.0, 1.0)):
        monitor.check_state(t, 0.2 * C_MAX, 0.95 * C_MAX, soc)
    summary = monitor.summary()
    assert summary["ok"] and summary["findings"] == []
    assert summary["li_fraction_range"] == pytest.approx([0.2, 0.95])
    assert summary["state_of_charge_range"] == pytest.approx([0.0, 1.0])


def test_concentration_out_of_bounds_and_state_of_charge_out_of_its_window_are_flagged_once_each():
    messages = []
    monitor = SanityMonitor(C_MAX, log=messages.append)
    monitor.check_state(5.0, -2338.0, 0.9 * C_MAX, 0.5)
    monitor.check_state(6.0, -3000.0, 1.01 * C_MAX, 1.04)
    found = {f["what"]: f for f in monitor.summary()["findings"]}
    assert set(found) == {"li_below_zero", "li_above_c_max", "state_of_charge_outside_window"}
    assert found["li_below_zero"]["first_time_s"] == 5.0 and found["li_below_zero"]["steps"] == 2
    assert found["li_below_zero"]["worst"] == pytest.approx(-3000.0 / C_MAX)
    assert found["state_of_charge_outside_window"]["worst"] == pytest.approx(1.04)
    assert len(messages) == 3 and "-2338" in messages[0]


def test_round_off_is_not_a_finding():
    monitor = SanityMonitor(C_MAX, log=lambda text: None)
    monitor.check_state(1.0, -1e-9 * C_MAX, (1 + 1e-9) * C_MAX, 1 + 1e-9)
    assert monitor.summary()["ok"]


def test_fatal_stops_at_the_first_finding():
    monitor = SanityMonitor(C_MAX, fatal=True, log=lambda text: None)
    with pytest.raises(SanityError, match="below 0") as raised:
        monitor.check_state(1.0, -100.0, C_MAX, 0.5)
    assert raised.value.reason == "sanity"


def test_mean_ratio_quality_is_one_for_a_regular_and_zero_for_a_flat_tetrahedron():
    flat = REGULAR_TET.copy()
    flat[:, 2] = 0.0
    sliver = REGULAR_TET.copy()
    sliver[3] = (sliver[0] + sliver[1] + sliver[2]) / 3 + [0, 0, 1e-3]
    quality = mean_ratio_quality(np.stack([REGULAR_TET, flat, sliver]))
    assert quality[0] == pytest.approx(1.0) and quality[1] == pytest.approx(0.0, abs=1e-12)
    assert 0 < quality[2] < POOR_CELL_QUALITY


def test_a_peak_on_a_poor_cell_is_flagged_with_its_quality():
    monitor = SanityMonitor(C_MAX, log=lambda text: None)
    peaks = {"von_mises": {"value_Pa": 8.3e9, "position_m": [0.0, 0.0, 0.0], "time_s": 10.0},
             "hoop": {"value_Pa": 1e8, "position_m": [1.0, 0.0, 0.0], "time_s": 10.0}}
    monitor.check_peaks(peaks, lambda position: 0.001 if position[0] == 0.0 else 0.6)
    (finding,) = monitor.summary()["findings"]
    assert finding["what"] == "peak_von_mises_at_poor_cell" and finding["worst"] == 0.001
    assert peaks["von_mises"]["cell_quality"] == 0.001 and peaks["hoop"]["cell_quality"] == 0.6


OVERDRIVEN = ["--set", "operation.c_rate=60", "--set", "operation.stop_at_surface_limit=false", "--set", "time.steps=3",
              "--set", "mesh.cell_size_fraction=0.35", "--set", "mesh.surface_cell_size_fraction=0.2", "--no-pictures"]


def test_an_overdriven_run_is_flagged_in_its_summary_and_fatal_on_request(cli, tmp_path):
    from conftest import CASES

    case = CASES / "verification_sphere.toml"
    done = cli("run", case, "--out", tmp_path / "warn", *OVERDRIVEN)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "warn" / "summary.json").read_text())
    assert summary["status"] == "completed" and not summary["sanity"]["ok"]
    assert "li_below_zero" in {f["what"] for f in summary["sanity"]["findings"]}
    assert summary["sanity"]["li_fraction_range"][0] < 0
    assert "warning: Li concentration below 0" in done.stdout + done.stderr
    for peak in summary["peak"].values():
        assert 0 < peak["cell_quality"] <= 1

    done = cli("run", case, "--out", tmp_path / "fatal", *OVERDRIVEN, "--set", 'output.sanity="fatal"')
    assert done.returncode == 3
    summary = json.loads((tmp_path / "fatal" / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["solver_reason"] == "sanity"
    assert "below 0" in summary["message"] and not summary["sanity"]["ok"]
