"""The same case on 2 MPI ranks gives the serial answer within solver tolerance."""
import json
import os
import subprocess
import sys

import pytest

from conftest import CASES, REPO
from solver.launcher import MPI_ENVIRONMENT, mpi_command, mpi_launcher

pytestmark = pytest.mark.mpi
OVERRIDES = ["--set", "mesh.cell_size_fraction=0.25", "--set", "mesh.surface_cell_size_fraction=0.12",
             "--set", "time.steps=5", "--set", "geometry.symmetry=full", "--no-pictures",
             "--set", "solver.linear_rtol=1e-8"]   # tight, so that the comparison below is about the partitioning


def run(out, ranks, evaluation="cellwise"):
    command = [sys.executable, "-m", "solver", "run", str(CASES / "verification_sphere.toml"), "--out", str(out),
               *OVERRIDES, "--set", f'output.peak_stress="{evaluation}"']
    done = subprocess.run(mpi_command(ranks, command), cwd=REPO, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, **MPI_ENVIRONMENT))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "summary.json").read_text())


@pytest.mark.skipif(mpi_launcher() is None, reason="no MPI launcher installed")
@pytest.mark.parametrize("evaluation", ["cellwise", "recovered"])
def test_two_ranks_match_serial(tmp_path, evaluation):
    """Peaks of both stress evaluations: the recovered one averages over cells that straddle rank boundaries."""
    serial = run(tmp_path / "serial", 1, evaluation)
    parallel = run(tmp_path / "parallel", 2, evaluation)
    assert serial["peak_stress_evaluation"] == parallel["peak_stress_evaluation"] == evaluation
    assert parallel["mpi_ranks"] == 2
    assert parallel["mesh"]["cells"] == serial["mesh"]["cells"]
    for kind, peak in serial["peak"].items():
        other = parallel["peak"][kind]
        assert other["value_Pa"] == pytest.approx(peak["value_Pa"], rel=1e-5), kind
        assert other["time_s"] == pytest.approx(peak["time_s"])
    # The solves stop at a relative residual of solver.linear_rtol = 1e-8; the partitioned solves take other
    # iterates, so pointwise values (min, max) may differ by a few times that (1.4e-8 was seen in the minimum).
    for key in ("mean_mol_m3", "surface_mol_m3", "min_mol_m3", "max_mol_m3"):
        assert parallel["concentration"][key] == pytest.approx(serial["concentration"][key], rel=1e-7), key
    # the field files of the ranks come together as in a serial run: one XDMF time series with every field at
    # every time (merged on rank 0 after the collective close), the same snapshots and region names
    layout = xdmf_layout(tmp_path / "parallel")
    assert len(layout) == 1 and all("region" in names and "li_fraction" in names for _, names in layout[0])
    assert layout == xdmf_layout(tmp_path / "serial")
    regions, snapshots = ({run: json.loads((tmp_path / run / name).read_text()) for run in ("serial", "parallel")}
                          for name in ("mesh_regions.json", "snapshots.json"))
    assert regions["parallel"] == regions["serial"]
    assert [(s["file"], s["time_s"]) for s in snapshots["parallel"]] == [(s["file"], s["time_s"])
                                                                         for s in snapshots["serial"]]


# The full-3D polycrystal (cases/gp_ncm83_1000_grains.toml) at the regression test's coarse size: layered-oxide
# grains, gradient pores, P1 displacement and [grain_boundaries] with its zone statistics gathered over the ranks
POLYCRYSTAL_OVERRIDES = ["geometry.grain_count=6", "geometry.volume_scale=150", "geometry.central_pores_um3=[]",
                         "geometry.volume_classes_um3=[[0.01, 0.03, 0.8], [0.03, 0.2, 0.2]]",
                         "mesh.cell_size_fraction=0.4", "mesh.surface_cell_size_fraction=0.3",
                         "mesh.interface_cell_size_fraction=0.3", "time.steps=2", "solver.linear_rtol=1e-10",
                         "output.snapshots=0", "output.progress=false"]


def run_polycrystal(out, ranks):
    command = [sys.executable, "-m", "solver", "run", str(CASES / "gp_ncm83_1000_grains.toml"), "--out", str(out),
               "--no-pictures", *(item for key in POLYCRYSTAL_OVERRIDES for item in ("--set", key))]
    done = subprocess.run(mpi_command(ranks, command), cwd=REPO, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, **MPI_ENVIRONMENT))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "summary.json").read_text())


# slow: 10 s on dolfinx 0.5.2, but its 2-rank run did not finish within 600 s on dolfinx 0.9 (Debian 13) in CI;
# the cause is not found yet (run it with `-m slow` on each stack before relying on MPI runs of porous polycrystals)
@pytest.mark.slow
@pytest.mark.skipif(mpi_launcher() is None, reason="no MPI launcher installed")
def test_porous_polycrystal_on_two_ranks_matches_serial(tmp_path):
    serial = run_polycrystal(tmp_path / "serial", 1)
    parallel = run_polycrystal(tmp_path / "parallel", 2)
    assert parallel["mpi_ranks"] == 2 and serial["mesh"]["description"]["pore_count"] > 0
    assert parallel["mesh"]["cells"] == serial["mesh"]["cells"]
    for kind, peak in serial["peak"].items():
        assert parallel["peak"][kind]["value_Pa"] == pytest.approx(peak["value_Pa"], rel=1e-6), kind
    gb, gb_parallel = serial["grain_boundaries"], parallel["grain_boundaries"]
    assert gb_parallel["facets"] == gb["facets"]            # each boundary facet counted once over the ranks
    assert gb_parallel["grain_boundary_area_m2"] == pytest.approx(gb["grain_boundary_area_m2"], rel=1e-12)
    assert gb_parallel["peak_normal_traction"]["value_Pa"] == pytest.approx(gb["peak_normal_traction"]["value_Pa"],
                                                                            rel=1e-6)
    # the zone statistics gathered from both ranks: means to the solves' accuracy; a fraction moves only if a value
    # lies within ~1e-9 of a threshold (none did: equal to round-off)
    for step in ("peak", "end"):
        for name in ("max_principal", "hoop", "gb_normal_traction"):
            for zone in ("core", "rim"):
                ours, theirs = gb["zone_statistics"][step][name][zone], gb_parallel["zone_statistics"][step][name][zone]
                assert theirs["mean_tension_Pa"] == pytest.approx(ours["mean_tension_Pa"], rel=1e-6), (step, name)
                assert theirs["fraction_above"] == pytest.approx(ours["fraction_above"], abs=1e-12), (step, name)
        assert gb_parallel["zone_statistics"][step]["time_s"] == gb["zone_statistics"][step]["time_s"]


def xdmf_layout(folder):
    """[(time, [attribute names])] of each temporal collection in folder/fields.xdmf."""
    from xml.etree import ElementTree

    domain = ElementTree.parse(folder / "fields.xdmf").getroot().find("Domain")
    return [[(grid.find("Time").get("Value"), [a.get("Name") for a in grid.findall("Attribute")])
             for grid in collection.findall("Grid")]
            for collection in domain.findall("Grid") if collection.get("GridType") == "Collection"]
