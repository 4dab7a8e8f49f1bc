"""Grain orientations: rotation matrices Q (crystal -> sample), v_sample = Q v_crystal."""
from __future__ import annotations

import numpy as np

CRYSTAL_AXES = {"a": np.array([1.0, 0.0, 0.0]), "b": np.array([0.0, 1.0, 0.0]), "c": np.array([0.0, 0.0, 1.0])}


def random_rotations(rng: np.random.Generator, count: int) -> np.ndarray:
    """Uniformly distributed rotations (normalised Gaussian quaternions)."""
    q = rng.normal(size=(count, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=-1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=-1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=-1),
    ], axis=1)


def axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues rotation about the unit vector `axis`."""
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def aligning(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The smallest rotation taking unit vector `source` to unit vector `target`."""
    cross = np.cross(source, target)
    sin, cos = np.linalg.norm(cross), float(source @ target)
    if sin < 1e-12:
        if cos > 0:
            return np.eye(3)
        perpendicular = np.cross(source, [1.0, 0, 0] if abs(source[0]) < 0.9 else [0, 1.0, 0])
        return axis_angle(perpendicular / np.linalg.norm(perpendicular), np.pi)
    return axis_angle(cross / sin, np.arctan2(sin, cos))


def grain_rotations(rng: np.random.Generator, centres: np.ndarray, mode: str, fraction: float = 1.0,
                    axis: str = "c", shell_inner_radius: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(rotations, textured mask). mode "radial": a random `fraction` of the grains get their crystal
    `axis` along the radial direction of their centre (random spin about it); the rest are random.
    mode "radial_shell": the same for a random `fraction` of the grains whose centre lies at or beyond
    `shell_inner_radius` (the units of `centres`): a randomly oriented core inside a radially textured shell, as
    in particles whose outer primaries grow as radially aligned rods."""
    count = len(centres)
    rotations = random_rotations(rng, count)
    textured = np.zeros(count, dtype=bool)
    if mode not in ("radial", "radial_shell"):
        return rotations, textured
    candidates = np.arange(count)
    if mode == "radial_shell":
        candidates = np.flatnonzero(np.linalg.norm(centres, axis=1) >= shell_inner_radius)
    # the same draws as before for "radial" (candidates = all grains): seeded geometries keep their orientations
    textured[candidates[rng.permutation(len(candidates))[:round(fraction * len(candidates))]]] = True
    crystal_axis = CRYSTAL_AXES[axis]
    for i in np.flatnonzero(textured):
        radial = centres[i] / np.linalg.norm(centres[i]) if np.linalg.norm(centres[i]) > 0 else rng.normal(size=3)
        radial = radial / np.linalg.norm(radial)
        spin = axis_angle(radial, rng.uniform(0, 2 * np.pi))
        rotations[i] = spin @ aligning(crystal_axis, radial)
    return rotations, textured
