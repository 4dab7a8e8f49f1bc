"""One case, end to end: mesh -> problem -> time loop -> summary, time series, fields -> pictures."""
from __future__ import annotations

import os
import time as wallclock
from pathlib import Path

from mpi4py import MPI

from solver import compat
from solver.case import end_time_s
from solver.errors import SolveError
from solver.extensions import start_extensions
from solver.geometry.assembly import symmetry_factor
from solver.postprocess import ConcentrationProbe, PeakTracker, StressSampler
from solver.provenance import provenance
from solver.quantities import timeseries_row
from solver.runs import (PeakSnapshots, log, log_warning, march, particle_summary, publish, snapshot_times,
                         state_of_charge)
from solver.sanity import CellQualityLookup, SanityMonitor
from solver.writers import (FieldWriter, ResultFolder, TimeseriesWriter, point_fields_of, write_field_tables,
                             write_json)

DEFAULT_MESH_CACHE = Path(os.environ.get("PARTICLE_SOLVER_MESH_CACHE", Path(__file__).resolve().parent.parent / "meshes" / "cache"))


def run_case(case: dict, out_dir: str | Path, comm=MPI.COMM_WORLD, *, mesh_cache: Path | None = DEFAULT_MESH_CACHE,
             render: bool | None = None) -> dict:
    """Run a validated case; returns the summary dict (also written to out_dir/summary.json)."""
    if case["solver"]["formulation"] != "3d":
        from solver.reduced import run_reduced_case
        return run_reduced_case(case, out_dir, comm, render=render, mesh_cache=mesh_cache)
    if "kinetics" in case:   # Butler-Volmer kinetics and a protocol: solver/kinetic_run.py
        from solver.kinetic_run import run_fe_kinetic_case
        return run_fe_kinetic_case(case, out_dir, comm, mesh_cache=mesh_cache, render=render)
    from solver.geometry import build_particle_mesh
    from solver.problem import ChemoMechanicalProblem

    started = wallclock.perf_counter()
    show = case["output"]["progress"]
    folder = ResultFolder(out_dir, comm)
    timings = {}
    timeseries = fields = tracker = sanity = problem = None
    try:
        try:
            log(comm, f"case {case['name']}: meshing ({case['geometry']['kind']})", show)
            t0 = wallclock.perf_counter()
            particle = build_particle_mesh(case["geometry"], case["mesh"], comm, cache_dir=mesh_cache,
                                           progress=(lambda message: log(comm, f"  {message}")) if show else None)
            timings["mesh"] = wallclock.perf_counter() - t0

            t0 = wallclock.perf_counter()
            problem = ChemoMechanicalProblem(case, particle, comm, fields=formulation_fields(case))
            sampler = StressSampler(problem, case["output"]["peak_stress"])
            probe = ConcentrationProbe(problem)
            sanity = SanityMonitor(problem.c_max, case["output"]["sanity"] == "fatal", lambda text: log_warning(text, comm))
            tracker = PeakTracker(particle.radius_m)
            timeseries = TimeseriesWriter(folder.path("timeseries.csv"), comm)
            extensions = start_extensions(case, problem, folder)
            fields = FieldWriter(problem, folder, extra_point_fields=point_fields_of(problem, extensions)) \
                if case["output"]["fields"] else None
            t_end = end_time_s(case, particle.radius_m)
            timings["setup"] = wallclock.perf_counter() - t0
            log(comm, f"  {compat.cell_count_global(particle.mesh)} cells, "
                       f"{compat.dof_count_global(problem.V_c)} + {compat.dof_count_global(problem.V_u)} dofs, "
                       f"{comm.size} rank(s), t_end = {t_end:.4g} s", show)

            pending_snapshots = snapshot_times(t_end, case["output"]["snapshots"])
            peak_fields = PeakSnapshots(folder, comm, fields.capture, fields.write_captured) if fields else None

            def observe(step, t, dt, report):
                for extension in extensions:
                    extension.after_step(step, t, dt)
                peaks = sampler.global_peaks(sampler.evaluate())
                tracker.update(peaks, t)
                conc = probe.sample()
                mean_x = conc["mean_mol_m3"] / problem.c_max
                soc = state_of_charge(case, mean_x)
                sanity.check_state(t, *problem.li_content_range(), soc)
                timeseries.append(timeseries_row(t, dt, soc, peaks, conc, problem.c_max,
                                                 report.coupling_iterations if report else 0))
                due = [s for s in pending_snapshots if t >= s * (1 - 1e-9)]
                if fields and due:  # one snapshot even when a long step passes several snapshot times
                    del pending_snapshots[:len(due)]
                    fields.write(t, soc, f"{len(fields.snapshots):03d}")
                if peak_fields:
                    peak_fields.observe(tracker, t, soc)
                return f"x_mean = {mean_x:.4f}  peak von Mises = {peaks['von_mises'][0] / 1e6:8.2f} MPa"

            outcome = march(problem, case, t_end, observe, comm, show, timings)
            final = probe.sample()
            if fields:
                fields.write(outcome.time_s, state_of_charge(case, final["mean_mol_m3"] / problem.c_max), "final")
                fields.snapshots = peak_fields.finish(fields.snapshots)
                fields.close()
            timeseries.close()
            write_field_tables(problem, folder)
        except SolveError as exc:
            # a solve failed outside the time loop's own handling (at t = 0, or re-solving the kept state):
            # record the failure with what was computed, instead of losing the folder
            log(comm, f"  failed: {exc}")
            for writer in (fields, timeseries):
                if writer is not None:
                    writer.close()
            if problem is not None:
                write_field_tables(problem, folder)
            summary = failed_summary(case, exc, tracker, timings, started, comm)
            render = False
        else:
            summary = outcome_summary(case, outcome, final, problem, particle, tracker, sampler, extensions,
                                      t_end, timings, started, comm)
            try:
                sanity.check_peaks(summary["peak"], CellQualityLookup(particle.mesh, comm, particle.radius_m))
            except SolveError as exc:  # output.sanity = "fatal": a peak on a degenerate cell is not an answer
                summary.update(status="failed", message=str(exc), solver_reason=exc.reason)
        if sanity is not None:
            summary["sanity"] = sanity.summary()
        if fields is not None:
            summary["field_files"] = fields.description()
        if comm.rank == 0:
            write_json(folder.path("summary.json"), summary)
    except BaseException:
        folder.discard()
        raise
    publish(folder, case, comm, render)
    return summary


def formulation_fields(case: dict) -> dict | None:
    """Core field classes a geometry replaces: a sub-volume's carry the particle-scale field on its faces."""
    if case["geometry"]["kind"] != "subvolume":
        return None
    from solver.subvolume import SUBVOLUME_FIELDS
    return SUBVOLUME_FIELDS


def outcome_summary(case, outcome, final, problem, particle, tracker, sampler, extensions, t_end, timings,
                    started, comm) -> dict:
    """summary.json of a run that reached the end of its time loop (completed, cutoff, or failed in a step)."""
    timings["total"] = wallclock.perf_counter() - started
    return {
        "case_name": case["name"],
        "case": case,
        "status": outcome.status,
        "message": outcome.message,
        "peak": tracker.as_dict(),
        "peak_stress_evaluation": sampler.evaluation,
        "linear_rtol_used": problem.linear_rtol,
        "concentration": final,
        "final_li_fraction_mean": final["mean_mol_m3"] / problem.c_max,
        "time": {"t_end_s": t_end, "t_reached_s": outcome.time_s, "steps": outcome.steps,
                 "rejected_steps": outcome.rejected_steps, "dimensionless_t_end": problem.dimensionless_time(t_end)},
        "particle": particle_summary(particle.radius_m, problem.volume_m3, problem.wetted_area_m2,
                                     float(problem.surface_flux.value), final["mean_mol_m3"],
                                     symmetry_factor(case["geometry"])),
        "mesh": {"cells": compat.cell_count_global(particle.mesh),
                 "dofs": {"concentration": compat.dof_count_global(problem.V_c),
                          "displacement": compat.dof_count_global(problem.V_u)},
                 "cell_regions": particle.cell_regions, "facet_regions": particle.facet_regions,
                 "description": particle.description},
        **{key: value for field in problem.fields.values() for key, value in field.summary().items()},
        **{getattr(ext, "summary_key", ext.section): ext.summary() for ext in extensions},
        "mpi_ranks": comm.size,
        "timing_s": timings,
        "provenance": provenance(case),
    }


def failed_summary(case: dict, exc: SolveError, tracker, timings: dict, started: float, comm) -> dict:
    """summary.json of a run whose solve failed before it had a state to report (e.g. at t = 0)."""
    timings["total"] = wallclock.perf_counter() - started
    return {
        "case_name": case["name"],
        "case": case,
        "status": "failed",
        "message": str(exc),
        "solver_reason": exc.reason,
        "peak": tracker.as_dict() if tracker is not None else {},
        "mpi_ranks": comm.size,
        "timing_s": timings,
        "provenance": provenance(case),
    }


def format_peaks(summary: dict) -> str:
    time = summary.get("time")
    reached = (f" (t = {time['t_reached_s']:.4g} s, mean Li fraction {summary['final_li_fraction_mean']:.4f})"
               if time else f": {summary.get('message', '')}")
    lines = [f"{summary['case_name']}: {summary['status']}{reached}"]
    for step in summary.get("steps", []):   # a [kinetics] case: capacity and end voltage of each protocol step
        lines.append(f"  cycle {step['cycle']} {step['label']:<12s} {step['capacity_mAh_g']:8.2f} mAh/g  "
                     f"stop {step['stop']:<16s} end {step['end_voltage_V']:.4f} V")
    for kind, peak in summary["peak"].items():
        at_voltage = f"  V = {peak['voltage_V']:.4f} V" if "voltage_V" in peak else ""
        lines.append(f"  peak {kind:<14s} {peak['value_Pa'] / 1e6:10.2f} MPa  at r/R = {peak['radius_fraction']:.3f}"
                     f"  t = {peak['time_s']:.4g} s{at_voltage}")
    return "\n".join(lines)
