"""The released-O2 field [oxygen] (solver/fields/oxygen.py, forms in solver/physics/oxygen.py): O2 release,
escape, trapping and reduction.

Guards: the O2 diffusion forms, the sink / Robin escape and its consistent boundary flux, the trap exchange
bookkeeping, the release tied to Li extraction, the mass balance released = retained + escaped + trapped
+ reduced at every step, and the field's step state (a rejected or restored step leaves no trace).
References: the closed forms in solver/analytic.py (Crank 1975, ch. 6 and 14).
"""
import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

from solver import analytic
from solver.case import read_case_file, validate_case
from solver.errors import CaseError
from solver.fields.oxygen import radial_profile
from solver.oxygen_section import partition_constant

from convergence import assert_rate

CASES = Path(__file__).resolve().parent.parent / "cases"
D_O2 = 1e-15          # m^2/s; the verification sphere has R = 5 um
R_M = 5e-6
TAU_END = 0.1


def _oxygen_field(cell_size: float, oxygen: dict):
    """The O2 field of a problem on the verification sphere, uniform O2 at t = 0."""
    from solver.geometry import build_particle_mesh
    from solver.problem import ChemoMechanicalProblem

    raw = read_case_file(CASES / "verification_sphere.toml")
    raw["mesh"] = {"cell_size_fraction": cell_size, "surface_cell_size_fraction": cell_size}
    raw["oxygen"] = {"diffusivity_m2_s": D_O2, "initial_mol_m3": 1.0, **oxygen}
    case = validate_case(raw)
    particle = build_particle_mesh(case["geometry"], case["mesh"], MPI.COMM_WORLD, cache_dir=None)
    return ChemoMechanicalProblem(case, particle).fields["oxygen"]


def _steps(field, dt: float, count: int):
    for _ in range(count):
        field.begin_step(dt, None, "bdf2")
        field.solve()
        field.accept()
    return field


def _oxygen_run(cell_size: float, steps: int, oxygen: dict, tau_end: float = TAU_END):
    """The O2 field alone in a static sphere (no Li change, so no release): the analytic setting."""
    return _steps(_oxygen_field(cell_size, oxygen), tau_end * R_M**2 / D_O2 / steps, steps)


def test_sink_surface_matches_the_analytic_release_fraction():
    run = _oxygen_run(0.15, 50, {"escape": "sink"})
    escaped = run.budget()["escaped_fraction"]
    exact = float(analytic.sphere_release_fraction_sink(TAU_END))
    print(f"escaped {escaped:.5f} exact {exact:.5f}")
    assert abs(escaped - exact) < 5e-3
    assert run.max_imbalance["relative"] < 1e-10


def test_robin_release_converges_in_space_at_second_order():
    """Biot 2 (smooth start), 200 steps so that the time error stays below the spatial one."""
    sizes = [0.3, 0.2, 0.13]
    exact = float(analytic.sphere_release_fraction_robin(TAU_END, 2.0))
    errors = [abs(_oxygen_run(h, 200, {"escape": "robin", "mass_transfer_m_s": 2.0 * D_O2 / R_M})
                  .budget()["escaped_fraction"] - exact) for h in sizes]
    # P1 in space: order 2 for the released fraction (an integral); measured 2.25 over meshes of 0.3-0.13 R
    assert_rate(sizes, errors, 2, 1.7, 2.6, "escaped fraction, Robin surface, h")
    assert errors[-1] < 2e-3


def test_backward_euler_converges_at_first_order_in_time():
    """Self-convergence on one mesh: successive differences halve with the step (order 1)."""
    fractions = [_oxygen_run(0.3, n, {"escape": "robin", "mass_transfer_m_s": 2.0 * D_O2 / R_M})
                 .budget()["escaped_fraction"] for n in (10, 20, 40, 80)]
    differences = np.abs(np.diff(fractions))
    # backward Euler: order 1; measured 0.99
    assert_rate([1.0, 0.5, 0.25], differences, 1, 0.8, 1.2, "escaped fraction, backward Euler, dt")


def test_first_order_trapping_budget_matches_the_closed_form():
    """Traps everywhere (k R^2 / D = 3), unlimited and irreversible, Robin surface (biot 2)."""
    damkohler, biot = 3.0, 2.0
    run = _oxygen_run(0.15, 100, {
        "escape": "robin", "mass_transfer_m_s": biot * D_O2 / R_M, "trap_regions": ["bulk"],
        "trap_rate_1_s": damkohler * D_O2 / R_M**2})
    exact = analytic.sphere_release_fractions_trapping(TAU_END, damkohler, biot=biot)
    budget = run.budget()
    print(budget, exact)
    assert abs(budget["escaped_fraction"] - float(exact.released)) < 3e-3
    assert abs(budget["trapped_fraction"] - float(exact.trapped)) < 3e-3
    assert abs(budget["retained_fraction"] - float(exact.retained)) < 3e-3
    assert budget["reduced_fraction"] == 0.0


def test_reduction_and_site_capacity_keep_the_books():
    """Langmuir blocking and reduction: trapped + reduced never exceed what was captured; sums close."""
    run = _oxygen_run(0.3, 30, {
        "escape": "none", "trap_regions": ["bulk"], "trap_rate_1_s": 20 * D_O2 / R_M**2,
        "trap_capacity_mol_m3": 0.3, "reduction_rate_1_s": 5 * D_O2 / R_M**2})
    budget = run.budget()
    assert budget["escaped_fraction"] == 0.0
    assert budget["trapped_fraction"] > 0 and budget["reduced_fraction"] > 0
    assert run.trapped.x.array.max() <= 0.3 * (1 + 1e-9) + 1e-12
    total = sum(budget[f"{k}_fraction"] for k in ("retained", "trapped", "reduced", "escaped"))
    assert total == pytest.approx(1.0, abs=1e-10)
    assert run.max_imbalance["relative"] < 1e-10


def test_a_rejected_or_restored_step_leaves_no_trace():
    """The field's step state: a step solved and then rejected (adaptive steps, the surface-limit cut-off)
    leaves c at the accepted state, and steps undone by restore(state) leave nothing in the books, the traps
    or the time series: the run goes on as if they had not been taken."""
    options = {"escape": "sink", "trap_regions": ["bulk"], "trap_rate_1_s": 20 * D_O2 / R_M**2,
               "trap_capacity_mol_m3": 0.3, "reduction_rate_1_s": 5 * D_O2 / R_M**2}
    dt = TAU_END * R_M**2 / D_O2 / 10
    reference = _steps(_oxygen_field(0.3, options), dt, 4)
    field = _steps(_oxygen_field(0.3, options), dt, 2)
    saved = field.state()
    _steps(field, 3 * dt, 2)
    field.restore(saved)
    accepted = field.c.x.array.copy()
    field.begin_step(5 * dt, dt, "bdf2")
    field.solve()
    assert not np.allclose(field.c.x.array, accepted)
    field.reject()
    assert np.array_equal(field.c.x.array, accepted)
    _steps(field, dt, 2)
    assert field.budget() == pytest.approx(reference.budget(), rel=1e-9, abs=1e-30)
    assert np.allclose(field.trapped.x.array, reference.trapped.x.array, rtol=1e-9, atol=0)
    assert [row["time_s"] for row in field.history] == [row["time_s"] for row in reference.history]
    assert field.max_imbalance["relative"] < 1e-10


def test_a_cut_off_run_keeps_the_o2_books_of_its_last_accepted_step(tmp_path):
    """The step that crosses c = 0 is solved (O2 too) and rejected: the O2 summary ends at the kept state."""
    from solver.case import load_case
    from solver.pipeline import run_case

    case = load_case(CASES / "verification_sphere.toml", [
        "mesh.cell_size_fraction=0.35", "mesh.surface_cell_size_fraction=0.35", "time.steps=10",
        "operation.c_rate=40", "output.fields=false", "output.pictures=false", "output.progress=false",
        f"oxygen.diffusivity_m2_s={D_O2}", "oxygen.initial_mol_m3=1.0", "oxygen.release_per_li=0.05",
        "oxygen.release_below_li_fraction=0.9"])
    summary = run_case(case, tmp_path / "run", mesh_cache=None, render=False)
    assert summary["status"] == "cutoff"
    o2, steps = summary["o2"], summary["time"]["steps"]
    assert o2["time_s"] == summary["time"]["t_reached_s"]
    assert o2["mass_balance"]["steps_checked"] == steps
    with open(tmp_path / "run" / "o2_timeseries.csv") as table:
        rows = list(csv.DictReader(table))
    assert len(rows) == steps + 1
    for key in ("released_mol", "mobile_mol", "escaped_mol"):   # amounts of ~1e-14 mol: relative only
        assert o2["budget"][key] == pytest.approx(float(rows[-1][key]), rel=1e-12, abs=0), key
    assert o2["budget"]["released_mol"] > 100 * float(rows[0]["released_mol"])     # Li extraction released O2
    assert o2["mass_balance"]["max_relative_imbalance"] < 1e-9


@pytest.fixture(scope="module")
def coupled_run(tmp_path_factory):
    """The Ru-1 O2 case on a small mesh with the Li solver driving the release (sink added to exercise it)."""
    from solver.case import load_case
    from solver.pipeline import run_case

    case = load_case(CASES / "lrmo_ru1_o2.toml", [
        "mesh.cell_size_fraction=0.3", "mesh.surface_cell_size_fraction=0.12", "geometry.shell_thickness_um=0.04",
        "time.steps=8", "output.snapshots=0", "output.progress=false", "output.pictures=false",
        "oxygen.escape=\"sink\"", "oxygen.trap_rate_1_s=0.05", "oxygen.trap_capacity_mol_m3=50.0"])
    out = tmp_path_factory.mktemp("o2") / "run"
    summary = run_case(case, out, mesh_cache=None, render=False)
    return summary, out


def test_mass_balance_holds_at_every_step_of_a_coupled_run(coupled_run):
    summary, out = coupled_run
    o2 = summary["o2"]
    assert summary["status"] == "completed"
    assert o2["mass_balance"]["steps_checked"] == 8
    assert o2["mass_balance"]["max_relative_imbalance"] < 1e-9
    rows = (out / "o2_timeseries.csv").read_text().splitlines()
    assert len(rows) == 1 + 9                                     # header + t = 0 + 8 steps
    imbalances = [float(r.split(",")[11]) for r in rows[1:]]
    assert max(imbalances) < 1e-9
    budget = o2["budget"]
    assert budget["released_mol"] > 0                                   # release follows Li extraction
    # amounts are the whole particle's: this octant model's mobile O2 is its mean concentration times the volume
    # of the whole particle (8x the modelled eighth)
    assert o2["particle_copies"] == 8 and summary["particle"]["modelled_fraction_of_particle"] == 0.125
    assert budget["mobile_mol"] == pytest.approx(o2["uniformity"]["mean_mol_m3"] * summary["particle"]["volume_m3"],
                                                 rel=1e-9)
    for name in ("escaped", "trapped", "reduced", "retained"):
        assert budget[f"{name}_fraction"] > 0
    assert sum(budget[f"{k}_fraction"] for k in ("retained", "trapped", "reduced", "escaped")) == \
        pytest.approx(1.0, abs=1e-9)


def test_summary_has_the_time_series_profile_and_uniformity(coupled_run):
    summary, out = coupled_run
    o2 = json.loads((out / "summary.json").read_text())["o2"]
    assert o2["timeseries_file"] == "o2_timeseries.csv"
    assert len(o2["retained_fraction_vs_time"]) == 9
    profile = o2["final_profile"]
    assert len(profile["r_over_R"]) == len(profile["mobile_mol_m3"]) == 20
    uniformity = o2["uniformity"]
    assert 0 <= uniformity["min_over_max"] <= 1 and uniformity["coefficient_of_variation"] >= 0


def test_bad_oxygen_input_names_the_key():
    raw = read_case_file(CASES / "verification_sphere.toml")
    for table, key in (({"diffusivity_m2_s": 1e-18, "escape": "robin"}, "oxygen.mass_transfer_m_s"),
                       ({"diffusivity_m2_s": 1e-18, "trap_rate_1_s": 1.0}, "oxygen.trap_regions"),
                       ({"diffusivity_m2_s": -1.0}, "oxygen.diffusivity_m2_s"),
                       ({"diffusivity_m2_s": 1e-18, "escape": "leak"}, "oxygen.escape"),
                       ({"diffusivity_m2_s": 1e-18, "trap_capacity_mol_m3": 0.0}, "oxygen.trap_capacity_mol_m3")):
        with pytest.raises(CaseError, match=key.replace(".", r"\.")):
            validate_case({**raw, "oxygen": table})


def test_partition_constant_from_the_adsorption_energies():
    """O2 on RuO2 (-1.497 eV) vs Li2MnO3 (-0.484 eV): irreversible capture (K ~ 1e17 at 298 K)."""
    k = partition_constant(-1.497, -0.484)
    assert 1e16 < k < 1e18
    assert partition_constant(-0.484, -0.484) == 1.0


def test_radial_profile_bins_by_radius():
    r = np.array([0.05, 0.15, 0.15, 0.95])
    out = radial_profile(r, np.array([1.0, 2.0, 4.0, 8.0]), np.array([1.0, 1.0, 3.0, 1.0]), 10)
    assert out["mean"][0] == 1.0 and out["mean"][1] == pytest.approx(3.5) and out["mean"][9] == 8.0
    assert out["mean"][5] is None and len(out["r_over_R"]) == 10 and math.isclose(out["r_over_R"][0], 0.05)
