"""[grain_boundaries] on a sub-volume (geometry.kind = "subvolume"): the grain-boundary traction and stress
statistics of solver/grain_boundaries.py with the zones of a cube instead of the particle's r/R circle, and the
distribution of sigma_1 and the hydrostatic stress in the cube's interior.

Zones: "core" is the cube's centred window (geometry.interior_fraction x the edge, solver/geometry/subvolume.py),
"outer" the band along its faces, where the Dirichlet faces stiffen a boundary layer (solver/subvolume.py): read
the "core" zone. summary.json["grain_boundaries"]["interior"] adds, for the window, the volume-weighted mean and
the 50/90/99 % quantiles of the max principal and the hydrostatic stress at the step of the largest mean
sigma_1 and at the end, with the grain-boundary area fractions above the report thresholds (e.g. 250 / 745 MPa).
"""
from __future__ import annotations

import numpy as np

from solver.geometry.subvolume import cube_bounds_um, interior_mask
from solver.grain_boundaries import GrainBoundaryTraction
from solver.runs import state_of_charge
from solver.units import UM_TO_M

QUANTILES = (0.5, 0.9, 0.99)
MEASURES = ("max_principal", "hydrostatic")


class SubvolumeStatistics(GrainBoundaryTraction):
    summary_key = "grain_boundaries"

    def __init__(self, case: dict, problem, folder):
        super().__init__(case, problem, folder)
        self.at_peak: dict = {}
        self.final: dict = {}

    def core_mask(self, points_m: np.ndarray) -> np.ndarray:
        return interior_mask(points_m, self.case["geometry"])

    def _window(self, stats: dict) -> dict:
        """Statistics of the window's stress samples and its grain boundaries."""
        measures = self.sampler.evaluate()
        weights = self._sample_weights[self.sample_core]
        volume = self._sum(float(weights.sum()))
        out = {}
        for name in MEASURES:
            values = measures[name][self.sample_core]
            out[f"{name}_mean_Pa"] = self._sum(float(weights @ values)) / volume
            for q in QUANTILES:
                out[f"{name}_p{round(100 * q):02d}_Pa"] = self._global_quantile(values, weights, q)
        area, core = self.facets.measure, self.facet_core
        core_area = self.area_by_zone["core"]
        for threshold in self.threshold_extremes:
            above = self._sum(float(area[core & (self.traction > threshold)].sum()))
            out[f"gb_area_fraction_above_{threshold / 1e6:g}MPa"] = above / core_area if core_area > 0 else float("nan")
        out["mean_li_fraction_cube"] = stats["mean_li_fraction"]
        return out

    def _particle_scale(self, t_s: float) -> dict:
        """The homogenised particle's stress at the cube's centre: what the window's mean fluctuates about."""
        particle = self.problem.fields["transport"].particle_field
        r = np.linalg.norm(cube_bounds_um(self.case["geometry"])[0] + 0.5 * self.case["geometry"]["edge_m"] / UM_TO_M)
        sigma_r, sigma_t = (float(v[0]) for v in particle.stresses(np.array([r * UM_TO_M]), t_s))
        return {"particle_scale_hydrostatic_at_centre_Pa": (sigma_r + 2 * sigma_t) / 3,
                "particle_scale_max_principal_at_centre_Pa": max(sigma_r, sigma_t)}

    def after_step(self, step: int, t_s: float, dt_s: float) -> None:
        super().after_step(step, t_s, dt_s)
        window = self._window(self.last_stats)
        window.update(time_s=t_s, state_of_charge=state_of_charge(self.case, self.last_stats["mean_li_fraction"]),
                      **self._particle_scale(t_s))
        if not self.at_peak or window["max_principal_mean_Pa"] > self.at_peak["max_principal_mean_Pa"]:
            self.at_peak = window
        self.final = window

    def summary(self) -> dict:
        summary = super().summary()
        summary["zones"] = ("core: the cube's centred window (geometry.interior_fraction x the edge); outer: the band "
                            "along the faces, whose boundary layer the imposed particle-scale field stiffens")
        summary["interior"] = {"window_edge_m": self.case["geometry"]["interior_fraction"]
                               * self.case["geometry"]["edge_m"],
                               "grain_boundary_area_m2": self.area_by_zone["core"],
                               "at_peak_mean_max_principal": self.at_peak, "final": self.final}
        return summary
