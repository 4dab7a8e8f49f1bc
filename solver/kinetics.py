"""Butler-Volmer surface kinetics as plain, formulation-independent functions (numpy only, no dolfinx).

Every function takes numbers or numpy arrays (one value per surface node or quadrature point), so the 1D
spherical solver (solver/kinetics1d.py) and a later 3D field module evaluate the same expressions.

Sign convention (cathode, electrolyte potential uniform around the particle and taken as the reference):
    eta = V - U(x_s, T)            overpotential, V the particle's electrode potential vs Li/Li+
    i > 0  anodic  = oxidation = delithiation = CHARGE of a cathode      (A/m^2 of wetted surface)
    i < 0  cathodic = lithiation = discharge
    J = -i / F                     molar Li flux INTO the particle (mol/m^2/s), the sign of solver/spherical1d.py

    i = i0 [exp(alpha_a F eta / (R T)) - exp(-alpha_c F eta / (R T))]
    i0 = F k(T) c_e^alpha_a (c_max - c_s)^alpha_a c_s^alpha_c            (exchange current density, A/m^2)
    k(T) = k_ref exp(-E_a / R (1/T - 1/T_ref))                           (Arrhenius, E_a = 0 by default)

For alpha_a = alpha_c = 1/2 the exchange current density is the usual F k sqrt(c_e c_s (c_max - c_s)) and k has
units m^2.5 mol^-0.5 s^-1 (hence `rate_constant_m2_5_mol0_5_s`); for other transfer coefficients the
concentrations enter as their values in mol/m^3 and k keeps the same number and name. The reaction is
Li(s) <-> Li+ + e- + vacancy: delithiation (anodic) needs Li in the solid (c_s) and forms vacancies; the
(c_max - c_s) and c_e factors belong to the reverse (cathodic) direction and carry alpha_a by the usual
symmetric-barrier argument (Newman & Thomas-Alyea, Electrochemical Systems, 3rd ed., ch. 8).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.units import FARADAY_C_mol, GAS_CONSTANT_J_molK

REFERENCE_TEMPERATURE_K = 298.15
#: surface Li fraction is kept inside [eps, 1 - eps] when evaluating i0, so i0 > 0 and its derivative is finite;
#: at a fraction of 1e-9 from a bound i0 is ~3e-5 of its mid value: the voltage then runs to the cut-off
_FRACTION_FLOOR = 1e-9
_NEWTON_TOLERANCE_V = 1e-13
_NEWTON_MAX = 60


def thermal_voltage_V(temperature_K):
    """R T / F."""
    return GAS_CONSTANT_J_molK * np.asarray(temperature_K, dtype=float) / FARADAY_C_mol


def arrhenius_factor(temperature_K, activation_energy_J_mol: float, reference_K: float = REFERENCE_TEMPERATURE_K):
    """k(T) / k(T_ref) = exp(-E_a / R (1/T - 1/T_ref))."""
    return np.exp(-activation_energy_J_mol / GAS_CONSTANT_J_molK * (1.0 / np.asarray(temperature_K) - 1.0 / reference_K))


def _bounded(c_s, c_max: float):
    return np.minimum(np.maximum(c_s, _FRACTION_FLOOR * c_max), (1.0 - _FRACTION_FLOOR) * c_max)


def exchange_current_density_A_m2(c_s_mol_m3, c_e_mol_m3: float, c_max_mol_m3: float, rate_constant: float,
                                  alpha_a: float = 0.5, alpha_c: float = 0.5):
    """i0 = F k c_e^alpha_a (c_max - c_s)^alpha_a c_s^alpha_c (A/m^2); c_s is kept strictly inside (0, c_max)."""
    c = _bounded(np.asarray(c_s_mol_m3, dtype=float), c_max_mol_m3)
    return FARADAY_C_mol * rate_constant * c_e_mol_m3**alpha_a * (c_max_mol_m3 - c)**alpha_a * c**alpha_c


def exchange_current_density_dc(c_s_mol_m3, c_e_mol_m3: float, c_max_mol_m3: float, rate_constant: float,
                                alpha_a: float = 0.5, alpha_c: float = 0.5):
    """d i0 / d c_s (A/m^2 per mol/m^3); zero where c_s was clipped."""
    c_raw = np.asarray(c_s_mol_m3, dtype=float)
    c = _bounded(c_raw, c_max_mol_m3)
    i0 = exchange_current_density_A_m2(c, c_e_mol_m3, c_max_mol_m3, rate_constant, alpha_a, alpha_c)
    slope = i0 * (alpha_c / c - alpha_a / (c_max_mol_m3 - c))
    return np.where(c == c_raw, slope, 0.0)


def rate_constant_from_exchange_current(i0_A_m2: float, c_s_mol_m3: float, c_e_mol_m3: float, c_max_mol_m3: float,
                                        alpha_a: float = 0.5, alpha_c: float = 0.5) -> float:
    """The k that gives exchange current density i0 at surface concentration c_s (inverse of the above)."""
    return float(i0_A_m2 / exchange_current_density_A_m2(c_s_mol_m3, c_e_mol_m3, c_max_mol_m3, 1.0, alpha_a, alpha_c))


def charge_transfer_resistance_ohm(i0_A_m2: float, area_m2: float, temperature_K: float,
                                   alpha_a: float = 0.5, alpha_c: float = 0.5) -> float:
    """Small-signal R_ct = R T / (F i0 A (alpha_a + alpha_c)) of a surface of area A (= RT/(F i0 A) for alpha sum 1)."""
    return float(thermal_voltage_V(temperature_K) / (i0_A_m2 * area_m2 * (alpha_a + alpha_c)))


def butler_volmer_A_m2(eta_V, i0_A_m2, temperature_K, alpha_a: float = 0.5, alpha_c: float = 0.5):
    """Current density i (A/m^2, > 0 anodic = delithiation) at overpotential eta."""
    f = 1.0 / thermal_voltage_V(temperature_K)
    eta = np.asarray(eta_V, dtype=float)
    return i0_A_m2 * (np.exp(alpha_a * f * eta) - np.exp(-alpha_c * f * eta))


def butler_volmer_d_eta(eta_V, i0_A_m2, temperature_K, alpha_a: float = 0.5, alpha_c: float = 0.5):
    """d i / d eta (A/m^2/V), always > 0."""
    f = 1.0 / thermal_voltage_V(temperature_K)
    eta = np.asarray(eta_V, dtype=float)
    return i0_A_m2 * f * (alpha_a * np.exp(alpha_a * f * eta) + alpha_c * np.exp(-alpha_c * f * eta))


def overpotential_V(i_A_m2, i0_A_m2, temperature_K, alpha_a: float = 0.5, alpha_c: float = 0.5):
    """The eta with butler_volmer(eta) = i: (2RT/F) asinh(i / (2 i0)) for alpha_a = alpha_c = 1/2, else Newton.

    Newton on the monotone, convex-on-each-side BV curve started from the symmetric closed form with
    alpha = (alpha_a + alpha_c)/2 converges from that start (steps are limited to 1 thermal voltage).
    """
    i = np.asarray(i_A_m2, dtype=float)
    i0 = np.asarray(i0_A_m2, dtype=float)
    vt = thermal_voltage_V(temperature_K)
    mean_alpha = 0.5 * (alpha_a + alpha_c)
    eta = (vt / mean_alpha) * np.arcsinh(i / (2.0 * i0))
    if alpha_a == alpha_c:
        return eta
    for _ in range(_NEWTON_MAX):
        step = (butler_volmer_A_m2(eta, i0, temperature_K, alpha_a, alpha_c) - i) / \
            butler_volmer_d_eta(eta, i0, temperature_K, alpha_a, alpha_c)
        step = np.clip(step, -vt, vt)
        eta = eta - step
        if np.all(np.abs(step) <= _NEWTON_TOLERANCE_V):
            return eta
    raise ArithmeticError("kinetics.overpotential_V: Newton did not converge (|i / i0| beyond floating range?)")


def molar_flux_into_particle_mol_m2_s(i_A_m2):
    """J = -i / F: an anodic (delithiation) current takes Li out of the particle."""
    return -np.asarray(i_A_m2, dtype=float) / FARADAY_C_mol


@dataclass(frozen=True)
class ButlerVolmer:
    """The kinetic parameters of one surface reaction; evaluates i and its derivatives at (eta, c_s, T).

    rate_constant: k at REFERENCE_TEMPERATURE_K (m^2.5 mol^-0.5 s^-1 for alpha = 1/2);
    c_e_mol_m3: electrolyte Li+ concentration next to the surface (uniform around a particle here).
    """
    rate_constant: float
    c_e_mol_m3: float
    c_max_mol_m3: float
    alpha_a: float = 0.5
    alpha_c: float = 0.5
    activation_energy_J_mol: float = 0.0

    def rate_constant_at(self, temperature_K) -> float:
        if self.activation_energy_J_mol == 0.0:
            return self.rate_constant
        return self.rate_constant * arrhenius_factor(temperature_K, self.activation_energy_J_mol)

    def exchange_current_density(self, c_s_mol_m3, temperature_K):
        return exchange_current_density_A_m2(c_s_mol_m3, self.c_e_mol_m3, self.c_max_mol_m3,
                                             self.rate_constant_at(temperature_K), self.alpha_a, self.alpha_c)

    def current_density(self, eta_V, c_s_mol_m3, temperature_K):
        """(i, di/deta, di/dc_s) at the given overpotential and surface concentration (each formula once: this
        runs in every Newton iteration of every surface node)."""
        c_max, alpha_a, alpha_c = self.c_max_mol_m3, self.alpha_a, self.alpha_c
        c_raw = np.asarray(c_s_mol_m3, dtype=float)
        c = _bounded(c_raw, c_max)
        i0 = (FARADAY_C_mol * self.rate_constant_at(temperature_K) * self.c_e_mol_m3**alpha_a
              * (c_max - c)**alpha_a * c**alpha_c)
        f = FARADAY_C_mol / (GAS_CONSTANT_J_molK * temperature_K)
        forward, backward = np.exp(alpha_a * f * eta_V), np.exp(-alpha_c * f * eta_V)
        ratio = forward - backward
        dlog_i0 = np.where(c == c_raw, alpha_c / c - alpha_a / (c_max - c), 0.0)
        return i0 * ratio, i0 * f * (alpha_a * forward + alpha_c * backward), i0 * ratio * dlog_i0

    def overpotential(self, i_A_m2, c_s_mol_m3, temperature_K):
        return overpotential_V(i_A_m2, self.exchange_current_density(c_s_mol_m3, temperature_K), temperature_K,
                               self.alpha_a, self.alpha_c)


def symmetric_voltage_V(ocp_V, i_A_m2, i0_A_m2, temperature_K):
    """V = U + (2RT/F) asinh(i / (2 i0)): the alpha = 1/2 electrode potential (fast-diffusion limit reference)."""
    return ocp_V + 2.0 * thermal_voltage_V(temperature_K) * np.arcsinh(np.asarray(i_A_m2) / (2.0 * i0_A_m2))


__all__ = ["ButlerVolmer", "arrhenius_factor", "butler_volmer_A_m2", "butler_volmer_d_eta",
           "charge_transfer_resistance_ohm", "exchange_current_density_A_m2", "exchange_current_density_dc",
           "molar_flux_into_particle_mol_m2_s", "overpotential_V", "rate_constant_from_exchange_current",
           "symmetric_voltage_V", "thermal_voltage_V"]
