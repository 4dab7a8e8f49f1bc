"""Butler-Volmer kinetics on the field core (3D and axisymmetric): solver/fields/potential.py, solver/kinetic_run.py.

Verification on coarse meshes (seconds each): the fast-diffusion limit against the closed form, charge conservation
every step, 3D vs axisymmetric vs 1D on a dense sphere, a CC-CV/rest/CC protocol through the API with its outputs,
and bad input naming the key.
"""
import copy
import csv
import json
import math

import numpy as np
import pytest

from solver import kinetics
from solver.errors import CaseError

C_MAX = 49000.0
RADIUS_UM = 5.0


def _raw(formulation="3d", **changes):
    raw = {"name": "kinetic3d", "geometry": {"kind": "sphere", "radius_um": RADIUS_UM,
                                             "symmetry": "octant" if formulation == "3d" else "full"},
           "mesh": {"cell_size_fraction": 0.3, "surface_cell_size_fraction": 0.3},
           "material": {"c_max_mol_m3": C_MAX, "diffusivity_m2_s": 1e-14, "young_modulus_GPa": 150.0,
                        "poisson_ratio": 0.3, "partial_molar_volume_m3_mol": 1.39e-6, "ocp": "nmc811_chen2020"},
           "operation": {"li_fraction_start": 0.9, "li_fraction_end": 0.3, "c_rate": 2.0},
           "solver": {"formulation": formulation},
           "output": {"pictures": False, "progress": False},
           "kinetics": {"exchange_current_density_A_m2": 2.0},
           "protocol": {"steps_per_charge": 10, "voltage_tolerance_V": 1e-3, "steps": [
               {"kind": "cc", "c_rate": 2.0, "direction": "charge", "stop": {"voltage_V": 4.1}},
               {"kind": "rest", "stop": {"time_s": 300.0}},
               {"kind": "cc", "c_rate": 1.0, "direction": "discharge", "stop": {"voltage_V": 3.7}}]}}
    for path, value in changes.items():
        table = raw
        parts = path.split("__")
        for part in parts[:-1]:
            table = table[part]
        table[parts[-1]] = value
    return raw


def _problem(raw):
    """(case, problem) of a 3D case on its mesh (no mesh cache: coarse meshes take < 1 s)."""
    from mpi4py import MPI

    from solver.case import validate_case
    from solver.geometry import build_particle_mesh
    from solver.problem import ChemoMechanicalProblem

    case = validate_case(raw)
    particle = build_particle_mesh(case["geometry"], case["mesh"], MPI.COMM_WORLD, cache_dir=None)
    return case, ChemoMechanicalProblem(case, particle, MPI.COMM_WORLD)


def _run(raw):
    from solver.kinetic_run import run_protocol_on
    from solver.reduced.kinetic_case import scales_of

    case, problem = _problem(raw)
    scales = scales_of(case, problem.volume_m3, problem.wetted_area_m2)
    result, observer, stepper = run_protocol_on(problem, case, scales, lambda: {})
    return case, problem, result, scales, stepper


def test_fast_diffusion_limit_matches_the_closed_form_voltage():
    """Fast solid diffusion (R^2 / D = 0.25 s against a 15 min step): the particle stays uniform and
    V(t) = U(x_mean(t)) + (2RT/F) asinh(i / (2 i0(x_mean))), i = I / A, at every step."""
    raw = _raw(material__diffusivity_m2_s=1e-10)
    raw["protocol"]["steps"] = [{"kind": "cc", "c_rate": 2.0, "direction": "charge", "stop": {"time_s": 900.0}},
                                {"kind": "cc", "c_rate": 1.0, "direction": "discharge", "stop": {"time_s": 600.0}}]
    case, problem, result, scales, _ = _run(raw)
    potential = problem.fields["potential"]
    t, V = result.column("time_s"), result.column("voltage_V")
    x, current = result.column("mean_li_fraction"), result.column("current_A")
    moving = t > 0
    i0 = potential.reaction.exchange_current_density(x * C_MAX, 298.15)
    expected = kinetics.symmetric_voltage_V(potential.ocp(x), current / potential.area_m2, i0, 298.15)
    error = np.abs(V - expected)[moving]
    # measured max 6.5e-6 V (the surface-to-mean Li difference J R / (5 D) moves U by ~1e-6 V, the coupling
    # tolerance leaves a few uV); the overpotentials themselves reach 41 mV (charge) and -18 mV (discharge)
    assert error.max() < 2e-5, error.max()
    eta = (V - potential.ocp(x))[moving]
    assert eta.max() > 0.02 and eta.min() < -0.01


def test_charge_is_conserved_every_step_and_the_surface_integral_is_the_applied_current():
    """Slow diffusion (a steep surface gradient, the flux non-uniform over the surface): the assembled surface
    integral of i equals the applied current, and the charge passed equals F times the Li content change at every
    recorded state."""
    raw = _raw()
    raw["protocol"]["steps"] = raw["protocol"]["steps"][:2]
    case, problem, result, scales, stepper = _run(raw)
    potential = problem.fields["potential"]
    integral = problem.context.integrate(potential.current_density * problem.ds_wetted)
    charge, x = result.column("charge_C"), result.column("mean_li_fraction")
    li_change_C = (x[0] - x) * C_MAX * problem.volume_m3 * 96485.33212
    phases = result.column("phase")
    # the last state is a rest (zero current): its integral is round-off of the charge-step currents
    assert abs(integral) < 1e-9 * scales.one_c_current_A
    assert np.all(np.abs(result.column("current_A")[phases == "cc"] - 2.0 * scales.one_c_current_A)
                  <= 1e-9 * scales.one_c_current_A)
    # measured 2.2e-8 relative (coupling.tolerance 1e-5: the linearised flux of the last iterate differs from
    # J(c) by the last change of c times G; the rank-one V response keeps the total current in every iterate)
    assert np.max(np.abs(charge - li_change_C)) < 1e-6 * abs(charge).max()
    # a charge step that ends at a voltage: non-uniform current, larger where the surface is fuller of Li
    assert result.steps[0].stop == "voltage_V"
    assert abs(result.column("voltage_V")[np.flatnonzero(phases == "cc")[-1]] - 4.1) <= 1e-3


def test_surface_integral_during_a_charge_equals_the_applied_current():
    """After one galvanostatic step the assembled integral of i_h over the wetted surface is the applied current
    (the Newton on V balances exactly the integral the transport forms see)."""
    from solver.kinetic_run import FieldStepper

    case, problem = _problem(_raw())
    stepper = FieldStepper(problem, "bdf2")
    applied = 1e-10
    stepper.V = stepper.guess_voltage(applied)
    before = stepper.li_amount_mol()
    for k in range(3):
        stepper.step_controlled(60.0, 60.0 * (k + 1), current_A=applied)
        potential = problem.fields["potential"]
        integral = problem.context.integrate(potential.current_density * problem.ds_wetted)
        assert integral == pytest.approx(applied, rel=1e-9)
    # 180 s of 1e-10 A: the Li content fell by Q / F (BDF2 history of the charge and of the content alike)
    assert (before - stepper.li_amount_mol()) * 96485.33212 == pytest.approx(stepper.charge_C, rel=1e-6)
    assert stepper.charge_C == pytest.approx(180.0 * applied, rel=1e-12)


def _one_d(raw):
    from solver.case import validate_case
    from solver.reduced.kinetic_case import run, step_table

    result, scales = run(validate_case(raw))
    return step_table(result, scales)


def _axisymmetric(raw, tmp_path):
    from solver.case import validate_case
    from solver.pipeline import run_case

    return run_case(validate_case(raw), tmp_path / "axi", mesh_cache=None)["steps"]


def test_3d_axisymmetric_and_1d_agree_on_a_dense_sphere(tmp_path):
    """CC charge to 4.1 V, rest, CC discharge to 3.7 V: capacities and end voltages of the three formulations.
    Measured: axisymmetric vs 1D <= 4.5e-6 relative in capacity and <= 4.5e-6 V; 3D (octant, 0.3 R cells, P1) vs
    1D 0.68 % (charge) and 2.1 % (discharge) in capacity, <= 2.5 mV, the coarse 3D mesh's surface concentration
    lagging (1.5 um cells across a ~1 um diffusion layer); 0.15 R cells: 0.24 % and 0.62 %, <= 1.0 mV (converging).
    Tolerances: axisymmetric 5e-5 relative and 5e-5 V; 3D 3 % and 5 mV."""
    from solver.case import validate_case
    from solver.pipeline import run_case

    reference = _one_d(_raw("spherical_1d"))
    axisymmetric = _axisymmetric(_raw("axisymmetric"), tmp_path)
    three_d = run_case(validate_case(_raw()), tmp_path / "3d", mesh_cache=None)["steps"]
    for steps, relative, volts in ((axisymmetric, 5e-5, 5e-5), (three_d, 3e-2, 5e-3)):
        assert [s["stop"] for s in steps] == [s["stop"] for s in reference]
        for got, want in zip(steps, reference):
            if want["kind"] == "cc":
                assert got["capacity_mAh_g"] == pytest.approx(want["capacity_mAh_g"], rel=relative)
            assert got["end_voltage_V"] == pytest.approx(want["end_voltage_V"], abs=volts)


def test_cccv_protocol_through_the_api_writes_voltage_capacity_and_current_density(tmp_path):
    """CC-CV charge (current stop), rest, CC discharge to a cut-off: the outputs a researcher reads."""
    import meshio

    import solver

    raw = _raw()
    raw["protocol"]["steps"][0] = {"kind": "cccv", "c_rate": 2.0, "direction": "charge", "voltage_V": 4.1,
                                   "stop": {"current_c_rate": 0.5}}
    result = solver.run(solver.Case.from_dict(raw), out=tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "completed", summary["message"]
    steps = summary["steps"]
    assert [s["stop"] for s in steps] == ["current_A", "time_s", "voltage_V"]
    assert steps[0]["capacity_mAh_g"] > steps[2]["capacity_mAh_g"] > 10.0
    assert steps[0]["end_voltage_V"] == pytest.approx(4.1, abs=1e-9)        # the cv phase holds it
    for peak in summary["peak"].values():
        assert 3.5 < peak["voltage_V"] < 4.2
    with open(tmp_path / "out" / "timeseries.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {"voltage_V", "capacity_mAh_g", "current_A", "peak_von_mises_Pa"} <= set(rows[0])
    cv = [row for row in rows if row["phase"] == "cv"]
    assert cv and all(abs(float(row["voltage_V"]) - 4.1) < 1e-9 for row in cv)
    assert float(cv[-1]["c_rate"]) == pytest.approx(0.5, rel=2e-2)     # the current stop, located
    fields = meshio.read(tmp_path / "out" / "fields_000.vtu")
    current = fields.point_data["surface_current_density_A_m2"]
    assert current.max() > 0.0 and np.count_nonzero(current) < current.size    # on the surface only
    assert result.summary["final"]["voltage_V"] == pytest.approx(3.7, abs=1e-3)


@pytest.mark.parametrize("changes,message", [
    ({"kinetics__rate_constant_m2_5_mol0_5_s": -1e-11},
     r"kinetics\.rate_constant_m2_5_mol0_5_s = -1e-11: must be > 0"),
    ({"operation__wetted_surfaces": ["pore_surface"]},
     r"operation\.wetted_surfaces = \['pore_surface'\]: 'pore_surface' is not a surface of this geometry"),
])
def test_bad_input_names_the_key(changes, message):
    raw = _raw(**changes)
    if "kinetics__rate_constant_m2_5_mol0_5_s" in changes:
        del raw["kinetics"]["exchange_current_density_A_m2"]
    with pytest.raises(CaseError, match=message):
        _problem(raw)


def test_unreachable_cut_off_and_non_monotone_table_name_the_key():
    from solver.case import validate_case

    raw = _raw()
    raw["protocol"]["steps"][0]["stop"]["voltage_V"] = 3.5
    with pytest.raises(CaseError, match=r"protocol\.steps\[0\]\.stop\.voltage_V = 3\.5: unreachable cut-off"):
        validate_case(raw)
    raw = _raw()
    del raw["material"]["ocp"]
    raw["material"]["ocp_table_li_fraction_V"] = [[0.1, 4.3], [0.5, 3.8], [0.9, 3.9]]
    raw["material"]["molar_mass_g_mol"] = 97.28
    with pytest.raises(CaseError, match=r"material\.ocp_table_li_fraction_V = .*must fall strictly"):
        validate_case(copy.deepcopy(raw))


def test_a_table_ocp_runs_in_3d():
    """Any OCP curve of solver/ocp.py, tables included, goes through the nodal evaluation (no UFL twin)."""
    raw = _raw(material__diffusivity_m2_s=1e-10)
    del raw["material"]["ocp"]
    raw["material"]["ocp_table_li_fraction_V"] = [[0.0, 4.6], [0.5, 3.9], [1.0, 3.4]]
    raw["material"]["molar_mass_g_mol"] = 97.28
    raw["protocol"]["steps"] = [{"kind": "cc", "c_rate": 1.0, "direction": "charge", "stop": {"voltage_V": 3.9}}]
    case, problem, result, scales, _ = _run(raw)
    # from x = 0.9 (U = 3.5 V) to U + eta = 3.9 V: x_mean ends just above 0.5 (a few mV of overpotential)
    assert result.steps[0].stop == "voltage_V"
    assert 0.5 < result.column("mean_li_fraction")[-1] < 0.52
    assert math.isclose(result.column("voltage_V")[-1], 3.9, abs_tol=1e-3)


def test_hollow_sphere_wetted_inside_and_out_axisymmetric_matches_1d(tmp_path):
    """Two wetted surfaces (operation.wetted_surfaces = outer and inner surface of a hollow sphere): one potential,
    the current shared between them by the local kinetics. Measured: axisymmetric vs 1D capacities 7e-5 (charge)
    and 1.7e-4 (discharge) relative, end voltages within 5e-5 V (the 3D octant at 0.3 R cells: 1.6 % and 3.9 %)."""
    def hollow(formulation):
        raw = _raw(formulation)
        raw["geometry"] = {"kind": "hollow_sphere", "radius_um": RADIUS_UM, "void_radius_fraction": 0.5}
        raw["operation"]["wetted_surfaces"] = ["outer_surface", "inner_surface"]
        return raw

    reference = _one_d(hollow("spherical_1d"))
    steps = _axisymmetric(hollow("axisymmetric"), tmp_path)
    assert [s["stop"] for s in steps] == [s["stop"] for s in reference]
    for got, want in zip(steps, reference):
        if want["kind"] == "cc":
            assert got["capacity_mAh_g"] == pytest.approx(want["capacity_mAh_g"], rel=5e-4)
        assert got["end_voltage_V"] == pytest.approx(want["end_voltage_V"], abs=1e-4)
    # the wetted void makes the particle deliver more than the dense one at the same rate
    assert steps[0]["capacity_mAh_g"] > 1.05 * _one_d(_raw("spherical_1d"))[0]["capacity_mAh_g"]
    # the meridian field file after the charge step: current on both wetted surfaces, none inside
    import meshio

    fields = meshio.read(tmp_path / "axi" / "fields_000.vtu")
    radius = np.linalg.norm(fields.points[:, :2], axis=1) / (RADIUS_UM * 1e-6)
    current = fields.point_data["surface_current_density_A_m2"]
    assert np.all(current[np.abs(radius - 1.0) < 1e-6] > 0) and np.all(current[np.abs(radius - 0.5) < 1e-6] > 0)
    assert np.all(current[(radius > 0.51) & (radius < 0.99)] == 0.0)


@pytest.mark.slow      # ~50 s: two fresh processes (imports, JIT) of a CC-CV/rest/CC cycle
@pytest.mark.mpi
def test_two_ranks_match_serial(tmp_path):
    """The shipped 3D kinetic case, coarse, one cycle on 1 and 2 ranks (CLI). Measured on a like run (the test
    module's dense sphere): capacities within 1.3e-11 relative, end voltages within 3e-11 V, peak von Mises within
    2.2e-9 relative."""
    import os
    import subprocess
    import sys

    from conftest import CASES, REPO
    from solver.launcher import MPI_ENVIRONMENT, mpi_command, mpi_launcher

    if mpi_launcher() is None:
        pytest.skip("no MPI launcher installed")
    summaries = []
    for ranks in (1, 2):
        out = tmp_path / f"ranks{ranks}"
        command = [sys.executable, "-m", "solver", "run", str(CASES / "ncm811_kinetics_3d.toml"), "--out", str(out),
                   "--no-pictures", "--set", "mesh.cell_size_fraction=0.35", "--set",
                   "mesh.surface_cell_size_fraction=0.2", "--set", "solver.linear_rtol=1e-10", "--set",
                   "coupling.tolerance=1e-8", "--set", "output.fields=false", "--set", "protocol.steps_per_charge=6",
                   "--set", "protocol.voltage_tolerance_V=1e-3"]
        done = subprocess.run(mpi_command(ranks, command), cwd=REPO, capture_output=True, text=True, timeout=600,
                              env=dict(os.environ, **MPI_ENVIRONMENT))
        assert done.returncode == 0, done.stderr[-3000:]
        summaries.append(json.loads((out / "summary.json").read_text()))
    serial, parallel = summaries
    assert parallel["mpi_ranks"] == 2
    for one, two in zip(serial["steps"], parallel["steps"]):
        assert two["stop"] == one["stop"]
        assert two["capacity_mAh_g"] == pytest.approx(one["capacity_mAh_g"], rel=1e-7, abs=1e-9)
        assert two["end_voltage_V"] == pytest.approx(one["end_voltage_V"], abs=1e-7)
    assert parallel["peak"]["von_mises"]["value_Pa"] == pytest.approx(serial["peak"]["von_mises"]["value_Pa"], rel=1e-6)


def test_kinetics_with_a_li_deficient_shell_is_refused_naming_the_keys():
    raw = _raw()
    raw["material"]["regions"] = {"bulk": {"li_fraction_min": 0.1}}
    with pytest.raises(CaseError, match=r"\[kinetics\] with initial\.shell_li_fraction_surface or material\.regions"):
        _problem(raw)


def test_current_distributes_over_two_wetted_surfaces_by_their_local_state():
    """3D hollow octant wetted inside and out, 2C charge to 4.1 V: one potential, the current split by the local
    overpotential. The two surface integrals add up to the applied current; the inner surface (a quarter of the
    outer's area, 0.2 of the wetted area) carries 0.30 of it at the cut-off (measured 0.303): the outer surface's
    Li is spent first, its OCV is higher, so at the common V its overpotential is smaller."""
    raw = _raw()
    raw["geometry"] = {"kind": "hollow_sphere", "radius_um": RADIUS_UM, "void_radius_fraction": 0.5,
                       "symmetry": "octant"}
    raw["operation"]["wetted_surfaces"] = ["outer_surface", "inner_surface"]
    raw["protocol"]["steps"] = raw["protocol"]["steps"][:1]
    case, problem, result, scales, _ = _run(raw)
    potential, regions = problem.fields["potential"], problem.particle.facet_regions
    current = {name: problem.context.integrate(potential.current_density * problem.ds(regions[name]))
               for name in ("outer_surface", "inner_surface")}
    area = {name: problem.context.integrate(1.0 * problem.ds(regions[name])) for name in current}
    assert result.steps[0].stop == "voltage_V"
    assert sum(current.values()) == pytest.approx(2.0 * scales.one_c_current_A, rel=1e-9)
    inner_area_share = area["inner_surface"] / sum(area.values())
    assert inner_area_share == pytest.approx(0.2, rel=0.05)
    assert 0.27 < current["inner_surface"] / sum(current.values()) < 0.34


def test_a_collapsing_time_step_ends_the_run_as_failed_with_its_reason(tmp_path):
    """Guards a hang: at 10C on a 71-cell LNMO octant every step longer than ~1e-7 s left the Li content outside
    [0, c_max], so the protocol loop accepted ever shorter steps for ever. It now stops after 20 such steps and
    keeps what was computed."""
    import solver
    from pathlib import Path

    case_file = Path(__file__).resolve().parent.parent / "cases" / "lnmo_dense_kinetics.toml"
    case = solver.Case.from_toml(case_file, ["mesh.cell_size_fraction=0.5", "mesh.surface_cell_size_fraction=0.4",
                                             'protocol.steps=[{kind="cc", label="discharge", c_rate=10.0, '
                                             'direction="discharge", stop={voltage_V=3.8}}]'])
    result = solver.run(case, out=tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "failed" and "time step collapsed" in summary["message"], summary["message"]
    assert "voltage_V" in summary["message"] and (tmp_path / "out" / "timeseries.csv").is_file()
    assert result is not None
