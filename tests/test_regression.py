"""Golden-value regression test of every shipped case (cases/*.toml) on a coarse mesh.

Each case runs through the real pipeline (solver.pipeline.run_case: mesh, problem, time loop, extensions,
outputs) with the coarse overrides of its geometry kind below, its physics and extensions unchanged
([oxygen], [grain_boundaries], [region_peaks], the Li-deficient shell, layered-oxide grains, stress-assisted
diffusion), and its scalars are compared with tests/golden/<case>.json: the five peaks (value, r/R, time),
the final concentration statistics, extension summaries (O2 amounts, grain-boundary traction peak, region
peaks), mesh cell and dof counts, status.

Update the stored values (after an intended change of the numbers, a new case, or new overrides):

    python -m pytest tests/test_regression.py --update-golden          # all cases
    python -m pytest tests/test_regression.py --update-golden -k lnmo  # some

and commit tests/golden/*.json with a note saying why the numbers moved. A normal run never writes a golden
file: a missing one fails with this command. tests/golden/ must hold exactly one file per shipped case.

Tolerances. The same golden files are checked on dolfinx 0.5.2, 0.9 and 0.11 (CI), whose dof numberings,
AMG hierarchies (hypre or GAMG) and summation orders differ, so the values agree only to the accuracy of the
linear solves: every run pins solver.linear_rtol = 1e-10 (and coupling.tolerance = 1e-8 for the
stress-assisted fixed-point loop, whose default 1e-5 would leave differences of that order). Measured with
dolfinx 0.5.2: another solver path at the same rtol (the wheel's CG + GAMG for transport and O2 instead of
BoomerAMG; hypre instead of GAMG for the mechanics) moved every compared value by <= 5.4e-8 relative
(ncm811_particle; <= 1.3e-8 elsewhere), and the coarse polycrystal's peaks moved by <= 4e-7 between rtol 1e-10
and 1e-11 (~4e-6 between 1e-8 and 1e-10); hence RTOL_SOLVED = 1e-6 for every solved quantity. Positions (r/R) are mesh vertices of the same gmsh mesh, times are the fixed steps:
both are exact up to round-off. Counts (cells, dofs, facets, steps) are exact: gmsh is the same PyPI wheel
on every route; a new gmsh may mesh differently, and the failure says how to update.
"""
import json
import math
from pathlib import Path

import pytest

from solver.case import load_case
from solver.pipeline import run_case

from conftest import CASES

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_COMMAND = "python -m pytest tests/test_regression.py --update-golden"

# Every run: linear solves far below the tolerances of the comparison (see the module docstring), no
# pictures (a separate VTK process), no progress lines, no intermediate field snapshots (the final one is
# still written: the XDMF writer stays in the path).
PINNED = ["solver.linear_rtol=1e-10", "coupling.tolerance=1e-8", "output.pictures=false",
          "output.progress=false", "output.snapshots=0"]

# Coarse overrides by geometry kind: each case < 15 s on 2 shared cores (warm JIT cache), the whole file < 2.5 min.
COARSE = {
    # verification_sphere, lnmo_dense (octant, a few hundred cells), ncm811_particle (full sphere, ~1500 cells,
    # stress-assisted diffusion iterating to coupling.tolerance = 1e-8)
    "sphere": ["mesh.cell_size_fraction=0.35", "mesh.surface_cell_size_fraction=0.2", "time.steps=4"],
    "hollow_sphere": ["mesh.cell_size_fraction=0.25", "mesh.surface_cell_size_fraction=0.12", "time.steps=4"],
    # the LRMO cases: one cell across the 10 nm shell instead of 3 (~4000 cells, octant); shell regions,
    # graded initial content, [region_peaks] and [oxygen] as in the case
    "core_shell": ["mesh.cell_size_fraction=0.25", "mesh.surface_cell_size_fraction=0.12", "mesh.layer_cells=1",
                   "time.steps=4"],
    # the gradient-porous study: 4 grains instead of 30, pores 150x the FIB-SEM volumes (the cases: 20x) drawn
    # from the two upper classes only: 8 (uniform) to 20 (gradient) pores instead of ~50-170, the preset
    # porosity profile kept; layered-oxide grains and [grain_boundaries] as in the case; 2 steps (BDF2 start
    # and one BDF2 step)
    "polycrystal": ["geometry.grain_count=4", "geometry.volume_scale=150",
                    "geometry.volume_classes_um3=[[0.01, 0.03, 0.8], [0.03, 0.2, 0.2]]",
                    "mesh.cell_size_fraction=0.5", "mesh.surface_cell_size_fraction=0.3", "time.steps=2"],
    # a sub-volume: a 1 um cube of the 0.5 um grains (15 instead of 122) with the unscaled pores that reach into
    # it, ~2 cells across a grain; particle-scale faces, layered-oxide grains and [grain_boundaries] as in the case
    "subvolume": ["geometry.edge_um=1.0", "mesh.cell_size_fraction=0.1", "mesh.surface_cell_size_fraction=0.1",
                  "time.steps=2"],
}

# Per-case additions: the two central pores of gp_ncm83_unscaled (4.9 um^3) leave the coarse pores of
# volume_scale 150 no way to meet the section targets (the sampler refuses), so its coarse run goes without them.
CASE_COARSE = {"gp_ncm83_unscaled": ["geometry.central_pores_um3=[]"]}
# The 1000-grain full-3D particles: the kind's coarse grains and pores (their case's fine grain-boundary cells made
# coarse too), without the central pores for the reason above; P1 displacement and the report thresholds as in the case
FULL_3D_COARSE = ["mesh.interface_cell_size_fraction=0.3", "geometry.central_pores_um3=[]"]
CASE_COARSE.update({name: FULL_3D_COARSE for name in ("p_ncm83_1000_grains", "gp_ncm83_1000_grains")})
# The study cases with kinetics (solver/studies/rate_capability_3d.py, lrmo_kinetics.py) run whole protocols: fewer
# steps per charge and a looser stop location keep each under ~15 s; their physics (wetted pores, the potential-gated
# O2 release and reduction) is unchanged.
KINETIC_COARSE = ["protocol.steps_per_charge=4", "protocol.voltage_tolerance_V=0.01"]
CASE_COARSE.update({name: KINETIC_COARSE for name in ("gp_ncm83_kinetics", "p_ncm83_kinetics", "lnmo_dense_kinetics",
                                                      "lnmo_hollow_kinetics", "lrmo_pristine_o2_kinetics",
                                                      "lrmo_ru1_o2_kinetics")})
# its 5 nm layer makes ~17k cells even at one cell across (the surface cells follow the layer): the coarse run takes
# the 10 nm layer of lrmo_ru1_o2.toml (~4k cells), the code path (trapping layer, gated release) unchanged
CASE_COARSE["lrmo_ru1_o2_kinetics"] = KINETIC_COARSE + ["geometry.shell_thickness_um=0.01"]
# 100 cycles with cycle jumping: 12 cycles, and fatigue from a 2x lower threshold, so that the coarse run both jumps
# (3 jumps, 8 cycles solved) and damages (max d 0.028 at cycle 12), in ~7 s
CASE_COARSE["ncm811_damage_cycles"] = KINETIC_COARSE + ["protocol.cycles=12", "damage.fatigue_threshold_J_m3=5e4"]
# the cycling fracture section: 4 grains on coarse cells (the polycrystal overrides), two cycles of the kinetic
# protocol (fatigue carried from the first to the second), l raised to what the coarse cells resolve, and the
# staggered tolerance of the other damage cases (RTOL_FRACTURE assumes 1e-4; the case's 1e-2 is for cost)
CASE_COARSE["section_ncm83_damage_cycles"] = KINETIC_COARSE + ["protocol.cycles=2", "damage.length_scale_um=3",
                                                               "damage.staggered_tolerance=1e-4"]
# the crack-initiation case (4 grains, ~0.5 R cells: the polycrystal overrides) with its damage, kinetics and weaker
# grain boundaries; its l of 2.5 um then spans under one cell, so the coarse run checks the pipeline, not the crack.
# Charged to 4.3 V it cracks through in the first step and its protocol stops (status "failed", as the study's runs:
# docs/crack_initiation_study.md); charged to x = 0.86 it completes, already cracked (max d 0.98), in ~3 s
CASE_COARSE["ncm811_polycrystal_initiation"] = KINETIC_COARSE + [
    'protocol.steps=[{kind="cc", label="charge", c_rate=0.1, direction="charge", stop={li_fraction=0.86}}]']

SHIPPED = sorted(path.stem for path in CASES.glob("*.toml"))   # cases/sweeps/ holds sweep files, not cases

RTOL_SOLVED = 1e-6      # values of the solved fields (see the module docstring)
RTOL_FRACTURE = 1e-3    # damage and crack energy: to the staggered iteration's tolerance (see tolerance())
ATOL_POSITION = 1e-6    # r/R of a mesh vertex; neighbouring vertices differ by > 1e-3
RTOL_TIME = 1e-9        # sums of fixed steps
RTOL_GEOMETRY = 1e-9    # areas of the same mesh, summed in another order


def overrides_for(name: str) -> list[str]:
    kind = load_case(CASES / f"{name}.toml")["geometry"]["kind"]
    if kind not in COARSE:
        pytest.fail(f"cases/{name}.toml: no coarse overrides for geometry kind {kind!r}; add them to COARSE in "
                    f"tests/test_regression.py, then run {UPDATE_COMMAND} -k {name}")
    return PINNED + COARSE[kind] + CASE_COARSE.get(name, [])


def _peak(prefix: str, peak: dict, value_key: str = "value_Pa") -> dict:
    return {f"{prefix}.value_Pa": peak[value_key], f"{prefix}.radius_fraction": peak["radius_fraction"],
            f"{prefix}.time_s": peak["time_s"]}


def golden_scalars(summary: dict) -> dict:
    """The compared scalars of a summary, as a flat {dotted key: value}."""
    out = {"status": summary["status"], "time.steps": summary["time"]["steps"],
           "time.t_reached_s": summary["time"]["t_reached_s"], "final_li_fraction_mean": summary["final_li_fraction_mean"]}
    mesh = summary["mesh"]
    if "cells" in mesh:
        out.update({"mesh.cells": mesh["cells"], "mesh.dofs.concentration": mesh["dofs"]["concentration"],
                    "mesh.dofs.displacement": mesh["dofs"]["displacement"]})
    else:   # a 1D kinetic case (solver/reduced/kinetic_case.py)
        out["mesh.radial_cells"] = mesh["radial_cells"]
    for kind, peak in summary["peak"].items():
        out.update(_peak(f"peak.{kind}", peak))
    out.update({f"concentration.{key}": value for key, value in summary.get("concentration", {}).items()})
    for index, step in enumerate(summary.get("steps", [])):   # protocol steps of a kinetic case
        out.update({f"protocol.{index}.{key}": step[key] for key in ("capacity_mAh_g", "end_voltage_V", "duration_s")})
    if "o2" in summary:
        budget = summary["o2"]["budget"]
        out.update({f"o2.{key}": budget[key]
                    for key in ("released_mol", "mobile_mol", "trapped_mol", "reduced_mol", "escaped_mol")})
        out["o2.kept_in_particle_fraction"] = budget["kept_in_particle_fraction"]
    if "grain_boundaries" in summary:
        gb = summary["grain_boundaries"]
        out.update(_peak("grain_boundaries.peak_normal_traction", gb["peak_normal_traction"]))
        out["grain_boundaries.facets"] = gb["facets"]
        out["grain_boundaries.area_m2"] = gb["grain_boundary_area_m2"]
        if "interior" in gb:   # a sub-volume's window (solver/subvolume_statistics.py)
            out["grain_boundaries.interior.max_principal_mean_Pa"] = gb["interior"]["final"]["max_principal_mean_Pa"]
        # (the area fractions above thresholds are left out: a facet crossing a threshold jumps them by its
        # whole area, so they are not continuous in the solver tolerance)
    if "fracture" in summary:
        fracture = summary["fracture"]
        out.update({f"fracture.{key}": fracture[key] for key in ("max_damage", "crack_energy_J", "state")})
    if summary.get("cycles", {}).get("jumps"):      # cycle jumping: how many cycles were solved and extrapolated
        out.update({f"cycles.{key}": summary["cycles"][key] for key in ("solved", "extrapolated")})
    for region, evaluations in sorted(summary.get("region_peaks", {}).items()):
        for evaluation, peaks in sorted(evaluations.items()):
            out.update(_peak(f"region_peaks.{region}.{evaluation}.von_mises", peaks["von_mises"]))
    return out


def this_stack() -> str:
    import gmsh

    from solver import compat

    return f"{compat.describe()}, gmsh {gmsh.__version__}"


def mesh_counts(scalars: dict) -> dict:
    return {key: value for key, value in scalars.items() if key.startswith("mesh.")}


def tolerance(key: str, golden: dict) -> tuple[float, float] | None:
    """(rel, abs) for a key; None: must be equal."""
    if key.endswith("radius_fraction"):
        return 0.0, ATOL_POSITION
    if key.startswith("peak.") and key.endswith("time_s") and "fracture.max_damage" in golden and \
            "protocol.2.duration_s" in golden:
        # a cycling damage case: every cycle repeats the last one's stress peak to within what the staggered u-d
        # tolerance moves it (RTOL_FRACTURE), so which cycle holds the largest is decided below that tolerance
        # (dolfinx 0.9 picked another cycle than 0.5.2 for ncm811_damage_cycles): its value and place are
        # compared, its time is not
        return math.inf, math.inf
    if key.endswith("time_s"):
        if any(name.startswith("protocol.") for name in golden):
            # a kinetic case's steps end at located stop conditions: its times are solved values, not sums of steps
            return RTOL_SOLVED, 1e-9
        return RTOL_TIME, 1e-9
    if key == "grain_boundaries.area_m2":
        return RTOL_GEOMETRY, 0.0
    if key.startswith("protocol.") and key.endswith("capacity_mAh_g"):
        # a rest step passes no charge: its capacity is round-off (1e-13 mAh/g), kept to 1e-6 mAh/g
        return RTOL_SOLVED, 1e-6
    if key.startswith("o2.") and key.endswith("_mol"):
        # amounts that are zero by construction (no escape, no traps) stay zero to round-off of the released amount
        return RTOL_SOLVED, 1e-12 * abs(golden["o2.released_mol"])
    if (key.startswith("fracture.") and key != "fracture.state") or (
            key.startswith("peak.") and "fracture.max_damage" in golden):
        # the staggered u-d iteration stops at max |d_k+1 - d_k| < damage.staggered_tolerance (1e-4): the damage,
        # and the degraded stress, agree between solver paths to about that, not to the linear solves' 1e-10
        return RTOL_FRACTURE, 0.0
    if key.startswith(("peak.", "concentration.", "grain_boundaries.", "region_peaks.", "o2.", "protocol.")) or \
            key in ("final_li_fraction_mean", "time.t_reached_s"):
        return RTOL_SOLVED, 0.0
    return None


def differences(actual: dict, golden: dict) -> list[str]:
    lines = []
    for key in sorted(set(actual) | set(golden)):
        if key not in golden or key not in actual:
            lines.append(f"  {key}: {'new' if key not in golden else 'gone'} "
                         f"(golden {golden.get(key, '-')!r}, now {actual.get(key, '-')!r})")
            continue
        want, got = golden[key], actual[key]
        tol = tolerance(key, golden)
        if tol is None or want is None or got is None:
            if want != got:
                hint = "  (gmsh meshes differently? a new gmsh needs new golden values)" if key.startswith("mesh.") else ""
                lines.append(f"  {key}: golden {want!r}, now {got!r}{hint}")
        elif not math.isclose(got, want, rel_tol=tol[0], abs_tol=tol[1]):
            relative = abs(got - want) / abs(want) if want else math.inf
            lines.append(f"  {key}: golden {want!r}, now {got!r} (relative {relative:.2e}; "
                         f"allowed rel {tol[0]:g}, abs {tol[1]:g})")
    return lines


@pytest.fixture(scope="module")
def mesh_cache(tmp_path_factory):
    """One fresh mesh cache for the file: cases that share a mesh (the LRMO pairs) mesh it once."""
    return tmp_path_factory.mktemp("golden-mesh-cache")


# the coarse pore sets miss the preset's per-ring section targets (by design: few large pores); the sampler says so
@pytest.mark.filterwarnings("ignore:sample_pores:RuntimeWarning")
@pytest.mark.parametrize("name", SHIPPED)
def test_case_matches_golden_values(name, tmp_path, mesh_cache, request):
    overrides = overrides_for(name)
    summary = run_case(load_case(CASES / f"{name}.toml", overrides), tmp_path / name, mesh_cache=mesh_cache)
    actual = golden_scalars(summary)
    path = GOLDEN / f"{name}.json"
    if request.config.getoption("--update-golden"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps({"case": f"cases/{name}.toml", "overrides": overrides,
                                    "written_with": this_stack(), "scalars": actual}, indent=1) + "\n")
        return
    if not path.exists():
        pytest.fail(f"no golden values for cases/{name}.toml: run `{UPDATE_COMMAND} -k {name}` "
                    f"and commit {path.relative_to(GOLDEN.parent.parent)}")
    stored = json.loads(path.read_text())
    assert stored["overrides"] == overrides, (
        f"{path.name} was written with other overrides ({stored['overrides']}); run `{UPDATE_COMMAND} -k {name}`")
    assert summary["status"] == "completed", summary["message"]
    if mesh_counts(actual) != mesh_counts(stored["scalars"]) and stored["written_with"] != this_stack():
        # Seen: the polycrystal cases mesh with 4251 instead of 4270 cells on Debian 13 (same gmsh wheel, same seeds,
        # pore and grain inputs equal to 1e-15): gmsh's OCC booleans follow last-bit differences of libm and numpy.
        # Another mesh is another discretisation, so its values are checked on the stack that wrote them.
        pytest.skip(f"gmsh meshed cases/{name}.toml differently on {this_stack()} than on {stored['written_with']}; "
                    "its golden values are checked on that stack")
    problems = differences(actual, stored["scalars"])
    assert not problems, (f"cases/{name}.toml differs from {path.name} (written with "
                          f"{stored['written_with']}):\n" + "\n".join(problems) +
                          f"\nIf the change is intended: `{UPDATE_COMMAND} -k {name}`")


def test_every_shipped_case_has_golden_values_and_no_other():
    stored = {path.stem for path in GOLDEN.glob("*.json")}
    missing, stale = sorted(set(SHIPPED) - stored), sorted(stored - set(SHIPPED))
    assert not missing, f"cases without golden values: {missing}; run `{UPDATE_COMMAND}` and commit tests/golden/"
    assert not stale, f"golden values of cases that are not shipped: {stale}; delete tests/golden/<name>.json"


def test_comparison_catches_a_moved_peak_and_a_new_mesh():
    golden = {"status": "completed", "mesh.cells": 100, "peak.hoop.value_Pa": 1.0e8,
              "peak.hoop.radius_fraction": 1.0, "peak.hoop.time_s": 10.0}
    assert differences(dict(golden, **{"peak.hoop.value_Pa": 1.0e8 * (1 + 5e-7)}), golden) == []
    assert differences(dict(golden, **{"peak.hoop.value_Pa": 1.0e8 * (1 + 2e-6)}), golden)
    assert differences(dict(golden, **{"peak.hoop.radius_fraction": 0.99}), golden)
    assert "gmsh" in differences(dict(golden, **{"mesh.cells": 101}), golden)[0]
    assert differences({k: v for k, v in golden.items() if k != "status"}, golden)
