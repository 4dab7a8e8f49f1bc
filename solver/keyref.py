"""The case-file key reference, generated from the declarative schema (`python -m solver keys`, docs/keys.md).

Walks every `Option` list a case is checked against: the top-level keys, [geometry] per kind, [mesh], the
sections of solver/case.py (SECTIONS), [material.regions.<name>], the material models' own sub-tables
(solver/material_models.py) and the extension sections (solver/extensions.py). For each key: the names a case
file may write it under, its type, default, allowed values or range, unit and help text. Nothing here is
written by hand per key, so the reference cannot drift from what the loader accepts. Dolfinx-free.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from solver.case import REGION_OPTIONS, SECTIONS
from solver.errors import CaseError
from solver.extensions import EXTENSIONS
from solver.fields.registry import FIELDS
from solver.protocol import KINETICS_OPTIONS, PROTOCOL_OPTIONS, STEP_OPTIONS, STOP_OPTIONS
from solver.geometry.schema import GEOMETRY_KINDS, MESH_OPTIONS
from solver.material_models import MATERIAL_MODELS
from solver.schema import (BOOL, FLOAT, INT, LIST, MAGNITUDE_RANGE, NUMBER, REQUIRED, SI_SUFFIX, STR, TABLE,
                           UNIT_SUFFIXES, Option, shown_text)

REGENERATE = "python -m solver keys --format markdown > docs/keys.md"

#: keys checked by solver/case.py itself rather than by an Option list
TOP_LEVEL_OPTIONS = [
    Option("name", STR, help="the case's name (non-empty); names the run in summaries and sweep tables"),
    Option("description", STR, "", help="free text, stored with the results"),
    Option("base", STR, None, help="another case file (path relative to this one) whose tables this file "
                                   "overrides; chains of at most 32 files, no cycles"),
]

#: the unit a key's name ends in (longest first); keys without one are dimensionless or named in their help
UNIT_OF_SUFFIX = (
    ("_m2_5_mol0_5_s", "m^2.5/(mol^0.5 s)"), ("_J_m3", "J/m^3"), ("_J_m2", "J/m^2"), ("_A_m2", "A/m^2"),
    ("_J_mol", "J/mol"), ("_mA_g", "mA/g"), ("_V", "V"),
    ("_m3_mol", "m^3/mol"), ("_mol_m3", "mol/m^3"), ("_m2_s", "m^2/s"), ("_m_s", "m/s"), ("_1_s", "1/s"),
    ("_angstrom", "angstrom"), ("_GPa", "GPa"), ("_MPa", "MPa"), ("_Pa", "Pa"), ("_um3", "um^3"), ("_um", "um"),
    ("_m3", "m^3"), ("_m", "m"), ("_K", "K"), ("_s", "s"),
)
TYPE_WORDS = ((NUMBER, "number"), (FLOAT, "number"), (INT, "integer"), (BOOL, "true/false"), (STR, "string"),
              (LIST, "list"), (TABLE, "table"))


@dataclass(frozen=True)
class Section:
    """One table of a case file and its keys; `note` says when it applies."""

    header: str
    options: tuple[Option, ...]
    note: str = ""

    @property
    def name(self) -> str:
        return self.header.split(" ")[0]


def sections() -> list[Section]:
    """Every table a case file may hold, in reading order."""
    found = [Section("top level", tuple(TOP_LEVEL_OPTIONS), "keys outside any table")]
    kinds = Option("kind", STR, choices=tuple(GEOMETRY_KINDS),
                   help="the particle: " + "; ".join(f"{name}: {spec.summary}" for name, spec in GEOMETRY_KINDS.items()))
    found.append(Section("geometry", (kinds,), "required; the other keys depend on `kind`, below"))
    for name, spec in GEOMETRY_KINDS.items():
        found.append(Section(f'geometry kind = "{name}"', tuple(spec.options), f"[geometry] keys of kind {name!r}"))
    found.append(Section("mesh", tuple(MESH_OPTIONS)))
    for name, options in SECTIONS.items():
        note = ("required; `parameter_set` supplies the required values of a named material (`python -m solver "
                "materials`), keys written next to it win") if name == "material" else ""
        found.append(Section(name, tuple(options), note))
        if name == "material":
            found.append(Section("material.regions.<name>", tuple(REGION_OPTIONS),
                                 "one table per cell region (bulk, shell, islands, grain_<i>): that region's own values"))
            for model in MATERIAL_MODELS.values():
                if model.section:
                    found.append(Section(f"material.{model.section}", tuple(model.section_options),
                                         f"only with material.model = {model.name!r}"))
    for name, extension in EXTENSIONS.items():
        found.append(Section(name, tuple(extension.options), "optional extension: present = switched on"))
    for name, spec in FIELDS.items():
        found.append(Section(name, tuple(spec.options), "optional field: present = the field is solved"))
    found.append(Section("kinetics", tuple(KINETICS_OPTIONS),
                         "optional: Butler-Volmer kinetics and voltage (every formulation)"))
    found.append(Section("protocol", tuple(PROTOCOL_OPTIONS), "optional, with [kinetics]: the cycling protocol"))
    found.append(Section("protocol.steps", tuple(STEP_OPTIONS), "[[protocol.steps]]: one table per step"))
    found.append(Section("protocol.steps.stop", tuple(STOP_OPTIONS), "a step's stop conditions, at least one"))
    return found


# ------------------------------------------------------------------ one key's columns
def written_keys(opt: Option) -> str:
    return " / ".join(opt.keys())


def type_text(opt: Option) -> str:
    for types, word in TYPE_WORDS:
        if opt.types == types:
            return word
    return " or ".join(word for types, word in TYPE_WORDS[1:] if set(types) <= set(opt.types))


def default_text(opt: Option) -> str:
    if opt.default is REQUIRED:
        return "required"
    if opt.default is None:
        return "-"
    value = opt.default
    text = json.dumps(value) if isinstance(value, (bool, str, list, dict)) else f"{value:g}"
    return f"{text} ({opt.out_key})" if opt.dimension else text


def allowed_text(opt: Option) -> str:
    if opt.choices:
        return "one of " + ", ".join(json.dumps(c) for c in opt.choices)
    if opt.check is not None:
        return getattr(opt.check, "allowed", "") or "checked on load"
    return ""


def unit_text(opt: Option) -> str:
    if opt.dimension:
        written = [suffix[1:] for suffix in (opt.units or UNIT_SUFFIXES[opt.dimension])]
        return " or ".join(written) + f" (stored in {SI_SUFFIX[opt.dimension][1:]})"
    for suffix, unit in UNIT_OF_SUFFIX:
        if opt.name.endswith(suffix):
            return unit
    return "-"


def rows(section: Section) -> list[tuple[str, ...]]:
    return [(written_keys(o), type_text(o), default_text(o), allowed_text(o), unit_text(o), o.help)
            for o in section.options]


# ------------------------------------------------------------------ the whole reference
def selected(section: str | None) -> list[Section]:
    every = sections()
    if section is None:
        return every
    chosen = [s for s in every if s.name == section or s.name.startswith(section + ".")
              or (section == "top" and s.name == "top")]
    if not chosen:
        names = sorted({s.name for s in every})
        raise CaseError(f"keys {shown_text(section)}: unknown section; sections are {', '.join(names)}")
    return chosen


def _heading(section: Section) -> str:
    if section.header == "top level":
        return section.header
    table, _, condition = section.header.partition(" ")
    return f"[{table}]" + (f" {condition}" if condition else "")


def markdown(chosen: list[Section]) -> str:
    low, high = MAGNITUDE_RANGE
    lines = ["# Case-file keys", "",
             f"Generated from the schema by `{REGENERATE}`; do not edit by hand (tests/test_docs.py compares it "
             "with the generated text). `python -m solver keys [SECTION]` prints the same as text.", "",
             "Units: a key's name ends in its unit; keys with a unit column like `um or m (stored in m)` may be "
             "written with either suffix (`radius_um` or `radius_m`) and are stored in SI. Every number must be "
             f"finite, 0 or of magnitude {low:g} to {high:g} (after unit conversion). `-` as a default: optional "
             "(absent). Parameter sets for [material]: `python -m solver materials` "
             "([parameter provenance](science.md#parameter-provenance)).", ""]
    for section in chosen:
        table, _, condition = _heading(section).partition(" ")
        lines += [f"## `{table}`" + (f" {condition}" if condition else "") if section.header != "top level"
                  else f"## {section.header}", ""]
        if section.note:
            lines += [section.note[0].upper() + section.note[1:] + ".", ""]
        if not section.options:
            lines += ["(no keys)", ""]
            continue
        lines += ["| key | type | default | allowed | unit | description |", "|---|---|---|---|---|---|"]
        for row in rows(section):
            cells = [f"`{row[0]}`", *row[1:]]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def text(chosen: list[Section]) -> str:
    lines = []
    for section in chosen:
        lines.append(_heading(section) + (f"   ({section.note})" if section.note else ""))
        for key, type_, default, allowed, unit, help_ in rows(section):
            details = ", ".join(part for part in (type_, f"default {default}", allowed,
                                                  "" if unit == "-" else f"unit {unit}") if part)
            lines.append(f"  {key}: {details}")
            if help_:
                lines.append(f"      {help_}")
        lines.append("")
    return "\n".join(lines)


def key_reference(form: str = "text", section: str | None = None) -> str:
    """The reference of every case key (or of one section and its sub-tables) as "text" or "markdown"."""
    chosen = selected(section)
    return markdown(chosen) if form == "markdown" else text(chosen)


def key_label(dotted: str) -> tuple[str, str]:
    """(title, unit) of a dotted case key for an axis label, from its Option's help text (its first clause) and the
    unit of the key as written: ("current in C-rates", "") for operation.c_rate, ("particle radius", "um") for
    geometry.radius_um, ("shell Poisson's ratio", "") for material.regions.shell.poisson_ratio. A key the schema
    does not know gets its last part in words."""
    for section in sections():
        head = "" if section.name == "top" else section.name + "."
        pattern = re.escape(head).replace(re.escape("<name>"), "(?P<region>[^.]+)")
        found = re.fullmatch(pattern + r"(?P<key>[^.]+)", dotted)
        if not found:
            continue
        opt = next((o for o in section.options if found["key"] in o.keys()), None)
        if opt is None:
            continue
        # the help's first clause when it reads as a name ("particle radius"), else the key in words
        title = re.split(r";|:| \(|, e\.g\.", opt.help)[0].strip()
        if not re.fullmatch(r"[A-Za-z][\w' -]{2,39}", title) or title.startswith(("a ", "an ", "the ", "add ")):
            title = _key_words(found["key"])
        if found.groupdict().get("region"):
            title = title.replace("this region's ", "").replace("the region's ", "")
            title = f"{found['region']} {title}"
        unit = next((u for suffix, u in UNIT_OF_SUFFIX if found["key"].endswith(suffix)), "")
        return title, unit
    last = dotted.rsplit(".", 1)[-1]
    return _key_words(last), next((u for suffix, u in UNIT_OF_SUFFIX if last.endswith(suffix)), "")


def _key_words(key: str) -> str:
    """A key without its unit suffix, in words: 'young_modulus_GPa' -> 'young modulus'."""
    suffix = next((suffix for suffix, _ in UNIT_OF_SUFFIX if key.endswith(suffix)), "")
    return key[: len(key) - len(suffix)].replace("_", " ")


def documented_keys() -> set[str]:
    """Every dotted key the reference lists: "material.c_max_mol_m3", "material.regions.<name>.poisson_ratio",
    "geometry.porosity", "name"; unit variants included (geometry.radius_um and geometry.radius_m)."""
    found = set()
    for section in sections():
        prefix = "" if section.name == "top" else section.name + "."
        for opt in section.options:
            found.update(prefix + key for key in opt.keys())
    return found
