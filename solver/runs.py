"""What every run shares, the 3D pipeline (solver/pipeline.py) and the reduced runner (solver/reduced/runner.py):
the progress log, the state of charge, the snapshot times, the observed time loop, a rank-0 solve into a result
folder, and publishing the result folder with its pictures."""
from __future__ import annotations

from pathlib import Path

from solver.logs import LOGGER
from solver.pictures import PictureError, draw
from solver.stepping import Progress, run_time_loop
from solver.writers import ResultFolder


def log(comm, message: str, enabled: bool = True) -> None:
    """A progress line on rank 0 (the `solver` logger, solver/logs.py), if enabled."""
    if enabled and comm.rank == 0:
        LOGGER.info(message)


def log_warning(message: str, comm=None) -> None:
    """A warning on rank 0 (the `solver` logger), shown whatever the progress setting."""
    if comm is None or comm.rank == 0:
        LOGGER.warning(f"warning: {message}")


def state_of_charge(case: dict, mean_li_fraction: float) -> float:
    """Fraction of the operating window completed: 0 at the start, 1 at the window's end."""
    op = case["operation"]
    target = op["li_fraction_end"] if op["mode"] == "galvanostatic" else op["surface_li_fraction"]
    span = target - op["li_fraction_start"]
    return (mean_li_fraction - op["li_fraction_start"]) / span if span else 0.0


def particle_summary(radius_m: float, modelled_volume_m3: float, modelled_wetted_area_m2: float,
                     surface_flux_mol_m2_s: float, mean_mol_m3: float, modelled_fraction: float) -> dict:
    """summary.json["particle"]: amounts of the whole particle; a symmetry model (an octant: modelled_fraction
    1/8) multiplies what it modelled by the number of copies, and says so in the modelled_* keys."""
    copies = 1.0 / modelled_fraction
    return {"radius_m": radius_m, "modelled_fraction_of_particle": modelled_fraction,
            "volume_m3": modelled_volume_m3 * copies, "wetted_area_m2": modelled_wetted_area_m2 * copies,
            "li_amount_mol": mean_mol_m3 * modelled_volume_m3 * copies,
            "modelled_volume_m3": modelled_volume_m3, "modelled_wetted_area_m2": modelled_wetted_area_m2,
            "surface_flux_mol_m2_s": surface_flux_mol_m2_s}


def snapshot_times(t_end_s: float, count: int) -> list[float]:
    return [t_end_s * k / count for k in range(1, count)] if count > 1 else []


def march(problem, case: dict, t_end: float, observe, comm, show: bool, timings: dict):
    """Observe t = 0, run the time loop, leave the kept state's stress solved, record the loop timings."""
    problem.solve_mechanics()
    observe(0, 0.0, 0.0, None)
    outcome = run_time_loop(problem, t_end, case["time"], observe, Progress(comm, show, t_end),
                            case["operation"]["stop_at_surface_limit"])
    if outcome.status != "completed":
        problem.solve_mechanics()  # the kept state is the last accepted one
        log(comm, f"  {outcome.status}: {outcome.message}")
    timings["time_loop"] = outcome.timings_s["transport_and_mechanics"]
    timings["postprocess_and_output"] = outcome.timings_s["observers"]
    return outcome


def publish(folder: ResultFolder, case: dict, comm, render: bool | None) -> Path:
    """Move the finished result folder into place, then draw its pictures (unless the case or caller says not)."""
    final_dir = folder.commit()
    if render is None:
        render = case["output"]["pictures"]
    if render and case["output"]["fields"] and comm.rank == 0:
        render_pictures(final_dir)
    return final_dir


def run_serial(case: dict, out_dir, comm, solve, render: bool | None) -> dict:
    """solve(folder) -> summary on rank 0 (the others wait for the summary), then the folder is published."""
    folder = ResultFolder(out_dir, comm)
    summary, failure = None, None
    try:
        if comm.rank == 0:
            try:
                summary = solve(folder)
            except Exception as exc:   # handed to every rank, raised there
                failure = exc
        if comm.size > 1:
            summary, failure = comm.bcast((summary, failure), root=0)
        if failure is not None:
            raise failure
    except BaseException:
        folder.discard()
        raise
    publish(folder, case, comm, render)
    return summary


def render_pictures(result_dir: Path) -> bool:
    """The default pictures of a finished run (solver/pictures.py: in a process of their own); a failure is a
    warning, the results stand."""
    try:
        draw(result_dir)
    except PictureError as exc:
        log_warning(f"pictures not made: {exc}")
        return False
    return True
