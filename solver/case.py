"""Case files: TOML in, a validated case in SI units out.

A case has the sections [geometry], [mesh], [material], [operation], [time], [coupling],
[solver] and [output]. Every key is checked on load: an unknown key, a wrong type or a
non-physical value raises one CaseError that names the dotted key, the value and what is allowed.
A case may name another with `base = "other.toml"` (path relative to the file); its tables are
merged under this one's, so a study pair differs only in what it overrides.
"""
from __future__ import annotations

import codecs
import copy
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from solver import damage_section, oxygen_section, units
from solver.errors import CaseError
from solver.extensions import EXTENSIONS, validate_extensions
from solver.fields.registry import FIELDS, validate_field_sections
from solver.material_models import MATERIAL_MODELS
from solver.parameter_sets import PARAMETER_SETS, parameter_set
from solver.protocol import MATERIAL_KINETIC_OPTIONS, validate_kinetic_sections
from solver.schema import (BOOL, FLOAT, INT, LIST, NUMBER, STR, TABLE, Option, all_of, fraction_closed, fraction_unit, is_number,
                           is_real, number_problem, positive, rule, shown, shown_text, validate_table, whole_number)

# Case-section checks whose "allowed" text says more than the generic ones in solver.schema.
_li_fraction = rule(lambda v: 0 <= v <= 1, "in [0, 1] (c in [0, c_max])")
_poisson = rule(lambda v: -1.0 < v < 0.5, "in (-1, 0.5)")
# Elastic moduli of real electrode materials lie within 1 GPa .. 1 TPa; 1 MPa .. 10 TPa leaves room for soft
# binders and stiff coatings, and keeps the elasticity matrix well scaled (E = 1e-300 GPa stopped PETSc's
# solvers with a raw error). Checked in Pa, whichever unit the case used.
YOUNG_MODULUS_RANGE_PA = (1e6, 1e13)
_young_modulus = all_of(positive, rule(lambda v: YOUNG_MODULUS_RANGE_PA[0] <= v <= YOUNG_MODULUS_RANGE_PA[1],
                                       "in [1 MPa, 10 TPa] (1e6 .. 1e13 Pa)"))

# material.young_modulus_Pa | young_modulus_GPa and material.regions.<name>.young_modulus_*: stored in Pa
YOUNG_MODULUS = Option("young_modulus", FLOAT, None, check=_young_modulus, dimension="pressure", units=("_Pa", "_GPa"),
                       help="Young's modulus E; one of the two spellings is required")

MATERIAL_OPTIONS = [
    Option("name", STR, "", help="a label of the material, stored with the results"),
    # a named, cited set of the values below (solver/parameter_sets.py); keys written next to it win
    Option("parameter_set", STR, None, choices=tuple(PARAMETER_SETS),
           help="a named, cited set of the values below (python -m solver materials); keys written next to it "
                "replace the set's values"),
    Option("model", STR, "isotropic", choices=tuple(MATERIAL_MODELS),
           help="the constitutive model: isotropic (Vegard strain Omega (c - c_ref) / 3 I) or layered_oxide "
                "(per-grain anisotropic lattice strain, [material.layered])"),
    # per cell region (e.g. shell, islands): REGION_OPTIONS
    Option("regions", TABLE, {}, help="per-cell-region values, [material.regions.<name>] (below)"),
    Option("c_max_mol_m3", FLOAT, check=positive, help="maximum Li concentration (Li fraction 1)"),
    Option("diffusivity_m2_s", FLOAT, check=positive,
           help="Li diffusivity D (the constant, or the scale when regions override it)"),
    # D(x) as a table of [li_fraction, D_m2_s] rows, interpolated linearly in log D; overrides the constant.
    Option("diffusivity_table_li_fraction_m2_s", LIST, None,
           help="D(x) as [[li_fraction, D_m2_s], ...] rows (x strictly increasing), interpolated linearly in log D; "
                "replaces the constant"),
    Option("poisson_ratio", FLOAT, check=_poisson, help="Poisson's ratio nu"),
    # required unless the model says otherwise (solver/material_models.py: optional for layered_oxide)
    Option("partial_molar_volume_m3_mol", FLOAT, None,
           help="partial molar volume Omega of the isotropic Vegard strain; required for model isotropic, optional "
                "for layered_oxide (the lattice table's secant)"),
    Option("stress_free_li_fraction", FLOAT, None, check=fraction_closed,
           help="Li fraction of the stress-free state c_ref / c_max (default: operation.li_fraction_start)"),
    # a model's own sub-table, e.g. [material.layered] of layered_oxide (solver/layered_oxide.py)
    *(Option(model.section, TABLE, None, help=f"[material.{model.section}]: the {model.name} model's own keys (below)")
      for model in MATERIAL_MODELS.values() if model.section),
    # after the sub-tables: the resolved [material] keeps the key order it always had
    YOUNG_MODULUS,
    # ocp, ocp_table_li_fraction_V, molar_mass_g_mol, li_per_formula_unit: used with [kinetics] (solver/protocol.py)
    *MATERIAL_KINETIC_OPTIONS,
]

OPERATION_OPTIONS = [
    Option("mode", STR, "galvanostatic", choices=("galvanostatic", "potentiostatic"),
           help="galvanostatic: constant current (C-rate); potentiostatic: fixed surface Li fraction"),
    Option("direction", STR, "charge", choices=("charge", "discharge"),
           help="charge extracts Li from the cathode, discharge inserts it"),
    Option("c_rate", FLOAT, 1.0, check=positive, help="current in C-rates (galvanostatic)"),
    Option("capacity_li_fraction", FLOAT, None, check=fraction_unit,
           help="Li fraction moved per hour at 1C (default: the whole window |end - start|)"),
    Option("li_fraction_start", FLOAT, check=_li_fraction, help="uniform Li fraction c / c_max at t = 0"),
    Option("li_fraction_end", FLOAT, None, check=_li_fraction,
           help="Li fraction at the end of a galvanostatic window (required there)"),
    Option("surface_li_fraction", FLOAT, None, check=_li_fraction,
           help="surface Li fraction held in potentiostatic mode (required there)"),
    Option("temperature_K", FLOAT, 298.15, check=positive, help="temperature (stress-assisted flux Omega c / (R T))"),
    Option("wetted_surfaces", LIST, ["outer_surface"],
           help='facet regions the electrolyte wets (the flux crosses them), e.g. ["outer_surface", "pore_surface"]'),
    Option("stop_at_surface_limit", BOOL, True, help="end the run when the surface Li fraction leaves [0, 1]"),
]

TIME_OPTIONS = [
    Option("t_end_s", FLOAT, None, check=positive,
           help="simulated time (default: the galvanostatic window at the C-rate)"),
    Option("t_end_dimensionless", FLOAT, None, check=rule(lambda v: v > 0, "> 0 (D t / R^2)"),
           help="simulated time as tau = D t / R^2"),
    # a million steps is days of 3D solves; 2**63 - 1 was accepted and ran out of memory (5 GB)
    Option("steps", INT, 100, check=whole_number(1, 10**6),
           help="number of time steps (fixed steps), or the first step's size t_end / steps (adaptive)"),
    Option("scheme", STR, "bdf2", choices=("bdf2", "backward_euler"),
           help="time integration: BDF2 (variable step) or backward Euler"),
    Option("adaptive", BOOL, False, help="adapt the step to a local-error estimate"),
    Option("tolerance", FLOAT, 1e-3, check=rule(lambda v: v > 0, "> 0 (relative local error per step)"),
           help="relative local error per adaptive step"),
    Option("dt_min_s", FLOAT, None, check=positive, help="smallest adaptive step"),
    Option("dt_max_s", FLOAT, None, check=positive, help="largest adaptive step"),
]

COUPLING_OPTIONS = [
    Option("stress_assisted_diffusion", BOOL, False,
           help="add the flux D Omega c / (R T) grad sigma_h (solved to convergence each step)"),
    Option("max_iterations", INT, 30, check=whole_number(1, 10**4), help="coupling iterations per step at most"),
    # relative max-norm change of c between coupling iterations; the linear solves (linear_rtol) must be
    # well below it, or the iteration stalls on their noise
    Option("tolerance", FLOAT, 1e-5, check=rule(lambda v: v > 0, "> 0 (relative change of c)"),
           help="relative max-norm change of c between coupling iterations that ends them"),
]

SOLVER_OPTIONS = [
    # relative residual of the linear solves: "auto" ties it to the accuracy the case asks for (linear_rtol())
    Option("linear_rtol", NUMBER + STR, "auto",
           check=rule(lambda v: v == "auto" or (not isinstance(v, str) and 0 < v <= 1e-2), '"auto" or a number in (0, 1e-2]'),
           help='relative residual of the linear solves; "auto": mechanics 1e-6, transport 1e-8, tighter for '
                'adaptive or iterating steps'),
    Option("concentration_degree", INT, 1, choices=(1, 2), help="polynomial degree of the concentration (P1 or P2)"),
    Option("displacement_degree", INT, 2, choices=(1, 2),
           help="polynomial degree of the displacement (P2 gives a usable grad sigma_h)"),
    Option("mechanics_preconditioner", STR, "gamg", choices=("gamg", "hypre", "lu"),
           help="CG + GAMG, CG + BoomerAMG (hypre), or a direct LU solve (small meshes)"),
    # 3d: the tetrahedral model; spherical_1d / axisymmetric: reduced models of rotationally symmetric
    # particles (sphere, hollow_sphere, core_shell), same outputs, a small fraction of the cost (solver/reduced/);
    # section_2d: the particle's central section in (generalised) plane strain, grains keeping their 3D orientation
    Option("formulation", STR, "3d", choices=("3d", "spherical_1d", "axisymmetric", "section_2d"),
           help="3d tetrahedra, the reduced spherical_1d / axisymmetric models of rotationally symmetric particles, "
                "or section_2d: the central section (polycrystal or sphere) in generalised plane strain"),
    Option("section_axial_strain", STR, "free", choices=("free", "zero"),
           help="section_2d only: 'free' = generalised plane strain (uniform axial strain, zero axial force), "
                "'zero' = plane strain (eps_zz = 0, the section clamped axially)"),
]

PEAK_STRESS_EVALUATIONS = ("cellwise", "recovered")
OUTPUT_OPTIONS = [
    Option("fields", BOOL, True, help="write the XDMF/VTU field snapshots"),
    # every snapshot writes the full fields; more than 10000 fills a disk, not a picture
    Option("snapshots", INT, 5, check=whole_number(0, 10**4), help="number of field snapshots (evenly spaced in time)"),
    Option("pictures", BOOL, True, help="draw the PNG pictures after the run"),
    Option("progress", BOOL, True, help="print one line per step"),
    # which stress the peaks are taken of (solver/postprocess.py): the exact DG stress cell by cell, or its
    # nodal average within each cell region (for steep stress gradients across few cells, e.g. thin shells)
    Option("peak_stress", STR, "cellwise", choices=PEAK_STRESS_EVALUATIONS,
           help="cellwise: peaks of the exact DG stress at every cell's corners; recovered: of its region-wise nodal "
                "average"),
    # physical sanity checks after every step (solver/sanity.py)
    Option("sanity", STR, "warn", choices=("warn", "fatal"),
           help="warn: findings (Li content outside [0, c_max], state of charge outside [0, 1], a peak on a poor "
                "cell) in the log and summary.json; fatal: the first one ends the run as failed"),
]

# The initial Li profile (solver/shell_section.py): uniform operation.li_fraction_start, or a Li-deficient shell whose
# Li fraction rises from shell_li_fraction_surface at r = R to the bulk value at the shell's inner radius.
INITIAL_OPTIONS = [
    Option("shell_li_fraction_surface", FLOAT, None, check=fraction_closed,
           help="Li fraction at r = R of a Li-deficient shell (core_shell); it rises to operation.li_fraction_start "
                "at the shell's inner radius"),
    Option("shell_profile", STR, "linear", choices=("linear", "erf"), help="shape of that rise"),
    # structural: the deficit is a property of the shell (fewer accessible Li sites), in equilibrium at t = 0;
    # diffusing: an ordinary concentration gradient that Fickian diffusion starts to even out at once
    Option("shell_deficit", STR, "structural", choices=("structural", "diffusing"),
           help="structural: fewer accessible Li sites in the shell (equilibrium at t = 0); diffusing: an ordinary "
                "gradient that diffusion evens out"),
]

SECTIONS: dict[str, list[Option]] = {
    "material": MATERIAL_OPTIONS,
    "operation": OPERATION_OPTIONS,
    "time": TIME_OPTIONS,
    "coupling": COUPLING_OPTIONS,
    "solver": SOLVER_OPTIONS,
    "output": OUTPUT_OPTIONS,
    "initial": INITIAL_OPTIONS,
}
TOP_LEVEL = {"name", "description", "base", "geometry", "mesh", *SECTIONS, "kinetics", "protocol"}


def _top_level_keys() -> set[str]:
    return TOP_LEVEL | set(EXTENSIONS) | set(FIELDS)


REGION_OPTIONS = [
    YOUNG_MODULUS,
    Option("poisson_ratio", FLOAT, None, check=_poisson, help="this region's Poisson's ratio"),
    Option("partial_molar_volume_m3_mol", FLOAT, None, help="this region's partial molar volume"),
    Option("diffusivity_m2_s", FLOAT, None, check=positive, help="this region's diffusivity (not with a D(x) table)"),
    # a bounded region (solver/fields/shell_content.py): its Li content stops changing at these Li fractions
    Option("li_fraction_min", FLOAT, None, check=fraction_closed,
           help="the region's Li content stops falling at this Li fraction (bounded region, e.g. a Li-deficient "
                "shell)"),
    Option("li_fraction_max", FLOAT, None, check=fraction_closed,
           help="the region's Li content stops rising at this Li fraction"),
]


def _resolve_regions(regions: dict) -> dict:
    out = {}
    for name, table in regions.items():
        values = validate_table(table, REGION_OPTIONS, f"material.regions.{name}")
        low, high = values["li_fraction_min"], values["li_fraction_max"]
        if low is not None and high is not None and not low < high:
            raise CaseError(f"material.regions.{name}.li_fraction_min = {low}: must be < li_fraction_max = {high}")
        out[name] = {key: value for key, value in values.items() if value is not None}
    return out


def with_parameter_set(table) -> dict:
    """A raw [material] table with the values of its `parameter_set` filled in under the keys it gives itself.

    A key the table gives in any unit (young_modulus_Pa) replaces the set's (young_modulus_GPa); the set's
    [material.layered] lattice is merged under the table's own [material.layered], and dropped when the table
    names another material.model. Tables without parameter_set come back unchanged."""
    if not isinstance(table, dict) or not isinstance(table.get("parameter_set"), str):
        return table   # no set, or a value validate_table refuses with the usual wording
    name = table["parameter_set"]
    chosen = parameter_set(name)
    if chosen is None:
        raise CaseError(f"material.parameter_set = {shown(name)}: unknown parameter set; valid names are "
                        + ", ".join(PARAMETER_SETS) + " (python -m solver materials)")
    aliases = {key: opt.keys() for opt in MATERIAL_OPTIONS for key in opt.keys()}
    merged = {key: value for key, value in chosen.case_table().items()
              if key != "layered" and not any(alias in table for alias in aliases.get(key, [key]))}
    merged.update((key, value) for key, value in table.items() if key != "layered")
    layered = table.get("layered")
    if chosen.lattice is not None and merged["model"] == chosen.model:
        if layered is None:
            layered = {"lattice": chosen.lattice}
        elif isinstance(layered, dict) and not {"lattice", "lattice_table_li_fraction_a_c_angstrom"} & set(layered):
            layered = {"lattice": chosen.lattice, **layered}
    if layered is not None:
        merged["layered"] = layered
    return merged


def _resolve_material(material: dict) -> dict:
    if material["parameter_set"] is None:
        del material["parameter_set"]   # resolved cases without a set read as they always have
    material["regions"] = _resolve_regions(material["regions"])
    model = MATERIAL_MODELS[material["model"]]
    if model.requires_partial_molar_volume and material["partial_molar_volume_m3_mol"] is None:
        raise CaseError("material.partial_molar_volume_m3_mol: missing; it is required")
    for other in MATERIAL_MODELS.values():
        if other.section:
            material[other.section] = other.resolve_section(material["model"], material[other.section])
    if material["young_modulus_Pa"] is None:
        raise CaseError("material.young_modulus_Pa / material.young_modulus_GPa: give exactly one")
    table = material["diffusivity_table_li_fraction_m2_s"]
    if table is not None:
        ok = len(table) >= 2 and all(
            isinstance(row, list) and len(row) == 2 and all(map(is_number, row)) for row in table)
        if not ok:
            raise CaseError(f"material.diffusivity_table_li_fraction_m2_s = {shown(table)}: must be a list of at "
                            "least two [li_fraction, D_m2_s] pairs")
        xs = [row[0] for row in table]
        if xs != sorted(xs) or len(set(xs)) != len(xs) or not all(0 <= x <= 1 for x in xs):
            raise CaseError(f"material.diffusivity_table_li_fraction_m2_s = {shown(table)}: li_fraction values must "
                            "increase strictly within [0, 1]")
        if not all(row[1] > 0 for row in table):
            raise CaseError(f"material.diffusivity_table_li_fraction_m2_s = {shown(table)}: D values must be > 0")
        material["diffusivity_table_li_fraction_m2_s"] = [[float(x), float(d)] for x, d in table]
    return material


def _resolve_operation(op: dict) -> dict:
    start = op["li_fraction_start"]
    if op["mode"] == "galvanostatic":
        end = op["li_fraction_end"]
        if end is None:
            raise CaseError("operation.li_fraction_end: missing; required for galvanostatic operation")
        if op["direction"] == "charge" and not end < start:
            raise CaseError(f"operation.li_fraction_end = {end}: charging a cathode extracts Li, so it must be "
                            f"< operation.li_fraction_start = {start}")
        if op["direction"] == "discharge" and not end > start:
            raise CaseError(f"operation.li_fraction_end = {end}: discharging inserts Li, so it must be "
                            f"> operation.li_fraction_start = {start}")
        if op["capacity_li_fraction"] is None:
            op["capacity_li_fraction"] = abs(end - start)
    else:
        if op["surface_li_fraction"] is None:
            raise CaseError("operation.surface_li_fraction: missing; required for potentiostatic operation")
    if not op["wetted_surfaces"] or not all(isinstance(s, str) for s in op["wetted_surfaces"]):
        raise CaseError(f"operation.wetted_surfaces = {shown(op['wetted_surfaces'])}: must be a non-empty list of "
                        "facet region names (e.g. [\"outer_surface\", \"pore_surface\"])")
    return op


def _resolve_time(time: dict, op: dict) -> dict:
    if time["t_end_s"] is not None and time["t_end_dimensionless"] is not None:
        raise CaseError("time.t_end_s / time.t_end_dimensionless: give at most one")
    if op["mode"] == "potentiostatic" and time["t_end_s"] is None and time["t_end_dimensionless"] is None:
        raise CaseError("time.t_end_s: missing; potentiostatic operation needs an end time")
    if time["dt_min_s"] and time["dt_max_s"] and time["dt_min_s"] > time["dt_max_s"]:
        raise CaseError(f"time.dt_min_s = {time['dt_min_s']}: must not exceed time.dt_max_s = {time['dt_max_s']}")
    return time


def end_time_s(case: dict, radius_m: float) -> float:
    """The simulated duration: explicit, dimensionless (D t / R^2), or the galvanostatic window at the C-rate."""
    time, op, material = case["time"], case["operation"], case["material"]
    if time["t_end_s"] is not None:
        return time["t_end_s"]
    if time["t_end_dimensionless"] is not None:
        return time["t_end_dimensionless"] * radius_m**2 / material["diffusivity_m2_s"]
    return units.galvanostatic_duration_s(
        c_rate=op["c_rate"], capacity_li_fraction=op["capacity_li_fraction"],
        li_fraction_window=op["li_fraction_end"] - op["li_fraction_start"])


# solver.linear_rtol = "auto": the mechanics solves (~95 % of a step) stop at 1e-6, which changed the verification
# sphere's peaks by <= 7.4e-5 relative against 1e-8 (far below the ~1 % discretisation error of a 3D run) and cut
# its time loop by 44 % (docs/performance.md section 8). The transport solves are cheap and carry the Li balance:
# they stay at 1e-8, so the charge passed matches the imposed current to ~1e-7 of itself even over short runs
# (at 1e-6 it drifted by 5e-5). Both tighten where the case asks for more: 1e-3 of the adaptive steps' error tolerance, and 1e-2 of the
# coupling tolerance when a step iterates (the coupling loop must not stall on the linear solves' noise).
AUTO_LINEAR_RTOL = {"mechanics": 1e-6, "transport": 1e-8}


def linear_rtol(case: dict, iterates: bool) -> dict[str, float]:
    """{"mechanics": rtol, "transport": rtol}: the relative residual tolerances of a case's linear solves;
    `iterates`: whether its steps iterate (coupling loop)."""
    value = case["solver"]["linear_rtol"]
    if value != "auto":
        return {solve: float(value) for solve in AUTO_LINEAR_RTOL}
    ceiling = 1.0
    if case["time"]["adaptive"]:
        ceiling = min(ceiling, 1e-3 * case["time"]["tolerance"])
    if iterates:
        ceiling = min(ceiling, 1e-2 * case["coupling"]["tolerance"])
    return {solve: min(rtol, ceiling) for solve, rtol in AUTO_LINEAR_RTOL.items()}


def validate_case(raw: dict) -> dict:
    """Raw TOML dict (bases already merged) -> validated case in SI units."""
    from solver.geometry import validate_geometry, validate_mesh_options

    if not isinstance(raw, dict):
        raise CaseError("a case must be a TOML table")
    check_raw(raw, "case")   # also what overrides and the Python API laid over the files
    allowed = _top_level_keys()
    unknown = sorted(map(str, set(raw) - allowed))
    if unknown:
        raise CaseError(f"{shown_text(unknown[0])}: unknown top-level key; allowed are {', '.join(sorted(allowed))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CaseError(f"name = {shown(name)}: must be a non-empty string")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise CaseError(f"description = {shown(description)}: must be a string")
    case = {"name": name, "description": description}
    for key in ("geometry", "material"):
        if key not in raw:
            raise CaseError(f"[{key}]: missing section; it is required")
    case["geometry"] = validate_geometry(raw["geometry"])
    case["mesh"] = validate_mesh_options(raw.get("mesh", {}), case["geometry"])
    for section, options in SECTIONS.items():
        table = raw.get(section, {})
        case[section] = validate_table(with_parameter_set(table) if section == "material" else table, options, section)
    case["material"] = _resolve_material(case["material"])
    case["operation"] = _resolve_operation(case["operation"])
    case["time"] = _resolve_time(case["time"], case["operation"])
    case.update(validate_extensions(raw))
    case.update(validate_field_sections(raw))       # extra fields' sections (solver/fields/registry.py)
    case.update(validate_kinetic_sections(raw, case))   # [kinetics], [protocol] (solver/protocol.py)
    if "oxygen" in case:
        oxygen_section.check_with_kinetics(case["oxygen"], "kinetics" in case)
    if "damage" in case:
        damage_section.check_with_protocol(case["damage"], case.get("protocol"))
    if case["material"]["stress_free_li_fraction"] is None:
        case["material"]["stress_free_li_fraction"] = case["operation"]["li_fraction_start"]
    if case["geometry"]["kind"] == "subvolume":
        from solver.geometry.subvolume import check_case
        check_case(case)
    return case


def _merge(base: dict, over: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# -- reading case (and sweep) files: any path a user or a `base` names must end in one clear CaseError -----
#: case files are a few kB; the cap keeps /dev/zero and big binaries from being read into memory
MAX_FILE_BYTES = 1 << 20
#: `base` chains of studies are 1-2 deep; a longer chain is a mistake (or a generated attack)
MAX_BASE_CHAIN = 32
#: tables and arrays inside one another; the shipped cases use 4. The cap comes before anything recursive
#: (deepcopy, merging, repr in messages) meets 20000 levels and raises RecursionError.
MAX_NESTING = 16
#: longest `base` value: PATH_MAX on Linux
MAX_PATH_CHARS = 4096


def _read_bytes(path: Path, what: str) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES. Opened non-blocking, then fstat'ed: a FIFO
    neither blocks the open nor gets read, and the file checked is the file read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise CaseError(f"{what}: not found") from None
    except (OSError, ValueError) as exc:   # ENAMETOOLONG, EACCES, ELOOP, ...; ValueError: a NUL byte
        raise CaseError(f"{what}: cannot be opened ({getattr(exc, 'strerror', None) or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CaseError(f"{what}: not a regular file (a directory, device or pipe); name a TOML file")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise CaseError(f"{what}: larger than {MAX_FILE_BYTES} bytes (1 MiB); case files are small TOML files")
    return data


def _decoded(data: bytes, what: str) -> str:
    """UTF-8 text (TOML's encoding); a UTF-8 byte order mark is dropped. Never echoes the bytes."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf16 = data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        raise CaseError(f"{what}: not UTF-8 text (invalid byte at offset {exc.start}"
                        + ("; the file starts with a UTF-16 byte order mark" if utf16 else "")
                        + "); TOML files must be saved as UTF-8") from None


def walk(value, path: str = ""):
    """(dotted path, value, depth) of every table, list and leaf under `value`, iteratively: no recursion,
    whatever the nesting."""
    stack = [(path, value, 0)]
    while stack:
        path, value, depth = stack.pop()
        yield path, value, depth
        if isinstance(value, dict):
            stack.extend((f"{path}.{key}" if path else str(key), item, depth + 1) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item, depth + 1) for i, item in enumerate(value))


def check_raw(raw, where: str) -> None:
    """General limits on a raw (TOML) tree before anything else looks at it: nesting depth, and numbers
    within the general bounds (solver.schema.number_problem) also inside lists and tables that the key
    checks read without an Option (tables of D(x), lattice rows, porosity profiles)."""
    for path, value, depth in walk(raw):
        if depth > MAX_NESTING:
            raise CaseError(f"{where}: {shown_text(path)} is nested more than {MAX_NESTING} "
                            "levels deep (tables, arrays, dotted keys)")
        if is_real(value):
            problem = number_problem(value)
            if problem:
                raise CaseError(f"{shown_text(path)} = {shown(value)}: {problem}")


#: MAX_NESTING + 1 parts of a dotted key or table header (a.b.c = 1, [a.b.c]), quoted or bare; starts only
#: at the start of a word and never backtracks into a part (possessive), so it is linear in the text
_LONG_DOTTED_KEY = re.compile(r"""(?<![\w-])(?:(?:[\w-]++|"[^"\n]*+"|'[^'\n]*+')[ \t]*+\.[ \t]*+)"""
                              + "{%d,}" % MAX_NESTING)


def parse_toml(text: str, where: str) -> dict:
    """TOML text -> dict; invalid or too deeply nested text is a CaseError naming `where`. tomllib's
    messages give a line and column, never the text."""
    # tomllib's time grows with the square of a dotted key's length (20000 parts: minutes), so those are
    # refused before parsing; nested arrays and inline tables recurse and end in a RecursionError below
    if _LONG_DOTTED_KEY.search(text):
        raise CaseError(f"{where}: a dotted key or table header has more than {MAX_NESTING} parts")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"{where}: not valid TOML ({exc})") from None
    except RecursionError:   # tomllib recurses per level of nested arrays and inline tables
        raise CaseError(f"{where}: nested more than {MAX_NESTING} levels deep (tables, arrays)") from None
    check_raw(raw, where)
    return raw


def read_toml(path: str | Path, what: str = "case file") -> dict:
    """A TOML file as a dict; a missing, unreadable, non-UTF-8 or malformed file is a CaseError naming
    `what` and the path."""
    return _read_toml_at(Path(path), f"{what} {shown(str(path))}")


def _read_toml_at(path: Path, where: str) -> dict:
    return parse_toml(_decoded(_read_bytes(path, where), where), where)


def _base_path(base, where: str, including: Path) -> Path:
    """The file a `base` value names, relative to the file that names it."""
    if not isinstance(base, str):
        raise CaseError(f"{where}: must be a path (string) to another case file")
    if not base.strip() or "\0" in base or len(base) > MAX_PATH_CHARS:
        raise CaseError(f"{where}: must be a file name (non-empty, no NUL byte, at most {MAX_PATH_CHARS} "
                        "characters)")
    return including.parent / base


def read_case_file(path: str | Path) -> dict:
    """Read a TOML case and the chain of `base` files it names, merged (this file wins). Every file of the
    chain must be a regular UTF-8 TOML file of at most 1 MiB; the chain has at most MAX_BASE_CHAIN files
    and no cycle. Errors about a base name it as `base = '...' (in the file naming it)`."""
    layers, chain = [], []
    path = Path(path)
    where = f"case file {shown(str(path))}"
    while True:
        try:
            resolved = path.resolve()
        except (OSError, ValueError, RuntimeError) as exc:   # symlink loops, NUL bytes
            raise CaseError(f"{where}: cannot be resolved ({exc})") from None
        if resolved in chain:
            raise CaseError(f"{where}: cycle of case bases")
        if len(chain) == MAX_BASE_CHAIN:
            raise CaseError(f"{where}: more than {MAX_BASE_CHAIN} files in the chain of case bases")
        raw = _read_toml_at(resolved, where)
        chain.append(resolved)
        base = raw.pop("base", None)
        layers.append(raw)
        if base is None:
            break
        where = f"base = {shown(base)} (in {shown(str(resolved))})"
        path = _base_path(base, where, resolved)
    merged = layers.pop()
    while layers:
        merged = _merge(merged, layers.pop())
    return merged


def parse_override(text: str) -> tuple[list[str], Any]:
    """'material.young_modulus_GPa=150' -> (['material', 'young_modulus_GPa'], 150.0). Values are TOML."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise CaseError(f"--set {shown(text)}: must look like section.key=value")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()  # bare words are strings: --set time.scheme=bdf2
    except RecursionError:
        raise CaseError(f"--set {shown(text)}: the value is nested more than {MAX_NESTING} levels deep") from None
    return key.split("."), parsed


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    raw = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        table = raw
        for part in path[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise CaseError(f"--set {shown(text)}: {part} is not a table")
        table[path[-1]] = value
    return raw


def load_case(path: str | Path, overrides: list[str] = ()) -> dict:
    return validate_case(apply_overrides(read_case_file(path), list(overrides)))
