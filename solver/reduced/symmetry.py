"""Which cases reduce to a radial (1D) or meridian (2D axisymmetric) model, and the radii that describe them;
which cases a central-section model (section_2d) takes.

A reduced formulation holds when the particle, its material and its loading are all rotationally
symmetric: a dense sphere, a hollow sphere without pores, or a core-shell particle without islands,
made of an isotropic material, charged through whole spherical surfaces. Everything else is refused
with a CaseError that names the key, its value and the formulation to use instead.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from solver.errors import CaseError
from solver.extensions import EXTENSIONS
from solver.fields.registry import FIELDS
from solver.geometry import core_shell
from solver.geometry.pores import has_pores
from solver.units import UM_TO_M

SYMMETRIC_KINDS = ("sphere", "hollow_sphere", "core_shell")
STRUCTURAL_PROPERTIES = ("young_modulus_Pa", "poisson_ratio", "partial_molar_volume_m3_mol")


@dataclass(frozen=True)
class RadialLayout:
    """A rotationally symmetric particle: radii in metres, regions as radial intervals by name.

    regions: ((name, r_inner_m, r_outer_m), ...) from the inside out (bulk, then shell).
    surfaces: the facet region names the particle has (outer_surface, inner_surface, shell_interface).
    """
    radius_m: float
    inner_radius_m: float
    regions: tuple[tuple[str, float, float], ...]
    surfaces: tuple[str, ...]

    @property
    def interfaces_m(self) -> tuple[float, ...]:
        return tuple(outer for _, _, outer in self.regions[:-1])

    @property
    def volume_m3(self) -> float:
        return 4.0 / 3.0 * math.pi * (self.radius_m**3 - self.inner_radius_m**3)

    def surface_area_m2(self, name: str) -> float:
        radius = {"outer_surface": self.radius_m, "inner_surface": self.inner_radius_m}[name]
        return 4.0 * math.pi * radius**2

    def region_names(self) -> list[str]:
        return [name for name, _, _ in self.regions]


def _use_3d(formulation: str, what: str) -> CaseError:
    return CaseError(f"{what}: solver.formulation = {formulation!r} needs a rotationally symmetric particle "
                     f"({', '.join(SYMMETRIC_KINDS)}; no pores, no islands, isotropic material, whole spherical "
                     "surfaces wetted); use solver.formulation = '3d' for this case")


def radial_layout(case: dict) -> RadialLayout:
    """The radial description of the case's particle, or a CaseError when it is not rotationally symmetric."""
    formulation = case["solver"]["formulation"]
    geometry = case["geometry"]
    kind = geometry["kind"]
    if kind not in SYMMETRIC_KINDS:
        raise _use_3d(formulation, f"geometry.kind = {kind!r}")
    radius = geometry["radius_m"]
    if kind == "sphere":
        return RadialLayout(radius, 0.0, (("bulk", 0.0, radius),), ("outer_surface",))
    if kind == "hollow_sphere":
        if has_pores(geometry):
            raise _use_3d(formulation, f"geometry.porosity = {geometry['porosity']!r} (pores break the symmetry)")
        inner = geometry["void_radius_fraction"] * radius
        return RadialLayout(radius, inner, (("bulk", inner, radius),), ("outer_surface", "inner_surface"))
    if geometry["island_coverage_fraction"] > 0:
        raise _use_3d(formulation, f"geometry.island_coverage_fraction = {geometry['island_coverage_fraction']} "
                                   "(islands break the symmetry)")
    core = radius - core_shell.shell_thickness_um(geometry) * UM_TO_M
    return RadialLayout(radius, 0.0, (("bulk", 0.0, core), ("shell", core, radius)),
                        ("outer_surface", "shell_interface"))


def check_reducible(case: dict) -> RadialLayout:
    """Everything a reduced formulation needs besides the geometry: material, surfaces, extensions."""
    layout = radial_layout(case)
    formulation = case["solver"]["formulation"]
    material = case["material"]
    if material["model"] != "isotropic":
        raise _use_3d(formulation, f"material.model = {material['model']!r} (anisotropic grains)")
    _check_regions_and_surfaces(case, layout.region_names(), layout.surfaces)
    # The 1D model writes the stress-assisted flux as D (1 + theta c) grad c, exact where E, nu and Omega are
    # uniform (sigma_h = A - beta c in a free homogeneous sphere, solid or hollow); the axisymmetric model
    # solves the same split as the 3D one and needs no such restriction.
    if formulation == "spherical_1d" and case["coupling"]["stress_assisted_diffusion"] and any(
            prop in values for values in material["regions"].values() for prop in STRUCTURAL_PROPERTIES):
        raise CaseError("coupling.stress_assisted_diffusion = true with material.regions overriding E, nu or Omega: "
                        "the 1D reduction D (1 + theta c) needs uniform elastic properties; use "
                        "solver.formulation = 'axisymmetric' (or '3d'), or give the regions only their own "
                        "diffusivity_m2_s")
    return layout


SECTION_KINDS = ("sphere", "polycrystal")


def check_section(case: dict) -> float:
    """What solver.formulation = 'section_2d' needs: the particle's central section (a sphere or a polycrystal),
    no extensions, no Li-deficient shell, a floating-body solver; returns the particle radius (m)."""
    geometry, solver = case["geometry"], case["solver"]
    if geometry["kind"] not in SECTION_KINDS:
        raise CaseError(f"geometry.kind = {geometry['kind']!r}: solver.formulation = 'section_2d' models the central "
                        f"section of a {' or '.join(SECTION_KINDS)}; use solver.formulation = '3d' for this case")
    if geometry["kind"] == "sphere" and has_pores(geometry):
        raise CaseError(f"geometry.porosity = {geometry['porosity']!r}: a section_2d sphere is dense; section pores "
                        "come with geometry.kind = 'polycrystal'")
    if solver["mechanics_preconditioner"] == "lu":
        raise CaseError("solver.mechanics_preconditioner = 'lu': a section floats (3 rigid motions, a singular "
                        "operator); use 'gamg' or 'hypre' with solver.formulation = 'section_2d'")
    if geometry["kind"] == "polycrystal":
        regions = [f"grain_{i}" for i in range(geometry["grain_count"])]
    else:
        regions = ["bulk"]
    _check_regions_and_surfaces(case, regions, ("outer_surface", "pore_surface"))
    return geometry["radius_m"]


def _check_regions_and_surfaces(case: dict, regions, surfaces) -> None:
    """Material regions, the Li-deficient shell, extensions and wetted surfaces of a 2D or 1D model."""
    formulation = case["solver"]["formulation"]
    material, operation = case["material"], case["operation"]
    for region in material["regions"]:
        if region not in regions:
            shown = ", ".join(regions) if len(regions) <= 8 else f"{regions[0]} ... {regions[-1]}"
            raise CaseError(f"material.regions.{region}: not a cell region of this geometry; available: {shown}")
    profile = case.get("initial", {}).get("shell_li_fraction_surface")
    if profile is not None:
        raise CaseError(f"initial.shell_li_fraction_surface = {profile}: the Li-deficient shell profile "
                        f"(solver/shell.py) runs with solver.formulation = '3d' only (this case has {formulation!r})")
    for region, values in material["regions"].items():
        for key in ("li_fraction_min", "li_fraction_max"):
            if values.get(key) is not None:
                raise CaseError(f"material.regions.{region}.{key} = {values[key]}: bounded regions (solver/shell.py) "
                                f"run with solver.formulation = '3d' only (this case has {formulation!r})")
    extensions = sorted(set(EXTENSIONS) & set(case))
    if extensions:
        raise CaseError(f"[{extensions[0]}]: extensions run with solver.formulation = '3d' only "
                        f"(this case has solver.formulation = {formulation!r})")
    for section, spec in FIELDS.items():
        if section in case and formulation not in spec.formulations:
            raise CaseError(f"[{section}]: this field runs with solver.formulation = "
                            f"{' or '.join(repr(f) for f in spec.formulations)} only "
                            f"(this case has solver.formulation = {formulation!r})")
    wetted = operation["wetted_surfaces"]
    wettable = [name for name in surfaces if name != "shell_interface"]
    unknown = [name for name in wetted if name not in wettable]
    if unknown:
        raise CaseError(f"operation.wetted_surfaces = {wetted!r}: {unknown[0]!r} is not a surface of this geometry; "
                        f"available: {', '.join(wettable)}")


def region_value(case: dict, region: str, prop: str) -> float:
    """A material property in one region: the region override, else the particle's value."""
    return case["material"]["regions"].get(region, {}).get(prop, case["material"][prop])
