"""The central section of a polycrystalline particle as a 2D triangle mesh (solver.formulation = "section_2d").

Micrometres in gmsh, metres in dolfinx; the section is the disc |x| <= R of the plane z = 0 through the centre.
It is built from the case's [geometry] (kind "polycrystal", or "sphere" for a single-crystal disc):

  grains    grain_count Voronoi cells of seeds in the disc (hard-core distance grain_spacing_fraction x the mean
            2D spacing), named grain_<i>, each with a random (or radially textured) 3D orientation: the
            plane-strain stiffness and eigenstrain of solver/materials_layered.py see the grain's full 3D
            hexagonal axis, not its in-plane projection
  pores     circles with the measured sizes, unscaled: a pore volume is drawn from geometry.volume_classes_um3
            (the FIB-SEM classes by default), turned into its equivalent sphere radius a, and cut by the
            section plane at a uniform offset h in (-a, a), giving a circle of radius sqrt(a^2 - h^2); a plane
            meets a sphere of radius a with probability proportional to a (Wicksell), so classes are drawn with
            weights count_fraction x mean radius. geometry.central_pores_um3 are placed at the centre, cut
            through their middle. Circles are added at random positions in 10 rings (random sequential addition,
            gap geometry.min_gap_um, geometry.surface_gap_um from the surface; each circle's area counted in
            the rings it overlaps, exactly) until each ring holds the area fraction of the porosity profile there (Delesse: area fraction = volume fraction; the same
            solver/geometry/porosity/profiles.py law as the 3D particles); geometry.volume_scale is ignored
            (the point of a section is the measured pore size)
  facets    outer_surface, pore_surface, grain_boundary

Construction: the Voronoi cells are clipped to the disc here (clipped_cells: straight pieces and rim arcs on shared
points), so the grains are built conformal from shared OCC points and lines without a boolean; one OCC cut removes
the pores. Measured on 2 shared cores with the shipped case's pores (~210) and mesh: 250 / 1000 / 2000 grains take
1.8 / 7.1 / 21.2 s of geometry (an OCC intersect of the polygons with the disc took 3.5 / 23.6 / 72.9 s; OCC's
parallel mode, a fuzzy tolerance or a single fragment call did not help it) and 3-12 s more for the triangles
and the transfer to dolfinx. The triangles are straight
(mesh.geometry_order = 1) or, for a dense disc (kind "sphere"), quadratic and curved on the rim with
mesh.geometry_order = 2, as in the meridian mesh (solver/reduced/meridian_mesh.py); the schema keeps pores and
grains straight (curved edges of small pores met by grain boundaries invert cells). Same seed, same mesh; meshes
are cached like the 3D ones (solver/geometry/cache.py; the key adds this module's source).
"""
from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path

import numpy as np
import ufl
from mpi4py import MPI
import dolfinx.fem

from solver import compat
from solver.errors import CaseError
from solver.geometry import cache, pores as pore_tools
from solver.geometry.build import FACET_IDS, cell_id
from solver.geometry.occ import gmsh_session
from solver.geometry.orientations import grain_rotations
from solver.geometry.particle_mesh import ParticleMesh
from solver.geometry.sizing import Sizes
from solver.reduced.meridian_mesh import TRIANGLE, size_field
from solver.units import UM_TO_M

RINGS = 10
MAX_PORE_TRIES = 200        # failed placements per accepted pore before a ring is declared full
RING_OVERSHOOT = 0.005      # largest accepted excess of a ring's pore area over its target, as a fraction of the ring
GHOSTS = 32                 # points on a ring at 3 R that bound every Voronoi cell of the disc


def section_seeds(rng: np.random.Generator, count: int, radius: float, spacing_fraction: float) -> np.ndarray:
    """`count` points in the disc, pairwise >= spacing_fraction x the mean 2D grain spacing apart."""
    spacing = math.sqrt(math.pi * radius**2 / count)
    hard_core = spacing_fraction * spacing
    reach = radius - 0.5 * hard_core
    seeds = np.empty((count, 2))
    placed = 0
    for _ in range(200):
        batch = rng.uniform(-reach, reach, size=(20 * count, 2))
        for p in batch[np.einsum("ij,ij->i", batch, batch) <= reach**2]:
            if placed and np.min(np.einsum("ij,ij->i", seeds[:placed] - p, seeds[:placed] - p)) < hard_core**2:
                continue
            seeds[placed] = p
            placed += 1
            if placed == count:
                return seeds
    raise CaseError(f"geometry.grain_spacing_fraction = {spacing_fraction}: could not place {count} grain seeds "
                    f"{hard_core:.3g} um apart in the section (placed {placed}); lower it")


def voronoi_cells_2d(seeds: np.ndarray, radius: float) -> tuple[np.ndarray, list[list[int]]]:
    """(vertices (m, 2), the vertex indices of every seed's Voronoi cell, counter-clockwise): neighbouring cells
    share their vertices by index. Ghost points on a ring at 3 R bound every cell (cells then reach at most ~2 R
    out, and the disc clips them)."""
    from scipy.spatial import Voronoi

    angles = np.linspace(0.0, 2.0 * math.pi, GHOSTS, endpoint=False)
    ghosts = 3.0 * radius * np.column_stack([np.cos(angles), np.sin(angles)])
    diagram = Voronoi(np.vstack([seeds, ghosts]))
    cells = []
    for i in range(len(seeds)):
        region = np.asarray(diagram.regions[diagram.point_region[i]])
        offsets = diagram.vertices[region] - seeds[i]
        cells.append(region[np.argsort(np.arctan2(offsets[:, 1], offsets[:, 0]))].tolist())
    return diagram.vertices, cells


def _crossings(a: np.ndarray, b: np.ndarray, radius: float) -> list[float]:
    """Parameters t in (0, 1) where a + t (b - a) crosses the circle |x| = radius, ascending."""
    d = b - a
    qa, qb, qc = d @ d, 2.0 * (a @ d), a @ a - radius**2
    disc = qb * qb - 4.0 * qa * qc
    if disc <= 0.0:       # misses or touches the circle: no crossing
        return []
    root = math.sqrt(disc)
    return [t for t in ((-qb - root) / (2 * qa), (-qb + root) / (2 * qa)) if 0.0 < t < 1.0]


def clipped_cells(vertices: np.ndarray, cells: list[list[int]], radius: float) -> tuple[dict, list[list[tuple]]]:
    """Every cell clipped to the disc as a closed boundary of ("line" | "arc", point key, point key) pieces,
    counter-clockwise, and the coordinates of every point key. Keys are shared: ("v", i) a Voronoi vertex,
    ("x", i, j, k) the k-th crossing of the edge between vertices i < j with the circle (computed once from i to j,
    so both cells of an edge get the same point). Lines between the same two keys are one curve; arcs (on the rim)
    belong to one cell. Cells are convex, so the boundary is the inside part of each edge, and between an exit
    from the disc and the next entry the circle, counter-clockwise."""
    points: dict = {}
    boundaries = []
    for cell in cells:
        walk = []          # (key, kind): kind "vertex", "entry" or "exit"
        for a, b in zip(cell, cell[1:] + cell[:1]):
            if np.hypot(*vertices[a]) < radius:
                points[("v", a)] = vertices[a]
                walk.append((("v", a), "vertex"))
            lo, hi = min(a, b), max(a, b)
            ts = _crossings(vertices[lo], vertices[hi], radius)
            crossings = []
            for k, t in enumerate(ts):
                key = ("x", lo, hi, k)
                points[key] = vertices[lo] + t * (vertices[hi] - vertices[lo])
                crossings.append((t if a == lo else 1.0 - t, key))
            for _, key in sorted(crossings):
                inside_before = np.hypot(*(0.5 * (vertices[a] + points[key]))) < radius
                walk.append((key, "exit" if inside_before else "entry"))
        boundary = [("arc" if kind == "exit" else "line", key, walk[(n + 1) % len(walk)][0])
                    for n, (key, kind) in enumerate(walk)]
        boundaries.append(boundary)
    return points, boundaries
def _wicksell_weights(classes: np.ndarray) -> np.ndarray:
    """Class weights of the pores a plane meets: count fraction x mean equivalent radius (log-uniform volumes)."""
    low, high = classes[:, 0], classes[:, 1]
    mean_radius = (3.0 / (4.0 * math.pi)) ** (1 / 3) * 3.0 * (high ** (1 / 3) - low ** (1 / 3)) / np.log(high / low)
    weights = classes[:, 2] * mean_radius
    return weights / weights.sum()


def section_pores(rng: np.random.Generator, geometry: dict, radius: float) -> tuple[np.ndarray, np.ndarray, list]:
    """(centres (n, 2), radii (n,)) in micrometres of the section's pore circles (see the module docstring), and
    per ring its edges (r/R), drawn porosity and the profile's."""
    if not pore_tools.has_pores(geometry):
        return np.empty((0, 2)), np.empty(0), []
    profile = pore_tools.profile(geometry["porosity"])
    module = pore_tools.sampler()
    classes = np.asarray(geometry["volume_classes_um3"] or module.MEASURED_VOLUME_CLASSES, dtype=float)
    weights = _wicksell_weights(classes)
    gap, surface_gap = pore_tools.gaps_um(geometry, radius)
    centres: list[np.ndarray] = []
    radii: list[float] = []

    def fits(centre, a) -> bool:
        if np.linalg.norm(centre) + a > radius - surface_gap:
            return False
        if not radii:
            return True
        distance = np.linalg.norm(np.asarray(centres) - centre, axis=1)
        return bool(np.all(distance >= np.asarray(radii) + a + gap))

    edges = np.linspace(0.0, radius, RINGS + 1)
    ring_area = math.pi * (edges[1:] ** 2 - edges[:-1] ** 2)
    targets = np.array([profile.annulus_mean(a / radius, b / radius) for a, b in zip(edges[:-1], edges[1:])]) * ring_area
    area_in_ring = np.zeros(RINGS)

    def share(centre, a) -> np.ndarray:
        """The circle's area in every ring."""
        return module.circle_annulus_area(a, np.linalg.norm(centre), edges[:-1], edges[1:])

    def add(centre, a, shares) -> None:
        nonlocal area_in_ring
        centres.append(centre)
        radii.append(a)
        area_in_ring = area_in_ring + shares

    for volume_m3 in geometry["central_pores_m3"] or []:
        a = (3.0 * volume_m3 / UM_TO_M**3 / (4.0 * math.pi)) ** (1 / 3)
        centre = np.zeros(2) if not radii else _beside(centres, radii, a, gap)
        add(centre, a, share(centre, a))
    for ring in range(RINGS):
        inner, outer = edges[ring], edges[ring + 1]
        failures = 0
        while area_in_ring[ring] < targets[ring] and failures < MAX_PORE_TRIES:
            k = rng.choice(len(classes), p=weights)
            volume = math.exp(rng.uniform(math.log(classes[k, 0]), math.log(classes[k, 1])))
            sphere = (3.0 * volume / (4.0 * math.pi)) ** (1 / 3)
            a = sphere * math.sqrt(1.0 - rng.uniform(-1.0, 1.0) ** 2)
            r = math.sqrt(rng.uniform(inner**2, outer**2))
            angle = rng.uniform(0.0, 2.0 * math.pi)
            centre = np.array([r * math.cos(angle), r * math.sin(angle)])
            if a < 0.1 * sphere or not fits(centre, a):     # grazing cuts (a < sphere / 10) would only make slivers
                failures += 1
                continue
            # a pore may overshoot the target of its ring, or of an inner ring it spills into (those are filled
            # already), by at most RING_OVERSHOOT of that ring, and its own ring by less than it falls short
            # without it (else the last pore of a small ring may double its porosity)
            shares = share(centre, a)
            excess = (area_in_ring + shares - targets)[: ring + 1]
            limit = RING_OVERSHOOT * ring_area[: ring + 1]
            limit[ring] = min(limit[ring], targets[ring] - area_in_ring[ring])
            if np.any((shares[: ring + 1] > 0) & (excess > limit)):
                failures += 1
                continue
            failures = 0
            add(centre, a, shares)
    rings = [{"r_fraction": [a / radius, b / radius], "porosity": drawn / area, "profile": target / area}
             for a, b, drawn, target, area in zip(edges[:-1], edges[1:], area_in_ring, targets, ring_area)]
    return np.asarray(centres).reshape(-1, 2), np.asarray(radii), rings


def _beside(centres: list, radii: list, a: float, gap: float) -> np.ndarray:
    """A centre for a further central pore: touching (with the gap) the first one, on the +x side."""
    return centres[0] + np.array([radii[0] + a + gap, 0.0])


def section_layout(geometry: dict) -> dict:
    """Seeds, Voronoi cells, orientations and pores of the section (micrometres), seeded by geometry.seed; the kinds
    symmetry.check_section accepts (a sphere is one dense bulk disc)."""
    radius = geometry["radius_m"] / UM_TO_M
    polycrystal = geometry["kind"] == "polycrystal"
    rng = np.random.default_rng([geometry.get("seed", 0), 2])
    count = geometry["grain_count"] if polycrystal else 1
    seeds = section_seeds(rng, count, radius, geometry["grain_spacing_fraction"]) if polycrystal else np.zeros((1, 2))
    rotations = textured = None
    if polycrystal:
        rotations, textured = grain_rotations(rng, np.column_stack([seeds, np.zeros(count)]), geometry["orientation"],
                                              geometry["radial_texture_fraction"], geometry["radial_axis"],
                                              geometry["textured_shell_inner_fraction"] * radius)
    centres, pore_radii, rings = section_pores(rng, geometry, radius) if polycrystal else (np.empty((0, 2)),
                                                                                          np.empty(0), [])
    return {"radius_um": radius, "seeds_um": seeds, "rotations": rotations,
            "textured": 0 if textured is None else int(textured.sum()),
            **_voronoi_layout(seeds, radius, polycrystal),
            "pore_centres_um": centres, "pore_radii_um": pore_radii, "porosity_by_ring": rings}


def _rim_arc(occ, start: int, end: int, start_xy, end_xy, radius: float, centre: int) -> list[int]:
    """Curves of the rim from start to end, counter-clockwise, in pieces below pi/2 (OCC arcs must be < pi)."""
    first = math.atan2(start_xy[1], start_xy[0])
    sweep = (math.atan2(end_xy[1], end_xy[0]) - first) % (2.0 * math.pi)
    pieces = max(1, math.ceil(sweep / (0.5 * math.pi)))
    tags = [start] + [occ.addPoint(radius * math.cos(first + sweep * k / pieces),
                                   radius * math.sin(first + sweep * k / pieces), 0.0)
                      for k in range(1, pieces)] + [end]
    return [occ.addCircleArc(a, centre, b) for a, b in zip(tags, tags[1:])]


def _voronoi_layout(seeds: np.ndarray, radius: float, polycrystal: bool) -> dict:
    if not polycrystal:
        return {"vertices_um": None, "cells": None}
    vertices, cells = voronoi_cells_2d(seeds, radius)
    return {"vertices_um": vertices, "cells": cells}


def _occ_regions(layout: dict) -> tuple[dict, dict]:
    """The grains (clipped to the disc, pores cut out) as OCC surfaces; returns ({region: surfaces},
    {facet region: curves}). The grains are built from shared points and lines (clipped_cells), so they are
    conformal without a boolean; the pores are cut in one OCC call."""
    import gmsh
    occ = gmsh.model.occ
    radius = layout["radius_um"]
    if layout["cells"] is None:
        pieces = {occ.addDisk(0.0, 0.0, 0.0, radius, radius): "bulk"}
    else:
        points, boundaries = clipped_cells(layout["vertices_um"], layout["cells"], radius)
        point_tags = {key: occ.addPoint(x, y, 0.0) for key, (x, y) in points.items()}
        centre = occ.addPoint(0.0, 0.0, 0.0)
        lines: dict = {}
        pieces = {}
        for i, boundary in enumerate(boundaries):
            curves = []
            for kind, a, b in boundary:
                if kind == "arc":
                    curves += _rim_arc(occ, point_tags[a], point_tags[b], points[a], points[b], radius, centre)
                    continue
                edge = (a, b) if point_tags[a] < point_tags[b] else (b, a)
                if edge not in lines:
                    lines[edge] = occ.addLine(point_tags[edge[0]], point_tags[edge[1]])
                curves.append(lines[edge])
            pieces[occ.addPlaneSurface([occ.addCurveLoop(curves)])] = f"grain_{i}"
        occ.remove([(0, centre)])
    holes = [(2, occ.addDisk(x, y, 0.0, a, a)) for (x, y), a in zip(layout["pore_centres_um"],
                                                                     layout["pore_radii_um"])]
    if holes:
        objects = [(2, tag) for tag in pieces]
        _, children = occ.cut(objects, holes)
        pieces = {tag: pieces[parent] for (_, parent), kids in zip(objects, children[:len(objects)])
                  for _, tag in kids}
    occ.synchronize()
    cells: dict[str, list[int]] = {}
    for tag, name in pieces.items():
        cells.setdefault(name, []).append(tag)
    facets: dict[str, list[int]] = {}
    for _, curve in gmsh.model.getEntities(1):
        above = [pieces[s] for s in gmsh.model.getAdjacencies(1, curve)[0] if s in pieces]
        if len(set(above)) == 2:
            facets.setdefault("grain_boundary", []).append(curve)
        elif len(above) == 1:
            low, high = gmsh.model.getParametrizationBounds(1, curve)
            point = gmsh.model.getValue(1, curve, [0.5 * (low[0] + high[0])])
            on_surface = abs(math.hypot(point[0], point[1]) - radius) < 1e-6 * radius
            facets.setdefault("outer_surface" if on_surface else "pore_surface", []).append(curve)
    return cells, facets


def _mesh_section(geometry: dict, mesh_options: dict) -> dict:
    """Build and mesh the section in the current gmsh model; returns what the cache stores with the mesh."""
    import gmsh

    started = time.perf_counter()
    layout = section_layout(geometry)
    radius = layout["radius_um"]
    sizes = Sizes.from_options(mesh_options, radius)
    cells, facets = _occ_regions(layout)
    built = time.perf_counter()
    cell_regions = {name: cell_id(name) for name in cells}
    facet_regions = {name: FACET_IDS[name] for name in sorted(facets, key=FACET_IDS.get)}
    for name, surfaces in cells.items():
        gmsh.model.addPhysicalGroup(2, surfaces, cell_regions[name], name=name)
    for name, curves in facets.items():
        gmsh.model.addPhysicalGroup(1, curves, facet_regions[name], name=name)
    size_field({name: facets[name] for name in ("outer_surface",) if name in facets}, sizes, {})
    # pores get their cells from their curvature (curvature_cells per 2 pi), down to mesh.min_cell_size_fraction
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", mesh_options["curvature_cells"])
    gmsh.option.setNumber("Mesh.MeshSizeMin", sizes.minimum)
    gmsh.model.mesh.generate(2)
    triangles = len(gmsh.model.mesh.getElementsByType(TRIANGLE)[0])
    if mesh_options["geometry_order"] == 2:
        gmsh.model.mesh.setOrder(2)
    radii = layout["pore_radii_um"]
    description = {"formulation": "section_2d", "kind": geometry["kind"], "triangles": triangles,
                   "radius_m": geometry["radius_m"], "grain_count": len(layout["seeds_um"]),
                   "textured_grains": layout["textured"], "pore_count": int(len(radii)),
                   "section_porosity": float(np.sum(np.pi * radii**2)) / (math.pi * radius**2),
                   "porosity_by_ring": layout["porosity_by_ring"],
                   "pore_radius_um": {"min": float(radii.min()) if len(radii) else 0.0,
                                      "max": float(radii.max()) if len(radii) else 0.0},
                   "sizes_um": {"coarse": sizes.coarse, "surface": sizes.surface, "minimum": sizes.minimum},
                   "seconds": {"geometry": built - started, "mesh": time.perf_counter() - built}}
    rotations = layout["rotations"]
    return {"cell_regions": cell_regions, "facet_regions": facet_regions, "description": description,
            "grain_orientations": None if rotations is None else rotations.tolist()}


def _cache_key(geometry: dict, mesh_options: dict) -> str:
    """The 3D meshes' cache key (solver/geometry/cache.py) with this module's source and the pore sampler's."""
    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    return cache.cache_key(geometry, mesh_options, {"formulation": "section_2d", "section_builder": source,
                                                    "sampler": pore_tools.sampler_digest()})


def build_section_mesh(geometry: dict, mesh_options: dict, comm=MPI.COMM_SELF, cache_dir: Path | None = None) \
        -> ParticleMesh:
    """Triangle mesh of the particle's central section (metres), regions named (see the module docstring); from
    the mesh cache when `cache_dir` holds it (same key rules as the 3D meshes), else built and stored there."""
    import gmsh

    started = time.perf_counter()
    with gmsh_session(1, mesh_options["verbose"]):
        key = _cache_key(geometry, mesh_options)
        meta = cache.load_meta(cache_dir, key)
        if meta is None:
            meta = _mesh_section(geometry, mesh_options)
            cache.store(cache_dir, key, meta)
            meta["description"]["cache_hit"] = False
        else:
            cache.merge_mesh(cache_dir, key)
            meta["description"]["cache_hit"] = True
        mesh, cell_tags, facet_tags = compat.gmsh_model_to_mesh(gmsh.model, comm, 0, gdim=2)
    mesh.geometry.x[:] *= UM_TO_M
    # the meshed pores are polygons (chords): their area, as meshed, is what the model sees
    area_m2 = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(1.0 * ufl.dx(domain=mesh))))
    description = dict(meta["description"], cache_key=key,
                       section_porosity_meshed=1.0 - area_m2 / (math.pi * geometry["radius_m"] ** 2))
    description["seconds"] = dict(description["seconds"], total=time.perf_counter() - started)
    orientations = meta["grain_orientations"]
    return ParticleMesh(mesh=mesh, cell_tags=cell_tags, facet_tags=facet_tags,
                        cell_regions=dict(meta["cell_regions"]), facet_regions=dict(meta["facet_regions"]),
                        radius_m=geometry["radius_m"], description=description,
                        grain_orientations=None if orientations is None else np.asarray(orientations, float))


def section_geometry_report(case: dict, comm=MPI.COMM_WORLD, cache_dir: Path | None = None) -> dict:
    """What `python -m solver mesh` reports for a section_2d case (geometry.json): the section mesh's description
    (grains, pores, drawn and meshed section porosity, porosity per ring against the profile), cell and facet
    counts by region. Checks the case as a run would first. Serial (rank 0 meshes, as the runner does)."""
    from solver.reduced.symmetry import check_section

    check_section(case)
    particle = build_section_mesh(case["geometry"], case["mesh"], MPI.COMM_SELF, cache_dir) if comm.rank == 0 else None
    if particle is None:
        return {}
    tags = particle.cell_tags
    return {**particle.description, "cells": int(len(tags.values)), "grains": len(particle.cell_regions),
            "facet_regions": sorted(particle.facet_regions)}
