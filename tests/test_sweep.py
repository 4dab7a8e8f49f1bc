"""Sweeps: the file format and sampling, ids and seeds, per-worker JIT caches, and real sweeps on a
LocalCluster (a failing and an invalid case recorded, the table right, resume after a kill).

The real sweeps run `python -m solver sweep` in a subprocess, as users do. That driver writes Parquet
(pyarrow) and draws with VTK, and solver.sweep.aggregate refuses to run where dolfinx is loaded, so a
sweep that finishes also shows that the driver never imported dolfinx.
"""
import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import CASES, REPO, run_cli
from solver.case import parse_override
from solver.errors import CaseError
from solver.launcher import MPI_ENVIRONMENT, mpi_launcher
from solver.sweep import SweepFolder, load_sweep, sweep_from_dict
from solver.sweep.jitcache import complete_modules, prepare_worker_cache, remove_incomplete
from solver.sweep.sampling import unit_samples
from solver.sweep.slurm import SlurmOptions, array_script, index_ranges
from solver.sweep.spec import toml_value
from solver.sweep.task import classify

BASE = str(CASES / "verification_sphere.toml")
COARSE = {"mesh.cell_size_fraction": 0.3, "mesh.surface_cell_size_fraction": 0.15, "time.steps": 4}


def sweep_text(body: str, fixed: dict = COARSE) -> str:
    lines = [f'base = "{BASE}"', "[set]"] + [f'"{k}" = {toml_value(v)}' for k, v in fixed.items()]
    return "\n".join(lines) + "\n" + body


def write_sweep(folder: Path, body: str, name: str = "sweep.toml") -> Path:
    path = folder / name
    path.write_text(sweep_text(body))
    return path


# ------------------------------------------------------------------------------------------------
# file format, sampling, ids, seeds
# ------------------------------------------------------------------------------------------------
def test_grid_list_and_sample_combine_as_a_product():
    sweep = sweep_from_dict({
        "base": BASE,
        "grid": {"operation": {"c_rate": [0.5, 1.0]}, "material.young_modulus_GPa": [120.0, 150.0, 180.0]},
        "list": {"geometry.radius_um": [4.0, 5.0], "mesh.cell_size_fraction": [0.3, 0.25]},
        "sample": {"method": "random", "count": 4, "seed": 3, "ranges": {"material.diffusivity_m2_s": [1e-15, 1e-13]}},
    })
    assert len(sweep.cases) == 2 * 3 * 2 * 4
    assert sweep.swept_keys == ("operation.c_rate", "material.young_modulus_GPa", "geometry.radius_um",
                                "mesh.cell_size_fraction", "material.diffusivity_m2_s")
    pairs = {(c.inputs["geometry.radius_um"], c.inputs["mesh.cell_size_fraction"]) for c in sweep.cases}
    assert pairs == {(4.0, 0.3), (5.0, 0.25)}  # zipped, not crossed
    grid = {(c.inputs["operation.c_rate"], c.inputs["material.young_modulus_GPa"]) for c in sweep.cases}
    assert len(grid) == 6
    assert all(1e-15 <= c.inputs["material.diffusivity_m2_s"] <= 1e-13 for c in sweep.cases)
    assert len({c.case_id for c in sweep.cases}) == len(sweep.cases)


@pytest.mark.parametrize("method", ["sobol", "halton"])
def test_low_discrepancy_samples_are_reproducible_and_spread_evenly(method):
    points = unit_samples(method, 64, 2, seed=3)
    assert points.shape == (64, 2) and np.all((0 <= points) & (points < 1))
    assert np.array_equal(points, unit_samples(method, 64, 2, seed=3))
    # every quarter of the unit square holds about a quarter of the points (random sampling scatters more)
    quarters = np.histogram2d(points[:, 0], points[:, 1], bins=2, range=[[0, 1], [0, 1]])[0]
    assert np.all(np.abs(quarters - 16) <= 2)


def test_latin_hypercube_puts_one_point_in_every_stratum():
    points = unit_samples("latin_hypercube", 10, 3, seed=7)
    for column in points.T:
        assert sorted(np.floor(column * 10).astype(int)) == list(range(10))
    assert np.array_equal(points, unit_samples("latin_hypercube", 10, 3, seed=7))
    assert not np.array_equal(points, unit_samples("latin_hypercube", 10, 3, seed=8))
    sweep = sweep_from_dict({"base": BASE, "sample": {"count": 5, "seed": 1, "log": ["material.diffusivity_m2_s"],
                                                      "ranges": {"material.diffusivity_m2_s": [1e-16, 1e-11]}}})
    decades = sorted(math.floor(math.log10(c.inputs["material.diffusivity_m2_s"])) for c in sweep.cases)
    assert decades == [-16, -15, -14, -13, -12]  # log-uniform strata: one per decade


def test_case_ids_do_not_depend_on_order_and_survive_added_values():
    one = sweep_from_dict({"base": BASE, "grid": {"operation.c_rate": [0.5, 1.0], "time.steps": [4, 5]}})
    swapped = sweep_from_dict({"base": BASE, "grid": {"time.steps": [5, 4], "operation.c_rate": [1.0, 0.5]}})
    more = sweep_from_dict({"base": BASE, "grid": {"operation.c_rate": [0.5, 1.0, 2.0], "time.steps": [4, 5]}})
    ids = {c.case_id for c in one.cases}
    assert ids == {c.case_id for c in swapped.cases}
    assert ids < {c.case_id for c in more.cases}
    assert len(ids) == 4 and all(len(i) == 12 for i in ids)


def test_seed_key_gives_each_case_its_own_stable_seed():
    raw = {"base": BASE, "seed_key": "geometry.seed", "replicates": 3, "list": {"operation.c_rate": [0.5, 1.0]}}
    sweep = sweep_from_dict(raw)
    seeds = [c.inputs["geometry.seed"] for c in sweep.cases]
    assert len(sweep.cases) == 6 and len(set(seeds)) == 6
    assert all(isinstance(s, int) and 0 <= s < 2**31 for s in seeds)
    assert seeds == [c.inputs["geometry.seed"] for c in sweep_from_dict(raw).cases]
    assert "--set" in sweep.cases[0].set_arguments() and f"geometry.seed={seeds[0]}" in sweep.cases[0].set_arguments()


@pytest.mark.parametrize("raw,fragment", [
    ({"grid": {"operation.c_rate": [1.0]}, "gird": {}}, "gird: unknown sweep key"),
    ({"list": {"operation.c_rate": [1.0, 2.0], "time.steps": [4]}}, "[list]: lists must have one length"),
    ({"grid": {"operation.c_rate": []}}, "grid.operation.c_rate = []: must be a non-empty list"),
    ({"grid": {"operation.c_rate": 2.0}}, "grid.operation.c_rate = 2.0: must be a non-empty list"),
    ({"set": {"time.steps": 4}, "grid": {"time.steps": [4, 5]}}, "time.steps: set in both [set] and [grid]"),
    ({"replicates": 2}, "replicates = 2: needs seed_key"),
    ({"sample": {"method": "grid_search", "count": 2, "ranges": {"a.b": [0, 1]}}}, "sample.method = 'grid_search'"),
    ({"sample": {"count": 2, "ranges": {"operation.c_rate": [2.0, 1.0]}}}, "must be [low, high] numbers with low < high"),
    ({"sample": {"count": 2, "ranges": {"a.b": [0.0, 1.0]}, "log": ["a.b"]}}, "must be > 0 to be sampled in log"),
    ({"grid": {"operation.c_rate": [1.0]}, "plot": {"x": "time.steps"}}, "plot.x = 'time.steps': must be a swept key"),
    ({"grid": {"operation.c_rate": [1.0, 1.0]}}, "are the same case"),
    ({"run": {"launcher": "mpirun -n 2"}}, "run.launcher = 'mpirun -n 2': must be a command containing {ranks}"),
    ({"base": "missing.toml"}, "base = 'missing.toml': case file"),
])
def test_sweep_file_mistakes_name_the_key(raw, fragment):
    with pytest.raises(CaseError) as info:
        sweep_from_dict({"base": BASE, **raw})
    assert fragment in str(info.value)


@pytest.mark.parametrize("path", sorted((CASES / "sweeps").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_sweep_file_gives_valid_cases(path):
    from solver.sweep.engine import invalid_cases

    sweep = load_sweep(path)
    assert sweep.cases and sweep.plot.x in sweep.swept_keys
    assert invalid_cases(sweep, list(sweep.cases)) == {}


@pytest.mark.parametrize("value", [1e-14, 0.1, 150.0, -2.5e300, float("inf"), 3, True, False, "bdf2",
                                   'say "hi"\\', [1, 2.5, "x"], {"kind": "linear", "centre": 0.1}])
def test_override_values_survive_the_trip_through_set(value):
    assert parse_override(f"a.b={toml_value(value)}") == (["a", "b"], value)


# ------------------------------------------------------------------------------------------------
# records, JIT caches, classification, Slurm scripts
# ------------------------------------------------------------------------------------------------
def test_error_record_makes_the_case_finished_and_retry_reruns_it(tmp_path):
    folder = SweepFolder(tmp_path)
    assert folder.state("abc").status == "pending" and folder.needs_run("abc")
    folder.record("abc", "error.json", {"status": "invalid", "return_code": 2})
    assert folder.state("abc").status == "invalid" and folder.state("abc").finished
    assert not folder.needs_run("abc") and folder.needs_run("abc", retry_failed=True)
    (folder.cases_dir / ".xyz.partial-0123").mkdir()
    assert folder.clean_staging() == 1 and sorted(os.listdir(folder.cases_dir)) == ["abc"]


def test_each_worker_gets_a_seeded_cache_without_half_compiled_modules(tmp_path):
    user = tmp_path / "user" / "fenics"
    user.mkdir(parents=True)
    for suffix in (".c", ".c.cached", ".cpython-311-x86_64-linux-gnu.so"):
        (user / f"libffcx_forms_done{suffix}").write_text("x")
    (user / "libffcx_forms_busy.c").write_text("")  # being compiled (or killed half-way)
    home = prepare_worker_cache(tmp_path / "jit", 0, user)
    cache = home / "fenics"
    assert home == tmp_path / "jit" / "0" and complete_modules(cache) == ["libffcx_forms_done"]
    assert not (cache / "libffcx_forms_busy.c").exists()
    assert os.stat(cache / "libffcx_forms_done.c").st_ino == os.stat(user / "libffcx_forms_done.c").st_ino
    (cache / "libffcx_forms_killed.c").write_text("")  # a compile of this worker's killed case
    assert prepare_worker_cache(tmp_path / "jit", 0, user) == home
    assert not (cache / "libffcx_forms_killed.c").exists() and (cache / "libffcx_forms_done.c.cached").exists()
    assert prepare_worker_cache(tmp_path / "jit", "tcp://host:1/x", None).name == "tcp___host_1_x"
    assert remove_incomplete(user) == 1


@pytest.mark.parametrize("code,summary,stderr,expected", [
    (0, {"status": "completed"}, "", "completed"),
    (0, {"status": "cutoff", "message": "c hit 0"}, "", "cutoff"),
    (3, {"status": "failed", "message": "coupling iteration did not converge"}, "", "failed"),
    (2, None, "Traceback?\nerror in case x: material.poisson_ratio = 0.55: must be in (-1, 0.5)\n", "invalid"),
    (1, None, "Traceback\nMemoryError\n", "crashed"),
    (-9, None, "", "crashed"),
    (None, None, "", "timeout"),
])
def test_exit_codes_become_statuses(code, summary, stderr, expected):
    status, message = classify(code, summary, stderr, 60.0)
    assert status == expected
    assert message == {"invalid": "error in case x: material.poisson_ratio = 0.55: must be in (-1, 0.5)",
                       "crashed": "MemoryError" if code == 1 else "killed by signal 9 (SIGKILL)",
                       "timeout": "stopped after the time limit of 60 s (run.timeout_s)"}.get(
        expected, (summary or {}).get("message", ""))


def test_slurm_array_script_runs_only_unfinished_cases(tmp_path):
    assert index_ranges([0, 1, 2, 5, 7, 8, 11]) == "0-2,5,7-8,11"
    options = SlurmOptions(queue="short", account="proj", memory="2GiB", walltime="00:30:00",
                           job_extra=["--qos=low"], prologue=["module load openmpi"], max_parallel=4)
    text = array_script(tmp_path / "s.toml", tmp_path / "out", [0, 1, 3], options, ranks=2, name="demo",
                        python="/venv/bin/python", workdir=tmp_path)
    for line in ("#SBATCH --array=0-1,3%4", "#SBATCH --ntasks=2", "#SBATCH --mem=2048M", "#SBATCH --time=00:30:00",
                 "#SBATCH --partition=short", "#SBATCH --account=proj", "#SBATCH --qos=low", "module load openmpi",
                 f'--out {tmp_path / "out"} --case "$SLURM_ARRAY_TASK_ID"'):
        assert line in text, line


def test_dry_run_lists_cases_and_prints_the_slurm_job_script(tmp_path):
    path = write_sweep(tmp_path, '[grid]\n"operation.c_rate" = [1.0, 2.0]\n"material.poisson_ratio" = [0.3, 0.55]\n'
                                 "[run]\nranks = 2\n")
    done = run_cli("sweep", path, "--out", tmp_path / "out", "--dry-run", "--cluster", "slurm", "--queue", "short",
                   "--cores", "8", "--memory", "16GB", "--walltime", "02:00:00", "--job-extra=--qos=long",
                   "--prologue", "module load openmpi")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "4 to run, 0 finished, 2 invalid" in out and out.count("INVALID: material.poisson_ratio = 0.55") == 2
    assert "first command:\n  mpirun -n 2 " in out and "--set operation.c_rate=1.0" in out
    for line in ("#SBATCH -p short", "#SBATCH --cpus-per-task=8", "#SBATCH -t 02:00:00", "#SBATCH --qos=long",
                 "module load openmpi", "--nthreads 1", "--nworkers 4"):  # 8 cores / 2 ranks = 4 workers
        assert line in out, line
    assert not (tmp_path / "out" / "cases").exists()


# ------------------------------------------------------------------------------------------------
# real sweeps on a LocalCluster
# ------------------------------------------------------------------------------------------------
MIXED = """
[list]
"operation.c_rate" = [0.5, 1.0, 1.0, 2.0]
"coupling.stress_assisted_diffusion" = [false, false, true, false]
"coupling.max_iterations" = [30, 30, 1, 30]
"material.poisson_ratio" = [0.3, 0.3, 0.3, 0.55]
[plot]
metric = "peak.hoop.value_Pa"
x = "operation.c_rate"
"""


@pytest.fixture(scope="module")
def mixed_sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    path = write_sweep(root, MIXED)
    done = run_cli("sweep", path, "--out", root / "out", "--workers", "2")
    return path, root / "out", done


def rows_by_status(out: Path) -> dict:
    with open(out / "results.csv", newline="") as handle:
        return {row["status"]: row for row in csv.DictReader(handle)}


def test_failing_and_invalid_cases_are_recorded_and_the_rest_go_on(mixed_sweep):
    _, out, done = mixed_sweep
    assert done.returncode == 3, done.stderr[-3000:]  # 3: some cases have no result
    assert "sweep [" in done.stderr and "4/4" in done.stderr  # the progress bar
    rows = rows_by_status(out)
    assert sorted(rows) == ["completed", "failed", "invalid"]
    invalid = json.loads((out / rows["invalid"]["case_dir"] / "error.json").read_text())
    assert invalid["return_code"] == 2 and "material.poisson_ratio = 0.55: must be in (-1, 0.5)" in invalid["message"]
    assert not (out / rows["invalid"]["case_dir"] / "summary.json").exists()
    failed_dir = out / rows["failed"]["case_dir"]
    failed = json.loads((failed_dir / "error.json").read_text())
    assert failed["return_code"] == 3 and "coupling iteration did not converge" in failed["message"]
    assert failed["stderr_tail"] and "--set coupling.max_iterations=1" in failed["command"]
    assert json.loads((failed_dir / "summary.json").read_text())["status"] == "failed"
    assert not [p for p in (out / "cases").iterdir() if p.name.startswith(".")]  # no staging leftovers


def test_every_case_compiled_in_its_own_workers_jit_cache(mixed_sweep):
    _, out, _ = mixed_sweep
    workers = {json.loads(p.read_text())["worker"] for p in (out / "cases").glob("*/*.json")
               if p.name in ("run.json", "error.json")}
    assert workers and workers <= {"0", "1"}
    for worker in workers:
        assert list((out / ".jit" / worker / "fenics").glob("*.so")), worker
        assert not [c for c in (out / ".jit" / worker / "fenics").glob("*.c") if not Path(f"{c}.cached").exists()]


def test_table_holds_inputs_and_the_summaries_numbers(mixed_sweep):
    path, out, _ = mixed_sweep
    sweep = load_sweep(path)
    with open(out / "results.csv", newline="") as handle:
        rows = {row["case_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {c.case_id for c in sweep.cases}
    for case in sweep.cases:
        row = rows[case.case_id]
        assert float(row["operation.c_rate"]) == case.inputs["operation.c_rate"]
        assert row["coupling.stress_assisted_diffusion"] == str(case.inputs["coupling.stress_assisted_diffusion"])
        if row["status"] == "invalid":
            assert row["return_code"] == "2" and row["peak.hoop.value_Pa"] == ""
            continue
        summary = json.loads((out / row["case_dir"] / "summary.json").read_text())
        assert row["status"] == summary["status"]
        for kind, peak in summary["peak"].items():
            assert float(row[f"peak.{kind}.value_Pa"]) == peak["value_Pa"]
            assert float(row[f"peak.{kind}.radius_fraction"]) == peak["radius_fraction"]
            assert float(row[f"peak.{kind}.time_s"]) == peak["time_s"]
            assert float(row[f"peak.{kind}.position_m.z"]) == peak["position_m"][2]
        assert float(row["final_li_fraction_mean"]) == summary["final_li_fraction_mean"]
        assert int(row["mesh.cells"]) == summary["mesh"]["cells"] and float(row["wall_s"]) > 0


def test_parquet_and_plot_are_made_in_a_process_without_dolfinx(mixed_sweep):
    path, out, _ = mixed_sweep
    code = f"""
import csv, sys
from pathlib import Path
from solver.sweep import load_sweep, SweepFolder
from solver.sweep.aggregate import aggregate, read_parquet
result = aggregate(load_sweep({str(path)!r}), SweepFolder({str(out)!r}), metric="peak.radial.value_Pa")
table = read_parquet(result.parquet)
rows = list(csv.DictReader(open(result.csv)))
assert [r["case_id"] for r in table] == [r["case_id"] for r in rows]
for got, want in zip(table, rows):
    for key in ("peak.hoop.value_Pa", "operation.c_rate", "mesh.cells"):
        assert (got[key] is None and want[key] == "") or float(got[key]) == float(want[key]), key
assert isinstance(table[0]["coupling.stress_assisted_diffusion"], bool)
assert "dolfinx" not in sys.modules and "pyarrow" in sys.modules
print(result.plot, Path(result.plot).stat().st_size)
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    png, size = done.stdout.split()
    assert png.endswith("results_peak.radial.value_Pa.png") and int(size) > 5000
    assert (out / "results_peak.hoop.value_Pa.png").stat().st_size > 5000  # the sweep's own plot


def test_rerun_skips_finished_cases(mixed_sweep):
    path, out, _ = mixed_sweep
    stamps = {p: p.stat().st_mtime_ns for p in (out / "cases").glob("*/summary.json")}
    done = run_cli("sweep", path, "--out", out, "--workers", "2")
    assert done.returncode == 3 and "(4 skipped as already finished)" in done.stdout
    assert stamps == {p: p.stat().st_mtime_ns for p in (out / "cases").glob("*/summary.json")}


def processes_mentioning(text: str) -> list:
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        if any(text in arg for arg in process.info["cmdline"] or []):
            found.append(process.info)
    return found


def test_killed_sweep_leaves_no_partial_results_and_resumes(tmp_path):
    path = write_sweep(tmp_path, '[grid]\n"operation.c_rate" = [0.5, 1.0, 1.5]\n')
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-m", "solver", "sweep", str(path), "--out", str(out), "--workers", "1"],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(out.glob("cases/*/summary.json")) and time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.2)
    first = list(out.glob("cases/*/summary.json"))
    assert len(first) == 1, "the first case did not finish"
    driver.send_signal(signal.SIGTERM)  # `kill`, while the second case runs
    _, stderr = driver.communicate(timeout=120)
    assert driver.returncode == 130 and "run the same command again to resume" in stderr
    time.sleep(1.0)
    assert not processes_mentioning(str(out)), "a case process outlived the sweep"
    finished = [p for p in (out / "cases").iterdir()]
    assert all((p / "summary.json").exists() or (p / "error.json").exists() for p in finished)  # no half-written case
    assert not [p for p in finished if p.name.startswith(".")]
    stamp = first[0].stat().st_mtime_ns

    done = run_cli("sweep", path, "--out", out, "--workers", "2", "--no-plot")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"({len(finished)} skipped as already finished)" in done.stdout and "completed 3" in done.stdout
    assert first[0].stat().st_mtime_ns == stamp


@pytest.mark.slow
@pytest.mark.mpi
@pytest.mark.skipif(mpi_launcher() is None, reason="no MPI launcher installed")
def test_a_case_with_two_ranks_runs_under_mpirun_from_its_task(tmp_path):
    path = write_sweep(tmp_path, '"geometry.symmetry" = "full"\n[grid]\n"operation.c_rate" = [1.0]\n[run]\nranks = 2\n')
    env = dict(os.environ, **MPI_ENVIRONMENT)
    done = subprocess.run([sys.executable, "-m", "solver", "sweep", str(path), "--out", str(tmp_path / "out"),
                           "--no-plot"], cwd=REPO, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    (summary,) = (tmp_path / "out" / "cases").glob("*/summary.json")
    assert json.loads(summary.read_text())["mpi_ranks"] == 2
    assert json.loads((summary.parent / "run.json").read_text())["command"].startswith("mpirun -n 2 ")


# ------------------------------------------------------------------------------------------------
# data safety and security
# ------------------------------------------------------------------------------------------------
def fake_solver_command(case_dir: Path, seconds: float) -> tuple[str, ...]:
    """A stand-in for `solver run --out case_dir`: a staging folder next to it, renamed into place."""
    script = ("import json, os, sys, time, uuid; from pathlib import Path\n"
              f"final = Path({str(case_dir)!r}); staging = final.parent / f'.{{final.name}}.partial-{{uuid.uuid4().hex}}'\n"
              "staging.mkdir(parents=True); (staging / '.particle-solver-result').write_text('{\"kind\": \"run\"}')\n"
              f"time.sleep({seconds}); (staging / 'summary.json').write_text(json.dumps({{'status': 'completed'}}))\n"
              "os.rename(staging, final)\n")
    return (sys.executable, "-c", script)


def test_two_runs_of_one_case_never_remove_each_others_staging_folder(tmp_path):
    """Guards: `sweep --case K` run twice (no sweep lock on that path) removed the other run's staging folder."""
    import threading

    from solver.sweep.task import CaseTask, run_case_task

    folder = SweepFolder(tmp_path / "out")
    task = CaseTask("abc123", 0, fake_solver_command(folder.case_dir("abc123"), 3.0), str(folder.root))
    first = {}
    thread = threading.Thread(target=lambda: first.update(run_case_task(task, worker="a", jit_root=tmp_path / "jit")))
    thread.start()
    deadline = time.monotonic() + 30
    while not list(folder.cases_dir.glob(".abc123.partial-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = run_case_task(task, worker="b", jit_root=tmp_path / "jit")
    assert list(folder.cases_dir.glob(".abc123.partial-*")), "the second run removed the first one's staging folder"
    thread.join(60)
    assert second["status"] == "pending" and "another process" in second["message"]
    assert first["status"] == "completed", first
    assert folder.state("abc123").status == "completed"
    assert sorted(os.listdir(folder.cases_dir)) == ["abc123"]  # no staging folder, no lock file left


def test_a_full_disk_neither_crashes_the_driver_nor_leaves_folders_behind(tmp_path, monkeypatch):
    """Guards: writing the error record on a full disk raised in the driver, and a worker cache that could
    not be seeded stayed behind as a .<worker>.seed-* folder."""
    import errno

    from solver.sweep import jitcache, store
    from solver.sweep.task import CaseTask, run_case_task

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    folder = SweepFolder(tmp_path / "out")
    monkeypatch.setattr(store, "write_json_atomic", full)
    task = CaseTask("def456", 1, (sys.executable, "-c", "raise SystemExit(1)"), str(folder.root))
    record = run_case_task(task, worker="w", jit_root=tmp_path / "jit")
    assert record["status"] == "crashed" and "record not written" in record["message"]
    assert os.listdir(folder.cases_dir) == [] and folder.needs_run("def456")  # nothing half-written: runs again

    user = tmp_path / "user" / "fenics"
    user.mkdir(parents=True)
    for suffix in (".c", ".c.cached"):
        (user / f"libffcx_forms_done{suffix}").write_text("x")
    monkeypatch.setattr(jitcache, "_link_or_copy", full)
    with pytest.raises(OSError):
        prepare_worker_cache(tmp_path / "jit2", 0, user)
    assert os.listdir(tmp_path / "jit2") == []


def test_slurm_script_cannot_be_injected(tmp_path):
    """Guards: a newline in the sweep name went into `#SBATCH --job-name` and its next line ran."""
    evil = "demo\ntouch /tmp/pwned"
    with pytest.raises(CaseError, match="name"):
        array_script(tmp_path / "s.toml", tmp_path / "out", [0], SlurmOptions(), ranks=1, name=evil, workdir=tmp_path)
    with pytest.raises(CaseError, match="name"):
        sweep_from_dict({"base": BASE, "name": evil})
    for options, out in ((SlurmOptions(queue="q\nrm -rf ~"), tmp_path / "out"),
                         (SlurmOptions(job_extra=["--qos=low\nid"]), tmp_path / "out"),
                         (SlurmOptions(), tmp_path / "out\nid")):
        with pytest.raises(CaseError, match="one line"):
            array_script(tmp_path / "s.toml", out, [0], options, ranks=1, name="demo", workdir=tmp_path)
    text = array_script(tmp_path / "s.toml", tmp_path / "my results", [0], SlurmOptions(), ranks=1, name="demo",
                        workdir=tmp_path)
    assert "--out '" in text and "my results'" in text
    # a sweep file without a name takes its file name, made a valid job name
    path = tmp_path / "my sweep;id.toml"
    path.write_text(sweep_text('[grid]\n"operation.c_rate" = [1.0]\n'))
    assert load_sweep(path).name == "my_sweep_id"


def test_lock_file_is_created_exclusively_and_never_follows_a_link(tmp_path):
    """Guards: DIR/.lock was opened with truncation through links: a planted link overwrote another file."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    folder = SweepFolder(tmp_path / "out")
    folder.root.mkdir()
    (folder.root / ".particle-solver-result").write_text('{"kind": "sweep"}')  # a sweep folder of ours
    (folder.root / ".lock").symlink_to(victim)
    with pytest.raises(CaseError, match="link"):
        with folder.lock():
            pass
    assert victim.read_text() == "precious\n"
    (folder.root / ".lock").unlink()
    os.link(victim, folder.root / ".lock")  # a hard link is refused too
    with pytest.raises(CaseError, match="link"):
        with folder.lock():
            pass
    assert victim.read_text() == "precious\n"
    (folder.root / ".lock").unlink()
    (folder.root / ".lock").write_text("pid 999999999 on a killed driver\n")  # stale: taken over
    with folder.lock():
        with pytest.raises(CaseError, match="another sweep is running"):
            with SweepFolder(folder.root).lock():
                pass
    assert not (folder.root / ".lock").exists()


def test_launcher_with_a_bad_placeholder_is_a_clear_error():
    for launcher in ("mpirun -n {ranks} {hosts}", "srun -n {ranks", "mpirun -n {ranks} '-x"):
        with pytest.raises(CaseError, match="run.launcher"):
            sweep_from_dict({"base": BASE, "run": {"launcher": launcher}})


def test_the_local_cluster_talks_tls():
    """As the sweep uses it: a client runs a task over TLS, then closes before the cluster. (Closing a cluster that
    never had a client raises CommClosedError on Python 3.13 with cryptography 51; the sweep never does that.)"""
    from distributed import Client

    from solver.sweep.engine import make_cluster

    with make_cluster("local", 1, 1) as cluster, Client(cluster) as client:
        assert cluster.scheduler_address.startswith("tls://")
        assert client.submit(abs, -2).result() == 2
