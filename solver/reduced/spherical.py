"""The spherical_1d formulation: solver/spherical1d.py driven step by step by the 3D time loop.

The radial finite-volume transport (Newton, tridiagonal) and P2 radial elasticity of solver.spherical1d
are wrapped in the interface solver.stepping.run_time_loop drives (advance / accept_step / reject_step, the
nodal arrays c, c_old, c_older it reads for the error estimate and li_content_range() for the c = 0 / c_max
cut-off), so the 1D model takes exactly the steps, adaptivity and cut-off of a 3D run.

Stress-assisted diffusion is the isotropic reduction N = -D (1 + theta c) grad c (analytic.stress_assisted_theta),
exact where E, nu and Omega are uniform (solid or hollow sphere with free surfaces); symmetry.check_reducible
refuses the rest.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
from mpi4py import MPI

from solver import analytic, quantities, spherical1d, units
from solver.errors import CaseError, SolveError
from solver.geometry.build import CELL_IDS, FACET_IDS
from solver.quantities import local_peaks, stress_measures
from solver.reduced import meridian_vtu
from solver.reduced.symmetry import RadialLayout, region_value
# the stepping internals of the 1D solver: its public solve() marches to fixed output times only
from solver.spherical1d import NewtonFailure, RadialGeometry, RadialTransport, Stepper

MIN_RADIAL_CELLS = 100
CELLS_PER_SURFACE_FRACTION = 20.0   # radial cells = 20 / mesh.surface_cell_size_fraction (400 at 0.05)
PICTURE_RINGS = 60


def _nodal(values: np.ndarray) -> SimpleNamespace:
    """An array behind the `function.x.array` path the time loop reads."""
    return SimpleNamespace(x=SimpleNamespace(array=values))


def radial_cells(case: dict) -> int:
    return max(MIN_RADIAL_CELLS, math.ceil(CELLS_PER_SURFACE_FRACTION / case["mesh"]["surface_cell_size_fraction"]))


def property_by_region(case: dict, layout: RadialLayout, prop: str):
    """A property as a float (uniform) or f(r) piecewise constant over the radial regions."""
    values = [region_value(case, name, prop) for name in layout.region_names()]
    if len(set(values)) == 1:
        return values[0]
    return spherical1d.piecewise_constant(layout.interfaces_m, values)


def radial_diffusivity(case: dict, layout: RadialLayout):
    """D(c, r): region value x tabulated D(x) x (1 + theta c) with stress-assisted diffusion."""
    material = case["material"]
    base = property_by_region(case, layout, "diffusivity_m2_s")
    table = material["diffusivity_table_li_fraction_m2_s"]
    if table is not None and callable(base):
        raise CaseError("material.regions.*.diffusivity_m2_s: cannot be combined with "
                        "material.diffusivity_table_li_fraction_m2_s (one D(x) for the whole particle)")
    theta = 0.0
    if case["coupling"]["stress_assisted_diffusion"]:
        theta = analytic.stress_assisted_theta(material["young_modulus_Pa"], material["poisson_ratio"],
                                               material["partial_molar_volume_m3_mol"],
                                               case["operation"]["temperature_K"])
    if table is None and theta == 0.0 and not callable(base):
        return base
    xs = np.array([row[0] for row in table]) if table else None
    logs = np.log([row[1] for row in table]) if table else None
    c_max = material["c_max_mol_m3"]

    def diffusivity(c, r):
        if table:   # the table replaces the constant: log-linear in x, held constant outside (as in 3D)
            d = np.exp(np.interp(c / c_max, xs, logs))
        else:
            d = base(r) if callable(base) else base
        return d * (1.0 + theta * c)
    return diffusivity


class SphericalModel:
    """One radially symmetric particle in 1D, stepped by solver.stepping.run_time_loop (serial)."""

    comm = MPI.COMM_SELF

    def __init__(self, case: dict, layout: RadialLayout):
        material, operation = case["material"], case["operation"]
        self.case, self.layout = case, layout
        self.c_max = material["c_max_mol_m3"]
        self.radius_m = layout.radius_m
        wetted = operation["wetted_surfaces"]
        self.volume_m3 = layout.volume_m3
        self.wetted_area_m2 = sum(layout.surface_area_m2(name) for name in wetted)
        self.surface_flux_mol_m2_s = 0.0
        if operation["mode"] == "galvanostatic":
            self.surface_flux_mol_m2_s = units.galvanostatic_flux_mol_m2_s(
                c_rate=operation["c_rate"], capacity_li_fraction=operation["capacity_li_fraction"],
                c_max_mol_m3=self.c_max, volume_m3=self.volume_m3, area_m2=self.wetted_area_m2,
                extracting=operation["direction"] == "charge")
            surface = spherical1d.SurfaceFlux(self.surface_flux_mol_m2_s if "outer_surface" in wetted else 0.0)
        else:
            if wetted != ["outer_surface"]:
                raise CaseError(f"operation.wetted_surfaces = {wetted!r}: the spherical_1d model holds the "
                                "concentration on the outer surface only; use solver.formulation = 'axisymmetric'")
            surface = spherical1d.SurfaceConcentration(operation["surface_li_fraction"] * self.c_max)
        self.problem = spherical1d.SphericalProblem(
            radius_m=layout.radius_m, diffusivity_m2_s=radial_diffusivity(case, layout),
            c_init_mol_m3=operation["li_fraction_start"] * self.c_max, surface=surface,
            elasticity=spherical1d.Elasticity(
                property_by_region(case, layout, "young_modulus_Pa"), property_by_region(case, layout, "poisson_ratio"),
                property_by_region(case, layout, "partial_molar_volume_m3_mol"),
                material["stress_free_li_fraction"] * self.c_max),
            inner_radius_m=layout.inner_radius_m,
            inner_flux_mol_m2_s=self.surface_flux_mol_m2_s if "inner_surface" in wetted else 0.0,
            interfaces_m=layout.interfaces_m, n_cells=radial_cells(case))
        self.mesh = spherical1d.radial_mesh(layout.inner_radius_m, layout.radius_m, layout.interfaces_m,
                                            self.problem.n_cells)
        geometry = RadialGeometry.of(self.mesh)
        self.volumes = geometry.volumes
        u0 = np.full(self.mesh.nodes_m.shape, operation["li_fraction_start"] * self.c_max)
        self.transport = RadialTransport(self.problem, geometry, c_scale=max(float(np.max(np.abs(u0))), 1.0))
        self.stepper = Stepper(self.transport, u0, case["time"]["scheme"], newton_rtol=1e-11, max_newton=25)
        self.c, self.c_old, self.c_older = _nodal(u0.copy()), _nodal(u0.copy()), _nodal(u0.copy())
        self.t_s = 0.0
        self._saved = None
        self._pending_dt = 0.0

    # ------------------------------------------------------------------ stepping (run_time_loop interface)
    def _state(self):
        s = self.stepper
        return s.u.copy(), s.mass_now, s.mass_before, s.dt_before

    def advance(self, dt: float, previous_dt: float | None, scheme: str):
        self._saved = self._state()
        self.stepper.scheme = scheme
        try:
            self.stepper.step(dt, self.t_s + dt)
        except NewtonFailure:
            raise SolveError(f"spherical_1d: Newton iteration did not converge in a step of {dt:.3g} s; "
                             "reduce time.dt_max_s or use adaptive steps") from None
        self.c.x.array = self.stepper.u.copy()
        self._pending_dt = dt
        return SimpleNamespace(coupling_iterations=1)

    def reject_step(self) -> None:
        if self._saved is not None:
            s = self.stepper
            s.u, s.mass_now, s.mass_before, s.dt_before = self._saved
            self._saved = None
        self.c.x.array = self.c_old.x.array.copy()

    def accept_step(self) -> None:
        self.c_older.x.array = self.c_old.x.array
        self.c_old.x.array = self.c.x.array.copy()
        self.t_s += self._pending_dt
        self._saved = None

    def li_content_range(self) -> tuple[float, float]:
        """(min, max) of the Li content (mol/m^3): serial, the nodal concentration itself."""
        return float(self.c.x.array.min()), float(self.c.x.array.max())

    # ------------------------------------------------------------------ outputs
    def solve_mechanics(self) -> None:
        """Radial and hoop stress at the output radii (interfaces twice) for the current concentration."""
        u = self.stepper.u
        c_ends = np.stack(self.transport.element_ends(u[None, :]), axis=-1)
        sigma_r, sigma_t = spherical1d.elastic_stresses(self.mesh, self.problem.elasticity, c_ends)
        self.r_out, self.sigma_r = spherical1d.sample(self.mesh, sigma_r)
        self.sigma_t = spherical1d.sample(self.mesh, sigma_t)[1]
        self.sigma_r, self.sigma_t = self.sigma_r[0], self.sigma_t[0]

    def _tensors(self):
        """Stress tensors diag(sigma_r, sigma_t, sigma_t) at points (r, 0, 0): the measures of the 3D model."""
        n = self.r_out.size
        tensors = np.zeros((n, 3, 3))
        tensors[:, 0, 0], tensors[:, 1, 1], tensors[:, 2, 2] = self.sigma_r, self.sigma_t, self.sigma_t
        points = np.column_stack([self.r_out, np.zeros(n), np.zeros(n)])
        return tensors, points

    def peaks(self) -> dict:
        self.solve_mechanics()
        tensors, points = self._tensors()
        return local_peaks(stress_measures(tensors, points, self.radius_m), points)

    def concentration(self) -> dict:
        u = self.stepper.u
        wetted = self.case["operation"]["wetted_surfaces"]
        areas = {"outer_surface": (self.layout.surface_area_m2("outer_surface"), u[-1])}
        if "inner_surface" in wetted:
            areas["inner_surface"] = (self.layout.surface_area_m2("inner_surface"), u[0])
        surface = sum(a * c for name, (a, c) in areas.items() if name in wetted) / self.wetted_area_m2
        return {"mean_mol_m3": float(self.transport.content(u).sum() / self.volumes.sum()),
                "surface_mol_m3": float(surface), "centre_mol_m3": float(u[0]),
                "min_mol_m3": float(u.min()), "max_mol_m3": float(u.max())}

    def mesh_summary(self) -> dict:
        layout = self.layout
        return {"cells": int(self.mesh.h_m.size),
                "dofs": {"concentration": int(self.mesh.nodes_m.size), "displacement": int(2 * self.mesh.h_m.size + 1)},
                "cell_regions": {name: CELL_IDS[name] for name in layout.region_names()},
                "facet_regions": {name: FACET_IDS[name] for name in layout.surfaces},
                "description": {"formulation": "spherical_1d", "kind": self.case["geometry"]["kind"],
                                "radius_m": layout.radius_m, "inner_radius_m": layout.inner_radius_m,
                                "interfaces_m": list(layout.interfaces_m), "radial_cells": int(self.mesh.h_m.size)}}

    def write_fields(self, path) -> None:
        """The radial profiles drawn on a polar grid of the meridian quarter disc (see meridian_vtu)."""
        self.solve_mechanics()
        rings = np.unique(np.concatenate([
            np.linspace(self.layout.inner_radius_m, self.radius_m, PICTURE_RINGS + 1), self.layout.interfaces_m]))
        points, triangles = meridian_vtu.polar_triangulation(rings)
        r = np.hypot(points[:, 0], points[:, 1])
        tensors, sample_points = self._tensors()
        measures = stress_measures(tensors, sample_points, self.radius_m)
        u = self.stepper.u
        c = np.interp(r, self.mesh.nodes_m, u)
        displacement = self._radial_displacement(r)
        with np.errstate(invalid="ignore", divide="ignore"):
            direction = np.where(r[:, None] > 0, points / np.where(r > 0, r, 1.0)[:, None], 0.0)
        data = quantities.field_arrays({name: np.interp(r, self.r_out, values) for name, values in measures.items()},
                                       {"concentration_mol_m3": c, "li_fraction": c / self.c_max,
                                        "displacement_m": displacement[:, None] * direction})
        centroid_r = np.hypot(*points[triangles].mean(axis=1).T)
        regions = np.array([CELL_IDS[name] for name in self.layout.region_names()])[
            np.searchsorted(np.array(self.layout.interfaces_m), centroid_r)]
        meridian_vtu.write_meridian_vtu(path, points, triangles, data, regions, self.radius_m)

    def _radial_displacement(self, r: np.ndarray) -> np.ndarray:
        """u(r) from the hoop strain: eps_t = u / r = (sigma_t - nu sigma_r) / E + eps*  (isotropic Hooke)."""
        E = _radial_values(self.problem.elasticity.young_modulus_Pa, self.r_out)
        nu = _radial_values(self.problem.elasticity.poisson_ratio, self.r_out)
        omega = _radial_values(self.problem.elasticity.partial_molar_volume_m3_mol, self.r_out)
        c = np.interp(self.r_out, self.mesh.nodes_m, self.stepper.u)
        eigen = omega * (c - self.problem.elasticity.c_ref_mol_m3) / 3.0
        hoop_strain = ((1 - nu) * self.sigma_t - nu * self.sigma_r) / E + eigen
        return np.interp(r, self.r_out, hoop_strain) * r


def _radial_values(value, r: np.ndarray) -> np.ndarray:
    return np.asarray(value(r), dtype=float) if callable(value) else np.full(r.shape, float(value))
