"""Result files: an atomic result folder, summary.json, timeseries.csv, the field files and the mesh file.

Everything is written into a staging folder next to the destination and moved into place in one
rename at the end (also after a failed solve, with the status recorded), so a result folder is
either complete or absent: never half-written. Only a folder this tool wrote is replaced (solver/outputs.py).

The field files hold one set of fields (Li concentration, li_fraction, region, displacement, the stress measures
of solver/quantities.py, extension fields such as O2) at every snapshot time, in two forms, because no single
format is read by all of ParaView, meshio and dolfinx users:
- fields_<k>.vtu / fields_final.vtu, one per snapshot, and fields.pvd listing them with their times: meshio.read
  opens each VTU with every field, ParaView (and pyvista) the .pvd as one time series. The renderer reads the VTUs.
- fields.xdmf + fields.h5: one temporal collection whose grid at each time carries every field (dolfinx's
  XDMFFile writes one collection per function, which meshio.xdmf.TimeSeriesReader reads as 1 field and
  meshio.read refuses; FieldWriter.close merges them), for ParaView's XDMF reader and meshio's TimeSeriesReader.
- mesh.xdmf + mesh.h5: the mesh with its cell tags ("cell_tags") and facet tags ("facet_tags"), written once,
  for dolfinx.io.XDMFFile.read_mesh / read_meshtags; mesh_regions.json maps region names to tag values.
- displacement_p2.bp: the P2 displacement itself (ADIOS2 VTX, ParaView), where this dolfinx has VTXWriter; the
  other files carry its P1 interpolant (the vertex values), which is all dolfinx 0.5.2 from Debian can write.
"""
from __future__ import annotations

import contextlib
import csv
import os
import shutil
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from mpi4py import MPI
import dolfinx.fem

from solver import compat, outputs, quantities
from solver.postprocess import VertexAverage

FIELDS_XDMF = "fields.xdmf"
FIELDS_PVD = "fields.pvd"
MESH_XDMF = "mesh.xdmf"
MESH_REGIONS = "mesh_regions.json"
DISPLACEMENT_VTX = "displacement_p2.bp"
CELL_TAGS_NAME = "cell_tags"
FACET_TAGS_NAME = "facet_tags"
_XINCLUDE_URI = "http://www.w3.org/2001/XInclude"

# the columns of timeseries.csv as the quantity registry has them at import (a TimeseriesWriter reads the registry
# when it is made, so quantities registered later are written too)
TIMESERIES_COLUMNS = quantities.timeseries_columns()
VTU_MESH_KEYS = ("ids", "points", "cells", "region")   # FieldWriter's VTU arrays that are not point fields


class ResultFolder:
    """A staging folder that becomes `final` in one rename; rank 0 does the file-system work.

    `final` must be new, empty, or a result folder this tool wrote (solver/outputs.py): anything else is
    refused (OutputError) before any work, and again at the rename.
    """

    def __init__(self, final: str | Path, comm=MPI.COMM_WORLD):
        self.final = Path(os.path.abspath(final))
        self.comm = comm
        token = comm.bcast(uuid.uuid4().hex[:12] if comm.rank == 0 else None, root=0)
        self.staging = self.final.parent / f".{self.final.name}.partial-{token}"

        def create():
            outputs.check_output_folder(self.final, "run")
            outputs.make_staging(self.staging, "run")
        outputs.on_root(comm, create)
        self._open_writers = []        # release() of writers holding files in the staging folder

    def path(self, name: str) -> Path:
        return self.staging / name

    def commit(self) -> Path:
        self.comm.barrier()
        outputs.on_root(self.comm, lambda: outputs.replace_result_folder(self.staging, self.final, "run"))
        return self.final

    def close_before_discard(self, release) -> None:
        """Register a writer's release() (close its files, no post-processing) to run before discard(): an
        ADIOS2 (VTX) engine closed after its folder was removed aborts the process (dolfinx 0.9, seen on a
        Ctrl-C), so no file handle may outlive the staging folder."""
        self._open_writers.append(release)

    def discard(self) -> None:
        for release in reversed(self._open_writers):
            with contextlib.suppress(Exception):     # already on a failure path: the original error wins
                release()
        if self.comm.rank == 0:
            shutil.rmtree(self.staging, ignore_errors=True)


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(outputs.dumps_json(data))
    os.replace(tmp, path)


class TimeseriesWriter:
    """Rows appended and flushed as the run goes, so a failed run keeps what it computed. Columns: those of
    timeseries.csv (the quantity registry's), or `columns` (a field's own table)."""

    def __init__(self, path: Path, comm, columns: tuple[str, ...] | None = None):
        self.comm = comm
        self.rows: list[dict] = []
        self.columns = quantities.timeseries_columns() if columns is None else columns
        self._file = open(path, "w", newline="") if comm.rank == 0 else None
        if self._file:
            self._writer = csv.DictWriter(self._file, fieldnames=self.columns)
            self._writer.writeheader()

    def append(self, row: dict) -> None:
        self.rows.append(row)
        if self._file:
            self._writer.writerow({k: row[k] for k in self.columns})
            self._file.flush()

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None


def write_pvd(path: Path, snapshots: list[dict]) -> None:
    """ParaView's collection of the snapshot VTUs with their times; a snapshot at the time of the one before (the
    final state after a cut-off) is left out, as ParaView shows one data set per time."""
    collection = ET.Element("Collection")
    last = None
    for snapshot in snapshots:
        if snapshot["time_s"] == last:
            continue
        last = snapshot["time_s"]
        ET.SubElement(collection, "DataSet", timestep=repr(float(last)), group="", part="0", file=snapshot["file"])
    root = ET.Element("VTKFile", type="Collection", version="0.1")
    root.append(collection)
    ET.indent(root)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text('<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n")
    os.replace(tmp, path)


def merge_xdmf_time_series(path: Path) -> None:
    """Rewrite a closed XDMF file of dolfinx (one temporal collection per function) as one temporal collection
    whose grid at each time holds every function's Attribute, the layout meshio.xdmf.TimeSeriesReader and
    ParaView read as one time series with all fields. The heavy data (fields.h5) is not touched."""
    ET.register_namespace("xi", _XINCLUDE_URI)
    tree = ET.parse(path)
    domain = tree.getroot().find("Domain")
    collections = [grid for grid in domain.findall("Grid") if grid.get("GridType") == "Collection"]
    merged = ET.Element("Grid", Name="fields", GridType="Collection", CollectionType="Temporal")
    at_time: dict[str, ET.Element] = {}
    for collection in collections:
        for grid in collection.findall("Grid"):
            time = grid.find("Time").get("Value")
            if time not in at_time:   # the first function's grid gives the mesh reference and the time
                at_time[time] = ET.SubElement(merged, "Grid", Name="fields", GridType="Uniform")
                at_time[time].extend(child for child in grid if child.tag != "Attribute")
            at_time[time].extend(grid.findall("Attribute"))
        domain.remove(collection)
    domain.append(merged)
    ET.indent(tree)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text('<?xml version="1.0"?>\n<!DOCTYPE Xdmf SYSTEM "Xdmf.dtd" []>\n'
                   + ET.tostring(tree.getroot(), encoding="unicode") + "\n")
    os.replace(tmp, path)


def write_mesh_file(particle, folder: ResultFolder, comm) -> None:
    """mesh.xdmf with the cell and facet tags (names in mesh_regions.json), written once per run."""
    with compat.xdmf_file(comm, folder.path(MESH_XDMF)) as xdmf:
        xdmf.write_mesh(particle.mesh)
        compat.write_meshtags(xdmf, particle.cell_tags, particle.mesh, CELL_TAGS_NAME)
        compat.write_meshtags(xdmf, particle.facet_tags, particle.mesh, FACET_TAGS_NAME)
    if comm.rank == 0:
        compat.repair_xdmf(folder.path(MESH_XDMF))
        write_json(folder.path(MESH_REGIONS), {
            "mesh_file": MESH_XDMF, "length_unit": "m",
            "cell_tags": {"name": CELL_TAGS_NAME, "regions": particle.cell_regions},
            "facet_tags": {"name": FACET_TAGS_NAME, "regions": particle.facet_regions}})


class FieldWriter:
    """The field files of a 3D run (module docstring): P1 nodal fields and the cell regions in the snapshot VTUs
    (meshio, rank 0), fields.pvd, the merged XDMF time series, the mesh file and, where possible, the P2
    displacement (VTX)."""

    def __init__(self, problem, folder: ResultFolder, extra_point_fields=()):
        self.problem = problem
        self.folder = folder
        mesh = problem.mesh
        self.V1 = compat.scalar_space(mesh, 1)
        self.W1 = compat.vector_space(mesh, 1)
        self.concentration = dolfinx.fem.Function(self.V1, name="concentration_mol_m3")
        self.li_fraction = dolfinx.fem.Function(self.V1, name="li_fraction")
        self.displacement = dolfinx.fem.Function(self.W1, name="displacement_m")
        self.region = self._region_function(problem.particle.cell_tags)
        self.scalars = {q.name: dolfinx.fem.Function(self.V1, name=q.field_name) for q in quantities.stress_quantities()}
        # extension fields (e.g. O2 concentration) are interpolated to P1 under their own names
        self.extra = [(field, dolfinx.fem.Function(self.V1, name=field.name)) for field in extra_point_fields]
        # Nodal stress = the volume-weighted average of the exact DG stress values of the cells around each
        # vertex (postprocess.VertexAverage), which is what a picture should show; unlike a lumped L2
        # projection it does not pull surface values towards the interior.
        self._stress_average = VertexAverage(problem, self.V1)
        self._stress_weights = self._stress_average.weights()
        write_mesh_file(problem.particle, folder, problem.comm)
        self.xdmf = compat.xdmf_file(problem.comm, folder.path(FIELDS_XDMF))
        self.xdmf.write_mesh(mesh)
        self.displacement_p2 = dolfinx.fem.Function(problem.u.function_space, name="displacement_m")
        self.vtx = compat.vtx_writer(problem.comm, folder.path(DISPLACEMENT_VTX), [self.displacement_p2])
        self._open = True
        folder.close_before_discard(self.release)
        # XDMF (dolfinx 0.7+) writes a function only in the mesh's own degree: on curved (degree-2) meshes the
        # P1 fields go out interpolated into P2 (exact, P1 is a subspace), so every release writes the same file.
        degree = compat.geometry_degree(mesh)
        self._xdmf_spaces = {} if degree == 1 else {
            1: compat.scalar_space(mesh, degree), 3: compat.vector_space(mesh, degree)}
        self.snapshots: list[dict] = []

    def _region_function(self, cell_tags):
        """The cell regions' tag values as a DG0 field (cell data "region" in the XDMF, as in the VTUs)."""
        space = compat.scalar_space(self.problem.mesh, 0, "Discontinuous Lagrange")
        region = dolfinx.fem.Function(space, name="region")
        region.x.array[compat.cell_dofs(space)[cell_tags.indices, 0]] = cell_tags.values
        return region

    def description(self) -> dict:
        """What the field files hold, for summary.json."""
        degree = compat.element_degree(self.problem.u.function_space)
        return {"snapshots_vtu": [s["file"] for s in self.snapshots], "collection_pvd": FIELDS_PVD,
                "time_series_xdmf": FIELDS_XDMF, "mesh_xdmf": MESH_XDMF, "mesh_regions_json": MESH_REGIONS,
                "displacement_degree_solved": degree,
                "displacement_in_vtu_xdmf": "P1 interpolant (vertex values) of the solved displacement",
                "displacement_full_degree_vtx": DISPLACEMENT_VTX if self.vtx is not None else None}

    def _update_nodal_fields(self) -> None:
        self.concentration.interpolate(self.problem.li_concentration_field())  # Li content (solver/shell.py)
        self.li_fraction.x.array[:] = self.concentration.x.array / self.problem.c_max
        self.displacement.interpolate(self.problem.u)
        nodal_stress = self._stress_average.sums() / self._stress_weights[:, None, None]
        measures = quantities.stress_measures(nodal_stress, self._stress_average.points, self.problem.particle.radius_m)
        for name, function in self.scalars.items():
            function.x.array[:] = measures[name]
        for source, nodal in self.extra:
            nodal.interpolate(source)

    def write(self, time_s: float, state_of_charge: float, label: str) -> None:
        self._update_nodal_fields()
        # XDMF keeps one entry per time: the same state again (the final state after a cut-off) goes to VTU only
        if not self.snapshots or self.snapshots[-1]["time_s"] != time_s:
            for function in (self.concentration, self.li_fraction, self.displacement, *self.scalars.values(),
                             *(f for _, f in self.extra), self.region):
                self.xdmf.write_function(self._in_mesh_degree(function), time_s)
            if self.vtx is not None:
                self.displacement_p2.x.array[:] = self.problem.u.x.array
                self.vtx.write(time_s)
        file_name = f"fields_{label}.vtu"
        self._write_vtu(self.folder.path(file_name))
        self.snapshots.append({"file": file_name, "time_s": time_s, "state_of_charge": state_of_charge})
        if self.problem.comm.rank == 0:
            write_json(self.folder.path("snapshots.json"), self.snapshots)
            write_pvd(self.folder.path(FIELDS_PVD), self.snapshots)

    def capture(self) -> dict:
        """This rank's part of the current state's VTU fields, copied (kept in memory until `write_captured`): the
        field files at the peaks (solver/runs.py PeakSnapshots). Collective."""
        self._update_nodal_fields()
        return {key: value if key in VTU_MESH_KEYS else np.array(value, copy=True)   # the fields are views
                for key, value in self._local_vtu_arrays().items()}

    def write_captured(self, path: Path, local: dict) -> None:
        """A captured state as one VTU file (no XDMF entry, no snapshots.json entry). Collective."""
        self._write_gathered_vtu(path, local)

    def _in_mesh_degree(self, function):
        """`function`, or its interpolation into the mesh's geometry degree under the same name (curved meshes);
        cellwise constants (the regions) are written as cell data at any degree."""
        if not self._xdmf_spaces or compat.element_degree(function.function_space) == 0:
            return function
        space = self._xdmf_spaces[function.function_space.dofmap.index_map_bs]
        copy = dolfinx.fem.Function(space, name=function.name)
        copy.interpolate(function)
        return copy

    def _write_vtu(self, path: Path) -> None:
        self._write_gathered_vtu(path, self._local_vtu_arrays())

    def _local_vtu_arrays(self) -> dict:
        """This rank's owned points, cells, regions and nodal fields (views of the Functions' arrays)."""
        space = self.V1
        index_map = space.dofmap.index_map
        n_owned = index_map.size_local
        owned_global = index_map.local_range[0] + np.arange(n_owned)
        n_cells = compat.owned_cell_count(self.problem.mesh)
        cells_global = compat.local_to_global_dofs(space, compat.cell_dofs(space)[:n_cells].ravel()).reshape(n_cells, -1)
        region = np.zeros(n_cells, dtype=np.int32)
        tags = self.problem.particle.cell_tags
        owned = tags.indices < n_cells
        region[tags.indices[owned]] = tags.values[owned]
        c_max = self.problem.c_max
        return {
            "ids": owned_global,
            "points": compat.dof_coordinates(space)[:n_owned],
            **quantities.field_arrays(
                {name: f.x.array[:n_owned] for name, f in self.scalars.items()},
                {"concentration_mol_m3": self.concentration.x.array[:n_owned],
                 "li_fraction": self.concentration.x.array[:n_owned] / c_max,
                 "displacement_m": self.displacement.x.array.reshape(-1, 3)[:n_owned]}),
            **{f.name: f.x.array[:n_owned] for _, f in self.extra},
            "cells": cells_global, "region": region,
        }

    def _write_gathered_vtu(self, path: Path, local: dict) -> None:
        """Gather every rank's `_local_vtu_arrays` on rank 0 and write them as one VTU file."""
        import meshio

        comm = self.problem.comm
        index_map = self.V1.dofmap.index_map
        gathered = comm.gather(local, root=0)
        if comm.rank != 0:
            return
        n_global = index_map.size_global
        ids = np.concatenate([g["ids"] for g in gathered])

        def assemble(key):
            parts = np.concatenate([g[key] for g in gathered])
            out = np.zeros((n_global,) + parts.shape[1:])
            out[ids] = parts
            return out

        point_data = {key: assemble(key) for key in local if key not in VTU_MESH_KEYS}
        mesh = meshio.Mesh(assemble("points"), [("tetra", np.concatenate([g["cells"] for g in gathered]))],
                           point_data=point_data,
                           cell_data={"region": [np.concatenate([g["region"] for g in gathered])]})
        tmp = path.with_name(path.stem + ".tmp.vtu")
        meshio.write(tmp, mesh, binary=True)
        os.replace(tmp, path)

    def release(self) -> None:
        """Close the XDMF and VTX files (once), without the post-processing of close()."""
        if self._open:
            self._open = False
            self.xdmf.close()
            if self.vtx is not None:
                self.vtx.close()

    def close(self) -> None:
        self.release()
        if self.problem.comm.rank == 0:
            compat.repair_xdmf(self.folder.path(FIELDS_XDMF))
            merge_xdmf_time_series(self.folder.path(FIELDS_XDMF))


def point_fields_of(problem, extensions=()) -> list:
    """The Functions every field and extension offers for the field files (their `point_fields()`), in field order:
    what a run passes to FieldWriter as extra point fields."""
    fields = [f for field in problem.fields.values() for f in field.point_fields()]
    return fields + [f for extension in extensions for f in getattr(extension, "point_fields", lambda: [])()]


def write_field_tables(problem, folder: ResultFolder) -> None:
    """The CSV files the fields keep (e.g. o2_timeseries.csv, fracture_cycles.csv): their rows so far."""
    for name, (columns, rows) in (item for field in problem.fields.values() for item in field.tables().items()):
        table = TimeseriesWriter(folder.path(name), problem.comm, columns)
        for row in rows:
            table.append(row)
        table.close()
