"""A reduced-formulation case end to end, with the outputs of a 3D run (summary.json, timeseries.csv, VTU fields).

The model (SphericalModel, AxisymmetricModel or SectionModel) is stepped by solver.stepping.run_time_loop, like the 3D
problem, so steps, adaptivity and the c = 0 / c_max cut-off are the same. Reduced models are small and
serial: under MPI rank 0 computes and the other ranks wait for the summary.
"""
from __future__ import annotations

import time as wallclock
from pathlib import Path

from mpi4py import MPI

from solver.case import end_time_s
from solver.postprocess import PeakTracker
from solver.provenance import provenance
from solver.quantities import timeseries_row
from solver.reduced.models import build_model, reduced_layout
from solver.reduced.symmetry import RadialLayout
from solver.runs import PeakSnapshots, log, march, particle_summary, run_serial, snapshot_times, state_of_charge
from solver.writers import FIELDS_PVD, ResultFolder, TimeseriesWriter, write_field_tables, write_json, write_pvd


class _Recorder:
    """Per accepted step: peaks (tracked over time), concentrations, one time-series row, due snapshots."""

    def __init__(self, case: dict, model, folder: ResultFolder, t_end_s: float):
        self.case, self.model, self.folder = case, model, folder
        self.tracker = PeakTracker(model.radius_m)
        self.timeseries = TimeseriesWriter(folder.path("timeseries.csv"), MPI.COMM_SELF)
        self.due = snapshot_times(t_end_s, case["output"]["snapshots"]) if case["output"]["fields"] else []
        self.snapshots: list[dict] = []
        self.peak_fields = PeakSnapshots(folder, MPI.COMM_SELF, self._fields_file, Path.write_bytes) \
            if case["output"]["fields"] else None

    def _li_fraction(self, concentration: dict) -> float:
        return concentration["mean_mol_m3"] / self.model.c_max

    def __call__(self, step: int, t: float, dt: float, report) -> str:
        peaks = self.model.peaks()
        self.tracker.update(peaks, t)
        concentration = self.model.concentration()
        x = self._li_fraction(concentration)
        soc = state_of_charge(self.case, x)
        self.timeseries.append(timeseries_row(t, dt, soc, peaks, concentration,
                                              self.model.c_max, getattr(report, "coupling_iterations", 0)))
        while self.due and t >= self.due[0] * (1 - 1e-9):
            self.due.pop(0)
            self.snapshot(t, f"{len(self.snapshots):03d}")
        if self.peak_fields:
            self.peak_fields.observe(self.tracker, t, soc)
        return f"x_mean = {x:.4f}  peak von Mises = {peaks['von_mises'][0] / 1e6:8.2f} MPa"

    def _fields_file(self) -> bytes:
        """The current state's field file as bytes (a reduced model's is small): the state kept at a peak."""
        scratch = self.folder.path(".peak-capture.vtu")
        self.model.write_fields(scratch)
        try:
            return scratch.read_bytes()
        finally:
            scratch.unlink()

    def snapshot(self, t: float, label: str) -> None:
        name = f"fields_{label}.vtu"
        self.model.write_fields(self.folder.path(name))
        soc = state_of_charge(self.case, self._li_fraction(self.model.concentration()))
        self.snapshots.append({"file": name, "time_s": t, "state_of_charge": soc})
        write_json(self.folder.path("snapshots.json"), self.snapshots)
        write_pvd(self.folder.path(FIELDS_PVD), self.snapshots)


def _solve(case: dict, layout: RadialLayout | None, radius_m: float, folder: ResultFolder,
           mesh_cache: Path | None) -> dict:
    started = wallclock.perf_counter()
    show = case["output"]["progress"]
    formulation = case["solver"]["formulation"]
    comm = MPI.COMM_SELF
    log(comm, f"case {case['name']}: {formulation} model of a {case['geometry']['kind']}", show)
    model = build_model(case, layout, mesh_cache)
    timings = {"mesh": getattr(model, "mesh_seconds", 0.0)}
    timings["setup"] = wallclock.perf_counter() - started - timings["mesh"]
    t_end = end_time_s(case, radius_m)
    mesh = model.mesh_summary()
    log(comm, f"  {mesh['cells']} cells, {mesh['dofs']['concentration']} + {mesh['dofs']['displacement']} dofs, "
               f"t_end = {t_end:.4g} s", show)
    record = _Recorder(case, model, folder, t_end)
    outcome = march(model, case, t_end, record, comm, show, timings)
    if case["output"]["fields"]:
        record.snapshot(outcome.time_s, "final")
        record.snapshots = record.peak_fields.finish(record.snapshots)
    record.timeseries.close()
    fields = getattr(model, "fields", {})      # the axisymmetric model's fields (e.g. damage); the 1D model has none
    if fields:
        write_field_tables(model, folder)
    final = model.concentration()
    timings["total"] = wallclock.perf_counter() - started
    summary = {
        "case_name": case["name"], "case": case, "formulation": formulation,
        "status": outcome.status, "message": outcome.message,
        "peak": record.tracker.as_dict(), "concentration": final,
        "final_li_fraction_mean": final["mean_mol_m3"] / model.c_max,
        "time": {"t_end_s": t_end, "t_reached_s": outcome.time_s, "steps": outcome.steps,
                 "rejected_steps": outcome.rejected_steps,
                 "dimensionless_t_end": case["material"]["diffusivity_m2_s"] * t_end / radius_m**2},
        # a reduced model holds the whole particle (a section: per unit thickness), whatever geometry.symmetry says
        "particle": particle_summary(radius_m, model.volume_m3, model.wetted_area_m2,
                                     model.surface_flux_mol_m2_s, final["mean_mol_m3"], 1.0),
        "mesh": mesh,
        **{key: value for field in fields.values() for key, value in field.summary().items()},
        # the meridian slab (or 1D model) has no dolfinx mesh file nor XDMF series: its VTUs carry every field
        **({"field_files": {"snapshots_vtu": [s["file"] for s in record.snapshots], "collection_pvd": FIELDS_PVD}}
           if record.snapshots else {}),
        "mpi_ranks": 1,
        "timing_s": timings,
        "provenance": provenance(case),
    }
    summary.update(getattr(model, "summary_extra", dict)())   # what only one formulation knows (section: eps_zz)
    write_json(folder.path("summary.json"), summary)
    return summary


def run_reduced_case(case: dict, out_dir: str | Path, comm=MPI.COMM_WORLD, *, render: bool | None = None,
                     mesh_cache: Path | None = None) -> dict:
    """Run a validated case with solver.formulation 'spherical_1d', 'axisymmetric' or 'section_2d'; returns the
    summary. mesh_cache: where section meshes are cached (the 1D and meridian meshes take well under a second)."""
    if "kinetics" in case:   # electrode kinetics and protocols: 1D solver/reduced/kinetic_case.py, FE kinetic_run.py
        if case["solver"]["formulation"] in ("axisymmetric", "section_2d"):
            from solver.kinetic_run import run_fe_kinetic_case
            return run_fe_kinetic_case(case, out_dir, comm, mesh_cache=mesh_cache, render=render)
        from solver.reduced.kinetic_case import run_kinetic_case
        return run_kinetic_case(case, out_dir, comm, render=render)
    layout, radius_m = reduced_layout(case)
    return run_serial(case, out_dir, comm, lambda folder: _solve(case, layout, radius_m, folder, mesh_cache), render)
