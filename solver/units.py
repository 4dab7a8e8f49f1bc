"""The one place where human units and operating conditions become SI quantities."""
from __future__ import annotations

SECONDS_PER_HOUR = 3600.0
GAS_CONSTANT_J_molK = 8.314462618
FARADAY_C_mol = 96485.33212

UM_TO_M = 1e-6
MPA_TO_PA = 1e6
GPA_TO_PA = 1e9


def galvanostatic_flux_mol_m2_s(*, c_rate: float, capacity_li_fraction: float, c_max_mol_m3: float,
                                volume_m3: float, area_m2: float, extracting: bool) -> float:
    """Surface molar flux (> 0 into the particle) that moves `capacity_li_fraction` of c_max in 1/c_rate hours.

    1C is the current that moves the practical capacity (a Li-fraction window, e.g. 190 mAh/g of a
    275 mAh/g theoretical NCM83 capacity = 0.69) in one hour; the flux is that amount of Li spread
    over the wetted area, so the particle's mean Li fraction changes at exactly the C-rate.
    """
    magnitude = c_rate * capacity_li_fraction * c_max_mol_m3 * volume_m3 / (area_m2 * SECONDS_PER_HOUR)
    return -magnitude if extracting else magnitude


def galvanostatic_duration_s(*, c_rate: float, capacity_li_fraction: float, li_fraction_window: float) -> float:
    """Time to move the Li-fraction window at the given C-rate."""
    return abs(li_fraction_window) / (c_rate * capacity_li_fraction) * SECONDS_PER_HOUR
