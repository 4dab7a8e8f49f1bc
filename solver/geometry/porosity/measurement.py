"""Porosity measured "like the paper": exact pore area fractions of planar sections (overall, rings,
concentric circles) and the 3D numbers, for a :class:`PoreSet`."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from solver.geometry.porosity.checks import bad, finite_float
from solver.geometry.porosity.section_geometry import (ellipses_in_disks, pairs_in_disks, plane_basis)

if TYPE_CHECKING:
    from solver.geometry.porosity.poreset import PoreSet

PAPER_RING_EDGES: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
FULL_RING_EDGES: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
CENTRAL_PLANES: dict[str, tuple[float, float, float]] = {
    "xy": (0.0, 0.0, 1.0),
    "yz": (1.0, 0.0, 0.0),
    "zx": (0.0, 1.0, 0.0),
}


def _section_pore_area_in_disks(pores: PoreSet, normal, offset_um: float, radii_um: np.ndarray):
    """Union pore area (um^2) inside each disk radius on the plane, and the number of cut pores."""
    idx, w0, M = pores.sections(normal, offset_um)
    areas = ellipses_in_disks(w0, M, radii_um).sum(axis=0)
    pairs = pores.candidate_pairs()
    if pairs:
        loc = {int(p): q for q, p in enumerate(idx)}
        pa = [loc[i] for i, j in pairs if i in loc and j in loc]
        pb = [loc[j] for i, j in pairs if i in loc and j in loc]
        if pa:
            pa, pb = np.array(pa), np.array(pb)
            areas -= pairs_in_disks(w0[pa], M[pa], w0[pb], M[pb], radii_um).sum(axis=0)
    return areas, int(idx.size)


def _check_edges(name: str, edges) -> np.ndarray:
    try:
        e = np.asarray(edges, dtype=float).ravel()
    except (TypeError, ValueError):
        raise bad(name, edges, "must be strictly increasing fractions within [0, 1]") from None
    if e.size < 1 or np.any(~np.isfinite(e)) or np.any(e < 0) or np.any(e > 1) or np.any(np.diff(e) <= 0):
        raise bad(name, tuple(e.tolist()), "must be strictly increasing fractions within [0, 1]")
    return e


def _section_areas(pores: PoreSet, normal, offset_um: float, fractions: np.ndarray):
    """Section radius R_s, {fraction: union pore area (um^2) inside the circle fraction * R_s}, pores cut."""
    R = pores.particle_radius_um
    off = finite_float("offset_um", offset_um)
    if abs(off) >= R:
        raise bad("offset_um", offset_um, f"must satisfy |offset_um| < particle radius {R:g}")
    n, _, _ = plane_basis(normal)
    Rs = math.sqrt(R * R - off * off)
    fr = np.unique(np.concatenate([np.asarray(fractions, float), [1.0]]))
    areas, ncut = _section_pore_area_in_disks(pores, n, off, fr * Rs)
    return n, off, Rs, {round(float(f), 12): float(a) for f, a in zip(fr, areas)}, ncut


def _ring_porosity(areas: dict, Rs: float, a: float, b: float) -> float:
    inner = areas[round(float(a), 12)] if a > 0 else 0.0
    return (areas[round(float(b), 12)] - inner) / (np.pi * Rs * Rs * (b * b - a * a))


def _circle_porosity(areas: dict, Rs: float, x: float) -> float:
    return areas[round(float(x), 12)] / (np.pi * (x * Rs) ** 2)


def section_porosity(pores: PoreSet, *, plane_normal=(0.0, 0.0, 1.0), offset_um: float = 0.0,
                     ring_edges_fraction: Sequence[float] = PAPER_RING_EDGES) -> dict:
    """Exact pore area fractions of one planar cross-section, overall and in concentric rings.

    The plane is {x : n.x = offset_um}; its section of the particle is a disk of radius
    R_s = sqrt(R^2 - offset^2), and ring edges are fractions of R_s (circles drawn on an SEM
    image).  Pore sections are exact circles/ellipses; their areas inside each circle are closed
    form (circle-circle lens) or exact by Green's theorem (ellipses); overlapping cluster pairs are
    subtracted (pairwise inclusion-exclusion, exact for the sampler's tree-shaped clusters).

    Returns ``{"plane_normal", "offset_um", "section_radius_um", "pores_cut", "porosity",
    "rings": [{"r_inner_fraction", "r_outer_fraction", "porosity"}, ...] (annuli between
    consecutive edges), "circles": [{"r_fraction", "porosity"}, ...] (inside each edge circle, the
    paper's cumulative concentric-circle quantity)}``.
    """
    edges = _check_edges("ring_edges_fraction", ring_edges_fraction)
    n, off, Rs, areas, ncut = _section_areas(pores, plane_normal, offset_um, edges)
    return {
        "plane_normal": [float(v) for v in n],
        "offset_um": off,
        "section_radius_um": Rs,
        "pores_cut": ncut,
        "porosity": _circle_porosity(areas, Rs, 1.0),
        "rings": [{"r_inner_fraction": float(a), "r_outer_fraction": float(b),
                   "porosity": float(_ring_porosity(areas, Rs, a, b))} for a, b in zip(edges[:-1], edges[1:])],
        "circles": [{"r_fraction": float(x), "porosity": float(_circle_porosity(areas, Rs, x))}
                    for x in edges if x > 0],
    }


def measure_porosity(pores: PoreSet, *,
                     planes: Mapping[str, Sequence[float]] | Sequence[Sequence[float]] = CENTRAL_PLANES,
                     rings_paper: Sequence[float] = PAPER_RING_EDGES,
                     rings_full: Sequence[float] = FULL_RING_EDGES) -> dict:
    """Porosity measured as in the paper (central SEM sections), plus 3D numbers for geometry.json.

    Every quantity from sections is the average over ``planes`` (default: the central xy, yz, zx
    sections, the ones :func:`sample_pores` controls; other planes, e.g. ``section_porosity`` with
    an offset or an oblique normal, show the natural section-to-section scatter).  Keys:
      ``porosity_overall``          mean section porosity (the paper's 8.19 % for GP-NCM83);
      ``porosity_overall_by_plane`` per plane;
      ``porosity_volume``           3D union pore volume / particle volume;
      ``porosity_by_ring``          annuli between consecutive ``rings_paper`` edges (50-60 %, ...,
                                    90-100 % of the radius), [{r_inner_fraction, r_outer_fraction, porosity}];
      ``porosity_within_circle``    inside each ``rings_paper`` circle, [{r_fraction, porosity}]: the
                                    paper's cumulative concentric-circle numbers (13.11 % at 0.5,
                                    8.11 % at 1.0 for GP-NCM83, see profiles.py);
      ``porosity_profile_full``     annuli between consecutive ``rings_full`` edges (0-10 %, ..., 90-100 %);
      ``pore_count``, ``cluster_count``, ``pores_in_clusters``;
      ``pore_volume_um3``           {min, p10, p50, p90, max} of the individual pore volumes;
      ``pore_volume_total_um3``     union pore volume.
    """
    if isinstance(planes, Mapping):
        named = [(str(k), v) for k, v in planes.items()]
    else:
        named = [(f"plane{q}", v) for q, v in enumerate(planes)]
    if not named:
        raise bad("planes", planes, "needs at least one plane normal")
    paper = _check_edges("rings_paper", rings_paper)
    full = _check_edges("rings_full", rings_full)
    sections = [_section_areas(pores, nv, 0.0, np.concatenate([paper, full])) for _, nv in named]

    def ring(a, b):
        return float(np.mean([_ring_porosity(ar, Rs, a, b) for _, _, Rs, ar, _ in sections]))

    def circle(x):
        return float(np.mean([_circle_porosity(ar, Rs, x) for _, _, Rs, ar, _ in sections]))

    by_plane = {name: _circle_porosity(sec[3], sec[2], 1.0) for (name, _), sec in zip(named, sections)}
    vols = pores.volumes_um3()
    union = pores.total_volume_um3()
    q = np.quantile(vols, [0.0, 0.1, 0.5, 0.9, 1.0]) if vols.size else np.zeros(5)
    cid = pores.cluster_ids
    return {
        "porosity_overall": float(np.mean(list(by_plane.values()))),
        "porosity_overall_by_plane": by_plane,
        "porosity_volume": float(union / (4.0 / 3.0 * np.pi * pores.particle_radius_um ** 3)),
        "porosity_by_ring": [{"r_inner_fraction": float(a), "r_outer_fraction": float(b), "porosity": ring(a, b)}
                             for a, b in zip(paper[:-1], paper[1:])],
        "porosity_within_circle": [{"r_fraction": float(x), "porosity": circle(x)} for x in paper if x > 0],
        "porosity_profile_full": [{"r_inner_fraction": float(a), "r_outer_fraction": float(b), "porosity": ring(a, b)}
                                  for a, b in zip(full[:-1], full[1:])],
        "pore_count": len(pores),
        "cluster_count": int(np.unique(cid[cid >= 0]).size),
        "pores_in_clusters": int(np.sum(cid >= 0)),
        "pore_volume_um3": dict(zip(("min", "p10", "p50", "p90", "max"), (float(v) for v in q))),
        "pore_volume_total_um3": float(union),
    }
