"""Every particle architecture goes through the coupled solver with a complete summary.

Guards: region-dependent materials (shell, islands), wetted pore surfaces (pores take the surface
flux only when the case says so), hollow inner surfaces, polycrystal regions, and that peaks are
found and located for all of them (small particles, coarse meshes: a smoke test of the physics
on each geometry, not a study).
"""
import json

import numpy as np
import pytest

from solver.case import load_case
from solver.pipeline import run_case

from conftest import CASES

COARSE = ["mesh.cell_size_fraction=0.3", "mesh.surface_cell_size_fraction=0.15", "time.steps=3",
          "output.pictures=false", "output.snapshots=0", "geometry.radius_um=1.0",
          "time.t_end_dimensionless=0.1"]

ARCHITECTURES = {
    "hollow": ['geometry={kind = "hollow_sphere", radius_um = 1.0, void_radius_fraction = 0.4}'],
    "core_shell_islands": ['geometry={kind = "core_shell", radius_um = 1.0, shell_thickness_fraction = 0.3, '
                           'island_coverage_fraction = 0.2, island_count = 6, island_thickness_um = 0.2}',
                           'material.regions={shell = {partial_molar_volume_m3_mol = 0.7e-6, diffusivity_m2_s = 5e-14}, '
                           'islands = {young_modulus_GPa = 270.0, partial_molar_volume_m3_mol = 0.0}}',
                           'operation.wetted_surfaces=["outer_surface", "island_surface"]'],
    "porous_wetted": ['geometry={kind = "porous", radius_um = 1.0, porosity = "gp_ncm83", target_pore_count = 25, seed = 3}',
                      'operation.wetted_surfaces=["outer_surface", "pore_surface"]'],
    "polycrystal": ['geometry={kind = "polycrystal", radius_um = 1.0, grain_count = 6, seed = 2}'],
}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_architecture_runs_with_located_peaks(name, tmp_path):
    overrides = [o for o in COARSE if not o.startswith("geometry.")] + ARCHITECTURES[name]
    case = load_case(CASES / "verification_sphere.toml", overrides)
    summary = run_case(case, tmp_path / name, mesh_cache=tmp_path / "cache")
    assert summary["status"] == "completed", summary["message"]
    on_disk = json.loads((tmp_path / name / "summary.json").read_text())
    assert set(on_disk["peak"]) == {"von_mises", "max_principal", "hoop", "radial", "hydrostatic"}
    outermost = 1.2 if name == "core_shell_islands" else 1.0  # islands sit on the surface, 0.2 R thick
    for peak in on_disk["peak"].values():
        assert np.isfinite(peak["value_Pa"]) and 0 <= peak["radius_fraction"] <= outermost + 1e-9
    assert on_disk["peak"]["von_mises"]["value_Pa"] > 1e6  # charging a 1 um particle stresses it
    # mass balance: the mean Li fraction moved by exactly the imposed charge
    moved = summary["case"]["operation"]["li_fraction_start"] - summary["final_li_fraction_mean"]
    flux, area, volume = (summary["particle"][k] for k in ("surface_flux_mol_m2_s", "wetted_area_m2", "volume_m3"))
    expected = -flux * area * summary["time"]["t_reached_s"] / volume / summary["case"]["material"]["c_max_mol_m3"]
    assert moved == pytest.approx(expected, rel=1e-6)


def test_wetted_pores_take_the_flux_and_sealed_pores_do_not(tmp_path):
    """Same porous particle and current: wetting the pores spreads the flux over more area, lowering the peak."""
    base = [o for o in COARSE if not o.startswith("geometry.")] + ARCHITECTURES["porous_wetted"][:1]
    sealed = run_case(load_case(CASES / "verification_sphere.toml", base), tmp_path / "sealed",
                      mesh_cache=tmp_path / "cache")
    wetted = run_case(load_case(CASES / "verification_sphere.toml", base + ARCHITECTURES["porous_wetted"][1:]),
                      tmp_path / "wetted", mesh_cache=tmp_path / "cache")
    assert wetted["particle"]["wetted_area_m2"] > 1.2 * sealed["particle"]["wetted_area_m2"]
    assert wetted["peak"]["hoop"]["value_Pa"] < sealed["peak"]["hoop"]["value_Pa"]
