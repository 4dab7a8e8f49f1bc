"""Sub-volume of a secondary particle: a cube cut from its core or rim, with real primary grains and the
measured local pores (issue 16, "sub-volumes").

A cube of edge `edge_um` centred on the x axis at r = centre_radius_fraction x R of the particle (built in the
particle's coordinates, so that r/R, hoop and radial keep their meaning) holds
- Voronoi grains of the cited primary size (grain_size_um, the diameter of the equal-volume sphere; Ni-rich NCM
  primaries are ~0.3-0.6 um, cases/section_ncm83_1000_grains.toml) or a given grain_count, built as one
  polyhedral complex clipped to the cube by the Voronoi construction itself (voronoi.voronoi_complex): no
  boolean between grains and none with the cube; or, without grains, one dense "bulk" region;
- the pores of the whole particle sampled by the pore sampler (solver/geometry/porosity/) on the preset's
  radial porosity profile with the FIB-SEM volume classes, unscaled by default, and those that reach into the
  cube cut from it (one OCC cut): the cube holds the local porosity of the profile at its radii, and a pore on
  a face leaves a hole in that face, as a cube cut from the particle would. Pores whose surface would pass
  within min_gap of a face without crossing it are dropped (sliver cells); geometry.json reports the cube's
  porosity against the profile.

Its exterior faces are the facet region `cube_face`, where the particle-scale field is imposed
(solver/subvolume.py); pore surfaces are free (`pore_surface`), grain boundaries `grain_boundary`.
The checks of a whole subvolume case (what the particle-scale field needs) are `check_case`, dolfinx-free.
"""
from __future__ import annotations

import math

import numpy as np

from solver.errors import CaseError
from solver.geometry import pores as pore_tools
from solver.geometry.assembly import RADIUS, SEED, Assembly, KindSpec, radius_um
from solver.geometry.occ import box, cut_assign, fragment_assign, polyhedral_complex, synchronize, volumes_of
from solver.geometry.orientations import grain_rotations
from solver.geometry.voronoi import grain_seeds_in_box, voronoi_complex
from solver.geometry.polycrystal import GRAIN_LAYOUT_OPTIONS
from solver.schema import FLOAT, INT, Option, fraction_open, positive, rule, whole_number
from solver.units import UM_TO_M

FACE = "cube_face"

OPTIONS = [
    RADIUS,
    Option("edge", FLOAT, check=positive, dimension="length",
           help="edge of the cube, e.g. edge_um = 2 (~120 grains of 0.5 um)"),
    Option("centre_radius_fraction", FLOAT, 0.25, check=rule(lambda v: 0 <= v < 1, "in [0, 1)"),
           help="r / R of the cube's centre (on the x axis): e.g. 0.25 core, 0.75 rim"),
    Option("grain_size", FLOAT, None, check=positive, dimension="length",
           help="primary-grain size (equal-volume sphere diameter), e.g. grain_size_um = 0.5; sets the grain "
                "count as cube volume / grain volume"),
    Option("grain_count", INT, None, check=whole_number(2, 2000),
           help="number of Voronoi grains instead of grain_size_um (neither: a dense homogeneous cube)"),
    SEED,
    *GRAIN_LAYOUT_OPTIONS,
    Option("interior_fraction", FLOAT, 0.5, check=fraction_open,
           help="edge of the centred window the statistics read / cube edge (the faces' boundary layer "
                "stays outside it)"),
    *pore_tools.PORE_OPTIONS,
]


def cube_bounds_um(geometry: dict) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) corners of the cube in micrometres, particle coordinates."""
    half = 0.5 * geometry["edge_m"] / UM_TO_M
    centre = np.array([geometry["centre_radius_fraction"] * radius_um(geometry), 0.0, 0.0])
    return centre - half, centre + half


def interior_mask(points_m: np.ndarray, geometry: dict) -> np.ndarray:
    """Which points (metres) lie in the centred statistics window (interior_fraction x the edge)."""
    lower, upper = cube_bounds_um(geometry)
    centre, half = 0.5 * (lower + upper) * UM_TO_M, 0.5 * geometry["interior_fraction"] * geometry["edge_m"]
    return np.all(np.abs(np.asarray(points_m)[:, :3] - centre) <= half * (1 + 1e-12), axis=1)


def grain_count(geometry: dict) -> int:
    """Grains of the cube: grain_count, or cube volume / volume of a sphere of diameter grain_size (0: none)."""
    if geometry.get("grain_count") is not None:
        return geometry["grain_count"]
    if geometry.get("grain_size_m") is None:
        return 0
    return max(2, round(geometry["edge_m"] ** 3 / (math.pi / 6.0 * geometry["grain_size_m"] ** 3)))


def check(geometry: dict) -> None:
    radius = radius_um(geometry)
    lower, upper = cube_bounds_um(geometry)
    corner = math.sqrt(upper[0] ** 2 + 2 * upper[1] ** 2)
    if corner >= radius:
        edge = geometry["edge_m"] / UM_TO_M
        most = (math.sqrt(radius**2 - 2 * (edge / 2) ** 2) - edge / 2) / radius if radius**2 > 2 * (edge / 2) ** 2 \
            else float("nan")
        raise CaseError(f"geometry.centre_radius_fraction = {geometry['centre_radius_fraction']:g}: the cube of edge "
                        f"{edge:g} um would reach r = {corner:.3g} um, outside the particle (radius_um = {radius:g}); "
                        f"allowed: at most {most:.3g} for this edge, or a smaller edge_um")
    if geometry.get("grain_count") is not None and geometry.get("grain_size_m") is not None:
        raise CaseError(f"geometry.grain_count = {geometry['grain_count']}: give at most one of grain_count, "
                        "grain_size_um")
    count = grain_count(geometry)
    if count > 2000:
        raise CaseError(f"geometry.grain_size_um = {geometry['grain_size_m'] / UM_TO_M:g}: gives {count} grains "
                        "in the cube, more than the 2000 allowed; raise it or lower edge_um")
    pore_tools.check_pore_options(geometry)


def check_case(case: dict) -> None:
    """What the particle-scale field (solver/subvolume.py: the homogenised dense sphere, in closed form) needs
    of the rest of a subvolume case; each refusal names the key, its value and what is allowed."""
    material, operation = case["material"], case["operation"]
    refusals = [
        (case["solver"]["formulation"] != "3d", "solver.formulation", case["solver"]["formulation"], "'3d'"),
        ("kinetics" in case, "[kinetics]", "present", "absent: the particle-scale field is galvanostatic"),
        (operation["mode"] != "galvanostatic", "operation.mode", operation["mode"], "'galvanostatic'"),
        (operation["wetted_surfaces"] != ["outer_surface"], "operation.wetted_surfaces", operation["wetted_surfaces"],
         "['outer_surface'] (the particle's; pores inside the cube are closed)"),
        (material.get("diffusivity_table_li_fraction_m2_s") is not None,
         "material.diffusivity_table_li_fraction_m2_s", "a table",
         "absent: the closed-form particle field needs a constant diffusivity_m2_s"),
        (case["coupling"]["stress_assisted_diffusion"], "coupling.stress_assisted_diffusion", True,
         "false: the closed-form particle field has no stress-assisted flux"),
        (bool(material.get("regions")), "material.regions", "present",
         "absent: the homogenised particle has one material"),
        ((material.get("layered") or {}).get("stiffness", "isotropic") != "isotropic",
         "material.layered.stiffness", (material.get("layered") or {}).get("stiffness"),
         "'isotropic': the homogenised particle is an isotropic sphere"),
    ]
    refusals += [(section in case, f"[{section}]", "present", "absent in a subvolume case")
                 for section in ("oxygen", "damage", "region_peaks", "protocol")]
    for refused, key, value, allowed in refusals:
        if refused:
            raise CaseError(f"{key} = {value!r}: not available with geometry.kind = 'subvolume'; allowed: {allowed}")


def build(geometry: dict, mesh: dict) -> Assembly:
    radius = radius_um(geometry)
    lower, upper = cube_bounds_um(geometry)
    centre, half = 0.5 * (lower + upper), 0.5 * (upper - lower)[0]
    count = grain_count(geometry)
    description = {"edge_um": 2 * half, "centre_um": centre.tolist(),
                   "centre_radius_fraction": geometry["centre_radius_fraction"],
                   "interior_fraction": geometry["interior_fraction"], "grain_count": count}
    rotations = None
    if count:
        rng = np.random.default_rng([geometry["seed"], 17])
        seeds = grain_seeds_in_box(rng, count, half, geometry["grain_spacing_fraction"])
        rotations, textured = grain_rotations(rng, seeds + centre, geometry["orientation"],
                                              geometry["radial_texture_fraction"], geometry["radial_axis"],
                                              geometry["textured_shell_inner_fraction"] * radius)
        vertices, faces, cell_faces = voronoi_complex(seeds, half)
        solids = polyhedral_complex(vertices + centre, faces, cell_faces)
        # the complex is conformal already: each grain is its own volume, no boolean
        regions = {f"grain_{i}": [solid[0][1]] for i, solid in enumerate(solids)}
        synchronize()
        description.update(orientation=geometry["orientation"], textured_grains=int(textured.sum()),
                           grain_seeds_um=(seeds + centre).tolist())
    else:
        regions = fragment_assign([("bulk", box(lower, upper))], lambda labels: "bulk")
    pores = _pores_in_cube(geometry, radius, lower, upper)
    if pores is not None and len(pores):
        solids = [dimtag for _, dimtags in pore_tools.pore_inputs(pores, mesh, radius) for dimtag in dimtags]
        regions = cut_assign(regions, _grains_touched(regions, pores), solids)
    solid_um3 = volumes_of(tag for tags in regions.values() for tag in tags)
    law = pore_tools.profile(geometry["porosity"]) if pore_tools.has_pores(geometry) else None
    description.update(pore_tools.summary(pores), **_porosity_report(law, solid_um3, lower, upper, radius))
    description.pop("porosity_volume_sampled", None)   # the sampler's is of the whole particle, not of the cube
    return Assembly(regions, radius, {"envelope": (2 * half) ** 3}, description, pores=pores,
                    grain_orientations=rotations, exterior_planes=_planes(lower, upper))


def _planes(lower: np.ndarray, upper: np.ndarray) -> tuple[tuple[int, float, str], ...]:
    return tuple((axis, float(value), FACE) for axis in range(3) for value in (lower[axis], upper[axis]))


def _pores_in_cube(geometry: dict, radius: float, lower: np.ndarray, upper: np.ndarray):
    """The particle's sampled pores that reach into the cube, less those nearly tangent to a face."""
    pores = pore_tools.sample(geometry, radius)
    if pores is None:
        return None
    gap, _ = pore_tools.gaps_um(geometry, radius)
    reach = pores.bounding_radii_um()
    centres = pores.centers_um
    outside = np.maximum(0.0, np.maximum(lower - centres, centres - upper))
    touches = np.linalg.norm(outside, axis=1) < reach
    # distance of each pore's centre to each face plane against its reach: |d - reach| < gap is a near-tangency
    distances = np.abs(np.concatenate([centres - lower, upper - centres], axis=1))
    grazing = np.any(np.abs(distances - reach[:, None]) < gap, axis=1)
    return pore_tools.subset(pores, touches & ~grazing)


def _grains_touched(regions: dict[str, list[int]], pores) -> list[str]:
    """The regions whose bounding box a pore's bounding sphere (inflated <= 1.5x by pore_inputs) reaches: only
    they enter the cut; the others keep the faces they share with their neighbours."""
    import gmsh
    centres, reach = pores.centers_um, 1.5 * pores.bounding_radii_um()
    touched = []
    for name, tags in regions.items():
        for tag in tags:
            box_ = np.asarray(gmsh.model.occ.getBoundingBox(3, tag))
            gap = np.linalg.norm(np.maximum(0.0, np.maximum(box_[:3] - centres, centres - box_[3:])), axis=1)
            if np.any(gap <= reach):
                touched.append(name)
                break
    return touched


def _porosity_report(law, solid_um3: float, lower: np.ndarray, upper: np.ndarray, radius: float) -> dict:
    """The cube's porosity as built (OCC volumes) against the profile: at its centre, and averaged over the
    cube (a 16^3 grid of cell centres), so that a core cube spanning a steep profile is judged fairly."""
    volume = float(np.prod(upper - lower))
    out = {"porosity_geometry": 1.0 - solid_um3 / volume}
    if law is None:
        return out
    grid = (np.arange(16) + 0.5) / 16
    points = lower + (upper - lower) * np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)
    centre = 0.5 * (lower + upper)
    out.update(porosity_profile_at_centre=float(law(np.linalg.norm(centre) / radius)),
               porosity_profile_mean_in_cube=float(np.mean(law(np.linalg.norm(points, axis=1) / radius))))
    return out


def _volume_um3(geometry: dict) -> float:
    return (geometry["edge_m"] / UM_TO_M) ** 3


SPEC = KindSpec("subvolume", OPTIONS, build,
                "a cube cut from the particle (core or rim) with Voronoi grains and the local pores; cube_face facets",
                check=check, surfaces=lambda geometry: {}, volume_um3=_volume_um3)
