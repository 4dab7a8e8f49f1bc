"""Named, cited material parameter sets: `[material] parameter_set = "ncm811"` in a case file.

One entry per cathode material of the four studies (docs/science.md#the-four-studies). Each value carries its unit, its source
and its basis:

    measured  a number a paper reports for this material (GITT D, XRD lattice change)
    derived   computed from measured numbers (c_max from density and molar mass, Omega from a volume change)
    fitted    calibrated so that the model reproduces a measured outcome
    assumed   a literature range or a stand-in material; the case result depends on it, so it is stated

A set holds case-file keys of [material] (the units a case file uses: young_modulus_GPa) and, for the
layered-oxide grains, the model and the lattice table preset of [material.layered]. solver/case.py lays the
case's own [material] keys over the set (explicit keys win; a key the case gives in another unit, e.g.
young_modulus_Pa, replaces the set's young_modulus_GPa) and records the set's name in the resolved material.
Molar masses are listed for reference (capacities, c_max); no case key reads them.

`python -m solver materials` lists the sets; docs/science.md#parameter-provenance tabulates them.
This module is dolfinx-free (checking a case imports it).
"""
from __future__ import annotations

from dataclasses import dataclass

BASES = ("measured", "derived", "fitted", "assumed")

KONDRAKOV = "Kondrakov et al., J. Phys. Chem. C 121 (2017) 3286"
NCM_MODULUS = "Ni-rich NCM 140-200 GPa (literature range, docs/science.md#literature-values); mid value"
NCM_POISSON = "Ni-rich NCM 0.25-0.3 (literature range, docs/science.md#literature-values)"
MEA_GITT = "GITT of the magneto-electrochemical activation study, 1.39e-10 cm^2/s at 0 T (docs/science.md#study-4-magnetically-activated-ncm811)"


@dataclass(frozen=True)
class Value:
    """One parameter: the [material] key a case file writes, its value in that key's unit, and where it comes from."""

    key: str
    value: float | str
    unit: str
    source: str
    basis: str


@dataclass(frozen=True)
class ParameterSet:
    """A material: its formula, the [material] values it supplies, and the lattice preset of layered grains."""

    name: str
    formula: str
    study: str                       # the study that uses it: a section of docs/science.md#the-four-studies
    values: tuple[Value, ...]
    model: str = "isotropic"
    lattice: str | None = None       # [material.layered] lattice preset (solver/layered_oxide.py)
    molar_mass_g_mol: Value | None = None

    def case_table(self) -> dict:
        """The [material] keys this set supplies, as a case file would write them."""
        table = {"name": self.formula, "model": self.model, **{v.key: v.value for v in self.values}}
        if self.lattice is not None:
            table["layered"] = {"lattice": self.lattice}
        return table


def _ncm_layered(name: str, formula: str, lattice: str, molar_mass: float) -> ParameterSet:
    """NCM83 / Ni96 grains: NCM811's transport and elastic numbers (no own values at hand) with a lattice table."""
    return ParameterSet(
        name, formula, "docs/science.md#study-1-gradient-porous-ni-rich-ncm",
        values=(
            Value("c_max_mol_m3", 49000.0, "mol/m^3",
                  "NCM811 value (about 49,000 mol/m^3, docs/science.md#literature-values) used for this Ni-rich NCM",
                  "assumed"),
            Value("diffusivity_m2_s", 1.4e-14, "m^2/s", "NCM811 " + MEA_GITT + "; no value for this material at hand",
                  "assumed"),
            Value("young_modulus_GPa", 150.0, "GPa", NCM_MODULUS, "assumed"),
            Value("poisson_ratio", 0.3, "-", NCM_POISSON, "assumed"),
        ),
        model="layered_oxide", lattice=lattice,
        molar_mass_g_mol=Value("molar_mass_g_mol", molar_mass, "g/mol", f"{formula}, from standard atomic masses", "derived"))


PARAMETER_SETS: dict[str, ParameterSet] = {s.name: s for s in (
    ParameterSet(
        "ncm811", "LiNi0.8Co0.1Mn0.1O2", "docs/science.md#study-4-magnetically-activated-ncm811",
        values=(
            Value("c_max_mol_m3", 49000.0, "mol/m^3",
                  "about 49,000 mol/m^3 for NCM811 (crystallographic density / molar mass; docs/science.md#literature-values)",
                  "derived"),
            Value("diffusivity_m2_s", 1.4e-14, "m^2/s", MEA_GITT, "measured"),
            Value("young_modulus_GPa", 150.0, "GPa", NCM_MODULUS, "assumed"),
            Value("poisson_ratio", 0.3, "-", NCM_POISSON, "assumed"),
            Value("partial_molar_volume_m3_mol", 1.39e-6, "m^3/mol",
                  f"5.1 % unit-cell volume change 3.0-4.3 V ({KONDRAKOV}) over dx = 0.75 at c_max: "
                  "0.051 / (0.75 * 49000)", "derived"),
        ),
        molar_mass_g_mol=Value("molar_mass_g_mol", 97.28, "g/mol", "LiNi0.8Co0.1Mn0.1O2, from standard atomic masses",
                               "derived")),
    _ncm_layered("ncm83", "LiNi0.83Co0.11Mn0.06O2", "ncm83", 97.4),
    _ncm_layered("ni96", "LiNi0.96Co0.02Mn0.02O2", "ni96", 97.6),
    ParameterSet(
        "lnmo", "LiNi0.5Mn1.5O4", "docs/science.md#study-3-hollow-lnmo-spinel",
        values=(
            Value("c_max_mol_m3", 24370.0, "mol/m^3",
                  "one Li per formula unit: density 4.45 g/cm^3 / molar mass 182.6 g/mol", "derived"),
            Value("diffusivity_m2_s", 1e-15, "m^2/s",
                  "mid-range of GITT values reported for LNMO (1e-16 .. 1e-14 m^2/s); the study gives none", "assumed"),
            Value("young_modulus_GPa", 140.0, "GPa",
                  "taken like the layered oxides (lower end of 140-200 GPa); no LNMO value in the study", "assumed"),
            Value("poisson_ratio", 0.3, "-", "as the layered oxides; no LNMO value in the study", "assumed"),
            Value("partial_molar_volume_m3_mol", 2.5e-6, "m^3/mol",
                  "cubic lattice ~8.17 A (LiNi0.5Mn1.5O4) -> ~8.00 A (Ni0.5Mn1.5O4), 6.1 % volume over the whole "
                  "Li window: 0.061 / 24370 (linear average over the two-phase steps)", "derived"),
        ),
        molar_mass_g_mol=Value("molar_mass_g_mol", 182.6, "g/mol", "LiNi0.5Mn1.5O4, from standard atomic masses",
                               "derived")),
    ParameterSet(
        "lrmo", "Li1.20Mn0.555Ni0.158Co0.080O2", "docs/science.md#study-2-li-rich-lrmo-with-a-buffer-layer-and-ruo2",
        values=(
            Value("c_max_mol_m3", 59700.0, "mol/m^3",
                  "all 1.2 Li per formula unit: M = 84.81 g/mol, R-3m cell a = 2.85 A, c = 14.24 A (typical of "
                  "Li-rich oxides, assumed at the 1 % level), Z = 3 -> 20.11 cm^3/mol", "derived"),
            Value("diffusivity_m2_s", 1.9e-18, "m^2/s",
                  "calibrated: the pristine peak von Mises stress is the paper's 567 MPa (1D reference, 1C first "
                  "charge); GITT values for Li-rich oxides are of order 1e-18 m^2/s", "fitted"),
            Value("young_modulus_GPa", 150.0, "GPa", "layered oxides 140-200 GPa (docs/science.md#literature-values)",
                  "assumed"),
            Value("poisson_ratio", 0.3, "-", "layered oxides 0.25-0.3 (docs/science.md#literature-values)", "assumed"),
            Value("partial_molar_volume_m3_mol", 9.197e-7, "m^3/mol",
                  "pristine unit-cell volume change 3.62 % in the first cycle (in situ XRD, study 2) over the 1C "
                  "hour dx = 0.6593: 0.0362 / (0.6593 * 59700)", "derived"),
        ),
        molar_mass_g_mol=Value("molar_mass_g_mol", 84.81, "g/mol", "Li1.20Mn0.555Ni0.158Co0.080O2, from standard atomic "
                               "masses", "derived")),
)}


def parameter_set(name: str) -> ParameterSet | None:
    """The set called `name`, or None."""
    return PARAMETER_SETS.get(name) if isinstance(name, str) else None


def listing() -> str:
    """Every set with its values, units, basis and sources (what `python -m solver materials` prints)."""
    lines = []
    for s in PARAMETER_SETS.values():
        lattice = f", [material.layered] lattice = {s.lattice!r}" if s.lattice else ""
        lines.append(f"{s.name}: {s.formula} (material.model = {s.model!r}{lattice}; {s.study})")
        shown = [*s.values, *([s.molar_mass_g_mol] if s.molar_mass_g_mol else [])]
        for v in shown:
            unit = "" if v.unit == "-" else f" {v.unit}"
            lines.append(f"  {v.key:<28} {v.value!s:>9}{unit:<9} {v.basis:<9} {v.source}")
        lines.append("")
    lines.append('Use: [material] parameter_set = "NAME"; keys written next to it replace the set\'s values.')
    return "\n".join(lines)
