"""Open-circuit potentials U(x, T) of the cathode materials, molar masses and theoretical capacities (numpy only).

x is the Li fraction c / c_max of the material's Li sites (the same x as operation.li_fraction_*). Every curve
falls strictly as x rises (a cathode's potential drops as Li is inserted); tables are checked for that.

Temperature: U(x, T) = U(x) + dU/dT (T - 298.15 K). None of the sources below gives an entropic coefficient,
so dU/dT = 0 for every built-in curve (said again in each entry); a case can not set one yet.

Capacities: a formula unit Li_n M O_y of molar mass M (g/mol) holds n Li sites; its theoretical capacity is
n F / (3.6 M) mAh/g (F in C/mol; 1 mAh = 3.6 C). A particle of volume V holds c_max V / n formula units,
so its mass is c_max V M / n (c_max in mol/m^3 of Li sites).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from solver.errors import CaseError
from solver.units import FARADAY_C_mol

REFERENCE_TEMPERATURE_K = 298.15
COULOMB_PER_MAH = 3.6

# Standard atomic weights, IUPAC (CIAAW) 2021, abridged to 3 decimals; Li the conventional 6.94.
ATOMIC_MASS_G_MOL = {"Li": 6.94, "Ni": 58.693, "Co": 58.933, "Mn": 54.938, "O": 15.999}


def molar_mass_g_mol(composition: dict[str, float]) -> float:
    """Molar mass of a formula unit {element: atoms per formula unit}."""
    unknown = sorted(set(composition) - set(ATOMIC_MASS_G_MOL))
    if unknown:
        raise CaseError(f"composition element {unknown[0]!r}: not in ATOMIC_MASS_G_MOL "
                        f"({', '.join(ATOMIC_MASS_G_MOL)})")
    return float(sum(ATOMIC_MASS_G_MOL[element] * count for element, count in composition.items()))


def theoretical_capacity_mAh_g(molar_mass: float, li_per_formula_unit: float) -> float:
    """n F / (3.6 M): every Li site of the formula unit emptied once."""
    return li_per_formula_unit * FARADAY_C_mol / (COULOMB_PER_MAH * molar_mass)


# --------------------------------------------------------------------------------------------------------------
# monotone tables
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MonotoneTable:
    """U(x) through (x, U) points by monotone cubic Hermite interpolation (Fritsch & Carlson, SIAM J. Numer.
    Anal. 17 (1980) 238): C1, no overshoot, so U stays strictly decreasing between the points. Outside the
    table the end segments continue linearly (the solver's cut-offs stop long before)."""
    x: np.ndarray
    u_V: np.ndarray
    slopes: np.ndarray

    @classmethod
    def of(cls, rows, key: str) -> "MonotoneTable":
        """From [[x, U_V], ...]; a CaseError naming `key` unless x rises strictly within [0, 1] and U falls
        strictly (a cathode's OCP must decrease as Li is inserted)."""
        try:
            points = np.array(rows, dtype=float)
        except (TypeError, ValueError):
            points = np.zeros((0, 0))
        if points.ndim != 2 or points.shape[0] < 2 or points.shape[1] != 2 or not np.all(np.isfinite(points)):
            raise CaseError(f"{key} = {_short(rows)}: must be a list of at least two [li_fraction, U_V] pairs")
        x, u = points[:, 0], points[:, 1]
        if np.any(np.diff(x) <= 0) or x[0] < 0 or x[-1] > 1:
            raise CaseError(f"{key} = {_short(rows)}: li_fraction values must increase strictly within [0, 1]")
        if np.any(np.diff(u) >= 0):
            bad = int(np.argmax(np.diff(u) >= 0))
            raise CaseError(f"{key} = {_short(rows)}: U_V must fall strictly as li_fraction rises (a cathode's "
                            f"open-circuit potential); it does not between x = {x[bad]:g} and {x[bad + 1]:g}")
        return cls(x, u, _fritsch_carlson_slopes(x, u))

    def __call__(self, x) -> np.ndarray:
        return self._evaluate(np.asarray(x, dtype=float))[0]

    def slope(self, x) -> np.ndarray:
        return self._evaluate(np.asarray(x, dtype=float))[1]

    def _evaluate(self, x):
        k = np.clip(np.searchsorted(self.x, x, side="right") - 1, 0, self.x.size - 2)
        x0, h = self.x[k], self.x[k + 1] - self.x[k]
        t = (x - x0) / h
        inside = (t >= 0) & (t <= 1)
        tc = np.clip(t, 0.0, 1.0)
        y0, y1, m0, m1 = self.u_V[k], self.u_V[k + 1], self.slopes[k] * h, self.slopes[k + 1] * h
        h00, h10 = 2 * tc**3 - 3 * tc**2 + 1, tc**3 - 2 * tc**2 + tc
        h01, h11 = -2 * tc**3 + 3 * tc**2, tc**3 - tc**2
        value = h00 * y0 + h10 * m0 + h01 * y1 + h11 * m1
        d = ((6 * tc**2 - 6 * tc) * y0 + (3 * tc**2 - 4 * tc + 1) * m0 + (-6 * tc**2 + 6 * tc) * y1
             + (3 * tc**2 - 2 * tc) * m1) / h
        # linear continuation beyond the ends with the end slope
        value = np.where(inside, value, value + d * (t - tc) * h)
        return value, d


def _fritsch_carlson_slopes(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    secant = np.diff(u) / np.diff(x)
    m = np.empty_like(u)
    m[0], m[-1] = secant[0], secant[-1]
    m[1:-1] = np.where(secant[:-1] * secant[1:] > 0,
                       # weighted harmonic mean (Fritsch & Butland): monotone and C1
                       3 * (np.diff(x)[:-1] + np.diff(x)[1:]) / (
                           (2 * np.diff(x)[1:] + np.diff(x)[:-1]) / secant[:-1]
                           + (np.diff(x)[1:] + 2 * np.diff(x)[:-1]) / secant[1:]),
                       0.0)
    return m


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --------------------------------------------------------------------------------------------------------------
# published fits
# --------------------------------------------------------------------------------------------------------------

def _chen2020_nmc811(x):
    """Chen et al., J. Electrochem. Soc. 167 (2020) 080534, positive electrode (LG M50 NMC811) OCP fit:
    U = -0.8090 x + 4.4875 - 0.0428 tanh(18.5138 (x - 0.5542)) - 17.7326 tanh(15.7890 (x - 0.3117))
        + 17.5842 tanh(15.9308 (x - 0.3120))."""
    return (-0.8090 * x + 4.4875 - 0.0428 * np.tanh(18.5138 * (x - 0.5542))
            - 17.7326 * np.tanh(15.7890 * (x - 0.3117)) + 17.5842 * np.tanh(15.9308 * (x - 0.3120)))


def _chen2020_nmc811_slope(x):
    return (-0.8090 - 0.0428 * 18.5138 / np.cosh(18.5138 * (x - 0.5542))**2
            - 17.7326 * 15.7890 / np.cosh(15.7890 * (x - 0.3117))**2
            + 17.5842 * 15.9308 / np.cosh(15.9308 * (x - 0.3120))**2)


@dataclass(frozen=True)
class Fit:
    value: Callable
    slope: Callable

    def __call__(self, x):
        return self.value(np.asarray(x, dtype=float))


# --------------------------------------------------------------------------------------------------------------
# materials
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OcpCurve:
    """A material's open-circuit potential and formula unit.

    li_fraction_range: where the source's data lie (outside it the curve is an extrapolation);
    source: where U(x) comes from, and what is assumed.
    """
    name: str
    formula: str
    composition: dict = field(repr=False)
    li_per_formula_unit: float
    curve: Fit | MonotoneTable = field(repr=False)
    li_fraction_range: tuple[float, float]
    source: str
    entropic_coefficient_V_K: float = 0.0

    @property
    def molar_mass_g_mol(self) -> float:
        return molar_mass_g_mol(self.composition)

    @property
    def theoretical_capacity_mAh_g(self) -> float:
        return theoretical_capacity_mAh_g(self.molar_mass_g_mol, self.li_per_formula_unit)

    def __call__(self, x, temperature_K=REFERENCE_TEMPERATURE_K):
        """U(x, T) in V vs Li/Li+."""
        if self.entropic_coefficient_V_K == 0.0:
            return self.curve(x)
        return self.curve(x) + self.entropic_coefficient_V_K * (np.asarray(temperature_K) - REFERENCE_TEMPERATURE_K)

    def slope(self, x, temperature_K=REFERENCE_TEMPERATURE_K):
        """dU/dx (V per unit Li fraction), < 0."""
        return self.curve.slope(np.asarray(x, dtype=float))

    def voltage_range_V(self, temperature_K=REFERENCE_TEMPERATURE_K) -> tuple[float, float]:
        """(lowest, highest) U over the whole Li-fraction range [0, 1] at temperature_K."""
        u = self(np.array([1.0, 0.0]), temperature_K)
        return float(u[0]), float(u[1])


def table_curve(rows, key: str, name: str = "table") -> OcpCurve:
    """A user's U(x) table (case key material.ocp_table_li_fraction_V) as a curve; formula unknown."""
    table = MonotoneTable.of(rows, key)
    return OcpCurve(name, "", {}, 1.0, table, (float(table.x[0]), float(table.x[-1])), f"case table {key}")


_NMC811 = {"Li": 1, "Ni": 0.8, "Co": 0.1, "Mn": 0.1, "O": 2}
_NCM83 = {"Li": 1, "Ni": 0.83, "Co": 0.11, "Mn": 0.06, "O": 2}
_NI96 = {"Li": 1, "Ni": 0.96, "Co": 0.02, "Mn": 0.02, "O": 2}
_LNMO = {"Li": 1, "Ni": 0.5, "Mn": 1.5, "O": 4}
_LRMO = {"Li": 1.2, "Mn": 0.555, "Ni": 0.158, "Co": 0.080, "O": 2}
_CHEN = Fit(_chen2020_nmc811, _chen2020_nmc811_slope)
_CHEN_SOURCE = ("Chen et al., J. Electrochem. Soc. 167 (2020) 080534 (LG M50 NMC811 positive electrode OCP fit; "
                "data for stoichiometry 0.27-0.91 of their fitted c_max 63,104 mol/m^3, applied here to x = c/c_max "
                "of this material: an approximation). dU/dT = 0 (not given).")

# LNMO: ASSUMED shape. The two Ni2+/Ni3+ and Ni3+/Ni4+ plateaus near 4.7 V and the small Mn3+/Mn4+ step near
# 4.0 V of a slightly disordered spinel are standard (e.g. Zhong, Bonakdarpour, Zhang, Gao & Dahn,
# J. Electrochem. Soc. 144 (1997) 205); the point values and plateau widths below are not from a fit.
_LNMO_TABLE = [[0.00, 4.95], [0.02, 4.82], [0.05, 4.770], [0.15, 4.755], [0.35, 4.745], [0.47, 4.735],
               [0.50, 4.720], [0.53, 4.705], [0.65, 4.697], [0.85, 4.688], [0.93, 4.670], [0.96, 4.45],
               [0.975, 4.05], [0.99, 3.98], [1.00, 3.70]]
# LRMO first charge: ASSUMED shape: a sloping region (TM oxidation) up to ~4.45 V, then the ~4.5 V plateau
# of the Li2MnO3-component activation (reported e.g. by Lu & Dahn, J. Electrochem. Soc. 149 (2002) A815),
# then a rise to 4.8 V; x counts all 1.2 Li per formula unit. Not a fit to any data set.
_LRMO_TABLE = [[0.00, 5.00], [0.10, 4.80], [0.20, 4.62], [0.30, 4.55], [0.45, 4.525], [0.60, 4.505],
               [0.66, 4.46], [0.72, 4.30], [0.80, 4.10], [0.90, 3.95], [0.97, 3.85], [1.00, 3.70]]

CURVES: dict[str, OcpCurve] = {curve.name: curve for curve in (
    OcpCurve("nmc811_chen2020", "LiNi0.8Co0.1Mn0.1O2", _NMC811, 1.0, _CHEN, (0.27, 0.91), _CHEN_SOURCE),
    OcpCurve("ncm83", "LiNi0.83Co0.11Mn0.06O2", _NCM83, 1.0, _CHEN, (0.27, 0.91),
             "ASSUMED equal to the NMC811 fit of " + _CHEN_SOURCE),
    OcpCurve("ni96", "LiNi0.96Co0.02Mn0.02O2", _NI96, 1.0, _CHEN, (0.27, 0.91),
             "ASSUMED equal to the NMC811 fit of " + _CHEN_SOURCE),
    OcpCurve("lnmo_spinel", "LiNi0.5Mn1.5O4", _LNMO, 1.0, MonotoneTable.of(_LNMO_TABLE, "ocp.lnmo_spinel"),
             (0.0, 1.0), "ASSUMED table with the ~4.7 V Ni plateaus (Zhong et al., J. Electrochem. Soc. 144 (1997) "
             "205); dU/dT = 0"),
    OcpCurve("lrmo_first_charge", "Li1.2Mn0.555Ni0.158Co0.08O2", _LRMO, 1.2,
             MonotoneTable.of(_LRMO_TABLE, "ocp.lrmo_first_charge"), (0.0, 1.0),
             "ASSUMED first-charge table with the ~4.5 V activation plateau (Lu & Dahn, J. Electrochem. Soc. 149 "
             "(2002) A815); dU/dT = 0"),
)}


def ocp_curve(name: str, key: str = "material.ocp") -> OcpCurve:
    if name not in CURVES:
        raise CaseError(f"{key} = {name!r}: must be one of {', '.join(CURVES)}")
    return CURVES[name]
