"""Case files: TOML in, a validated case in SI units out.

A case has the sections [geometry], [mesh], [material], [operation], [time], [coupling],
[solver] and [output]. Every key is checked on load: an unknown key, a wrong type or a
non-physical value raises one CaseError that names the dotted key, the value and what is allowed.
A case may name another with `base = "other.toml"` (path relative to the file); its tables are
merged under this one's, so a study pair differs only in what it overrides.
"""
from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from solver import units
from solver.errors import CaseError

_REQUIRED = object()


@dataclass(frozen=True)
class Field:
    """One case key: its type, default (or required), and a physical-range check."""

    kind: type | tuple[type, ...]
    default: Any = _REQUIRED
    check: Callable[[Any], bool] | None = None
    allowed: str = ""
    choices: tuple | None = None
    nullable: bool = False


def _positive(v):
    return v > 0


def _non_negative(v):
    return v >= 0


def _fraction(v):
    return 0.0 <= v <= 1.0


def _open_fraction(v):
    return 0.0 < v <= 1.0


def _poisson(v):
    return -1.0 < v < 0.5


def _finite(v):
    return math.isfinite(v)


_NUMBER = (int, float)

# Names of solver.materials.MATERIAL_MODELS, listed here so that checking a case never imports dolfinx.
MATERIAL_MODEL_NAMES = ("isotropic", "layered_oxide")

MATERIAL_FIELDS = {
    "name": Field(str, ""),
    "model": Field(str, "isotropic", choices=MATERIAL_MODEL_NAMES),
    # per cell region (e.g. shell, islands): {young_modulus_Pa|young_modulus_GPa, poisson_ratio,
    # partial_molar_volume_m3_mol, diffusivity_m2_s}
    "regions": Field(dict, {}),
    "c_max_mol_m3": Field(_NUMBER, check=_positive, allowed="> 0"),
    "diffusivity_m2_s": Field(_NUMBER, check=_positive, allowed="> 0"),
    # D(x) as a table of [li_fraction, D_m2_s] rows, interpolated linearly in log D; overrides the constant.
    "diffusivity_table_li_fraction_m2_s": Field(list, None, nullable=True),
    "young_modulus_Pa": Field(_NUMBER, None, check=_positive, allowed="> 0", nullable=True),
    "young_modulus_GPa": Field(_NUMBER, None, check=_positive, allowed="> 0", nullable=True),
    "poisson_ratio": Field(_NUMBER, check=_poisson, allowed="in (-1, 0.5)"),
    # required by the isotropic model; optional for layered_oxide (see solver/materials_layered.py)
    "partial_molar_volume_m3_mol": Field(_NUMBER, None, check=_finite, allowed="a finite number (m^3/mol)",
                                         nullable=True),
    "stress_free_li_fraction": Field(_NUMBER, None, check=_fraction, allowed="in [0, 1]", nullable=True),
    # [material.layered]: lattice table, stiffness, ... of model layered_oxide (solver/materials_layered.py)
    "layered": Field(dict, None, nullable=True),
}

OPERATION_FIELDS = {
    "mode": Field(str, "galvanostatic", choices=("galvanostatic", "potentiostatic")),
    "direction": Field(str, "charge", choices=("charge", "discharge")),
    "c_rate": Field(_NUMBER, 1.0, check=_positive, allowed="> 0"),
    "capacity_li_fraction": Field(_NUMBER, None, check=_open_fraction, allowed="in (0, 1]", nullable=True),
    "li_fraction_start": Field(_NUMBER, check=_fraction, allowed="in [0, 1] (c in [0, c_max])"),
    "li_fraction_end": Field(_NUMBER, None, check=_fraction, allowed="in [0, 1] (c in [0, c_max])",
                             nullable=True),
    "surface_li_fraction": Field(_NUMBER, None, check=_fraction, allowed="in [0, 1] (c in [0, c_max])",
                                 nullable=True),
    "temperature_K": Field(_NUMBER, 298.15, check=_positive, allowed="> 0"),
    "wetted_surfaces": Field(list, ["outer_surface"]),
    "stop_at_surface_limit": Field(bool, True),
}

TIME_FIELDS = {
    "t_end_s": Field(_NUMBER, None, check=_positive, allowed="> 0", nullable=True),
    "t_end_dimensionless": Field(_NUMBER, None, check=_positive, allowed="> 0 (D t / R^2)", nullable=True),
    "steps": Field(int, 100, check=_positive, allowed="a whole number > 0"),
    "scheme": Field(str, "bdf2", choices=("bdf2", "backward_euler")),
    "adaptive": Field(bool, False),
    "tolerance": Field(_NUMBER, 1e-3, check=_positive, allowed="> 0 (relative local error per step)"),
    "dt_min_s": Field(_NUMBER, None, check=_positive, allowed="> 0", nullable=True),
    "dt_max_s": Field(_NUMBER, None, check=_positive, allowed="> 0", nullable=True),
}

COUPLING_FIELDS = {
    "stress_assisted_diffusion": Field(bool, False),
    "max_iterations": Field(int, 30, check=_positive, allowed="a whole number > 0"),
    # relative max-norm change of c between coupling iterations; the linear solves (linear_rtol) must be
    # well below it, or the iteration stalls on their noise
    "tolerance": Field(_NUMBER, 1e-5, check=_positive, allowed="> 0 (relative change of c)"),
}

SOLVER_FIELDS = {
    # relative residual of the linear solves: "auto" ties it to the accuracy the case asks for (linear_rtol())
    "linear_rtol": Field((int, float, str), "auto", check=lambda v: v == "auto" or (not isinstance(v, str) and 0 < v < 1),
                         allowed='"auto" or a number in (0, 1)'),
    "concentration_degree": Field(int, 1, choices=(1, 2)),
    "displacement_degree": Field(int, 2, choices=(1, 2)),
    "mechanics_preconditioner": Field(str, "gamg", choices=("gamg", "hypre", "lu")),
    # 3d: the tetrahedral model; spherical_1d / axisymmetric: reduced models of rotationally symmetric
    # particles (sphere, hollow_sphere, core_shell), same outputs, a small fraction of the cost (solver/reduced/)
    "formulation": Field(str, "3d", choices=("3d", "spherical_1d", "axisymmetric")),
}

PEAK_STRESS_EVALUATIONS = ("cellwise", "recovered")
OUTPUT_FIELDS = {
    "fields": Field(bool, True),
    "snapshots": Field(int, 5, check=_non_negative, allowed="a whole number >= 0"),
    "pictures": Field(bool, True),
    "progress": Field(bool, True),
    # which stress the peaks are taken of (solver/postprocess.py): the exact DG stress cell by cell, or its
    # nodal average within each cell region (for steep stress gradients across few cells, e.g. thin shells)
    "peak_stress": Field(str, "cellwise", choices=PEAK_STRESS_EVALUATIONS),
}

# The initial Li profile (solver/shell.py): uniform operation.li_fraction_start, or a Li-deficient shell whose
# Li fraction rises from shell_li_fraction_surface at r = R to the bulk value at the shell's inner radius.
INITIAL_FIELDS = {
    "shell_li_fraction_surface": Field(_NUMBER, None, check=_fraction, allowed="in [0, 1]", nullable=True),
    "shell_profile": Field(str, "linear", choices=("linear", "erf")),
    # structural: the deficit is a property of the shell (fewer accessible Li sites), in equilibrium at t = 0;
    # diffusing: an ordinary concentration gradient that Fickian diffusion starts to even out at once
    "shell_deficit": Field(str, "structural", choices=("structural", "diffusing")),
}

SECTIONS: dict[str, dict[str, Field]] = {
    "material": MATERIAL_FIELDS,
    "operation": OPERATION_FIELDS,
    "time": TIME_FIELDS,
    "coupling": COUPLING_FIELDS,
    "solver": SOLVER_FIELDS,
    "output": OUTPUT_FIELDS,
    "initial": INITIAL_FIELDS,
}
TOP_LEVEL = {"name", "description", "base", "geometry", "mesh", *SECTIONS}


def _top_level_keys() -> set[str]:
    from solver.extensions import EXTENSION_MODULES

    return TOP_LEVEL | set(EXTENSION_MODULES)


def _type_name(kind) -> str:
    if kind == _NUMBER:
        return "a number"
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {int: "a whole number", float: "a number", str: "a string", bool: "true/false", list: "a list"}
    return " or ".join(sorted({names.get(k, k.__name__) for k in kinds}))


def _validate_value(key: str, value: Any, field: Field) -> Any:
    if value is None and field.nullable:
        return None
    kind = field.kind
    # bool is an int in Python; never accept true for a number or 1 for a flag.
    wrong_type = (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind)
    if wrong_type:
        raise CaseError(f"{key} = {value!r}: must be {_type_name(kind)}")
    if field.choices is not None and value not in field.choices:
        raise CaseError(f"{key} = {value!r}: must be one of {', '.join(map(repr, field.choices))}")
    if isinstance(value, float) and not math.isfinite(value):
        raise CaseError(f"{key} = {value!r}: must be finite")
    if field.check is not None and not field.check(value):
        raise CaseError(f"{key} = {value!r}: must be {field.allowed}")
    return float(value) if kind is _NUMBER else value


def validate_section(section: str, table: Any, fields: dict[str, Field]) -> dict:
    """Check one table against its fields; fill defaults; reject unknown keys."""
    if not isinstance(table, dict):
        raise CaseError(f"[{section}] must be a table, got {table!r}")
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise CaseError(f"{section}.{unknown[0]}: unknown key; allowed keys are {', '.join(sorted(fields))}")
    out = {}
    for key, field in fields.items():
        dotted = f"{section}.{key}"
        if key in table:
            out[key] = _validate_value(dotted, table[key], field)
        elif field.default is _REQUIRED:
            raise CaseError(f"{dotted}: missing; it is required")
        else:
            out[key] = copy.deepcopy(field.default)
    return out


REGION_FIELDS = {
    "young_modulus_Pa": Field(_NUMBER, None, check=_positive, allowed="> 0", nullable=True),
    "young_modulus_GPa": Field(_NUMBER, None, check=_positive, allowed="> 0", nullable=True),
    "poisson_ratio": Field(_NUMBER, None, check=_poisson, allowed="in (-1, 0.5)", nullable=True),
    "partial_molar_volume_m3_mol": Field(_NUMBER, None, check=_finite, allowed="a finite number", nullable=True),
    "diffusivity_m2_s": Field(_NUMBER, None, check=_positive, allowed="> 0", nullable=True),
    # a bounded region (solver/shell.py): its Li content stops changing at these Li fractions
    "li_fraction_min": Field(_NUMBER, None, check=_fraction, allowed="in [0, 1]", nullable=True),
    "li_fraction_max": Field(_NUMBER, None, check=_fraction, allowed="in [0, 1]", nullable=True),
}


def _resolve_regions(regions: dict) -> dict:
    out = {}
    for name, table in regions.items():
        values = validate_section(f"material.regions.{name}", table, REGION_FIELDS)
        if values["young_modulus_Pa"] is not None and values["young_modulus_GPa"] is not None:
            raise CaseError(f"material.regions.{name}: give young_modulus_Pa or young_modulus_GPa, not both")
        gpa = values.pop("young_modulus_GPa")
        if gpa is not None:
            values["young_modulus_Pa"] = gpa * units.GPA_TO_PA
        low, high = values["li_fraction_min"], values["li_fraction_max"]
        if low is not None and high is not None and not low < high:
            raise CaseError(f"material.regions.{name}.li_fraction_min = {low}: must be < li_fraction_max = {high}")
        out[name] = {key: value for key, value in values.items() if value is not None}
    return out


def _resolve_material(material: dict) -> dict:
    from solver.materials_layered import resolve_layered_section

    material["regions"] = _resolve_regions(material["regions"])
    if material["model"] == "isotropic" and material["partial_molar_volume_m3_mol"] is None:
        raise CaseError("material.partial_molar_volume_m3_mol: missing; it is required")
    material["layered"] = resolve_layered_section(material["model"], material["layered"])
    pa, gpa = material.pop("young_modulus_Pa"), material.pop("young_modulus_GPa")
    if (pa is None) == (gpa is None):
        raise CaseError("material.young_modulus_Pa / material.young_modulus_GPa: give exactly one")
    material["young_modulus_Pa"] = pa if pa is not None else gpa * units.GPA_TO_PA
    table = material["diffusivity_table_li_fraction_m2_s"]
    if table is not None:
        ok = len(table) >= 2 and all(
            isinstance(row, list) and len(row) == 2 and all(isinstance(v, _NUMBER) for v in row) for row in table)
        if not ok:
            raise CaseError(f"material.diffusivity_table_li_fraction_m2_s = {table!r}: must be a list of at "
                            "least two [li_fraction, D_m2_s] pairs")
        xs = [row[0] for row in table]
        if xs != sorted(xs) or len(set(xs)) != len(xs) or not all(0 <= x <= 1 for x in xs):
            raise CaseError(f"material.diffusivity_table_li_fraction_m2_s = {table!r}: li_fraction values must "
                            "increase strictly within [0, 1]")
        if not all(row[1] > 0 for row in table):
            raise CaseError(f"material.diffusivity_table_li_fraction_m2_s = {table!r}: D values must be > 0")
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
        raise CaseError(f"operation.wetted_surfaces = {op['wetted_surfaces']!r}: must be a non-empty list of "
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
# sphere's peaks by <= 3e-5 relative against 1e-8 and saved 25 % CPU (docs/performance.md section 8), far below the
# ~1 % discretisation error of a 3D run. The transport solves are cheap and carry the Li balance: they stay at
# 1e-8, so the charge passed matches the imposed current to ~1e-7 of itself even over short runs (at 1e-6 it drifted
# by 5e-5). Both tighten where the case asks for more: 1e-3 of the adaptive steps' error tolerance, and 1e-2 of the
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
    allowed = _top_level_keys()
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise CaseError(f"{unknown[0]}: unknown top-level key; allowed are {', '.join(sorted(allowed))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CaseError(f"name = {name!r}: must be a non-empty string")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise CaseError(f"description = {description!r}: must be a string")
    case = {"name": name, "description": description}
    for key in ("geometry", "material"):
        if key not in raw:
            raise CaseError(f"[{key}]: missing section; it is required")
    case["geometry"] = validate_geometry(raw["geometry"])
    case["mesh"] = validate_mesh_options(raw.get("mesh", {}), case["geometry"])
    for section, fields in SECTIONS.items():
        case[section] = validate_section(section, raw.get(section, {}), fields)
    case["material"] = _resolve_material(case["material"])
    case["operation"] = _resolve_operation(case["operation"])
    case["time"] = _resolve_time(case["time"], case["operation"])
    from solver.extensions import validate_extensions

    case.update(validate_extensions(raw))
    if case["material"]["stress_free_li_fraction"] is None:
        case["material"]["stress_free_li_fraction"] = case["operation"]["li_fraction_start"]
    return case


def _merge(base: dict, over: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_toml(path: str | Path, what: str = "case file") -> dict:
    """A TOML file as a dict; a missing or malformed file is a CaseError naming `what` and the path."""
    try:
        return tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CaseError(f"{what} {str(path)!r}: not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"{what} {str(path)!r}: not valid TOML ({exc})") from None


def read_case_file(path: str | Path, _seen: tuple = ()) -> dict:
    """Read a TOML case and the chain of `base` files it names, merged (this file wins)."""
    path = Path(path).resolve()
    if path in _seen:
        raise CaseError(f"base = {str(path)!r}: cycle of case bases")
    raw = read_toml(path)
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise CaseError(f"base = {base!r}: must be a path (string) to another case file")
    return _merge(read_case_file(path.parent / base, _seen + (path,)), raw)


def parse_override(text: str) -> tuple[list[str], Any]:
    """'material.young_modulus_GPa=150' -> (['material', 'young_modulus_GPa'], 150.0). Values are TOML."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise CaseError(f"--set {text!r}: must look like section.key=value")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()  # bare words are strings: --set time.scheme=bdf2
    return key.split("."), parsed


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    raw = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        table = raw
        for part in path[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise CaseError(f"--set {text!r}: {part} is not a table")
        table[path[-1]] = value
    return raw


def load_case(path: str | Path, overrides: list[str] = ()) -> dict:
    return validate_case(apply_overrides(read_case_file(path), list(overrides)))
