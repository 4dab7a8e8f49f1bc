"""The pores of one particle (:class:`PoreSet`, micrometres): arrays, union volume, JSON round trip."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from solver.geometry.porosity.checks import bad, finite_float
from solver.geometry.porosity.section_geometry import ball_volume_inside, ellipsoid_pair_volume, ellipsoid_sections


@dataclass(frozen=True, eq=False)
class PoreSet:
    """Pores of one particle (micrometres).

    Pore i is ``{x : |diag(1/a_i) R_i^T (x - c_i)| <= 1}`` with c = ``centers_um[i]``,
    a = ``semi_axes_um[i]`` and R = ``rotations[i]`` (columns: principal axes in the particle frame).
    ``cluster_ids``: pores overlapping on purpose share an id >= 0, isolated pores have -1.
    ``parent_ids``: for a cluster child, the index of the one pore it overlaps; -1 otherwise.
    ``class_ids``: volume class index (-1 for central pores and hand-made sets).
    """

    centers_um: np.ndarray
    semi_axes_um: np.ndarray
    rotations: np.ndarray
    cluster_ids: np.ndarray
    particle_radius_um: float
    parent_ids: np.ndarray | None = None
    class_ids: np.ndarray | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = np.ascontiguousarray(self.centers_um, dtype=float).reshape(-1, 3)
        n = c.shape[0]
        a = np.ascontiguousarray(self.semi_axes_um, dtype=float).reshape(n, 3)
        rot = np.ascontiguousarray(self.rotations, dtype=float).reshape(n, 3, 3)
        cid = np.ascontiguousarray(self.cluster_ids, dtype=np.int64).reshape(n)
        par = (np.full(n, -1, np.int64) if self.parent_ids is None
               else np.ascontiguousarray(self.parent_ids, dtype=np.int64).reshape(n))
        cls = (np.full(n, -1, np.int64) if self.class_ids is None
               else np.ascontiguousarray(self.class_ids, dtype=np.int64).reshape(n))
        R = finite_float("particle_radius_um", self.particle_radius_um)
        if R <= 0:
            raise bad("particle_radius_um", self.particle_radius_um, "must be > 0")
        if n and not np.all(a > 0):
            raise bad("semi_axes_um", a[~np.all(a > 0, axis=1)][:3].tolist(), "must all be > 0")
        for arr in (c, a, rot, cid, par, cls):
            arr.setflags(write=False)
        object.__setattr__(self, "centers_um", c)
        object.__setattr__(self, "semi_axes_um", a)
        object.__setattr__(self, "rotations", rot)
        object.__setattr__(self, "cluster_ids", cid)
        object.__setattr__(self, "parent_ids", par)
        object.__setattr__(self, "class_ids", cls)
        object.__setattr__(self, "particle_radius_um", R)

    def __len__(self) -> int:
        return self.centers_um.shape[0]

    def __eq__(self, other) -> bool:  # bitwise identity of the geometry
        if not isinstance(other, PoreSet):
            return NotImplemented
        return (self.particle_radius_um == other.particle_radius_um
                and all(np.array_equal(getattr(self, k), getattr(other, k))
                        for k in ("centers_um", "semi_axes_um", "rotations", "cluster_ids", "parent_ids")))

    __hash__ = None  # type: ignore[assignment]

    @property
    def count(self) -> int:
        return len(self)

    @property
    def is_spherical(self) -> np.ndarray:
        a = self.semi_axes_um
        return (a.max(axis=1) - a.min(axis=1)) <= 1e-12 * a.max(axis=1)

    def volumes_um3(self) -> np.ndarray:
        """Volume of each pore (um^3), overlaps not removed."""
        return 4.0 / 3.0 * np.pi * np.prod(self.semi_axes_um, axis=1)

    def bounding_radii_um(self) -> np.ndarray:
        return self.semi_axes_um.max(axis=1)

    def shape_matrices_um2(self) -> np.ndarray:
        """A_i = R_i diag(a_i^2) R_i^T (pore i is (x-c)^T A_i^-1 (x-c) <= 1)."""
        return np.einsum("nij,nj,nkj->nik", self.rotations, self.semi_axes_um ** 2, self.rotations)

    def candidate_pairs(self) -> list[tuple[int, int]]:
        """Pairs that may overlap: parent-child pairs, plus every pair inside a cluster that has
        members without a recorded parent (hand-made sets)."""
        pairs = set()
        cid, par = self.cluster_ids, self.parent_ids
        for q in np.nonzero(par >= 0)[0]:
            pairs.add((min(int(q), int(par[q])), max(int(q), int(par[q]))))
        for c in np.unique(cid[cid >= 0]):
            idx = np.nonzero(cid == c)[0]
            if np.sum(par[idx] >= 0) == len(idx) - 1:  # a tree: only parent-child pairs overlap
                continue
            for ii in range(len(idx)):
                for jj in range(ii + 1, len(idx)):
                    pairs.add((int(idx[ii]), int(idx[jj])))
        return sorted(pairs)

    def pair_volume(self, i: int, j: int) -> float:
        """Intersection volume of pores i and j (um^3)."""
        ci, cj = self.centers_um[i], self.centers_um[j]
        ai, aj = self.semi_axes_um[i], self.semi_axes_um[j]
        d = float(np.linalg.norm(ci - cj))
        if d >= ai.max() + aj.max():
            return 0.0
        sph = self.is_spherical
        if sph[i] and sph[j]:
            return float(ball_volume_inside(ai[0], d, aj[0]))
        return ellipsoid_pair_volume(ci, ai, self.rotations[i], cj, aj, self.rotations[j])

    def sections(self, normal, offset_um: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pores cut by the plane n.x = offset_um: (indices, in-plane centres, boundary maps), as
        :func:`~solver.geometry.porosity.section_geometry.ellipsoid_sections`."""
        return ellipsoid_sections(self.centers_um, self.semi_axes_um, self.rotations, normal, offset_um)

    def overlap_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Overlapping pore pairs (m, 2) and their intersection volumes (m,) in um^3."""
        pairs, vols = [], []
        for i, j in self.candidate_pairs():
            v = self.pair_volume(i, j)
            if v > 0.0:
                pairs.append((i, j))
                vols.append(v)
        return np.asarray(pairs, dtype=np.int64).reshape(-1, 2), np.asarray(vols, dtype=float)

    def total_volume_um3(self) -> float:
        """Union volume of the pores (um^3).

        Sum of the volumes minus the pairwise intersections of overlapping cluster pores: exact
        when no three pores share a point, which :func:`sample_pores` guarantees (a cluster child
        overlaps only its parent).  Pair volumes: analytic lens for spheres, 48-point Gauss
        quadrature of exact slice areas for ellipsoids.
        """
        _, vols = self.overlap_pairs()
        return float(self.volumes_um3().sum() - vols.sum())

    def to_json_dict(self) -> dict:
        return {
            "particle_radius_um": self.particle_radius_um,
            "centers_um": self.centers_um.tolist(),
            "semi_axes_um": self.semi_axes_um.tolist(),
            "rotations": self.rotations.tolist(),
            "cluster_ids": self.cluster_ids.tolist(),
            "parent_ids": self.parent_ids.tolist(),
            "class_ids": self.class_ids.tolist(),
            "meta": dict(self.meta),
        }

    @classmethod
    def from_json_dict(cls, d: Mapping[str, Any]) -> "PoreSet":
        return cls(centers_um=np.asarray(d["centers_um"], float).reshape(-1, 3),
                   semi_axes_um=np.asarray(d["semi_axes_um"], float).reshape(-1, 3),
                   rotations=np.asarray(d["rotations"], float).reshape(-1, 3, 3),
                   cluster_ids=np.asarray(d["cluster_ids"], int),
                   particle_radius_um=float(d["particle_radius_um"]),
                   parent_ids=np.asarray(d.get("parent_ids", [-1] * len(d["cluster_ids"])), int),
                   class_ids=np.asarray(d.get("class_ids", [-1] * len(d["cluster_ids"])), int),
                   meta=dict(d.get("meta", {})))
