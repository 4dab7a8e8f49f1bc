"""Butler-Volmer kinetics on the 2D central section (solver.formulation = "section_2d").

The section is a prism of unit thickness charged through its rim: the applied current is per metre of thickness, and
the potential field (solver/fields/potential.py) balances it against the integral of i over the wetted perimeter
(the PlaneStrain measures). A dense isotropic disc under a constant current is the long cylinder of
solver/analytic.py galvanostatic_cylinder: by symmetry the current density is uniform, i = I / (2 pi R), so the Li
field is the series' with the flux J = -i / F, and the voltage is the open-circuit potential of the surface Li
fraction plus the Butler-Volmer overpotential of that current density, (2RT/F) asinh(i / (2 i0)) for
alpha_a = alpha_c = 1/2.
"""
import math

import numpy as np
import pytest

from convergence import assert_rate
from solver import analytic, kinetics

RADIUS_M, DIFFUSIVITY_M2_S, C_MAX, X_START = 5e-6, 1e-14, 49000.0, 0.9
FLUX_MOL_M2_S = -2.4e-5               # out of the disc: a charge at about 1C of NCM811
TEMPERATURE_K = 298.15


def _disc_raw(fraction: float) -> dict:
    return {
        "name": "kinetic disc", "geometry": {"kind": "sphere", "radius_um": RADIUS_M * 1e6},
        "mesh": {"cell_size_fraction": fraction, "surface_cell_size_fraction": fraction, "geometry_order": 2},
        "material": {"c_max_mol_m3": C_MAX, "diffusivity_m2_s": DIFFUSIVITY_M2_S, "young_modulus_GPa": 150.0,
                     "poisson_ratio": 0.3, "partial_molar_volume_m3_mol": 1.39e-6, "ocp": "nmc811_chen2020"},
        "operation": {"li_fraction_start": X_START, "li_fraction_end": 0.3, "c_rate": 1.0},
        "solver": {"formulation": "section_2d", "linear_rtol": 1e-12},
        "coupling": {"tolerance": 1e-10},
        "output": {"pictures": False, "progress": False},
        "kinetics": {"exchange_current_density_A_m2": 2.0}}


def _disc_case(fraction: float) -> dict:
    from solver.case import validate_case

    return validate_case(_disc_raw(fraction))


def _charge_disc(fraction: float, tau: float = 0.05, steps: int = 20) -> dict:
    """A disc charged at the constant current of FLUX_MOL_M2_S up to D t / R^2 = tau (BDF2 steps): the Li field's
    max-norm error at the nodes against the series (relative to the drop c_start - c_surface) and the voltage."""
    from solver import compat
    from solver.kinetic_run import FieldStepper
    from solver.reduced.section import SectionProblem
    from solver.reduced.section_mesh import build_section_mesh
    from solver.units import FARADAY_C_mol

    case = _disc_case(fraction)
    problem = SectionProblem(case, build_section_mesh(case["geometry"], case["mesh"]))
    stepper = FieldStepper(problem, "bdf2")
    current_A = -FLUX_MOL_M2_S * FARADAY_C_mol * 2 * math.pi * RADIUS_M      # per metre of thickness
    t_end = tau * RADIUS_M**2 / DIFFUSIVITY_M2_S
    stepper.V = stepper.guess_voltage(current_A)
    for k in range(steps):
        stepper.step_controlled(t_end / steps, t_end * (k + 1) / steps, current_A=current_A)
    points = compat.dof_coordinates(problem.V_c)
    radii = np.minimum(np.hypot(points[:, 0], points[:, 1]), RADIUS_M)

    def series(r):
        return analytic.galvanostatic_cylinder(r, t_end, RADIUS_M, DIFFUSIVITY_M2_S, FLUX_MOL_M2_S, X_START * C_MAX,
                                               X_START * C_MAX, 150e9, 0.3, 1.39e-6).c_mol_m3

    exact = series(radii)
    c_surface = float(series(np.array([RADIUS_M]))[0])
    potential = problem.fields["potential"]
    i_A_m2 = current_A / (2 * math.pi * RADIUS_M)

    def voltage(li_fraction):
        i0 = potential.reaction.exchange_current_density(li_fraction * C_MAX, TEMPERATURE_K)
        return float(kinetics.symmetric_voltage_V(potential.ocp(li_fraction), i_A_m2, i0, TEMPERATURE_K))

    surface = potential.surface_values(problem.c.x.array)
    return {"error": np.abs(problem.c.x.array[:len(radii)] - exact).max() / (X_START * C_MAX - c_surface),
            "voltage_error_V": potential.V - voltage(c_surface / C_MAX),
            "voltage_vs_own_surface_V": potential.V - voltage(surface["mean_li_fraction"]),
            "surface_spread": surface["max_li_fraction"] - surface["min_li_fraction"],
            "perimeter_m": potential.area_m2, "current_A": potential.current_A, "applied_A": current_A}


def test_a_disc_under_constant_current_follows_the_cylinder_series_and_the_butler_volmer_voltage():
    """h = 0.2, 0.1, 0.05 R (curved quadratic triangles, P1 Li), 20 BDF2 steps to tau = 0.05 (a steep transient
    profile). Measured Li max-norm errors 2.75e-2, 7.95e-3, 2.11e-3 (rate 1.85; 80 steps instead of 20 change the
    finest by 5 %, so the time error is below the spatial one), band [1.7, 2.2] around 2; voltage errors
    -3.1e-4, -8.3e-5, -2.4e-5 V (the surface Li error through dU/dx; rate 1.85, same band). Against the Li fraction
    of its own surface nodes the FE voltage is the closed form to 3.6e-8 V (Newton and coupling tolerances)."""
    fractions = [0.2, 0.1, 0.05]
    runs = [_charge_disc(h) for h in fractions]
    assert_rate(fractions, [run["error"] for run in runs], 2.0, 1.7, 2.2, "section kinetic Li field")
    assert_rate(fractions, [run["voltage_error_V"] for run in runs], 2.0, 1.7, 2.2, "section kinetic voltage")
    for run in runs:
        assert abs(run["voltage_vs_own_surface_V"]) < 1e-6
        assert run["surface_spread"] < 5e-4                 # uniform by symmetry, to the mesh's irregularity
        assert run["perimeter_m"] == pytest.approx(2 * math.pi * RADIUS_M, rel=1e-5)   # per metre of thickness
        assert run["current_A"] == pytest.approx(run["applied_A"], rel=1e-9)


def test_a_section_kinetic_case_runs_from_run_case_per_unit_thickness(tmp_path):
    """The CLI path (solver.pipeline.run_case -> solver/reduced/runner.py -> solver/kinetic_run.py): a 2C charge
    to 4.1 V and a rest on the disc. Charge passed = F x Li content change (per metre of thickness), a cc step's
    capacity = C-rate x duration x the 1C current in mA/g (a ratio, unchanged by the thickness), and the summary says
    that its extensive numbers are per unit thickness."""
    from mpi4py import MPI

    from solver.case import validate_case
    from solver.pipeline import run_case

    raw = _disc_raw(0.2)
    raw["protocol"] = {"steps_per_charge": 10, "voltage_tolerance_V": 1e-4, "steps": [
        {"kind": "cc", "c_rate": 2.0, "direction": "charge", "stop": {"voltage_V": 4.1}},
        {"kind": "rest", "stop": {"time_s": 300.0}}]}
    case = validate_case(raw)
    summary = run_case(case, tmp_path / "run", MPI.COMM_SELF, render=False)
    assert summary["status"] == "completed" and summary["formulation"] == "section_2d"
    balance = summary["charge_balance"]
    assert balance["charge_passed_C"] == pytest.approx(balance["li_content_change_C"], rel=1e-6)
    charge = summary["steps"][0]
    assert charge["stop"] == "voltage_V" and charge["end_voltage_V"] == pytest.approx(4.1, abs=1e-4)
    one_c_mA_g = summary["particle"]["one_c_current_mA_g"]
    assert charge["capacity_mAh_g"] == pytest.approx(2.0 * one_c_mA_g * charge["duration_s"] / 3600, rel=1e-9)
    assert summary["particle"]["volume_m3"] == pytest.approx(math.pi * RADIUS_M**2, rel=1e-4)   # an area, m^2
    assert "per metre of thickness" in summary["section"]["per_unit_thickness"]
