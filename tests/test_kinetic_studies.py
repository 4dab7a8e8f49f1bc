"""Smoke tests of the studies with 3D kinetics (solver/studies/rate_capability_3d.py, lrmo_kinetics.py): each
command runs end to end in its --quick form and its table says what the study reports."""
import json

import pytest


@pytest.mark.slow
def test_rate_capability_3d_quick(tmp_path):
    from solver.studies import rate_capability_3d

    assert rate_capability_3d.main(["--out", str(tmp_path / "study"), "--quick"]) == 0
    results = json.loads((tmp_path / "study" / "table.json").read_text())["002"]
    retention, one_d = results["retention"], results["retention_1d"]
    assert set(retention) == {"dense", "hollow 0.5R wetted"}
    # a wetted void halves the diffusion path: the hollow sphere keeps more of its capacity at 10C
    assert retention["hollow 0.5R wetted"] > retention["dense"] + 0.2
    # the coarse 3D meshes stay within 3 points of the 1D answer
    for name, value in retention.items():
        assert value == pytest.approx(one_d[f"{name} (1D)"], abs=0.03)


@pytest.mark.slow
def test_lrmo_kinetics_quick(tmp_path):
    from solver.studies import lrmo_kinetics

    assert lrmo_kinetics.main(["--out", str(tmp_path / "study"), "--quick"]) == 0
    results = json.loads((tmp_path / "study" / "table.json").read_text())
    for name, onset in lrmo_kinetics.MEASURED_ONSET_V.items():
        r = results[name]
        assert r["release_starts_at_V"] >= onset - 1e-9
        assert r["reduced_before_discharge_mol"] == 0.0
    assert list(results["Ru-1"]["ends"].values())[-1]["escaped_mol"] > 0    # Ru-1 still releases some O2
