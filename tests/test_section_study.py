"""The section study's statistics (solver/section_statistics.py) on synthetic fields where the answer is known,
and the study command (solver/studies/section_study.py) in its quick mode on a tiny section."""
import json
import math

import numpy as np
import pytest

from solver import section_statistics as stats
from solver.studies import section_study


def square_mesh(n: int):
    """[-1, 1]^2 in n x n squares, each cut into 2 triangles: (node points (m, 3), cell nodes (cells, 3))."""
    x = np.linspace(-1.0, 1.0, n + 1)
    X, Y = np.meshgrid(x, x, indexing="ij")
    points = np.column_stack([X.ravel(), Y.ravel(), np.zeros(X.size)])
    node = lambda i, j: i * (n + 1) + j  # noqa: E731
    cells = []
    for i in range(n):
        for j in range(n):
            cells += [[node(i, j), node(i + 1, j), node(i + 1, j + 1)], [node(i, j), node(i + 1, j + 1), node(i, j + 1)]]
    return points, np.array(cells)


def test_area_fraction_and_mean_tension_of_a_known_field():
    points, cells = square_mesh(8)              # grid lines at x = 0.5: the cells split exactly there
    corners = points[cells]
    area = stats.triangle_areas(corners)
    assert area.sum() == pytest.approx(4.0)
    x = corners[:, :, 0].mean(axis=1)
    r = np.linalg.norm(corners.mean(axis=1)[:, :2], axis=1)
    assert stats.fraction_above(x, area, 0.5) == pytest.approx(0.25)
    assert stats.fraction_above(x, area, -0.5) == pytest.approx(0.75)
    # mean of max(x, 0) over the square: the x > 0 half has mean 0.5 -> 0.25; cell means of a linear field are exact
    assert stats.mean_tension(x, area) == pytest.approx(0.25)
    zones = stats.zone_statistics(x, area, r, [0.5], core_radius_fraction=2.0)   # everything core
    assert zones["core"]["fraction_above"][0.5] == pytest.approx(0.25)
    assert math.isnan(zones["rim"]["mean_tension_Pa"]) and math.isnan(zones["rim"]["fraction_above"][0.5])
    split = stats.zone_statistics(np.ones_like(x), area, r, [0.5], core_radius_fraction=0.5)
    core_area = area[r < 0.5].sum()
    assert 0 < core_area < area.sum()
    assert split["core"]["fraction_above"][0.5] == 1.0 and split["rim"]["mean_tension_Pa"] == pytest.approx(1.0)


def test_grain_boundary_traction_of_a_uniform_stress():
    points, cells = square_mesh(6)
    corners = points[cells]
    grain = (corners[:, :, 0].mean(axis=1) > 0).astype(int)     # two grains meeting along x = 0
    edges = stats.grain_boundary_edges(cells, grain)
    sigma = np.array([[300.0, 40.0, 0.0], [40.0, -100.0, 0.0], [0.0, 0.0, 50.0]])
    stress = np.broadcast_to(sigma, (len(cells), 3, 3, 3))
    traction, mismatch, length, middle = stats.grain_boundary_tractions(edges, stress, corners)
    assert len(edges) == 6 and length.sum() == pytest.approx(2.0)
    assert np.allclose(middle[:, 0], 0.0)
    assert np.allclose(traction, 300.0) and np.allclose(mismatch, 0.0)     # n = (1, 0): t_n = sigma_xx
    # a stress that differs across the boundary: t_n is the mean of the two sides
    stress = np.where(grain[:, None, None, None] == 1, 2 * sigma, sigma) * np.ones((1, 3, 1, 1))
    traction, mismatch, length, _ = stats.grain_boundary_tractions(edges, stress, corners)
    assert np.allclose(traction, 450.0) and np.allclose(np.abs(mismatch), 300.0)
    assert stats.rms(mismatch, length) == pytest.approx(300.0)
    # no boundary inside one grain
    assert len(stats.grain_boundary_edges(cells, np.zeros(len(cells), dtype=int))) == 0


def test_gp_minus_p_against_the_seed_spread():
    rows = [{"case": c, "m": v} for c, values in (("p_x", (1.0, 1.2, 0.8)), ("gp_x", (3.0, 3.2, 2.8)))
            for v in values]
    summary = section_study.seed_summary(rows, ("m",))
    assert summary[0]["m_mean"] == pytest.approx(1.0) and summary[0]["m_std"] == pytest.approx(0.2)
    (entry,) = section_study.gp_minus_p(summary, ("m",))
    assert entry["gp_minus_p"] == pytest.approx(2.0)
    assert entry["standard_error"] == pytest.approx(math.sqrt(2 * 0.04 / 3))
    assert entry["exceeds_spread"] is True
    rows += [{"case": "gp_x", "m": 10.0}, {"case": "gp_x", "m": -6.0}]     # a wide GP spread hides the difference
    (entry,) = section_study.gp_minus_p(section_study.seed_summary(rows, ("m",)), ("m",))
    assert entry["exceeds_spread"] is False


def test_gp_minus_p_paired_by_seed():
    rows = [{"case": c, "material": "x", "seed": s, "m": base + s + shift}
            for c, shift in (("p_x", 0.0), ("gp_x", -0.1)) for s, base in ((1, 0.0), (2, 5.0), (3, -4.0))]
    rows.append({"case": "gp_x", "material": "x", "seed": 4, "m": 99.0})         # no P partner: left out
    (entry,) = section_study.paired_differences(rows, ("m",))
    assert entry["n"] == 3 and entry["mean"] == pytest.approx(-0.1) and entry["std"] == pytest.approx(0.0, abs=1e-12)
    assert entry["exceeds_spread"] is True        # the unpaired seed spread (std ~4.5) would hide this
    rows[3]["m"] += 1.0                            # gp seed 1 now +0.9: paired std 0.58, |mean| 0.23 < 2 x 0.33
    (entry,) = section_study.paired_differences(rows, ("m",))
    assert entry["exceeds_spread"] is False


def test_grain_count_from_the_grain_size():
    assert section_study.grain_count(5.0, 0.5) == 400
    assert section_study.grain_count(5.0, 0.29) == 1189


def test_quick_study_on_a_tiny_section(tmp_path, capsys):
    out = tmp_path / "study"
    argv = ["--out", str(out), "--quick", "--seeds", "1", "--grain-size-um", "2.5", "--cases", "p_ncm83", "gp_ncm83"]
    assert section_study.main(argv) == 0
    runs = sorted((out / "runs").glob("*.json"))
    assert [p.name for p in runs] == ["gp_ncm83_seed1_g16.json", "p_ncm83_seed1_g16.json"]
    result = json.loads(runs[0].read_text())
    assert result["grains"] == 16 and result["status"] == "completed" and len(result["steps"]) == 3
    last = result["steps"][-1]
    assert 0.0 < last["gb_side_mismatch_rms_Pa"] < 1e10
    for name in ("max_principal", "hoop", "gb_normal_traction"):
        for zone in ("core", "rim"):
            fractions = list(last[name][zone]["fraction_above"].values())
            assert all(0.0 <= f <= 1.0 for f in fractions) and fractions == sorted(fractions, reverse=True)
    table = (out / "table.md").read_text()
    assert "| ncm83 | peak_s1_core_mean_tension_MPa |" in table and "p_ncm83 (n=1)" in table
    # rerunning keeps finished runs
    stamp = runs[0].stat().st_mtime_ns
    assert section_study.main(argv) == 0
    assert runs[0].stat().st_mtime_ns == stamp
    with pytest.raises(SystemExit) as exit_info:
        section_study.main(["--out", str(out), "--seeds", "0"])
    assert exit_info.value.code == 2 and "--seeds = 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:          # a bad override: the case error, no traceback
        section_study.main(["--out", str(out), "--quick", "--set", "time.steps=0"])
    assert exit_info.value.code == 2 and "time.steps" in capsys.readouterr().err
