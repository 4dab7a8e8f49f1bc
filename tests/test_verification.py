"""The 3D solver against independent references on a dense sphere (octant model, symmetry planes).

Guards: the transport and elasticity forms, the galvanostatic flux, the stress evaluation, and the
stress-assisted coupling. Errors are relative to the reference at the same flux and parameters.
"""
from pathlib import Path

import pytest

from solver.case import load_case
from solver.verification import verify_galvanostatic_sphere, verify_stress_assisted_sphere

from convergence import assert_rate

CASE = Path(__file__).resolve().parent.parent / "cases" / "verification_sphere.toml"
# (max cell size / R, surface cell size / R, steps to tau = 0.2): h and dt refined together
LEVELS = [(0.2, 0.1, 12), (0.14, 0.07, 20), (0.1, 0.05, 40)]


def level_overrides(cell, surface, steps):
    return [f"mesh.cell_size_fraction={cell}", f"mesh.surface_cell_size_fraction={surface}", f"time.steps={steps}"]


@pytest.fixture(scope="module")
def galvanostatic_runs():
    return [verify_galvanostatic_sphere(load_case(CASE, level_overrides(*level))) for level in LEVELS]


def test_series_solution_agreement_within_one_percent_on_the_refined_mesh(galvanostatic_runs):
    finest = galvanostatic_runs[-1]
    for sample in finest["samples"]:
        print(sample)
        assert sample["surface_hoop_relative_error"] < 0.01
        assert sample["centre_radial_relative_error"] < 0.01


def test_surface_hoop_stress_converges_under_refinement(galvanostatic_runs):
    sizes = [level[0] for level in LEVELS]
    # P1 concentration, P2 displacement, BDF2, h and dt refined together: order 2. Measured 2.70 at tau = 0.05
    # (pre-asymptotic: the steep early surface gradient is resolved better on each level) and 1.90 at tau = 0.2;
    # above 3 would mean an error that is not the discretisation's (e.g. a reference that moves with the mesh)
    bands = {0.05: (1.5, 3.0), 0.2: (1.5, 2.4)}
    for k, tau in enumerate((0.05, 0.2)):
        errors = [run["samples"][k]["surface_hoop_relative_error"] for run in galvanostatic_runs]
        assert errors[-1] < errors[0]
        assert_rate(sizes, errors, 2, *bands[tau], f"surface hoop error at tau = {tau}")


def test_other_parameters_agree_too():
    """Radius, D, C-rate, E, nu, Omega and the window all changed: the agreement is not tuned to one set."""
    overrides = level_overrides(*LEVELS[-1]) + [
        "geometry.radius_um=1.7", "material.diffusivity_m2_s=3e-15", "operation.c_rate=2.5",
        "material.young_modulus_GPa=95", "material.poisson_ratio=0.22",
        "material.partial_molar_volume_m3_mol=3.1e-6", "operation.li_fraction_start=0.8",
        "operation.li_fraction_end=0.4"]
    run = verify_galvanostatic_sphere(load_case(CASE, overrides))
    for sample in run["samples"]:
        assert sample["surface_hoop_relative_error"] < 0.01
        assert sample["centre_radial_relative_error"] < 0.01


def test_stress_assisted_diffusion_matches_the_isotropic_reduction():
    """3D with N = -D (grad c - Omega c / RT grad sigma_h) vs 1D D (1 + theta c), theta c ~ 2 here."""
    case = load_case(CASE, level_overrides(*LEVELS[1]) + ["coupling.stress_assisted_diffusion=true"])
    run = verify_stress_assisted_sphere(case)
    uncoupled = verify_galvanostatic_sphere(load_case(CASE, level_overrides(*LEVELS[1])))
    for sample, one_way in zip(run["samples"], uncoupled["samples"]):
        print(sample)
        assert sample["surface_hoop_relative_error"] < 0.01
        assert sample["surface_concentration_relative_error"] < 0.01
        assert sample["centre_radial_relative_error"] < 0.03
        # the coupling is not negligible here: the references differ by far more than the tolerance
        assert sample["surface_hoop_reference_Pa"] < 0.6 * one_way["surface_hoop_Pa"]
