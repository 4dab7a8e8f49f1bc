"""Tetrahedral meshing of the current gmsh model (serial), progress reports, quality statistics and the
conversion to a distributed dolfinx mesh in metres."""
from __future__ import annotations

import contextlib
import logging
import threading
import time

import numpy as np

from solver.errors import CaseError
from solver.units import UM_TO_M

LOG = logging.getLogger("solver.geometry")
# gmsh's signed inverse condition number: 1 regular tet, <= 0 inverted. For a curved (second-order) tet
# gmsh bounds it over the whole element from the Bezier expansion of the Jacobian, so it also drops when
# the curving distorts a cell (and is <= 0 where the Jacobian changes sign): the same gate serves both orders.
QUALITY_MEASURE = "minSICN"
ALGORITHMS_3D = {"delaunay": 1, "hxt": 10}
TETRAHEDRON, TRIANGLE = 4, 2   # gmsh element types (straight)
TETRAHEDRON_OF_ORDER = {1: TETRAHEDRON, 2: 11}   # 11: 10-node tetrahedron


class MeshQualityError(CaseError):
    """The mesh has elements below the accepted quality (bad geometry or mesh options)."""


class Progress:
    """Stage messages with elapsed time, to `callback` (e.g. print) or the solver.geometry logger."""

    def __init__(self, callback=None, heartbeat_s: float = 30.0):
        self.callback = callback
        self.heartbeat_s = heartbeat_s
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def __call__(self, message: str) -> None:
        text = f"[mesh {self.elapsed():7.1f} s] {message}"
        if self.callback is None:
            LOG.info(text)
        else:
            self.callback(text)

    @contextlib.contextmanager
    def stage(self, what: str):
        """Report the start, a heartbeat while gmsh works (it releases the GIL), and the end."""
        self(f"{what} ...")
        done = threading.Event()
        began = time.perf_counter()

        def beat():
            while not done.wait(self.heartbeat_s):
                self(f"  still {what} ({time.perf_counter() - began:.0f} s)")

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def generate(mesh: dict, progress: Progress) -> dict:
    """Surface then volume mesh with the [mesh] options; returns element counts and timings."""
    import gmsh
    gmsh.option.setNumber("Mesh.Algorithm3D", ALGORITHMS_3D[mesh["algorithm_3d"]])
    gmsh.option.setNumber("Mesh.Optimize", 1)
    gmsh.option.setNumber("Mesh.OptimizeNetgen", 1 if mesh["optimize_netgen"] else 0)
    gmsh.option.setNumber("Mesh.MaxNumThreads3D", mesh["threads"])
    stats = {}
    t0 = time.perf_counter()
    with progress.stage("surface mesh"):
        gmsh.model.mesh.generate(2)
    stats["triangles"] = count_elements(TRIANGLE)
    stats["surface_mesh_seconds"] = time.perf_counter() - t0
    progress(f"surface mesh: {stats['triangles']} triangles")
    t0 = time.perf_counter()
    with progress.stage("volume mesh"):
        gmsh.model.mesh.generate(3)
    stats["tetrahedra"] = count_elements(TETRAHEDRON)
    stats["volume_mesh_seconds"] = time.perf_counter() - t0
    progress(f"volume mesh: {stats['tetrahedra']} tetrahedra")
    return stats


def count_elements(element_type: int) -> int:
    import gmsh
    tags, _ = gmsh.model.mesh.getElementsByType(element_type)
    return int(len(tags))


def quality_stats(order: int = 1) -> dict:
    """minSICN of every tetrahedron (of geometry order `order`): min, 1st percentile, mean."""
    import gmsh
    tags, _ = gmsh.model.mesh.getElementsByType(TETRAHEDRON_OF_ORDER[order])
    if len(tags) == 0:
        raise MeshQualityError("the mesh has no tetrahedra: the geometry has no volume to mesh")
    q = np.asarray(gmsh.model.mesh.getElementQualities(tags, QUALITY_MEASURE))
    return {"quality_measure": QUALITY_MEASURE, "min_quality": float(q.min()),
            "quality_p01": float(np.percentile(q, 1.0)), "quality_mean": float(q.mean()),
            "cells_below_0.1": int(np.sum(q < 0.1))}


def rescue_quality(quality: dict, threshold: float, progress: Progress) -> dict:
    """When the worst tetrahedron is below `threshold`, run gmsh's Netgen optimiser once and re-measure."""
    if quality["min_quality"] >= threshold:
        return quality
    import gmsh
    progress(f"min {QUALITY_MEASURE} {quality['min_quality']:.3g} < {threshold:g}: Netgen optimisation")
    with progress.stage("optimising"):
        gmsh.model.mesh.optimize("Netgen")
    return dict(quality_stats(), netgen_rescue=True)


def curve(order: int, threshold: float, progress: Progress, straight: dict) -> dict:
    """Raise the mesh to geometry `order` (nodes of the new edge midpoints placed on the CAD surfaces)
    and re-measure on the curved cells; below `threshold`, gmsh's high-order optimiser untangles them once.

    `straight` (the straight mesh's quality) is kept under "straight_min_quality" for comparison.
    """
    if order == 1:
        return straight
    import gmsh
    with progress.stage(f"geometry order {order}"):
        gmsh.model.mesh.setOrder(order)
    quality = quality_stats(order)
    if quality["min_quality"] < threshold:
        progress(f"curved min {QUALITY_MEASURE} {quality['min_quality']:.3g} < {threshold:g}: "
                 "high-order optimisation")
        with progress.stage("optimising curved cells"):
            gmsh.model.mesh.optimize("HighOrder")
        quality = dict(quality_stats(order), high_order_rescue=True)
    return dict(quality, geometry_order=order, straight_min_quality=straight["min_quality"])


def check_quality(quality: dict, threshold: float) -> None:
    if quality["min_quality"] < threshold:
        raise MeshQualityError(
            f"mesh quality: min {quality['quality_measure']} = {quality['min_quality']:.4g} is below "
            f"mesh.min_quality = {threshold:g} ({quality['cells_below_0.1']} cells below 0.1); refine "
            "mesh.surface_cell_size_fraction / mesh.curvature_cells, add gaps between features, or lower "
            "mesh.min_quality")


def to_dolfinx(comm, rank: int = 0):
    """(mesh, cell_tags, facet_tags) from the current gmsh model on `rank`, coordinates scaled um -> m."""
    import gmsh

    from solver import compat

    mesh, cell_tags, facet_tags = compat.gmsh_model_to_mesh(gmsh.model, comm, rank)
    mesh.geometry.x[:] *= UM_TO_M
    return mesh, cell_tags, facet_tags
