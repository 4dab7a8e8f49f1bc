"""The section_2d formulation: plane strain / generalised plane strain of a particle's central section.

- the long-cylinder series (solver/analytic.py galvanostatic_cylinder) satisfies its own equations: mean Li,
  surface flux, traction-free surface, equilibrium, zero axial force;
- the FE stresses of a disc with the series' concentration converge to the series' stresses (plane strain and
  generalised plane strain), observed rate asserted from both sides;
- a galvanostatic charge of a disc from the CLI path (run_case): mean Li at the cylinder's C-rate flux (V/A = R/2),
  peaks against the series;
- the polycrystal section: named grains and facets, seeded, measured porosity; anisotropic grains free of
  axial force; refusals with the key named.
"""
import json
import math

import numpy as np
import pytest
from mpi4py import MPI
from scipy.integrate import trapezoid

from conftest import CASES
from convergence import assert_rate
from solver import analytic
from solver.case import load_case
from solver.errors import CaseError
from solver.pipeline import run_case

QUIET = ["output.pictures=false", "output.progress=false"]
DISC = ['solver.formulation="section_2d"', 'geometry.kind="sphere"', *QUIET]
MATERIAL = {"E": 150e9, "nu": 0.3, "omega": 3e-6}


def disc_case(*overrides):
    return load_case(CASES / "verification_sphere.toml", [*DISC, *overrides])


def series(case, r, t, flux, axial):
    m = case["material"]
    c0 = case["operation"]["li_fraction_start"] * m["c_max_mol_m3"]
    return analytic.galvanostatic_cylinder(r, t, case["geometry"]["radius_m"], m["diffusivity_m2_s"], flux, c0,
                                           m["stress_free_li_fraction"] * m["c_max_mol_m3"], m["young_modulus_Pa"],
                                           m["poisson_ratio"], m["partial_molar_volume_m3_mol"], axial)


def test_cylinder_series_satisfies_its_equations():
    radius, diffusivity, flux = 5e-6, 1e-14, -1e-5
    r = np.linspace(0.0, radius, 4001)
    for tau in (0.01, 0.1, 1.0):
        t = tau * radius**2 / diffusivity
        for axial in ("free", "zero"):
            s = analytic.galvanostatic_cylinder(r, t, radius, diffusivity, flux, 4e4, 4.5e4, 150e9, 0.3, 3e-6, axial)
            mean = trapezoid(s.c_mol_m3 * r, r) * 2 / radius**2
            assert mean == pytest.approx(4e4 + 2 * flux * t / radius, rel=1e-8)     # V/A = R/2
            slope = (s.c_mol_m3[-1] - s.c_mol_m3[-3]) / (r[-1] - r[-3])
            assert diffusivity * slope == pytest.approx(flux, rel=2e-3)
            scale = np.abs(s.sigma_t_Pa).max()
            assert abs(s.sigma_r_Pa[-1]) < 1e-9 * scale
            equilibrium = np.gradient(s.sigma_r_Pa, r)[1:-1] + (s.sigma_r_Pa - s.sigma_t_Pa)[1:-1] / r[1:-1]
            assert np.abs(equilibrium).max() * radius < 1e-4 * scale
            force = trapezoid(s.sigma_z_Pa * r, r)
            if axial == "free":
                assert abs(force) < 1e-6 * scale * radius**2     # trapezoid error ~6e-8 of it
            else:    # eps_zz = 0: sigma_z = nu (sigma_r + sigma_t) - E Omega (c - c_ref) / 3
                hooke = 0.3 * (s.sigma_r_Pa + s.sigma_t_Pa) - 150e9 * 3e-6 * (s.c_mol_m3 - 4.5e4) / 3
                assert np.allclose(s.sigma_z_Pa, hooke, rtol=1e-9, atol=1e-9 * scale)


def _disc_stress_error(fraction, axial, tau=0.05):
    """Max-norm error of the FE stress tensor at the cell nodes of a disc holding the series' concentration at
    tau, relative to the largest exact component; also the section's axial strain and the series' mean excess."""
    from solver.reduced.planar import PlanarModel
    from solver.reduced.section import SectionProblem
    from solver.reduced.section_mesh import build_section_mesh

    case = disc_case(f"mesh.cell_size_fraction={fraction}", f"mesh.surface_cell_size_fraction={fraction}",
                     f'solver.section_axial_strain="{axial}"', "material.stress_free_li_fraction=0.9",
                     "solver.linear_rtol=1e-10")
    particle = build_section_mesh(case["geometry"], case["mesh"])
    problem = SectionProblem(case, particle)
    radius, material = case["geometry"]["radius_m"], case["material"]
    t, flux = tau * radius**2 / material["diffusivity_m2_s"], -2.4e-5      # ~1C of NCM811 at R = 5 um
    problem.c.interpolate(lambda x: series(case, np.hypot(x[0], x[1]), t, flux, axial).c_mol_m3)
    problem.solve_mechanics()
    tensors, points = PlanarModel(case, particle, problem, radius, 0.0).stress_at_nodes()
    r = np.hypot(points[:, 0], points[:, 1])
    s = series(case, np.minimum(r, radius), t, flux, axial)
    n = points[:, :2] / np.maximum(r, 1e-30)[:, None]
    nn = n[:, :, None] * n[:, None, :]
    exact = np.zeros_like(tensors)
    exact[:, :2, :2] = s.sigma_r_Pa[:, None, None] * nn + s.sigma_t_Pa[:, None, None] * (np.eye(2) - nn)
    exact[:, 2, 2] = s.sigma_z_Pa
    mean_excess = problem.mean_concentration() - 0.9 * material["c_max_mol_m3"]
    return np.abs(tensors - exact).max() / np.abs(exact).max(), problem.axial_strain(), mean_excess, material


@pytest.mark.parametrize("axial", ["free", "zero"])
def test_disc_stresses_converge_to_the_long_cylinder_series(axial):
    """P2 displacement on curved quadratic triangles, c the P1 interpolant of the series at tau = 0.05 (a steep
    transient profile), eigenstrain 0.05 c_max above the stress-free state so that plane strain and generalised
    plane strain differ by ~1 GPa in sigma_zz. Measured max-norm errors 1.38e-2, 3.44e-3, 8.33e-4 (free) and
    1.10e-2, 2.72e-3, 6.59e-4 (zero) at h = 0.1, 0.05, 0.025 R: rate 2.02 / 2.03; band [1.8, 2.3] around 2."""
    fractions = [0.1, 0.05, 0.025]
    results = [_disc_stress_error(h, axial) for h in fractions]
    assert_rate(fractions, [error for error, *_ in results], 2.0, 1.8, 2.3, f"section stress ({axial})")
    _, axial_strain, mean_excess, material = results[-1]
    if axial == "free":
        # a free prism stretches axially by its mean eigenstrain, eps_zz = Omega <c - c_ref> / 3: int (sigma_xx +
        # sigma_yy) dA vanishes in a traction-free body, also discretely (v = (x, 0), (0, y) are test functions)
        assert axial_strain == pytest.approx(material["partial_molar_volume_m3_mol"] * mean_excess / 3, rel=1e-6)
    else:
        assert axial_strain == 0.0
