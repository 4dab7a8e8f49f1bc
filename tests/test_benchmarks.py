"""The benchmark helpers that decide what is measured and how the RATIO lines pair runs (no solves here:
the benchmarks themselves take minutes; `make benchmarks-quick` runs them on small sizes)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_common  # noqa: E402
import run_all  # noqa: E402
from bench_common import PARTICLES, BenchParticle, rank_ratios  # noqa: E402


@pytest.mark.parametrize("target", [1.5e5, 3e5, 1e6])
def test_cell_size_meets_the_unknown_model(target):
    particle = BenchParticle(Path("case.toml"), 129.0, fixed_unknowns=1.12e5)
    h = particle.cell_size(target)
    assert particle.fixed_unknowns + particle.unknowns_at_unit_size / h**3 == pytest.approx(target, rel=1e-9)


def test_cell_size_below_the_fixed_part_stays_finite_and_coarse():
    particle = PARTICLES["polycrystal"]
    # below the pores' fixed share the mesh is the coarsest sensible one, not a negative or infinite size
    assert particle.cell_size(5e4) > particle.cell_size(2e5) > 0


def test_sphere_sizes_unchanged_for_the_other_benchmarks():
    # amg_vs_lu.py and mpi_ranks.py size the sphere with the measured 16.5 / h^3 cells x 5.2 unknowns per cell
    assert bench_common.cell_size_for_unknowns(1e6) == pytest.approx((16.5 * 5.2 / 1e6) ** (1 / 3))
    overrides = bench_common.sphere_overrides(0.1, ["solver.linear_rtol=1e-8"])
    assert 'geometry.symmetry="full"' in overrides and "mesh.cell_size_fraction=0.10000" in overrides
    assert overrides[-1] == "solver.linear_rtol=1e-8"


def _row(ranks, unknowns, step_s):
    return {"ranks": ranks, "unknowns": unknowns, "step_s": step_s, "ksp_s": 0.9 * step_s, "mech_its": 25}


def test_rank_speedups_pair_runs_of_the_same_mesh():
    one = [_row(1, 100, 10.0), _row(1, 1000, 100.0)]
    two = [_row(2, 1000, 40.0)]          # the 2-rank run of the small mesh failed: no line for it
    lines = rank_ratios("sphere", {2: two, 1: one})
    assert len(lines) == 1 and "1000 unknowns" in lines[0] and "1 -> 2 ranks speed-up 2.50" in lines[0]
    assert two[0]["speedup"] == pytest.approx(2.5) and one[0]["speedup"] == 1.0


def test_default_run_prints_meshing_and_solve_ratios():
    assert {"scaling", "meshscale"} <= set(run_all.DEFAULT)
    assert "mpi" not in run_all.DEFAULT          # scaling.py measures 1 vs 2 ranks at every size
    assert run_all.BENCHMARKS["scaling"][0] == "scaling.py"
