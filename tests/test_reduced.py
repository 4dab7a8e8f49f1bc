"""Reduced formulations (solver.formulation = spherical_1d | axisymmetric) against references and the 3D model.

- spherical_1d on the galvanostatic sphere against the analytic series (stresses and mean Li fraction);
- axisymmetric against spherical_1d on dense, hollow and core-shell particles (1 %, every peak measure; on the
  verification case's own coarse mesh sizes), also with stress-assisted diffusion, potentiostatic, D(x) tables;
- the outputs of a 3D run (summary keys, time-series columns, a field file the renderer draws);
- refusals of non-symmetric cases with a message that names the formulation to use;
- slow: the 3D solver's peaks converge towards the axisymmetric ones under refinement (dense, hollow, core-shell);
  the surface hoop stress agrees within 1 % on the finer 3D mesh.
"""
import csv
import json
import os
import subprocess
import sys
from xml.etree import ElementTree

import numpy as np
import pytest
from mpi4py import MPI

from conftest import CASES, REPO
from solver import analytic
from solver.case import apply_overrides, load_case, read_case_file, validate_case
from solver.errors import CaseError
from solver.pipeline import run_case
from solver.writers import TIMESERIES_COLUMNS

CASE = CASES / "verification_sphere.toml"
QUIET = ["output.pictures=false", "output.progress=false", "time.steps=20"]
HOLLOW = ['geometry.kind="hollow_sphere"', "geometry.void_radius_fraction=0.4"]
CORE_SHELL = ['geometry.kind="core_shell"', "geometry.shell_thickness_fraction=0.2",
              "material.regions.shell.young_modulus_GPa=250", "material.regions.shell.diffusivity_m2_s=5e-15",
              "material.regions.shell.partial_molar_volume_m3_mol=0.7e-6"]
SUMMARY_KEYS = {"case_name", "case", "status", "message", "peak", "concentration", "final_li_fraction_mean", "time",
                "particle", "mesh", "mpi_ranks", "timing_s"}
PEAK_KEYS = {"value_Pa", "position_m", "radius_fraction", "time_s"}


def run(tmp_path, formulation, *overrides, name=None):
    case = load_case(CASE, [*QUIET, f'solver.formulation="{formulation}"', *overrides])
    out = tmp_path / (name or formulation)
    return run_case(case, out, MPI.COMM_SELF, render=False), out


def relative_differences(summary, reference):
    return {kind: summary["peak"][kind]["value_Pa"] / peak["value_Pa"] - 1 for kind, peak in reference["peak"].items()}


def test_spherical_1d_matches_the_series_solution(tmp_path):
    summary, _ = run(tmp_path, "spherical_1d", "output.fields=false")
    assert summary["status"] == "completed"
    material, radius = summary["case"]["material"], summary["particle"]["radius_m"]
    t_end = summary["time"]["t_reached_s"]
    sigma_r, sigma_t = analytic.galvanostatic_sphere_stresses(
        np.array([0.0, radius]), t_end, radius, material["diffusivity_m2_s"],
        summary["particle"]["surface_flux_mol_m2_s"], material["young_modulus_Pa"], material["poisson_ratio"],
        material["partial_molar_volume_m3_mol"])
    assert summary["peak"]["hoop"]["value_Pa"] == pytest.approx(sigma_t[1], rel=2e-3)
    assert summary["peak"]["hoop"]["radius_fraction"] == pytest.approx(1.0)
    assert summary["peak"]["radial"]["value_Pa"] == pytest.approx(sigma_r[0], rel=2e-3)
    assert summary["peak"]["radial"]["radius_fraction"] == pytest.approx(0.0)
    # the mean Li fraction falls at exactly the C-rate (galvanostatic, conservative scheme)
    op = summary["case"]["operation"]
    expected = op["li_fraction_start"] - op["c_rate"] * op["capacity_li_fraction"] * t_end / 3600
    assert summary["final_li_fraction_mean"] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("geometry", [[], HOLLOW, CORE_SHELL], ids=["dense", "hollow", "core_shell"])
def test_axisymmetric_agrees_with_spherical_1d_within_one_percent(tmp_path, geometry):
    reference, _ = run(tmp_path, "spherical_1d", "output.fields=false", *geometry)
    summary, _ = run(tmp_path, "axisymmetric", "output.fields=false", *geometry)
    differences = relative_differences(summary, reference)
    print(differences)
    assert all(abs(d) < 0.01 for d in differences.values()), differences
    for kind, peak in reference["peak"].items():
        assert summary["peak"][kind]["radius_fraction"] == pytest.approx(peak["radius_fraction"], abs=0.03), kind
    assert summary["final_li_fraction_mean"] == pytest.approx(reference["final_li_fraction_mean"], abs=1e-6)


def test_stress_assisted_diffusion_agrees_between_formulations(tmp_path):
    coupled = ["coupling.stress_assisted_diffusion=true", "output.fields=false"]
    reference, _ = run(tmp_path, "spherical_1d", *coupled)
    uncoupled, _ = run(tmp_path, "spherical_1d", "output.fields=false", name="uncoupled")
    summary, _ = run(tmp_path, "axisymmetric", *coupled)
    differences = relative_differences(summary, reference)
    assert all(abs(d) < 0.01 for d in differences.values()), differences
    # theta c ~ 2 here: the coupling lowers the surface stress far beyond the tolerance
    assert reference["peak"]["hoop"]["value_Pa"] < 0.6 * uncoupled["peak"]["hoop"]["value_Pa"]


@pytest.mark.parametrize("formulation", ["spherical_1d", "axisymmetric"])
def test_outputs_are_those_of_a_3d_run(tmp_path, formulation):
    summary, out = run(tmp_path, formulation, *HOLLOW, "output.snapshots=3")
    on_disk = json.loads((out / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(on_disk)
    assert on_disk["formulation"] == formulation
    for peak in on_disk["peak"].values():
        assert set(peak) == PEAK_KEYS
        assert len(peak["position_m"]) == 3
    assert {"mesh", "setup", "time_loop", "postprocess_and_output", "total"} <= set(on_disk["timing_s"])
    assert set(on_disk["mesh"]["facet_regions"]) >= {"outer_surface", "inner_surface"}
    with open(out / "timeseries.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == TIMESERIES_COLUMNS
    assert len(rows) == summary["time"]["steps"] + 1
    snapshots = json.loads((out / "snapshots.json").read_text())
    assert [s["file"] for s in snapshots] == ["fields_000.vtu", "fields_001.vtu", "fields_final.vtu"]
    # ParaView's collection lists the same VTUs at their times
    listed = ElementTree.parse(out / "fields.pvd").getroot().find("Collection").findall("DataSet")
    assert [(d.get("file"), float(d.get("timestep"))) for d in listed] == [(s["file"], s["time_s"]) for s in snapshots]
    assert on_disk["field_files"]["snapshots_vtu"] == [s["file"] for s in snapshots]


def test_renderer_draws_a_reduced_result(tmp_path):
    _, out = run(tmp_path, "axisymmetric", *CORE_SHELL, "output.snapshots=1")
    env = dict(os.environ, VTK_DEFAULT_OPENGL_WINDOW="vtkOSOpenGLRenderWindow")
    done = subprocess.run([sys.executable, "-m", "solver.render", str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "cross_section_von_mises_Pa.png").stat().st_size > 10_000


@pytest.mark.parametrize("formulation", ["spherical_1d", "axisymmetric"])
def test_cut_off_when_the_surface_empties(tmp_path, formulation):
    summary, _ = run(tmp_path, formulation, "operation.c_rate=40", "output.fields=false", "time.steps=30")
    assert summary["status"] == "cutoff"
    assert "below 0" in summary["message"]
    assert summary["concentration"]["min_mol_m3"] >= 0.0
    assert 0 < summary["time"]["t_reached_s"] < 0.5 * summary["time"]["t_end_s"]


def test_potentiostatic_and_tabulated_diffusivity_agree(tmp_path):
    overrides = ['operation.mode="potentiostatic"', "operation.surface_li_fraction=0.5",
                 "time.t_end_dimensionless=0.05", "output.fields=false",
                 "material.diffusivity_table_li_fraction_m2_s=[[0.2, 3e-15], [0.6, 1e-14], [1.0, 3e-14]]"]
    reference, _ = run(tmp_path, "spherical_1d", *overrides)
    summary, _ = run(tmp_path, "axisymmetric", *overrides)
    differences = relative_differences(summary, reference)
    assert all(abs(d) < 0.01 for d in differences.values()), differences
    assert summary["concentration"]["surface_mol_m3"] == pytest.approx(0.5 * 49000.0, rel=1e-6)


@pytest.mark.parametrize("overrides, words", [
    (['geometry.kind="porous"', "geometry.porosity=0.05", "geometry.target_pore_count=5"], ["porous", "'3d'"]),
    (['geometry.kind="core_shell"', "geometry.shell_thickness_fraction=0.2", "geometry.island_coverage_fraction=0.1"],
     ["island_coverage_fraction", "'3d'"]),
    (HOLLOW + ["geometry.porosity=0.05"], ["porosity", "'3d'"]),
])
@pytest.mark.parametrize("formulation", ["spherical_1d", "axisymmetric"])
def test_non_symmetric_cases_are_refused(tmp_path, overrides, words, formulation):
    raw = read_case_file(CASE)
    del raw["geometry"]["symmetry"]      # octant models of pores and islands do not exist
    case = validate_case(apply_overrides(raw, [*QUIET, f'solver.formulation="{formulation}"', *overrides]))
    with pytest.raises(CaseError) as error:
        run_case(case, tmp_path / "refused", MPI.COMM_SELF, render=False)
    for word in words + [formulation]:
        assert word in str(error.value)
    assert not (tmp_path / "refused").exists()


@pytest.mark.parametrize("overrides, key", [
    (["initial.shell_li_fraction_surface=0.6"], "initial.shell_li_fraction_surface"),
    (["material.regions.shell.li_fraction_min=0.5"], "material.regions.shell.li_fraction_min"),
])
def test_shell_models_of_the_3d_solver_are_refused(tmp_path, overrides, key):
    case = load_case(CASE, [*QUIET, 'solver.formulation="axisymmetric"', *CORE_SHELL, *overrides])
    with pytest.raises(CaseError, match=key.replace(".", r"\.") + ".*'3d'"):
        run_case(case, tmp_path / "refused", MPI.COMM_SELF, render=False)


@pytest.mark.parametrize("formulation", ["spherical_1d", "axisymmetric"])
def test_field_sections_of_the_3d_solver_are_refused(tmp_path, formulation):
    """[oxygen] is a field the 3D problem alone builds (FieldSection.formulations): refused, not ignored."""
    case = load_case(CASE, [*QUIET, f'solver.formulation="{formulation}"', "oxygen.diffusivity_m2_s=1e-18"])
    with pytest.raises(CaseError, match=rf"\[oxygen\].*'3d'.*'{formulation}'"):
        run_case(case, tmp_path / "refused", MPI.COMM_SELF, render=False)
    assert not (tmp_path / "refused").exists()


def test_1d_stress_assisted_diffusion_needs_uniform_elastic_properties(tmp_path):
    case = load_case(CASE, [*QUIET, 'solver.formulation="spherical_1d"', *CORE_SHELL,
                            "coupling.stress_assisted_diffusion=true"])
    with pytest.raises(CaseError, match="axisymmetric"):
        run_case(case, tmp_path / "refused", MPI.COMM_SELF, render=False)


@pytest.mark.slow
@pytest.mark.parametrize("geometry", [[], HOLLOW, CORE_SHELL, [*HOLLOW, "mesh.geometry_order=2"]],
                         ids=["dense", "hollow", "core_shell", "hollow_curved"])
def test_3d_converges_to_the_axisymmetric_peaks(tmp_path, geometry):
    """On the case's mesh sizes the 3D model's own peak error is 1-10 % (flat facets, peaks at cell vertices,
    coarse interior) while the axisymmetric one matches the 1D reference within 0.5 %: agreement is shown as
    convergence. Refining the 3D mesh moves its peaks towards the axisymmetric ones, and the surface hoop
    stress (the tensile peak of a charging particle) then agrees within 1 %; with curved tetrahedra
    (mesh.geometry_order = 2) within 0.3 %. The hollow sphere's interior radial peak (5 % off on the finer mesh)
    is not a geometry error: it is the extreme corner value of the discontinuous stress in the coarse interior
    (docs/performance.md section 6)."""
    common = ["output.fields=false", "time.steps=10", "time.t_end_dimensionless=0.1", *geometry]
    summary, _ = run(tmp_path, "axisymmetric", *common)
    reference, _ = run(tmp_path, "spherical_1d", *common, "mesh.surface_cell_size_fraction=0.01")
    assert all(abs(d) < 0.005 for d in relative_differences(summary, reference).values())
    gaps = []
    for level, (cell, surface) in enumerate([(0.1, 0.05), (0.07, 0.035)]):
        three_d, _ = run(tmp_path, "3d", *common, f"mesh.cell_size_fraction={cell}",
                         f"mesh.surface_cell_size_fraction={surface}", name=f"3d_{level}")
        # peaks the two models place at the same radius (the hollow sphere's |hydrostatic| is a near-tie
        # between the outer and the inner surface, which a 1 % error flips)
        same_place = [kind for kind, peak in summary["peak"].items()
                      if abs(peak["radius_fraction"] - three_d["peak"][kind]["radius_fraction"]) < 0.05]
        gaps.append({kind: abs(d) for kind, d in relative_differences(three_d, summary).items() if kind in same_place})
        print(level, three_d["mesh"]["cells"], gaps[-1])
    common_kinds = set(gaps[0]) & set(gaps[1])
    assert len(common_kinds) >= 3, gaps
    assert max(gaps[1][k] for k in common_kinds) < max(gaps[0][k] for k in common_kinds)
    assert sum(gaps[1][k] for k in common_kinds) < sum(gaps[0][k] for k in common_kinds)
    assert gaps[1]["hoop"] < 0.01
    if "mesh.geometry_order=2" in geometry:      # measured 0.10 % (straight tets: 0.63 %)
        assert gaps[1]["hoop"] < 0.003 and gaps[1]["max_principal"] < 0.005


@pytest.mark.slow
@pytest.mark.parametrize("geometry, sizes", [
    ([], (0.07, 0.035)),
    (CORE_SHELL, (0.07, 0.035)),
    ([*HOLLOW, "mesh.geometry_order=2"], (0.05, 0.035)),
], ids=["dense", "core_shell", "hollow_curved"])
def test_recovered_3d_peaks_agree_with_the_axisymmetric_model_within_1_percent(tmp_path, geometry, sizes):
    """The target of issue 7: with peaks of the region-wise nodal average (output.peak_stress = "recovered") every
    peak the two models place at the same radius agrees within 1 % (measured: dense 0.54 %, core-shell 0.95 %,
    hollow 0.89 %; the hollow sphere needs 0.05 R interior cells for its mid-shell radial peak)."""
    common = ["output.fields=false", "time.steps=10", "time.t_end_dimensionless=0.1", *geometry]
    axisymmetric, _ = run(tmp_path, "axisymmetric", *common)
    cell, surface = sizes
    three_d, _ = run(tmp_path, "3d", *common, f"mesh.cell_size_fraction={cell}",
                     f"mesh.surface_cell_size_fraction={surface}", 'output.peak_stress="recovered"')
    assert three_d["peak_stress_evaluation"] == "recovered"
    same_place = [kind for kind, peak in axisymmetric["peak"].items()
                  if abs(peak["radius_fraction"] - three_d["peak"][kind]["radius_fraction"]) < 0.05]
    gaps = {kind: abs(d) for kind, d in relative_differences(three_d, axisymmetric).items() if kind in same_place}
    print(three_d["mesh"]["cells"], gaps)
    assert len(gaps) >= 4, gaps
    assert max(gaps.values()) < 0.01, gaps
