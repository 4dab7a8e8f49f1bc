"""Data safety: the tool never removes, moves or overwrites what it did not write; a failed solve keeps
its summary; a loose linear solve is not reported as an answer; a killed run leaves no staging folder;
JSON is valid JSON."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import CASES, REPO, laplacian_1d, run_cli

COARSE = ["--set", "mesh.cell_size_fraction=0.3", "--set", "mesh.surface_cell_size_fraction=0.15",
          "--no-pictures"]
CASE = CASES / "verification_sphere.toml"
MARKER = ".particle-solver-result"


def user_folder(tmp_path, name="thesis"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "chapter1.tex").write_text("years of work\n")
    return folder


def assert_refused(done, path):
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and str(path) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def hidden_leftovers(folder):
    return [p.name for p in folder.iterdir() if ".old-" in p.name or ".partial-" in p.name]


@pytest.mark.parametrize("command", ["run", "mesh"])
def test_out_on_a_users_folder_leaves_it_untouched(tmp_path, command):
    """Guards: `--out ~/thesis` moved the folder aside and deleted it."""
    folder = user_folder(tmp_path)
    done = run_cli(command, CASE, "--out", folder, *COARSE[:4])
    assert_refused(done, folder)
    assert "not written by this tool" in done.stderr
    assert sorted(os.listdir(folder)) == ["chapter1.tex"] and (folder / "chapter1.tex").read_text() == "years of work\n"
    assert not hidden_leftovers(tmp_path)


def test_out_on_a_file_or_the_working_folder_is_refused(tmp_path):
    """Guards: a file given as --out was hidden as .NAME.old-*; `--out .` would delete the working folder."""
    work = user_folder(tmp_path, "work")
    target = work / "notes.txt"
    target.write_text("mine\n")
    for out in (target, ".", ".."):
        done = run_cli("run", CASE, "--out", out, *COARSE, cwd=work)
        assert done.returncode == 2, (out, done.stderr)
        assert "Traceback" not in done.stderr
    assert target.read_text() == "mine\n" and sorted(os.listdir(work)) == ["chapter1.tex", "notes.txt"]
    assert not hidden_leftovers(work) and not hidden_leftovers(tmp_path)


def test_sweep_out_on_a_users_folder_is_refused(tmp_path):
    folder = user_folder(tmp_path)
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'base = "{CASE}"\n[grid]\n"operation.c_rate" = [1.0]\n')
    for extra in ([], ["--aggregate-only"], ["--case", "0"]):
        done = run_cli("sweep", sweep, "--out", folder, "--no-progress", *extra)
        assert_refused(done, folder)
    assert sorted(os.listdir(folder)) == ["chapter1.tex"]
    # the job-array script: never over a file of the user's, again over our own
    script = folder / "chapter1.tex"
    done = run_cli("sweep", sweep, "--out", tmp_path / "out", "--emit-slurm-array", script)
    assert_refused(done, script)
    assert script.read_text() == "years of work\n"
    for _ in range(2):
        done = run_cli("sweep", sweep, "--out", tmp_path / "out", "--emit-slurm-array", tmp_path / "array.sh")
        assert done.returncode == 0, done.stderr


def test_study_out_on_a_users_folder_is_refused(tmp_path):
    folder = user_folder(tmp_path)
    done = subprocess.run([sys.executable, "-m", "solver.studies.lrmo", "--out", str(folder), "--skip-3d"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and str(folder) in done.stderr and "Traceback" not in done.stderr
    assert sorted(os.listdir(folder)) == ["chapter1.tex"]


def test_solve_failing_at_t0_keeps_a_failed_summary_and_its_folder_may_be_replaced(tmp_path, monkeypatch):
    """Guards: a solve failing in the first mechanics solve exited 3 and discarded the whole folder."""
    monkeypatch.setenv("PETSC_OPTIONS", "-mechanics_ksp_divtol 1e-3")  # the t = 0 mechanics solve diverges
    out = tmp_path / "failed"
    done = run_cli("run", CASE, "--out", out, *COARSE, "--set", "time.steps=2")
    assert done.returncode == 3, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["solver_reason"] == "DIVERGED_DTOL"
    assert "mechanics" in summary["message"] and summary["case"]["name"] == "verification_sphere"
    assert (out / MARKER).is_file() and not hidden_leftovers(tmp_path)
    assert "Traceback" not in done.stderr
    # a result folder of this tool may be replaced: the earlier one is gone, the new one complete
    (out / "stale.txt").write_text("from the earlier run\n")
    done = run_cli("run", CASE, "--out", out, *COARSE, "--set", "time.steps=2")
    assert done.returncode == 3 and not (out / "stale.txt").exists() and (out / "summary.json").is_file()
    assert not hidden_leftovers(tmp_path)


def test_killed_run_removes_its_staging_folder(tmp_path):
    """Guards: `kill` of a CLI run left its .partial-* staging folder behind."""
    out = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "solver", "run", str(CASE), "--out", str(out), *COARSE,
                                "--set", "time.steps=400"], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None and \
            not list(tmp_path.glob(".killed.partial-*/timeseries.csv")):
        time.sleep(0.2)
    assert list(tmp_path.glob(".killed.partial-*")), "the run did not start"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert not list(tmp_path.iterdir())


def test_a_linear_solve_that_is_not_an_answer_fails():
    """Guards: linear_rtol = 0.99 'completed' with a peak von Mises of 1e-12 MPa. A loose tolerance is
    refused in the case, and a solve whose true residual is far from zero raises SolveError."""
    from mpi4py import MPI

    from solver import linalg
    from solver.case import load_case
    from solver.errors import CaseError, SolveError

    with pytest.raises(CaseError, match="linear_rtol"):
        load_case(CASE, ["solver.linear_rtol=0.99"])
    A = laplacian_1d(200)
    b, x = A.createVecs()
    b.set(1.0)
    ksp = linalg.make_ksp(MPI.COMM_SELF, "loose_", "cg_jacobi", 0.5, A)
    with pytest.raises(SolveError, match="true residual") as caught:
        linalg.solve(ksp, b, x, "toy")
    assert caught.value.reason == "TRUE_RESIDUAL_TOO_LARGE"
    x.set(0.0)
    ksp = linalg.make_ksp(MPI.COMM_SELF, "tight_", "cg_jacobi", 1e-10, A)
    linalg.solve(ksp, b, x, "toy")
    assert linalg.true_relative_residual(ksp, b, x) < 1e-8


def test_json_files_hold_no_infinity(tmp_path):
    """Guards: summary.json (and sweep records) held `Infinity`, which is not JSON."""
    from solver.sweep.store import write_json_atomic
    from solver.writers import write_json

    data = {"case": {"time": {"dt_max_s": float("inf")}}, "value": float("nan"), "low": -float("inf")}
    write_json(tmp_path / "summary.json", data)
    write_json_atomic(tmp_path / "error.json", data)

    def strict(name):
        raise ValueError(f"{name} is not JSON")
    for name in ("summary.json", "error.json"):
        read = json.loads((tmp_path / name).read_text(), parse_constant=strict)
        assert read == {"case": {"time": {"dt_max_s": "inf"}}, "value": "nan", "low": "-inf"}
