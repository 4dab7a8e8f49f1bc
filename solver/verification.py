"""Verification of the 3D solver on a dense sphere against independent references.

- One-way coupling: the galvanostatic series solution with the Timoshenko stresses (solver.analytic).
- Stress-assisted diffusion: the isotropic-sphere reduction N = -D (1 + theta c) grad c,
  theta = 2 Omega^2 E / (9 R T (1 - nu)), solved by the 1D spherical solver (solver.spherical1d).

The FE values compared are the hoop stress on the outer surface (mean over the surface nodes of the
exact DG stress), the radial stress at the centre and the surface-mean concentration. Any parameter
set works: `python -m solver verify CASE --set ...` prints the comparison.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

from solver import analytic, spherical1d
from solver.errors import CaseError


def check_verifiable(case: dict) -> None:
    geometry, op = case["geometry"], case["operation"]
    problems = []
    if geometry["kind"] != "sphere":
        problems.append(f"geometry.kind = {geometry['kind']!r} (needs 'sphere')")
    if op["mode"] != "galvanostatic":
        problems.append(f"operation.mode = {op['mode']!r} (needs 'galvanostatic')")
    if op["wetted_surfaces"] != ["outer_surface"]:
        problems.append(f"operation.wetted_surfaces = {op['wetted_surfaces']!r} (needs ['outer_surface'])")
    if case["material"]["diffusivity_table_li_fraction_m2_s"] is not None:
        problems.append("material.diffusivity_table_li_fraction_m2_s is set (the references need constant D)")
    if problems:
        raise CaseError("verification on the galvanostatic sphere needs: " + "; ".join(problems))


def sample_sphere_run(case: dict, taus, comm=MPI.COMM_WORLD, mesh_cache=None) -> dict:
    """Run a dense-sphere case to max(taus) (steps must land on every tau) and sample FE values there."""
    from solver.geometry import build_particle_mesh
    from solver.postprocess import ConcentrationProbe, StressSampler, surface_and_centre_values
    from solver.problem import ChemoMechanicalProblem
    from solver.stepping import Progress, run_time_loop

    check_verifiable(case)
    particle = build_particle_mesh(case["geometry"], case["mesh"], comm, cache_dir=mesh_cache)
    problem = ChemoMechanicalProblem(case, particle, comm)
    sampler = StressSampler(problem)
    probe = ConcentrationProbe(problem)
    radius, diffusivity = particle.radius_m, case["material"]["diffusivity_m2_s"]
    targets = sorted(taus)
    samples = []

    def observe(step, t, dt, report):
        if targets and diffusivity * t / radius**2 >= targets[0] * (1 - 1e-9):
            measures = sampler.evaluate()
            samples.append({
                "tau": targets.pop(0), "time_s": t,
                "surface_hoop_Pa": surface_and_centre_values(measures["hoop"], sampler.points, radius, comm)["surface"],
                "centre_radial_Pa": surface_and_centre_values(measures["radial"], sampler.points, radius, comm)["centre"],
                "surface_concentration_mol_m3": probe.sample()["surface_mol_m3"],
            })
        return ""

    t_end = max(taus) * radius**2 / diffusivity
    outcome = run_time_loop(problem, t_end, dict(case["time"], adaptive=False), observe,
                            Progress(comm, False, t_end), stop_at_surface_limit=False)
    if outcome.status != "completed" or targets:
        raise RuntimeError(f"verification run ended early ({outcome.status}: {outcome.message}); "
                           f"time.steps must put a step on every tau in {list(taus)}")
    return {"samples": samples, "cells": particle.mesh.topology.index_map(3).size_global,
            "steps": outcome.steps, "radius_m": radius, "flux_mol_m2_s": float(problem.surface_flux.value)}


def _relative_error(value: float, reference: float) -> float:
    return abs(value / reference - 1.0)


def verify_galvanostatic_sphere(case: dict, taus=(0.05, 0.2), comm=MPI.COMM_WORLD, mesh_cache=None) -> dict:
    """FE vs the series solution (one-way coupling) for the case's own parameters."""
    if case["coupling"]["stress_assisted_diffusion"]:
        raise CaseError("coupling.stress_assisted_diffusion = true: the series solution is one-way coupled; "
                        "use verify_stress_assisted_sphere")
    run = sample_sphere_run(case, taus, comm, mesh_cache)
    material, radius = case["material"], run["radius_m"]
    for s in run["samples"]:
        sigma_r, sigma_t = analytic.galvanostatic_sphere_stresses(
            np.array([0.0, radius]), s["time_s"], radius, material["diffusivity_m2_s"], run["flux_mol_m2_s"],
            material["young_modulus_Pa"], material["poisson_ratio"], material["partial_molar_volume_m3_mol"])
        s["surface_hoop_reference_Pa"], s["centre_radial_reference_Pa"] = float(sigma_t[1]), float(sigma_r[0])
        s["surface_hoop_relative_error"] = _relative_error(s["surface_hoop_Pa"], s["surface_hoop_reference_Pa"])
        s["centre_radial_relative_error"] = _relative_error(s["centre_radial_Pa"], s["centre_radial_reference_Pa"])
    run["reference"] = ("series solution of the galvanostatic sphere (Crank 1975) with the Timoshenko stresses "
                        "(solver/analytic.py)")
    return run


def verify_stress_assisted_sphere(case: dict, taus=(0.05, 0.2), comm=MPI.COMM_WORLD, mesh_cache=None,
                                  radial_cells: int = 800) -> dict:
    """FE with stress-assisted diffusion vs the 1D D(1 + theta c) reduction for the same parameters."""
    if not case["coupling"]["stress_assisted_diffusion"]:
        raise CaseError("coupling.stress_assisted_diffusion = false: nothing to verify against D(1 + theta c)")
    run = sample_sphere_run(case, taus, comm, mesh_cache)
    material, op, radius = case["material"], case["operation"], run["radius_m"]
    theta = analytic.stress_assisted_theta(material["young_modulus_Pa"], material["poisson_ratio"],
                                           material["partial_molar_volume_m3_mol"], op["temperature_K"])
    d0 = material["diffusivity_m2_s"]
    c_max = material["c_max_mol_m3"]
    reference = spherical1d.solve(
        spherical1d.SphericalProblem(
            radius_m=radius, diffusivity_m2_s=lambda c, r: d0 * (1 + theta * c),
            c_init_mol_m3=op["li_fraction_start"] * c_max,
            surface=spherical1d.SurfaceFlux(run["flux_mol_m2_s"]),
            elasticity=spherical1d.Elasticity(material["young_modulus_Pa"], material["poisson_ratio"],
                                              material["partial_molar_volume_m3_mol"],
                                              material["stress_free_li_fraction"] * c_max),
            n_cells=radial_cells),
        [s["time_s"] for s in run["samples"]], dt_max_s=min(s["time_s"] for s in run["samples"]) / 200)
    hoop, conc, radial = reference.surface("hoop"), reference.surface("concentration"), reference.centre("radial")
    run["theta_m3_mol"] = theta
    run["reference"] = (f"1D spherical solver with D (1 + theta c), theta = {theta:.4g} m^3/mol, {radial_cells} radial "
                        "cells (solver/spherical1d.py)")
    for k, s in enumerate(run["samples"]):
        s["surface_hoop_reference_Pa"], s["centre_radial_reference_Pa"] = float(hoop[k]), float(radial[k])
        s["surface_concentration_reference_mol_m3"] = float(conc[k])
        s["surface_hoop_relative_error"] = _relative_error(s["surface_hoop_Pa"], hoop[k])
        s["centre_radial_relative_error"] = _relative_error(s["centre_radial_Pa"], radial[k])
        # relative to the concentration drop across the particle, not to c itself (which hides errors)
        drop = abs(op["li_fraction_start"] * c_max - conc[k])
        s["surface_concentration_relative_error"] = abs(s["surface_concentration_mol_m3"] - conc[k]) / drop
    return run


def verify(case: dict, taus=(0.05, 0.2), comm=MPI.COMM_WORLD, mesh_cache=None) -> dict:
    """The reference that fits the case: stress-assisted or one-way coupled."""
    if case["coupling"]["stress_assisted_diffusion"]:
        return verify_stress_assisted_sphere(case, taus, comm, mesh_cache)
    return verify_galvanostatic_sphere(case, taus, comm, mesh_cache)


def observed_order(sizes, errors) -> float:
    """Slope of log(error) against log(size): the observed convergence order."""
    return float(np.polyfit(np.log(sizes), np.log(errors), 1)[0])
