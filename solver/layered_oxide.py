"""Layered-oxide (R-3m) grains: lattice tables a(x), c(x), the [material.layered] keys and closed forms (numpy only).

The finite-element side (UFL stress and eigenstrain, the material model) is solver/materials_layered.py;
this module never imports dolfinx or UFL, so validating a case stays light.

A grain of a layered oxide changes its in-plane lattice parameter a and its interlayer parameter c
differently with the Li fraction x. With the grain's crystal->sample rotation Q the chemical
(eigen)strain is

    eps*(x) = Q diag(eps_a, eps_a, eps_c) Q^T = eps_a I + (eps_c - eps_a) n n^T,
    eps_a(x) = a(x) / a(x_ref) - 1,  eps_c(x) = c(x) / c(x_ref) - 1,

with n = Q e_c the grain's c axis (a = b in a hexagonal cell, so only the c axis matters) and x_ref the
stress-free Li fraction (material.stress_free_li_fraction, by default the starting fraction). a(x), c(x)
are piecewise linear through the table rows and held constant outside the table.

Case keys (`material.model = "layered_oxide"`, table `[material.layered]`):

    lattice = "ncm83" | "ni96"                  a preset table below, or
    lattice_table_li_fraction_a_c_angstrom = [[x, a_A, c_A], ...]   your own rows (x increasing)
    stiffness = "isotropic" | "hexagonal"       hexagonal: transversely isotropic about each grain's c axis
    elastic_constants_GPa = {c11, c12, c13, c33, c44}               required with stiffness = "hexagonal"
    crystal_c_axis = [nx, ny, nz]               one single crystal, for geometries without grains

With isotropic stiffness the grain uses material.young_modulus / poisson_ratio (and region overrides).
`partial_molar_volume_m3_mol` is optional for this model: it is only the Omega of stress-assisted
diffusion (the flux term D Omega c / (R T) grad sigma_h, an isotropic approximation of the anisotropic
driving force sigma : d eps*/dc) and of the coupling split; when absent it is the secant of the
volumetric strain tr(eps*) = 2 eps_a + eps_c from x_ref to the table's lowest Li fraction.

Lattice tables: what is read where
----------------------------------
NCM83 ("ncm83"): the NCM811 data of Kondrakov et al., J. Phys. Chem. C 121 (2017) 3286 stand in for
LiNi0.83Co0.11Mn0.06O2 (no a(x), c(x) table for Ni 0.83 was at hand). From their TEXT (tabulated values):
c rises to 14.467(1) A near x = 0.5 and collapses to 14.030(1) A at 4.3 V, and the unit-cell volume
changes by 5.1 % between 3.0 and 4.3 V. The pristine a = 2.872 A, c = 14.200 A are typical Rietveld values
of NCM811; the remaining rows are the shape of their in-situ XRD curves (a falls nearly linearly down to
x ~ 0.3 and then flattens; c rises to x ~ 0.5 and then collapses), RECONSTRUCTED around those anchors,
not digitised from the figure point by point: treat intermediate rows as +/- 0.005 A (a) and +/- 0.03 A (c).
The rows are adjusted so that a^2 c falls by 5.1 % from x = 1 to x = 0.2 (4.3 V), as stated.

Ni96 ("ni96"): Ryu et al., Chem. Mater. 30 (2018) 1155 show for their Ni-rich NCM series (x_Ni 0.6-0.95)
that the H2->H3 c-axis collapse at 4.3 V deepens with the Ni content, because a higher-Ni cathode gives
up more Li at the same voltage; Li, Yaghoobnejad Asl, Xie & Manthiram, J. Am. Chem. Soc. 141 (2019) 5097
and Jousseaume et al., Energy Environ. Sci. 17 (2024) 2753 find the lattice collapse a function of the
Li content nearly irrespective of the Ni content. The Ni96 table therefore REUSES the NCM83 rows for
x >= 0.2 and EXTENDS them below x = 0.2 (the part of the window a Ni96 cathode reaches at 4.3 V,
x ~ 0.1) with a continued c collapse towards the H3 value of LiNiO2 (c ~ 13.5 A) and a slight rise of a
(rows marked "assumed"): an estimate following those papers' trends, not measured values. The volume
change from x = 0.95 to 0.11 is then about -7 %, against -5.1 % for NCM83 at 4.3 V.

Hexagonal stiffness: sigma = lambda tr(e) I + 2 mu_T e + alpha [(n.e.n) I + tr(e) n n] +
2 (mu_L - mu_T)(n n e + e n n) + beta (n.e.n) n n (Spencer's transversely isotropic form), with
lambda = C12, mu_T = (C11 - C12)/2, alpha = C13 - C12, mu_L = C44,
beta = C33 - C12 - 2 alpha - 4 C44 + 2 mu_T, which reproduces C11, C12, C13, C33, C44 in the grain frame.
No default constants are shipped: first-principles values for layered LiMO2 put the in-plane C11 (~300-380
GPa) well above C33 (~200-260 GPa), but no source for NCM83/Ni96 could be checked here, so a case must
give its own (and cite them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from solver.errors import CaseError
from solver.schema import LIST, STR, TABLE, Option, is_number, shown, validate_table

MODEL_NAME = "layered_oxide"

# (li_fraction, a_A, c_A, provenance); provenance: "text" = value stated in the paper's text,
# "typical" = typical Rietveld value of the pristine material, "shape" = reconstructed curve shape
# (see the module docstring), "assumed" = extension beyond the source's range.
_NCM811_ROWS = (
    (0.20, 2.815, 14.030, "text (c at 4.3 V); a from the 5.1 % volume change"),
    (0.25, 2.814, 14.180, "shape"),
    (0.30, 2.814, 14.300, "shape"),
    (0.40, 2.817, 14.430, "shape"),
    (0.50, 2.823, 14.467, "text (c maximum)"),
    (0.60, 2.834, 14.420, "shape"),
    (0.70, 2.846, 14.350, "shape"),
    (0.80, 2.857, 14.290, "shape"),
    (0.90, 2.866, 14.240, "shape"),
    (1.00, 2.872, 14.200, "typical"),
)
_DEEP_COLLAPSE_ROWS = (
    (0.05, 2.820, 13.550, "assumed"),
    (0.10, 2.818, 13.700, "assumed"),
    (0.15, 2.816, 13.860, "assumed"),
)


@dataclass(frozen=True)
class LatticeTable:
    """a(x), c(x) in angstrom at Li fractions x (strictly increasing)."""

    name: str
    li_fraction: tuple[float, ...]
    a_angstrom: tuple[float, ...]
    c_angstrom: tuple[float, ...]
    source: str = ""

    @classmethod
    def from_rows(cls, name: str, rows, source: str = "") -> "LatticeTable":
        rows = sorted(rows, key=lambda row: row[0])
        return cls(name, tuple(float(r[0]) for r in rows), tuple(float(r[1]) for r in rows),
                   tuple(float(r[2]) for r in rows), source)

    def rows(self) -> list[list[float]]:
        return [[x, a, c] for x, a, c in zip(self.li_fraction, self.a_angstrom, self.c_angstrom)]

    def lattice(self, x) -> tuple[np.ndarray, np.ndarray]:
        """(a, c) in angstrom at Li fraction(s) x, held constant outside the table (numpy)."""
        return (np.interp(x, self.li_fraction, self.a_angstrom), np.interp(x, self.li_fraction, self.c_angstrom))

    def strains(self, x, x_ref: float) -> tuple[np.ndarray, np.ndarray]:
        """(eps_a, eps_c) at x relative to the lattice at x_ref (numpy)."""
        a, c = self.lattice(x)
        a_ref, c_ref = self.lattice(x_ref)
        return a / a_ref - 1.0, c / c_ref - 1.0

    def volume_change(self, x, x_ref: float) -> np.ndarray:
        """Relative unit-cell volume change (a^2 c) from x_ref to x (exact, not linearised)."""
        a, c = self.lattice(x)
        a_ref, c_ref = self.lattice(x_ref)
        return (a / a_ref) ** 2 * (c / c_ref) - 1.0

    def secant_partial_molar_volume(self, x_ref: float, c_max_mol_m3: float) -> float:
        """Omega = d tr(eps*) / dc as the secant from x_ref to the table's lowest Li fraction (m^3/mol)."""
        x_low = self.li_fraction[0]
        if math.isclose(x_low, x_ref):
            x_low = self.li_fraction[-1]
        eps_a, eps_c = self.strains(x_low, x_ref)
        return float((2 * eps_a + eps_c) / ((x_low - x_ref) * c_max_mol_m3))


LATTICE_TABLES: dict[str, LatticeTable] = {
    "ncm83": LatticeTable.from_rows(
        "ncm83", _NCM811_ROWS,
        "NCM811 stand-in for NCM83: Kondrakov et al., J. Phys. Chem. C 121 (2017) 3286 (c 14.467 -> 14.030 A "
        "below x ~ 0.5, -5.1 % volume 3.0-4.3 V; intermediate rows reconstructed, see solver/layered_oxide.py)"),
    "ni96": LatticeTable.from_rows(
        "ni96", _NCM811_ROWS + _DEEP_COLLAPSE_ROWS,
        "NCM811 rows for x >= 0.2 (Li-content universality: Li et al., JACS 141 (2019) 5097; Jousseaume et al., "
        "EES 17 (2024) 2753) extended below x = 0.2 with an assumed continued c collapse (Ryu et al., "
        "Chem. Mater. 30 (2018) 1155: deeper collapse for higher Ni at 4.3 V)"),
}

ELASTIC_CONSTANT_NAMES = ("c11", "c12", "c13", "c33", "c44")


# ------------------------------------------------------------------ case keys: [material.layered]
LAYERED_OPTIONS = [
    Option("lattice", STR, None, choices=tuple(LATTICE_TABLES),
           help="a lattice-table preset a(x), c(x) (sources in solver/layered_oxide.py)"),
    Option("lattice_table_li_fraction_a_c_angstrom", LIST, None,
           help="own lattice table [[li_fraction, a_angstrom, c_angstrom], ...] instead of a preset"),
    Option("stiffness", STR, "isotropic", choices=("isotropic", "hexagonal"),
           help="isotropic (E, nu of [material]) or hexagonal (elastic_constants_GPa)"),
    Option("elastic_constants_GPa", TABLE, None, help="{c11, c12, c13, c33, c44} of the hexagonal stiffness"),
    Option("crystal_c_axis", LIST, None, help="the c axis [x, y, z] of a single crystal (geometries without grains)"),
]


def _check_lattice_rows(key: str, rows) -> list[list[float]]:
    ok = isinstance(rows, list) and len(rows) >= 2 and all(
        isinstance(row, list) and len(row) == 3 and all(map(is_number, row)) for row in rows)
    if not ok:
        raise CaseError(f"{key} = {shown(rows)}: must be a list of at least two [li_fraction, a_angstrom, c_angstrom] rows")
    xs = [row[0] for row in rows]
    if xs != sorted(xs) or len(set(xs)) != len(xs) or not all(0 <= x <= 1 for x in xs):
        raise CaseError(f"{key} = {shown(rows)}: li_fraction values must increase strictly within [0, 1]")
    if not all(row[1] > 0 and row[2] > 0 for row in rows):
        raise CaseError(f"{key} = {shown(rows)}: lattice parameters must be > 0 (angstrom)")
    return [[float(v) for v in row] for row in rows]


def _check_elastic_constants(key: str, constants) -> dict[str, float]:
    if not isinstance(constants, dict) or set(constants) != set(ELASTIC_CONSTANT_NAMES) or not all(
            map(is_number, constants.values())):
        raise CaseError(f"{key} = {shown(constants)}: must be a table with exactly the numbers "
                        f"{', '.join(ELASTIC_CONSTANT_NAMES)} (GPa)")
    constants = {k: float(v) for k, v in constants.items()}
    if np.linalg.eigvalsh(hexagonal_voigt_matrix(constants)).min() <= 0:
        raise CaseError(f"{key} = {constants!r}: not positive definite (need c11 > |c12|, c44 > 0, "
                        "c33 (c11 + c12) > 2 c13^2)")
    return constants


def resolve_layered_section(model: str, table) -> dict | None:
    """Validate material.layered for `model`; returns the normalised table (None for other models)."""
    if model != MODEL_NAME:
        if table is not None:
            raise CaseError(f"material.layered: only used with material.model = '{MODEL_NAME}' (model is {model!r})")
        return None
    if table is None:
        raise CaseError(f"material.layered: missing; material.model = '{MODEL_NAME}' needs it, e.g. "
                        f"[material.layered] lattice = 'ncm83' (presets: {', '.join(LATTICE_TABLES)})")
    section = validate_table(table, LAYERED_OPTIONS, "material.layered")
    key = "material.layered.lattice_table_li_fraction_a_c_angstrom"
    rows = section["lattice_table_li_fraction_a_c_angstrom"]
    if rows is not None:
        rows = _check_lattice_rows(key, rows)
    preset = section["lattice"]
    if preset is None and rows is None:
        raise CaseError(f"material.layered.lattice: missing; give a preset ({', '.join(LATTICE_TABLES)}) "
                        "or lattice_table_li_fraction_a_c_angstrom")
    if preset is not None:
        preset_rows = LATTICE_TABLES[preset].rows()
        if rows is not None and rows != preset_rows:
            raise CaseError(f"material.layered: give lattice = {preset!r} or {key.split('.')[-1]}, not both")
        rows = preset_rows
    section["lattice_table_li_fraction_a_c_angstrom"] = rows
    constants = section["elastic_constants_GPa"]
    if section["stiffness"] == "hexagonal":
        if constants is None:
            raise CaseError("material.layered.elastic_constants_GPa: missing; stiffness = 'hexagonal' needs "
                            f"{{{', '.join(ELASTIC_CONSTANT_NAMES)}}} in GPa (cite the source in the case)")
        section["elastic_constants_GPa"] = _check_elastic_constants("material.layered.elastic_constants_GPa",
                                                                    constants)
    elif constants is not None:
        raise CaseError("material.layered.elastic_constants_GPa: only used with stiffness = 'hexagonal'")
    axis = section["crystal_c_axis"]
    if axis is not None:
        ok = len(axis) == 3 and all(map(is_number, axis)) and np.linalg.norm(axis) > 0
        if not ok:
            raise CaseError(f"material.layered.crystal_c_axis = {shown(axis)}: must be three numbers, not all zero")
        section["crystal_c_axis"] = [float(v) for v in np.asarray(axis, float) / np.linalg.norm(axis)]
    return section


def lattice_table(layered: dict) -> LatticeTable:
    name = layered["lattice"] or "custom"
    if layered["lattice"] in LATTICE_TABLES:
        return LATTICE_TABLES[layered["lattice"]]
    return LatticeTable.from_rows(name, layered["lattice_table_li_fraction_a_c_angstrom"], "case table")


# ------------------------------------------------------------------ closed forms (numpy)
def hexagonal_voigt_matrix(constants: dict[str, float]) -> np.ndarray:
    """6x6 Voigt stiffness of a hexagonal crystal with its c axis along z (order 11, 22, 33, 23, 13, 12)."""
    c11, c12, c13, c33, c44 = (constants[k] for k in ELASTIC_CONSTANT_NAMES)
    c66 = (c11 - c12) / 2
    return np.array([[c11, c12, c13, 0, 0, 0], [c12, c11, c13, 0, 0, 0], [c13, c13, c33, 0, 0, 0],
                     [0, 0, 0, c44, 0, 0], [0, 0, 0, 0, c44, 0], [0, 0, 0, 0, 0, c66]], dtype=float)


def grain_c_axes(orientations: np.ndarray) -> np.ndarray:
    """(n_grains, 3) sample-frame c axes n = Q e_c of crystal->sample rotations Q (n_grains, 3, 3)."""
    return np.asarray(orientations, float)[:, :, 2]
