"""Pores in a particle: the [geometry] pore options, the call into the pore sampler, OCC pore solids, and
the inflation that makes the meshed (polyhedral) pores hold the sampled pore volume.

The sampler (the package solver/geometry/porosity/) is imported lazily: other kinds work without it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib
import math
from pathlib import Path

import numpy as np

from solver.errors import CaseError
from solver.geometry.occ import ball, ellipsoid
from solver.schema import (BOOL, FLOAT, INT, LIST, STR, TABLE, Option, non_negative, number_pair, positive,
                           positive_numbers, rule, whole_number)
from solver.units import UM_TO_M

NO_PORES = "none"
DEFAULT_MIN_GAP_FRACTION = 0.01       # of the particle radius, when min_gap_um is not given
DEFAULT_SURFACE_GAP_FRACTION = 0.03   # of the particle radius, when surface_gap_um is not given

PORE_OPTIONS = [
    Option("porosity", STR + FLOAT + LIST + TABLE, None,
           help="a preset (gp_ncm83, p_ncm83, gp_ni96, p_ni96), a uniform porosity fraction, a table of "
                "[r_fraction, porosity] pairs, or {kind = 'linear', centre, surface} / {kind = 'circles', "
                "within_half, overall}"),
    Option("volume_classes_um3", LIST, None,
           help="[[v_min_um3, v_max_um3, count_fraction], ...] (default: the FIB-SEM classes)"),
    Option("pore_shape", STR, "sphere", choices=("sphere", "ellipsoid"), help="sphere or ellipsoid pores"),
    Option("aspect_ratio_range", LIST, None, check=number_pair, help="[low, high] for ellipsoids, within [1, 5]"),
    Option("min_gap", FLOAT, None, check=non_negative, dimension="length",
           help=f"gap between pores (default {DEFAULT_MIN_GAP_FRACTION} x radius)"),
    Option("surface_gap", FLOAT, None, check=non_negative, dimension="length",
           help=f"gap from pores to the outer surface (default {DEFAULT_SURFACE_GAP_FRACTION} x radius)"),
    Option("central_pores", LIST, None, check=positive_numbers, dimension="volume",
           help="volumes of large pores placed at the centre first, e.g. central_pores_um3 = [3.779, 1.123]"),
    Option("cluster_fraction", FLOAT, None, check=rule(lambda v: 0 <= v <= 0.5, "in [0, 0.5]"),
           help="fraction of pores placed in clusters (sampler)"),
    Option("volume_scale", FLOAT, None, check=positive,
           help="multiplies the class volumes: fewer, larger pores at the same porosity (default 1)"),
    # 5000 pores took 135 s and 2.3M tetrahedra (docs/science.md#study-1-gradient-porous-ni-rich-ncm); 10**5 is far past what meshes
    Option("target_pore_count", INT, None, check=whole_number(1, 10**5),
           help="choose volume_scale so that about this many pores are placed"),
    Option("max_pores", INT, None, check=whole_number(1, 10**5), help="refuse geometries that need more pores"),
    Option("pore_size_bias", FLOAT, None, help="tilt of the size mix toward large pores inside (sampler default)"),
    Option("control_sections", BOOL, None, help="tune the central xy/yz/zx sections to the profile (default on)"),
]

# normalised key -> sampler keyword (lengths/volumes go back to micrometres)
_SAMPLER_KEYS = {"volume_classes_um3": "volume_classes", "pore_shape": "shape",
                 "aspect_ratio_range": "aspect_ratio_range", "central_pores_m3": "central_pores_um3",
                 "cluster_fraction": "cluster_fraction", "volume_scale": "volume_scale",
                 "max_pores": "max_pores", "pore_size_bias": "size_bias", "control_sections": "control_sections"}


def sampler():
    """The pore sampler package (imported on first use)."""
    try:
        return importlib.import_module("solver.geometry.porosity")
    except ImportError as exc:
        raise CaseError(f"porous geometries need solver/geometry/porosity/, which is not importable: {exc}")


def sampler_digest() -> str:
    """Hash of the sampler's source (every .py file of solver/geometry/porosity/, names and contents, in
    sorted order): part of the mesh cache key, so a change to any sampler module re-meshes."""
    package = Path(__file__).with_name("porosity")
    files = sorted(package.rglob("*.py")) if package.is_dir() else []
    if not files:
        return "absent"
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def has_pores(geometry: dict) -> bool:
    porosity = geometry.get("porosity")
    return porosity is not None and porosity != NO_PORES and porosity != 0


def profile(value):
    """The sampler's PorosityProfile for a [geometry] porosity value."""
    module = sampler()
    if isinstance(value, float) or isinstance(value, int):
        return module.porosity_profile("uniform", porosity=float(value))
    if isinstance(value, dict):
        arguments = dict(value)
        return module.porosity_profile(arguments.pop("kind", None), **arguments)
    return module.porosity_profile(value)


def check_pore_options(geometry: dict) -> None:
    """Cross-checks: the porosity value must be one the sampler understands."""
    if not has_pores(geometry):
        return
    porosity = geometry["porosity"]
    try:
        profile(porosity)
    except (CaseError, ValueError, TypeError, KeyError) as exc:
        raise CaseError(f"geometry.porosity = {porosity!r}: {exc}") from None
    if geometry.get("target_pore_count") is not None and geometry.get("volume_scale") is not None:
        raise CaseError("geometry: give at most one of volume_scale, target_pore_count")


def _um(value: float) -> float:
    """Metres back to the sampler's micrometres, without float noise."""
    return float(f"{value / UM_TO_M:.12g}")


def gaps_um(geometry: dict, radius_um: float) -> tuple[float, float]:
    """(pore-pore gap, pore-surface gap) in micrometres, radius-relative defaults."""
    gap = _um(geometry["min_gap_m"]) if geometry.get("min_gap_m") is not None else DEFAULT_MIN_GAP_FRACTION * radius_um
    surface = (_um(geometry["surface_gap_m"]) if geometry.get("surface_gap_m") is not None
               else DEFAULT_SURFACE_GAP_FRACTION * radius_um)
    return gap, surface


def sample(geometry: dict, radius_um: float):
    """The sampled PoreSet for this geometry (None when it has no pores)."""
    if not has_pores(geometry):
        return None
    module = sampler()
    kwargs = {}
    for key, word in _SAMPLER_KEYS.items():
        value = geometry.get(key)
        if value is not None:
            kwargs[word] = [float(f"{v / UM_TO_M**3:.12g}") for v in value] if key.endswith("_m3") else value
    min_gap, surface_gap = gaps_um(geometry, radius_um)
    law = profile(geometry["porosity"])
    try:
        if geometry.get("target_pore_count") is not None:
            kwargs["volume_scale"] = module.volume_scale_for_pore_count(
                geometry["target_pore_count"], particle_radius_um=radius_um, porosity_profile=law,
                **{k: kwargs[k] for k in ("volume_classes", "size_bias", "central_pores_um3") if k in kwargs})
        return module.sample_pores(particle_radius_um=radius_um, porosity_profile=law, seed=geometry["seed"],
                                   min_gap_um=min_gap, surface_gap_um=surface_gap, **kwargs)
    except CaseError as exc:
        raise CaseError(f"geometry.{exc}") from None
    except ValueError as exc:
        raise CaseError(f"geometry (pores): {exc}") from None


def subset(pores, keep: np.ndarray, centers_um: np.ndarray | None = None):
    """The PoreSet restricted to `keep` (bool mask), optionally with moved centres; parents re-indexed."""
    centers = pores.centers_um if centers_um is None else centers_um
    new_index = np.cumsum(keep) - 1
    parents = pores.parent_ids[keep]
    parents = np.where((parents >= 0) & keep[np.maximum(parents, 0)], new_index[np.maximum(parents, 0)], -1)
    return dataclasses.replace(pores, centers_um=centers[keep], semi_axes_um=pores.semi_axes_um[keep],
                               rotations=pores.rotations[keep], cluster_ids=pores.cluster_ids[keep],
                               parent_ids=parents, class_ids=pores.class_ids[keep])


def inflation(pores, cell_size_um: float, min_size_um: float, curvature_cells: float,
              sphere_volume_ratio: float) -> np.ndarray:
    """Per-pore radial scale making the meshed (inscribed, polyhedral) pore volume match the sampled one.

    An inscribed triangulated sphere of edge h holds 1 - c (h/r)^2 of the sphere's volume; c comes from
    meshing a reference sphere at the curvature resolution (`sphere_volume_ratio`), h from the sizes
    the mesher will use on that pore (curvature-limited, at most the surface cell size).
    """
    h_over_r_curv = 2 * math.pi / curvature_cells
    c = (1.0 - sphere_volume_ratio) / h_over_r_curv**2
    r = np.cbrt(np.prod(pores.semi_axes_um, axis=1))
    h = np.clip(np.minimum(h_over_r_curv * r, cell_size_um), min_size_um, None)
    ratio = np.clip(1.0 - c * (h / r) ** 2, 0.3, 1.0)
    return ratio ** (-1.0 / 3.0)


def pore_solids(pores, scale: np.ndarray | None = None) -> list[tuple[int, int]]:
    """OCC solids of all pores (exact spheres where the semi-axes are equal)."""
    scale = np.ones(len(pores)) if scale is None else scale
    solids = []
    for center, axes, rotation, spherical, k in zip(pores.centers_um, pores.semi_axes_um, pores.rotations,
                                                    pores.is_spherical, scale):
        solids += ball(center, axes[0] * k) if spherical else ellipsoid(center, axes * k, rotation)
    return solids


def pore_inputs(pores, mesh: dict, radius_um: float) -> list:
    """[("pore", solids)] for fragment_assign, inflated when mesh.pore_volume_compensation is on."""
    if pores is None or len(pores) == 0:
        return []
    from solver.geometry.sizing import Sizes, reference_sphere_volume_ratio
    scale = None
    if mesh["pore_volume_compensation"]:
        sizes = Sizes.from_options(mesh, radius_um)
        scale = inflation(pores, sizes.surface, sizes.minimum, sizes.curvature_cells,
                          reference_sphere_volume_ratio(float(sizes.curvature_cells)))
    return [("pore", pore_solids(pores, scale))]


def summary(pores) -> dict:
    """Short description of a PoreSet for ParticleMesh.description."""
    if pores is None:
        return {"pore_count": 0}
    volumes = pores.volumes_um3()
    return {"pore_count": len(pores), "pore_volume_total_um3": float(pores.total_volume_um3()),
            "pore_volume_max_um3": float(volumes.max()) if len(volumes) else 0.0,
            "porosity_volume_sampled": float(pores.total_volume_um3()
                                             / (4 / 3 * math.pi * pores.particle_radius_um**3))}


def to_json(pores) -> dict | None:
    return None if pores is None else pores.to_json_dict()


def from_json(data: dict | None):
    return None if data is None else sampler().PoreSet.from_json_dict(data)
