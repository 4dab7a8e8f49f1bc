"""solver.studies.subvolume_study: rows from run summaries, GP paired with P within a cube position, the command."""
from __future__ import annotations

import pytest

from solver.studies import subvolume_study as study


def _summary(s1_mean_Pa: float, porosity_volume_m3: float) -> dict:
    window = {"max_principal_mean_Pa": s1_mean_Pa, "max_principal_p90_Pa": 2 * s1_mean_Pa,
              "max_principal_p99_Pa": 3 * s1_mean_Pa, "hydrostatic_mean_Pa": -1e8,
              "particle_scale_hydrostatic_at_centre_Pa": -5e7, "gb_area_fraction_above_250MPa": 0.4,
              "gb_area_fraction_above_745MPa": 0.2, "state_of_charge": 0.5}
    return {"status": "completed", "mesh": {"cells": 1000, "description": {
                "edge_um": 2.0, "grain_count": 122, "pore_count": 40, "porosity_profile_mean_in_cube": 0.1}},
            "particle": {"modelled_volume_m3": porosity_volume_m3}, "timing_s": {"total": 20.0},
            "grain_boundaries": {"interior": {"at_peak_mean_max_principal": window, "final": window}}}


def test_rows_pair_gp_with_p_within_each_cube_and_seed():
    rows = [study.run_row(pores, position, seed, _summary(s1 * 1e6, 7.2e-18), 30.0)
            for position, offset in (("core", 0.0), ("rim", 500.0))
            for seed, s1 in ((1, 1000.0), (2, 1100.0), (3, 1050.0))
            for pores, s1 in (("p", s1 + offset), ("gp", s1 + offset - 100.0 * seed))]
    assert rows[0]["case"] == "p_core" and rows[0]["material"] == "core"
    assert rows[0]["porosity"] == pytest.approx(0.1)
    assert rows[0]["peak_s1_mean_MPa"] == pytest.approx(1000.0)
    text = study.report(rows)
    # paired by seed: GP - P = -100, -200, -300 in both cubes (mean -200, std 100: |mean| > 2 std / sqrt(3))
    assert "| core | peak_s1_mean_MPa | 3 | -200 | 100 | yes |" in text
    assert "| rim | peak_s1_mean_MPa | 3 | -200 | 100 | yes |" in text
    assert "p_rim (n=3)" in text and "gp_core (n=3)" in text


def test_run_overrides_place_the_cube_and_choose_the_profile():
    overrides = study.run_overrides("gp", "rim", 4)
    assert 'geometry.porosity="gp_ncm83"' in overrides
    assert "geometry.centre_radius_fraction=0.75" in overrides and "geometry.seed=4" in overrides
    ni96 = study.run_overrides("p", "core", 2, material="ni96")
    assert 'geometry.porosity="p_ni96"' in ni96 and 'material.parameter_set="ni96"' in ni96
    assert study.run_label("p", "core", 2, "ni96") == "p_ni96_core_seed2"
    assert study.run_row("gp", "core", 2, _summary(1e9, 7.2e-18), 1.0, "ni96")["case"] == "gp_ni96_core"


def test_material_overrides_make_valid_cases():
    """Every material's overrides validate on the sub-volume case (the Ni96 parameter set and its window)."""
    import solver

    end_of_charge = {"ncm83": 0.20, "ni96": 0.11}      # x at 4.3 V of cases/p_ncm83.toml and cases/p_ni96.toml
    for material in study.MATERIALS:
        case = solver.Case.from_toml(study.CASE, study.run_overrides("gp", "rim", 1, material=material))
        assert case["material"]["parameter_set"] == material
        assert case["operation"]["li_fraction_end"] == pytest.approx(end_of_charge[material])


@pytest.mark.slow
def test_quick_study_runs_from_the_command_line(tmp_path):
    """Four 1 um cubes (core/rim x P/GP, one seed), 2 steps each: ~45 s on 2 shared cores."""
    assert study.main(["--out", str(tmp_path / "study"), "--quick", "--seeds", "1"]) == 0
    text = (tmp_path / "study" / "table.md").read_text()
    assert "gp_rim (n=1)" in text and "p_core (n=1)" in text
