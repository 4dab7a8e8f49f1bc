"""The fracture census of a sweep (solver/sweep/census.py): hand-built sweep folders with known fracture outputs,
written with the store's and the solver's own writers, give exact counts and fractions; the carry-forward over
jumped cycles, the groups of non-seed keys, failed and pending cases; the driver's aggregation makes the census
(--aggregate-only); and a tiny real damage sweep of two seeds ends in a census of its run ends."""
import csv
import json
import math

import pytest
from mpi4py import MPI

from conftest import CASES, run_cli
from solver.damage_section import CYCLE_COLUMNS, CYCLES_FILE
from solver.errors import CaseError
from solver.outputs import write_json_atomic
from solver.sweep import SweepFolder, load_sweep
from solver.sweep.census import binomial, census
from solver.sweep.engine import write_manifest
from solver.writers import TimeseriesWriter

SWEEP = f"""name = "hand_built"
base = "{CASES / 'ncm811_damage.toml'}"
seed_key = "geometry.seed"
replicates = 5
[grid]
"operation.c_rate" = [1.0, 3.0]
"""
# per case of each c-rate: its status and either its cycle rows (cycle, state, extrapolated) or its final state
SLOW = [("completed", [(1, "intact", 0), (2, "intact", 0), (5, "mild", 1), (10, "broken", 0)]),
        ("completed", [(1, "intact", 0), (2, "intact", 0), (5, "mild", 1), (10, "broken", 0)]),
        ("completed", [(10, "intact", 0), (1, "intact", 0)]),           # rows in any order
        ("failed", [(1, "intact", 0), (2, "mild", 0)]),                  # the solve failed after cycle 2
        ("crashed", None)]                                                # no summary, no rows
FAST = [("completed", "broken"),                                          # one charge, no cycle rows
        ("completed", "no damage"),                                       # a run without a fracture entry
        ("completed", [(3, "mild", 0)]),                                  # first reported at cycle 3
        ("completed", [(2, "intact", 0), (4, "broken", 1)]),
        ("pending", None)]                                                # not run yet


def write_case(folder: SweepFolder, case_id: str, status: str, evidence) -> None:
    """A case folder as a run and the driver leave it: run.json or error.json, summary.json, fracture_cycles.csv."""
    if status == "pending":
        return
    good = status == "completed"
    folder.record(case_id, "run.json" if good else "error.json", {"status": status, "return_code": 0 if good else 3})
    if status == "crashed":
        return
    final = evidence if isinstance(evidence, str) else evidence[-1][1]
    fracture = {} if final == "no damage" else {"fracture": {"state": final, "crack_volume_fraction": 0.0}}
    write_json_atomic(folder.case_dir(case_id) / "summary.json", {"status": status, **fracture})
    if isinstance(evidence, list):
        table = TimeseriesWriter(folder.case_dir(case_id) / CYCLES_FILE, MPI.COMM_SELF, CYCLE_COLUMNS)
        for cycle, state, jumped in evidence:
            table.append({"cycle": cycle, "extrapolated": jumped, "crack_volume_fraction": 0.0,
                          "cracked_grain_boundary_area_fraction": 0.0, "max_damage": 0.5, "state": state})
        table.close()


@pytest.fixture
def hand_built(tmp_path):
    path = tmp_path / "hand_built.toml"
    path.write_text(SWEEP)
    sweep = load_sweep(path)
    folder = SweepFolder(tmp_path / "out")
    folder.claim()
    write_manifest(folder, sweep)
    by_rate = {1.0: iter(SLOW), 3.0: iter(FAST)}
    for case in sweep.cases:
        write_case(folder, case.case_id, *next(by_rate[case.inputs["operation.c_rate"]]))
    return path, sweep, folder


def table(rows, c_rate):
    return {row["cycle"]: row for row in rows if float(row["operation.c_rate"]) == c_rate}


COUNTED = ("cases", "pending", "no_fracture", "failed", "unknown", "n", "intact", "mild", "broken", "extrapolated")


def test_states_carry_over_jumped_cycles_and_failures_count_as_failed(hand_built):
    _, _, folder = hand_built
    result = census(folder.root)
    slow, fast = table(result.rows, 1.0), table(result.rows, 3.0)
    assert sorted(slow) == sorted(fast) == [1, 2, 3, 4, 5, 10]   # every cycle some particle reported
    counts = {c: tuple(row[k] for k in COUNTED) for c, row in slow.items()}
    #               cases pending no_fracture failed unknown n intact mild broken extrapolated
    assert counts == {1: (5, 0, 0, 1, 0, 4, 4, 0, 0, 0),     # the crashed case is failed from the start
                      2: (5, 0, 0, 1, 0, 4, 3, 1, 0, 0),
                      3: (5, 0, 0, 2, 0, 3, 3, 0, 0, 0),     # failed after its last row; 3, 4: rows of cycle 2
                      4: (5, 0, 0, 2, 0, 3, 3, 0, 0, 0),
                      5: (5, 0, 0, 2, 0, 3, 1, 2, 0, 2),     # the jumps' extrapolated rows
                      10: (5, 0, 0, 2, 0, 3, 1, 0, 2, 0)}
    counts = {c: tuple(row[k] for k in COUNTED) for c, row in fast.items()}
    assert counts == {1: (5, 1, 1, 0, 1, 2, 1, 0, 1, 0),     # one charge: broken at cycle 1; first row at 3: unknown
                      2: (5, 1, 1, 0, 1, 2, 1, 0, 1, 0),     # broken stays broken after a run's last row
                      3: (5, 1, 1, 0, 0, 3, 1, 1, 1, 0),
                      4: (5, 1, 1, 0, 1, 2, 0, 0, 2, 1),     # after the last row of a finished run: unknown unless broken
                      5: (5, 1, 1, 0, 1, 2, 0, 0, 2, 1),     # (the jumped row's flag carries over)
                      10: (5, 1, 1, 0, 1, 2, 0, 0, 2, 1)}
    row = slow[2]
    assert (row["fraction_intact"], row["fraction_mild"], row["fraction_broken"]) == (3 / 4, 1 / 4, 0.0)
    assert row["fraction_intact_se"] == pytest.approx(math.sqrt(3 / 16 / 4), rel=1e-12)
    with open(result.csv, newline="") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == 12 and "geometry.seed" not in written[0]       # the seed is pooled, not a column
    assert written[0]["operation.c_rate"] == "1.0" and written[0]["fraction_intact"] == str(1.0)
    assert result.plot.stat().st_size > 5000 and result.plot.with_suffix(".svg").is_file()


def test_chosen_cycles_grouping_and_bad_input(hand_built):
    _, sweep, folder = hand_built
    result = census(folder, cycles=[1, 30, 100], sweep=sweep, write=False)
    late = table(result.rows, 1.0)[30]
    assert (late["failed"], late["unknown"], late["n"], late["fraction_broken"]) == (2, 1, 2, 1.0)
    assert result.csv is None and not (folder.root / "census.csv").exists()
    each = census(folder, cycles=[1], pooled=[], write=False).rows    # no pooling: a group per case
    assert len(each) == 10 and sum(row["cases"] for row in each) == 10 and all("geometry.seed" in r for r in each)
    banded = census(folder, cycles=range(1, 21))          # more cycles than error bars: the interval as a band
    assert len(banded.rows) == 40 and banded.plot.stat().st_size > 5000
    assert table(banded.rows, 1.0)[9]["mild"] == 2 and table(banded.rows, 1.0)[20]["unknown"] == 1
    with pytest.raises(CaseError, match=r"cycles = \[0, 2\]: must be a non-empty list of whole numbers >= 1"):
        census(folder, cycles=[0, 2])
    with pytest.raises(CaseError, match="'mesh.cell_size_fraction' is not a swept key"):
        census(folder, pooled=["mesh.cell_size_fraction"])


def test_an_unreadable_cycle_table_counts_as_failed(hand_built):
    _, sweep, folder = hand_built
    broken = folder.case_dir(sweep.cases[0].case_id) / CYCLES_FILE
    broken.write_text("cycle,extrapolated,state\n1,0,cracked\n")
    result = census(folder, cycles=[1], write=False)
    assert table(result.rows, 1.0)[1]["failed"] == 2 and len(result.problems) == 1
    assert str(broken) in result.problems[0] and "counted as failed" in result.problems[0]


def test_wilson_interval_against_known_values():
    """0 of 10 and 5 of 10 (Wilson 1927; the 0/10 upper bound 0.2775 is the textbook value); p = 1 keeps a width."""
    assert binomial(0, 10)["_high"] == pytest.approx(0.277533, abs=1e-6) and binomial(0, 10)["_low"] == 0.0
    half = binomial(5, 10)
    assert (half[""], half["_low"], half["_high"]) == pytest.approx((0.5, 0.236593, 0.763407), abs=1e-6)
    full = binomial(20, 20)
    assert full["_se"] == 0.0 and full["_high"] == 1.0 and 0.8 < full["_low"] < 0.9
    assert set(binomial(0, 0).values()) == {None}


def test_aggregate_only_writes_the_census_in_the_driver(hand_built):
    path, _, folder = hand_built
    done = run_cli("sweep", path, "--out", folder.root, "--aggregate-only", "--no-plot", timeout=120)
    assert done.returncode == 3, done.stderr[-2000:]          # 3: a failed and a crashed case
    assert f"census: {folder.root / 'census.csv'}" in done.stdout
    with open(folder.root / "census.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["cycle"], r["n"], r["intact"]) for r in rows[:3]] == [("1", "4", "4"), ("2", "4", "3"), ("3", "3", "3")]
    assert not (folder.root / "census.png").exists()          # --no-plot


TINY_CASE = f"""base = "{CASES / 'ncm811_particle.toml'}"
name = "tiny_damage"
[geometry]
kind = "polycrystal"               # random grains: the seed draws another particle
grain_count = 4
[mesh]
cell_size_fraction = 0.35
surface_cell_size_fraction = 0.2
[solver]
displacement_degree = 1
[coupling]
stress_assisted_diffusion = false
[time]
steps = 2
[output]
snapshots = 0
[damage]
model = "AT1"
fracture_energy_J_m2 = 0.5
length_scale_um = 2.0
"""
TINY_SWEEP = """name = "tiny_census"
base = "tiny_damage.toml"
seed_key = "geometry.seed"
replicates = 2
[list]
"operation.c_rate" = [1.0]
"""


@pytest.mark.slow   # ~50 s on 2 busy cores (two ~8 s cases, the Dask start-up, the driver's aggregation)
def test_a_real_damage_sweep_ends_in_a_census_of_its_run_ends(tmp_path):
    """Two seeds of a 4-grain damage case, two 1C steps each on a coarse mesh (~8 s a case): no cycling driver, so each
    run is one charge and the census has the one cycle 1, holding the two summaries' states."""
    (tmp_path / "tiny_damage.toml").write_text(TINY_CASE)
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SWEEP)
    out = tmp_path / "out"
    done = run_cli("sweep", path, "--out", out, "--workers", "1", "--no-progress", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    states = [json.loads(p.read_text())["fracture"]["state"] for p in sorted((out / "cases").glob("*/summary.json"))]
    with open(out / "census.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 and rows[0]["cycle"] == "1" and rows[0]["operation.c_rate"] == "1.0"
    assert (rows[0]["cases"], rows[0]["n"]) == ("2", "2") and len(states) == 2
    assert {s: int(rows[0][s]) for s in ("intact", "mild", "broken")} == {s: states.count(s) for s in
                                                                          ("intact", "mild", "broken")}
    assert (out / "census.png").stat().st_size > 5000 and (out / "census.pdf").is_file()


def test_a_broken_particle_stays_broken_after_its_last_row_even_when_its_run_failed_later():
    """damage.stop_when_broken ends a run at its first broken cycle end, and a solve may fail once the particle is
    cut apart: the census reads both as broken at every later cycle, and keeps the jumped row's flag."""
    from solver.sweep.census import CycleRow, Particle

    rows = (CycleRow(1, "mild", False), CycleRow(3, "broken", True))
    for finished in (True, False):
        assert Particle("case", rows, finished).state_at(2) == ("mild", False)
        assert Particle("case", rows, finished).state_at(100) == ("broken", True)
    mild_only = rows[:1]
    assert Particle("case", mild_only, True).state_at(5) == ("unknown", False)
    assert Particle("case", mild_only, False).state_at(5) == ("failed", False)
