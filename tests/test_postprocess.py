"""Stress measures and peak rules, checked on tensors with known answers."""
import numpy as np
import pytest

from solver.postprocess import PeakTracker, stress_measures, symmetric_eigenvalues


def random_symmetric(n, rng):
    a = rng.normal(size=(n, 3, 3))
    return 0.5 * (a + np.swapaxes(a, 1, 2)) * 1e8


def test_closed_form_eigenvalues_match_lapack():
    rng = np.random.default_rng(1)
    tensors = random_symmetric(2000, rng)
    tensors[0] = np.diag([3.0, 3.0, 3.0])         # triple root
    tensors[1] = np.diag([1.0, 2.0, 2.0]) * 1e8   # double root
    expected = np.linalg.eigvalsh(tensors)
    assert np.allclose(symmetric_eigenvalues(tensors), expected, rtol=0, atol=1e-6 * np.abs(expected).max())


def test_spherical_components_of_a_spherically_symmetric_state():
    """sigma = sigma_r e_r e_r + sigma_t (I - e_r e_r): radial, hoop, von Mises |sigma_t - sigma_r| recovered."""
    rng = np.random.default_rng(2)
    points = rng.normal(size=(50, 3)) * 1e-6
    e_r = points / np.linalg.norm(points, axis=1)[:, None]
    sigma_r, sigma_t = -3e7, 8e7
    tensors = sigma_r * np.einsum("ni,nj->nij", e_r, e_r) + sigma_t * (np.eye(3) - np.einsum("ni,nj->nij", e_r, e_r))
    m = stress_measures(tensors, points, radius_m=5e-6)
    assert np.allclose(m["radial"], sigma_r)
    assert np.allclose(m["hoop"], sigma_t)
    assert np.allclose(m["von_mises"], abs(sigma_t - sigma_r))
    assert np.allclose(m["max_principal"], sigma_t)
    assert np.allclose(m["hydrostatic"], (sigma_r + 2 * sigma_t) / 3)


def test_uniaxial_von_mises_and_centre_fallback():
    tensors = np.zeros((2, 3, 3))
    tensors[:, 0, 0] = 1e8
    points = np.array([[0.0, 0.0, 0.0], [0.0, 1e-6, 0.0]])
    m = stress_measures(tensors, points, radius_m=5e-6)
    assert np.allclose(m["von_mises"], 1e8)
    assert m["radial"][0] == pytest.approx(1e8 / 3)   # centre: the mean stress
    assert m["radial"][1] == pytest.approx(0.0)       # e_r = y: no normal stress along y


def test_peak_rules_tension_for_hoop_and_magnitude_for_radial():
    tracker = PeakTracker(radius_m=1.0)
    tracker.update({"hoop": (5.0, np.array([1.0, 0, 0])), "radial": (-7.0, np.zeros(3))}, time_s=1.0)
    tracker.update({"hoop": (-50.0, np.array([0.5, 0, 0])), "radial": (6.0, np.zeros(3))}, time_s=2.0)
    tracker.update({"hoop": (6.0, np.array([0, 0.8, 0])), "radial": (-8.0, np.array([0, 0, 0.2]))}, time_s=3.0)
    peaks = tracker.as_dict()
    assert peaks["hoop"]["value_Pa"] == 6.0 and peaks["hoop"]["time_s"] == 3.0
    assert peaks["hoop"]["radius_fraction"] == pytest.approx(0.8)
    assert peaks["radial"]["value_Pa"] == -8.0 and peaks["radial"]["position_m"] == [0, 0, 0.2]


def _core_shell_particle():
    from mpi4py import MPI

    from solver.case import load_case
    from solver.geometry import build_particle_mesh
    from pathlib import Path

    case = load_case(Path(__file__).resolve().parent.parent / "cases" / "lrmo_ru1.toml",
                     ["geometry.shell_thickness_um=0.03", "mesh.cell_size_fraction=0.3",
                      "mesh.surface_cell_size_fraction=0.15"])
    return build_particle_mesh(case["geometry"], case["mesh"], MPI.COMM_WORLD, cache_dir=None)


class _GivenStress:
    """The parts of a ChemoMechanicalProblem that RecoveredStress uses, with a stress given as UFL."""

    def __init__(self, particle, stress):
        import ufl

        self.particle, self.mesh, self.comm = particle, particle.mesh, particle.mesh.comm
        self.dx = ufl.Measure("dx", domain=self.mesh)
        self._stress = stress

    def stress(self):
        return self._stress


def test_recovered_stress_is_exact_for_a_continuous_linear_field_up_to_the_boundary():
    """Nodal averaging of the cells' own vertex values: exact for continuous fields, boundary vertices included
    (a lumped L2 projection would be off by O(h |grad sigma|) there)."""
    import ufl

    from solver.postprocess import RecoveredStress

    particle = _core_shell_particle()
    x = ufl.SpatialCoordinate(particle.mesh)
    scale = 1e9 / particle.radius_m
    stress = scale * ufl.as_matrix([[x[0], x[1], 0.0], [x[1], 2.0 * x[2], x[0]], [0.0, x[0], x[0] + x[1]]])
    tensors, points = RecoveredStress(_GivenStress(particle, stress)).sample()
    X, Y, Z = points.T
    expected = scale * np.stack([np.stack([X, Y, 0 * X], 1), np.stack([Y, 2 * Z, X], 1),
                                 np.stack([0 * X, X, X + Y], 1)], 1)
    assert len(points) > 0
    assert np.abs(tensors - expected).max() <= 1e-9 * np.abs(expected).max()
    on_surface = np.abs(np.linalg.norm(points, axis=1) - particle.radius_m) < 1e-6 * particle.radius_m
    assert on_surface.sum() > 10


def test_recovered_stress_keeps_each_region_its_own_values_at_an_interface():
    import ufl
    import dolfinx.fem

    from solver import compat
    from solver.postprocess import RecoveredStress

    particle = _core_shell_particle()
    in_shell = dolfinx.fem.Function(compat.scalar_space(particle.mesh, 0, "Discontinuous Lagrange"))
    in_shell.x.array[compat.entities_with_tag(particle.cell_tags, particle.cell_regions["shell"])] = 1.0
    shell_value, bulk_value = 3e8, -1e8
    stress = (in_shell * shell_value + (1.0 - in_shell) * bulk_value) * ufl.Identity(3)
    recovered = RecoveredStress(_GivenStress(particle, stress))
    tensors, points = recovered.sample()
    for region, value in (("shell", shell_value), ("bulk", bulk_value)):
        rows = recovered.region_slices[region]
        assert np.allclose(tensors[rows], value * np.eye(3), rtol=1e-12, atol=0.0)
    # the interface vertices appear once per region, each with its own side's stress
    shell_r = np.linalg.norm(points[recovered.region_slices["shell"]], axis=1)
    bulk_r = np.linalg.norm(points[recovered.region_slices["bulk"]], axis=1)
    assert np.isclose(shell_r.min(), bulk_r.max())
