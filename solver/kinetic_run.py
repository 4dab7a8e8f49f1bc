"""A [kinetics] case on the finite-element problem (solver.formulation "3d", "axisymmetric" or "section_2d"): protocol
-> outputs.

The protocol loop, its stop conditions and their location in time are solver/kinetics1d.py's ProtocolRun; this
module gives it a stepper on the field problem (FieldStepper: the particle potential of solver/fields/potential.py,
one problem.advance per time step) and writes what the 1D kinetic case writes (solver/reduced/kinetic_case.py:
timeseries.csv with voltage_V, capacity_mAh_g, ...; summary.json with the capacity per step in mAh/g and the voltage
at each peak stress; voltage.png), plus the field files of the formulation after every protocol step (with every field's point fields: the surface
current density, quantity `surface_current_density`, the damage of [damage], the O2 of [oxygen]).

Cycles: the protocol's cycles run through solver/cycle_jumping.run_cycles (ProtocolCycles below), so every field
hears of each cycle's end (Field.end_cycle: the damage field's fracture_cycles.csv row) and, with
damage.cycle_jumping, blocks of explicit cycles alternate with jumps that extrapolate the damage over the cycles
between. Every field's timeseries_values() (damage: max_damage, crack_volume_fraction, fracture_state) join each row
of timeseries.csv.

The charge passed Q is integrated by the transport's own multistep formula (w_new Q_new + w_old Q_old +
w_older Q_older = dt I), so Q / F equals the change of the Li content to the coupling tolerance at every step.
"""
from __future__ import annotations

import time as wallclock

import numpy as np
from mpi4py import MPI
import dolfinx.fem

from solver import compat
from solver.cycle_jumping import run_cycles
from solver.damage_section import jumping_of
from solver.errors import SolveError
from solver.kinetics1d import KineticsResult, ProtocolRun, protocol_outcome, run_cycle
from solver.physics.transport import multistep_weights
from solver.reduced.kinetic_case import (Scales, build_steps, draw_voltage, protocol_summary, scales_of,
                                         timeseries_rows, write_csv)
from solver.spherical1d import NewtonFailure
from solver.units import FARADAY_C_mol
from solver.writers import point_fields_of, write_field_tables


class FieldStepper:
    """ProtocolRun's stepper interface (solver/kinetics1d.py) on a problem with a "potential" field."""

    def __init__(self, problem, scheme: str):
        self.problem, self.scheme = problem, scheme
        self.potential = problem.fields["potential"]
        self.transport = problem.fields["transport"]
        self.c_max = problem.c_max
        self.amount = dolfinx.fem.form(problem.li_amount())
        self.previous_dt = None
        self.charge = (0.0, 0.0)          # (Q now, Q one step back), coulombs
        self.amount_start_mol = self.li_amount_mol()
        self.last_report = None

    # ---- the state ProtocolRun reads
    @property
    def V(self) -> float:
        return self.potential.V

    @V.setter
    def V(self, value: float) -> None:
        self.potential.V = float(value)

    @property
    def current_A(self) -> float:
        return self.potential.current_A

    @property
    def charge_C(self) -> float:
        return self.charge[0]

    def li_amount_mol(self) -> float:
        return self.problem.context.integrate(self.problem.li_amount())

    def x_mean(self) -> float:
        return self.li_amount_mol() / self.problem.volume_m3 / self.c_max

    def _surface(self) -> dict:
        return self.potential.surface_values(self.transport.c.x.array)

    def surface_li_fraction(self) -> float:
        return self._surface()["mean_li_fraction"]

    def surface_li_range(self) -> tuple[float, float]:
        surface = self._surface()
        return surface["min_li_fraction"], surface["max_li_fraction"]

    def overpotential_V(self) -> float:
        return self._surface()["mean_overpotential_V"]

    # ---- stepping
    def restart(self) -> None:
        self.previous_dt = None

    def guess_voltage(self, current_A: float) -> float:
        """V that carries current_A at the present surface state (the Newton of the potential field)."""
        self.potential.apply_current(current_A)
        self.potential.update(self.transport.c.x.array)
        return self.potential.V

    def save(self):
        return ({name: f.state() for name, f in self.problem.fields.items()}, self.previous_dt, self.charge)

    def restore(self, state) -> None:
        fields, self.previous_dt, self.charge = state
        for name, f in self.problem.fields.items():
            f.restore(fields[name])

    def step_controlled(self, dt: float, t_new: float, *, current_A: float | None = None,
                        voltage_V: float | None = None) -> None:
        """One time step under an applied current or a held voltage; NewtonFailure (state kept) if it fails or
        leaves the material's Li range."""
        if voltage_V is not None:
            self.potential.hold_voltage(voltage_V)
        else:
            self.potential.apply_current(current_A)
        problem = self.problem
        try:
            self.last_report = problem.advance(dt, self.previous_dt, self.scheme)
        except SolveError as failure:
            problem.reject_step()
            raise NewtonFailure(t_new, str(failure)) from None
        low, high = problem.li_content_range()
        if low < 0.0 or high > self.c_max:
            problem.reject_step()
            raise NewtonFailure(t_new)      # out of the material's Li range: the step is too long (or unreachable)
        w_new, w_old, w_older = multistep_weights(dt, self.previous_dt, self.scheme)
        q_now, q_before = self.charge
        self.charge = ((dt * self.potential.current_A - w_old * q_now - w_older * q_before) / w_new, q_now)
        problem.accept_step()
        self.previous_dt = dt


class _Observer:
    """After every recorded state: the stress peaks (per time, and the overall peak with voltage, step, cycle) and
    the fields' timeseries columns (Field.timeseries_values)."""

    def __init__(self, peaks_now, radius_m: float, fields: dict):
        self.peaks_now, self.radius_m, self.fields = peaks_now, radius_m, fields
        self.per_time: dict[str, list] = {}
        self.best: dict[str, dict] = {}
        self.field_values: list[dict] = []

    def __call__(self, run: ProtocolRun) -> None:
        from solver import quantities

        self.field_values.append({key: value for field in self.fields.values()
                                  for key, value in field.timeseries_values().items()})
        series = run.series
        for name, (value, position) in self.peaks_now().items():
            self.per_time.setdefault(name, []).append(float(value))
            incumbent = self.best.get(name)
            if incumbent is None or quantities.get(name).beats(value, incumbent["value_Pa"]):
                self.best[name] = {"value_Pa": float(value), "position_m": [float(p) for p in position],
                                   "radius_fraction": float(np.linalg.norm(position) / self.radius_m),
                                   "time_s": series["time_s"][-1], "voltage_V": series["voltage_V"][-1],
                                   "step": series["step"][-1], "cycle": series["cycle"][-1]}


class ProtocolCycles:
    """The protocol's cycles as solver/cycle_jumping.run_cycles drives them: run_cycle(k) solves cycle k (1-based)
    of the protocol, end_cycle reaches every field (Field.end_cycle), and with cycle jumping the damage field's
    cycle_state, toughness_fraction and jump are the jumped state.

    A jump of N cycles extrapolates only what accumulates from cycle to cycle (the damage, its peak driving energy
    and the fatigue history alpha_bar): the Li content, voltage and charge stay those of the last explicit cycle's
    end, where the protocol brings the particle back every cycle. The jumped cycles still pass on the run's clock,
    each as long as the last explicit one, so time and cycle numbers of timeseries.csv stay those of the cycler;
    the state a jump reaches is one row there (step -1, phase "jump", the cycle reached), with the displacement
    solved again for the extrapolated damage (its stresses are those of that damage). Other fields keep their state
    over a jump: the books of [oxygen] (o2_timeseries.csv) count the explicit cycles only."""

    def __init__(self, run: ProtocolRun, steps: list, problem, after_step=None):
        self.run, self.steps, self.problem, self.after_step = run, steps, problem, after_step
        self.fields = problem.fields
        self.cycle = 0                   # the last cycle solved or reached
        self.last_duration_s = 0.0       # of the last explicit cycle
        self.solved, self.extrapolated, self.jumps = 0, 0, []
        self.stopped_broken_at = None    # the cycle end at which damage.stop_when_broken ended the cycles

    def run_cycle(self, cycle: int) -> None:
        start_s = self.run.t
        run_cycle(self.run, self.steps, cycle, self.after_step)
        self.cycle, self.last_duration_s = cycle, self.run.t - start_s
        self.solved += 1

    def end_cycle(self, cycle: int, extrapolated: bool = False) -> None:
        for field in self.fields.values():
            field.end_cycle(cycle, extrapolated)

    # ---- cycle jumping (solver/cycle_jumping.py): the damage field's state
    @property
    def comm(self):
        return self.problem.comm

    def cycle_state(self) -> dict:
        return self.fields["damage"].cycle_state()

    def toughness_fraction(self, cumulated):
        return self.fields["damage"].toughness_fraction(cumulated)

    def jump(self, state: dict, cycles: int) -> None:
        duration_s = cycles * self.last_duration_s
        self.fields["damage"].jump(state, cycles, duration_s=duration_s)
        self.run.t += duration_s
        self.cycle += cycles
        self.extrapolated += cycles
        self.jumps.append({"to_cycle": self.cycle, "cycles": cycles})
        self.problem.solve_mechanics()
        self.run.record(-1, self.cycle, "jump")

    def broken(self) -> bool:
        """Whether the last cycle end's census state is "broken" (damage.stop_when_broken ends the cycles there)."""
        rows = self.fields["damage"].cycle_rows
        if rows and rows[-1]["state"] == "broken":
            self.stopped_broken_at = rows[-1]["cycle"]
            return True
        return False

    def summary(self, requested: int) -> dict:
        """summary.json["cycles"]: requested, solved explicitly, extrapolated by jumps, the jumps, and the cycle
        at which damage.stop_when_broken ended them (None: not ended so)."""
        return {"requested": requested, "solved": self.solved, "extrapolated": self.extrapolated,
                "jumps": self.jumps, "stopped_broken_at": self.stopped_broken_at}


def run_protocol_on(problem, case: dict, scales: Scales, peaks_now, after_step=None):
    """(result, observer, stepper) of the case's protocol on `problem` (a ChemoMechanicalProblem with [kinetics]).

    peaks_now() -> {measure: (value, position)} of the present state; after_step(run) after every protocol step.
    The cycles run through solver/cycle_jumping.run_cycles (ProtocolCycles; jumps with damage.cycle_jumping)."""
    steps = build_steps(case, scales)
    stepper = FieldStepper(problem, case["time"]["scheme"])
    problem.solve_mechanics()
    observer = _Observer(peaks_now, problem.particle.radius_m, problem.fields)
    potential = problem.fields["potential"]
    run = ProtocolRun(stepper, lambda x: potential.ocp(x, potential.temperature_K), observer)
    cycling = ProtocolCycles(run, steps, problem, after_step)
    jumping = jumping_of(case["damage"]) if "damage" in case else None
    stop = cycling.broken if "damage" in case and case["damage"]["stop_when_broken"] else None
    cycles = case["protocol"]["cycles"]
    status, message = protocol_outcome(lambda: run_cycles(cycling, cycling.run_cycle, cycles, jumping, stop),
                                       stop_on_failure=True)
    result = KineticsResult(None, run.series, run.records, None, None, status, message, cycling.summary(cycles))
    return result, observer, stepper


def fe_summary(case: dict, problem, result: KineticsResult, scales: Scales, observer: _Observer, stepper: FieldStepper,
               seconds: float) -> dict:
    potential = problem.fields["potential"]
    geometry = {"radius_m": problem.particle.radius_m, "volume_m3": problem.volume_m3,
                "wetted_area_m2": problem.wetted_area_m2}
    mesh = {"cells": compat.cell_count_global(problem.mesh),
            "dofs": {"concentration": compat.dof_count_global(problem.V_c),
                     "displacement": compat.dof_count_global(problem.V_u)}}
    summary = protocol_summary(case, result, scales, potential.reaction, potential.ocp, observer.best, geometry, mesh,
                               seconds)
    li_change_C = (stepper.amount_start_mol - stepper.li_amount_mol()) * FARADAY_C_mol
    summary["charge_balance"] = {"charge_passed_C": stepper.charge_C, "li_content_change_C": li_change_C}
    summary["mpi_ranks"] = problem.comm.size
    summary["cycles"] = result.cycles
    summary["time"]["steps"] -= len(result.cycles["jumps"])     # a jump's row in the series is no time step
    for field in problem.fields.values():      # the extra fields' own entries (e.g. "o2" of [oxygen])
        summary.update(field.summary())
    return summary


def write_outputs(folder, case: dict, result: KineticsResult, scales: Scales, observer: _Observer, summary: dict,
                  comm, render: bool | None) -> None:
    """timeseries.csv, summary.json and voltage.png (rank 0)."""
    from solver.provenance import provenance
    from solver.writers import write_json

    if comm.rank != 0:
        return
    rows = timeseries_rows(result, scales, {name: np.array(v) for name, v in observer.per_time.items()})
    for row, values in zip(rows, observer.field_values):     # the fields' columns (e.g. max_damage) at each row
        row.update(values)
    write_csv(folder.path("timeseries.csv"), rows)
    summary["provenance"] = provenance(case)
    write_json(folder.path("summary.json"), summary)
    if (case["output"]["pictures"] if render is None else render) and len(rows) > 1:
        draw_voltage(folder.path("voltage.png"), rows, case["name"])


def run_fe_kinetic_case(case: dict, out_dir, comm, *, mesh_cache=None, render: bool | None = None) -> dict:
    """Run a validated [kinetics] case in the 3D, axisymmetric or section_2d formulation; returns the summary."""
    from solver.runs import log, publish
    from solver.writers import ResultFolder, write_json

    started = wallclock.perf_counter()
    formulation = case["solver"]["formulation"]
    folder = ResultFolder(out_dir, comm if formulation == "3d" else MPI.COMM_SELF)
    show = case["output"]["progress"]
    try:
        if formulation == "3d":
            from solver.geometry import build_particle_mesh
            from solver.postprocess import StressSampler
            from solver.problem import ChemoMechanicalProblem
            from solver.writers import FieldWriter

            particle = build_particle_mesh(case["geometry"], case["mesh"], comm, cache_dir=mesh_cache)
            problem = ChemoMechanicalProblem(case, particle, comm)
            sampler = StressSampler(problem, case["output"]["peak_stress"])
            peaks_now = lambda: sampler.global_peaks(sampler.evaluate())   # noqa: E731
            # every field's point fields (the surface current density, the damage, ...) under their registry names
            writer = FieldWriter(problem, folder, extra_point_fields=point_fields_of(problem)) \
                if case["output"]["fields"] else None
            write_fields = (lambda t, label: writer.write(t, 0.0, label)) if writer else None
        else:
            from solver.reduced.models import build_model, reduced_layout

            comm = MPI.COMM_SELF
            # the meridian, or the central section per metre of thickness (solver/reduced/models.py)
            model = build_model(case, reduced_layout(case)[0], mesh_cache)
            problem, peaks_now, writer = model.problem, model.peaks, None
            write_fields = None
            if case["output"]["fields"]:
                snapshots = []

                def write_fields(t, label):
                    name = f"fields_{label}.vtu"
                    model.write_fields(folder.path(name))      # with every field's point fields
                    snapshots.append({"file": name, "time_s": t, "state_of_charge": 0.0})
                    write_json(folder.path("snapshots.json"), snapshots)
        log(comm, f"case {case['name']}: {formulation} kinetics, {compat.cell_count_global(problem.mesh)} cells", show)
        scales = scales_of(case, problem.volume_m3, problem.wetted_area_m2)

        def after_step(run):
            record = run.records[-1]
            log(comm, f"  cycle {record.cycle} {record.label}: {abs(scales.capacity_mAh_g(record.charge_C)):.2f}"
                      f" mAh/g, stop {record.stop}, V = {record.end_voltage_V:.4f} V", show)
            if write_fields:
                write_fields(run.t, f"{len(run.records) - 1:03d}")

        result, observer, stepper = run_protocol_on(problem, case, scales, peaks_now, after_step)
        if write_fields:    # the renderer draws the "final" snapshot
            write_fields(result.column("time_s")[-1], "final")
        if writer:
            writer.close()
        summary = fe_summary(case, problem, result, scales, observer, stepper, wallclock.perf_counter() - started)
        if formulation != "3d":
            summary.update(getattr(model, "summary_extra", dict)())   # what only one formulation knows (section)
        write_outputs(folder, case, result, scales, observer, summary, comm, render)
        write_field_tables(problem, folder)     # e.g. o2_timeseries.csv of [oxygen]
    except BaseException:
        folder.discard()
        raise
    publish(folder, case, comm, render)     # the field pictures (solver/render), as a run without kinetics
    return summary

