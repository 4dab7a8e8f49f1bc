"""Phase-field damage ([damage], solver/fields/damage.py) on the 2D central section (solver.formulation =
"section_2d").

The homogeneous bar of tests/test_damage.py in 2D: the rectangle [0, 1] x [0, 0.5] um of triangles, both ends held
(u_x = 0), y = 0 a symmetry line, the top free, loaded by a uniform Li eigenstrain eps* = -s I (Li removed, s > 0).
What the third direction does decides the stress state (derived in the test), so both section modes are checked:

- generalised plane strain (solver.section_axial_strain = "free": eps_zz takes the value of zero axial force): the
  homogeneous state has sigma_zz = 0, eps_zz = -s and sigma_yy = 0, so it is uniaxial stress, sigma_xx = E s, the
  energy is sigma_xx^2 / (2 E) and the peak is the 3D closed form, AT1 sqrt(3 E Gc / (8 l)), AT2
  sqrt(27 E Gc / (256 l)).
- plane strain ("zero": eps_zz = 0): x and z are both held, y is free. sigma_yy = 0 gives
  eps_yy^e = -2 lambda s / (lambda + 2 mu), so sigma_xx = sigma_zz = 2 mu (3 lambda + 2 mu) s / (lambda + 2 mu)
  = E s / (1 - nu): an equibiaxial state with the biaxial modulus E / (1 - nu), NOT the plane-strain modulus
  E / (1 - nu^2). That one belongs to a mechanical stretch eps_xx with no strain imposed along z (sigma_zz =
  nu sigma_xx); the Li eigenstrain also acts along z, which eps_zz = 0 holds, hence the second tensile direction.
  Both tensile (tr e > 0), so all of the energy drives the crack: psi = sigma_xx s = (1 - nu) sigma_xx^2 / E and the
  strength is the closed form with E replaced by E / (2 (1 - nu)): AT1 sqrt(3 E Gc / (16 (1 - nu) l)).
"""
import numpy as np
import pytest
import ufl
from mpi4py import MPI
import dolfinx.fem

from solver.damage_section import strength_Pa
from test_anisotropic import box_particle
from test_damage import E_PA, GC, LENGTH_UM, NU, bar_case, load_path

BAR_2D_M = (1e-6, 0.5e-6)


def bar_2d(damage: dict, axial: str):
    """The held rectangle (see the module docstring) as a SectionProblem of the given axial mode."""
    from solver.reduced.section import SectionProblem

    lx, ly = BAR_2D_M
    tol = 1e-12
    facets = {"symmetry_x": lambda p: np.isclose(p[0], 0, atol=tol) | np.isclose(p[0], lx, atol=tol),
              "symmetry_y": lambda p: np.isclose(p[1], 0, atol=tol),
              "outer_surface": lambda p: np.isclose(p[1], ly, atol=tol)}
    particle = box_particle(BAR_2D_M, (4, 2), lambda p: 0, [np.eye(3)], facets)
    case = bar_case(damage, {"formulation": "section_2d", "section_axial_strain": axial})
    return SectionProblem(case, particle)


def closed_form(model: str, axial: str) -> tuple[float, float]:
    """(strength sigma_xx at the peak, slope d sigma_xx / d s of the elastic stage) of the module docstring."""
    if axial == "free":
        return strength_Pa(model, E_PA, GC, LENGTH_UM * 1e-6), E_PA
    return strength_Pa(model, E_PA / (2 * (1 - NU)), GC, LENGTH_UM * 1e-6), E_PA / (1 - NU)


def mean_stress(problem, i: int) -> float:
    component = dolfinx.fem.form(problem.stress()[i, i] * problem.dx)
    return problem.comm.allreduce(dolfinx.fem.assemble_scalar(component), op=MPI.SUM) / problem.volume_m3


@pytest.mark.parametrize("axial", ["free", "zero"])
@pytest.mark.parametrize("model", ["AT1", "AT2"])
def test_the_homogeneous_plane_strain_bar_peaks_at_the_model_strength(model, axial):
    """The peak of sigma_xx over the load path within 1 % of the closed form (measured below 0.5 %). AT1: elastic
    with slope E (free) or E / (1 - nu) (zero) up to the strength, so its corner is sampled by steps of 0.5 % of the
    elastic strain there; AT2 is smooth (40 steps to twice its peak strain). sigma_zz: 0 (free) or sigma_xx (zero)."""
    strength, slope = closed_form(model, axial)
    s_elastic = strength / slope
    # AT2 peaks at 16/9 of s_elastic (where d = 1/4 and sigma = 9/16 of the undamaged stress)
    fractions = np.concatenate([[0.4, 0.8], np.linspace(0.8013, 1.3, 100)]) if model == "AT1" else \
        np.linspace(0.013, 2, 40) * 16 / 9
    problem = bar_2d({"model": model}, axial)
    path = load_path(problem, s_elastic * fractions[:1])
    # the first state (40 % of the strength, AT1 elastic; AT2 barely damaged): the derived stress state; 1e-5: the
    # intact stiffness is g(0) = 1 + k, k = damage.residual_stiffness = 1e-6
    if model == "AT1":
        assert path[0][1] == pytest.approx(slope * path[0][0], rel=1e-5)
        assert mean_stress(problem, 2) == pytest.approx(0.0 if axial == "free" else path[0][1],
                                                        abs=1e-5 * path[0][1])
    path += load_path(problem, s_elastic * fractions[1:])
    peak = max(stress for _, stress, _ in path)
    assert peak == pytest.approx(strength, rel=0.01)
    assert peak <= strength * (1 + 1e-6)            # sampled: never above the closed form
    assert path[-1][1] < 0.8 * strength             # and past the peak it softens
    damages = [d for _, _, d in path]
    assert all(np.all(b >= a - 1e-12) for a, b in zip(damages, damages[1:]))


def section_damage(cells=(16, 8)):
    """The damage field of a free 2D section [0, 2] x [0, 1] um (no mirrors) with a grain boundary at x = 1 um."""
    from solver.reduced.section import SectionProblem

    tol = 1e-12
    facets = {"outer_surface": lambda p: np.isclose(p[0], 0, atol=tol) | np.isclose(p[0], 2e-6, atol=tol)
              | np.isclose(p[1], 0, atol=tol) | np.isclose(p[1], 1e-6, atol=tol)}
    particle = box_particle((2e-6, 1e-6), cells, lambda p: int(p[0] > 1e-6), [np.eye(3), np.eye(3)], facets,
                            [lambda p: np.isclose(p[0], 1e-6, atol=tol)])
    case = bar_case({}, {"formulation": "section_2d", "mechanics_preconditioner": "gamg"})
    return SectionProblem(case, particle).fields["damage"]


@pytest.mark.parametrize("crack, state, boundary_fraction", [
    (lambda x, y: x < -1, "intact", 0.0),
    (lambda x, y: x == 1.0, "broken", 1.0),                    # along the grain boundary, across the section
    (lambda x, y: (x == 1.0) & (y <= 0.5), "mild", 0.5),       # from the rim, halfway along the boundary
    (lambda x, y: (x == 0.5) | (y == 0.5), "broken", 0.0),     # through the grains: four pieces
])
def test_the_census_of_a_2d_section_is_the_connectivity_of_the_whole_mesh(crack, state, boundary_fraction):
    """In 2D the whole mesh is the central section (no mirrors): the state follows the intact triangles'
    connectivity, and the cracked grain-boundary fraction is one of lengths (the summary says so)."""
    from solver import compat

    damage = section_damage()
    x, y, _ = compat.dof_coordinates(damage.space).T / 1e-6
    damage.d.x.array[:] = np.where(crack(np.round(x, 9), np.round(y, 9)), 1.0, 0.0)
    assert damage.section.mirrors == 0
    assert damage.section.areas.sum() == pytest.approx(2e-12, rel=1e-12)     # every triangle, the whole area
    assert damage.state_name() == state
    assert damage.cracked_grain_boundary_area_fraction() == pytest.approx(boundary_fraction, rel=1e-12)
    fracture = damage.summary()["fracture"]
    assert fracture["cracked_grain_boundary_measure"] == "length"
    assert fracture["state_from"].startswith("the whole 2D section")
    assert damage.boundary.measure.sum() == pytest.approx(1e-6, rel=1e-12)      # the boundary's length, m


@pytest.mark.slow
def test_the_shipped_cycling_section_case_runs_from_the_cli_with_its_damage_picture(cli, tmp_path):
    """cases/section_ncm83_damage_cycles.toml on the coarse overrides of tests/test_regression.py (4 grains, two
    cycles): the kinetic section run writes the fracture summary, the damage in its field files and the damage
    picture of the section. (Slow: the run and the renderer's process take ~40 s on 2 shared cores; the run alone,
    without pictures, is in tests/test_regression.py.)"""
    import json

    import meshio

    from conftest import CASES
    from test_regression import overrides_for

    out = tmp_path / "run"
    sets = [item for override in overrides_for("section_ncm83_damage_cycles") if override != "output.pictures=false"
            for item in ("--set", override)]
    done = cli("run", CASES / "section_ncm83_damage_cycles.toml", "--out", out, *sets)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["formulation"] == "section_2d" and [s["cycle"] for s in summary["steps"]] == [0, 0, 1, 1]
    fracture = summary["fracture"]
    assert fracture["cracked_grain_boundary_measure"] == "length" and fracture["state"] in ("intact", "mild", "broken")
    assert fracture["fatigue"]["model"] == "asymptotic" and 0 < fracture["max_damage"] <= 1
    assert meshio.read(out / "fields_final.vtu").point_data["damage"].max() == pytest.approx(fracture["max_damage"])
    assert (out / "cross_section_damage.png").stat().st_size > 0
