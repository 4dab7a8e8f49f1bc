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
