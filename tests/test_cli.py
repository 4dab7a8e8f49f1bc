"""The command line as a user meets it: outputs of a run, clear errors, failed solves kept, no half-written folders."""
import csv
import json

import pytest

COARSE = ["--set", "mesh.cell_size_fraction=0.3", "--set", "mesh.surface_cell_size_fraction=0.15",
          "--set", "time.steps=6"]
PEAK_KEYS = {"value_Pa", "position_m", "radius_fraction", "time_s"}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from conftest import CASES, run_cli

    out = tmp_path_factory.mktemp("run") / "result"
    done = run_cli("run", CASES / "verification_sphere.toml", "--out", out, *COARSE)
    assert done.returncode == 0, done.stderr
    return out, done


def test_run_writes_summary_with_located_peaks(finished_run):
    out, done = finished_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["case_name"] == "verification_sphere"
    assert summary["case"]["material"]["young_modulus_Pa"] == pytest.approx(150e9)
    assert set(summary["peak"]) == {"von_mises", "max_principal", "hoop", "radial", "hydrostatic"}
    for peak in summary["peak"].values():
        assert PEAK_KEYS <= set(peak)
    # charging: the surface is in tension (hoop > 0 at r = R), the centre in compression
    assert summary["peak"]["hoop"]["value_Pa"] > 0 and summary["peak"]["hoop"]["radius_fraction"] > 0.99
    assert summary["peak"]["radial"]["value_Pa"] < 0 and summary["peak"]["radial"]["radius_fraction"] < 0.01
    conc = summary["concentration"]
    assert conc["min_mol_m3"] <= conc["mean_mol_m3"] <= conc["max_mol_m3"]
    assert summary["mesh"]["cells"] > 0 and summary["mesh"]["dofs"]["displacement"] > 0
    assert summary["timing_s"]["total"] > 0
    assert "peak hoop" in done.stdout
    # provenance: the stack that made the numbers, and a hash that changes with any input
    from solver.provenance import case_hash

    origin = summary["provenance"]
    assert origin["fenicsx"].startswith("dolfinx ") and origin["package"].startswith("particle-solver ")
    assert origin["case_sha256"] == case_hash(summary["case"]) != case_hash({**summary["case"], "name": "other"})
    assert origin["command_line"][:2] == ["python -m solver", "run"]


def test_run_writes_timeseries_fields_and_pictures(finished_run):
    out, _ = finished_run
    with open(out / "timeseries.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 7  # t = 0 and 6 steps
    times = [float(r["time_s"]) for r in rows]
    assert times == sorted(times) and times[0] == 0.0
    mean = [float(r["mean_li_fraction"]) for r in rows]
    assert mean[-1] < mean[0]  # charging extracts Li
    assert float(rows[-1]["surface_concentration_mol_m3"]) < float(rows[-1]["centre_concentration_mol_m3"])
    for name in ("fields.xdmf", "fields.h5", "fields_final.vtu", "cross_section_concentration_mol_m3.png",
                 "cross_section_von_mises_Pa.png", "peak_stress_vs_time.png"):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.parent.glob(".result.partial-*"))


def test_bad_case_gives_one_clear_line_without_traceback(cli, write_case, tmp_path):
    case = write_case("[material]\npoisson_ratio = 0.55\n")
    done = cli("check", case)
    assert done.returncode == 2
    assert "material.poisson_ratio = 0.55" in done.stderr and "(-1, 0.5)" in done.stderr
    assert "Traceback" not in done.stderr
    done = cli("run", case, "--out", tmp_path / "never")
    assert done.returncode == 2 and not (tmp_path / "never").exists()
    done = cli("check", case, "--set", "material.poisson_ratio=0.3", "--set", "operation.wetted=1")
    assert done.returncode == 2 and "operation.wetted" in done.stderr


def test_unknown_surface_name_is_a_case_error(cli, write_case, tmp_path):
    case = write_case('[operation]\nwetted_surfaces = ["pore_surface"]\n')
    done = cli("run", case, "--out", tmp_path / "out", *COARSE)
    assert done.returncode == 2
    assert "'pore_surface' is not a surface of this geometry" in done.stderr and "outer_surface" in done.stderr
    assert not (tmp_path / "out").exists()


def test_failed_solve_says_why_and_keeps_what_was_computed(cli, write_case, tmp_path):
    """Guards: a solve failure must not lose the steps already done nor leave a partial folder."""
    case = write_case("[coupling]\nstress_assisted_diffusion = true\nmax_iterations = 1\n")
    out = tmp_path / "failed"
    done = cli("run", case, "--out", out, "--no-pictures", *COARSE)
    assert done.returncode == 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert "coupling iteration did not converge" in summary["message"]
    assert (out / "timeseries.csv").read_text().count("\n") >= 2  # header + the t = 0 state
    assert not list(tmp_path.glob(".failed.partial-*"))


def test_linear_solver_failure_reports_the_petsc_reason():
    from conftest import laplacian_1d
    from mpi4py import MPI

    from solver import linalg
    from solver.errors import SolveError

    A = laplacian_1d(50)
    ksp = linalg.make_ksp(MPI.COMM_SELF, "failing_", "cg_jacobi", 1e-12, A)
    ksp.setTolerances(max_it=1)
    b, x = A.createVecs()
    b.set(1.0)
    with pytest.raises(SolveError, match="DIVERGED_(MAX_IT|ITS)"):
        linalg.solve(ksp, b, x, "toy")


def test_a_round_off_breakdown_at_a_converged_answer_is_accepted_and_a_real_one_fails():
    """CG + GAMG stopped once with DIVERGED_INDEFINITE_PC at a residual of 6.5e-20 (dolfinx 0.9): an answer. A KSP
    that reports that breakdown after every solve: accepted when the true residual meets rtol, a SolveError naming
    the reason when the solve stopped early (one iteration)."""
    from conftest import laplacian_1d
    from mpi4py import MPI
    from petsc4py import PETSc

    from solver import linalg
    from solver.errors import SolveError

    class BreaksDown(PETSc.KSP):
        def getConvergedReason(self):
            return PETSc.KSP.ConvergedReason.DIVERGED_INDEFINITE_PC

    A = laplacian_1d(50)
    b, x = A.createVecs()
    b.set(1.0)
    ksp = BreaksDown().create(MPI.COMM_SELF)
    ksp.setOperators(A)
    ksp.setType("cg")
    ksp.getPC().setType("jacobi")
    ksp.setTolerances(rtol=1e-10)
    assert linalg.solve(ksp, b, x, "toy") > 1
    assert linalg.true_relative_residual(ksp, b, x) <= 1e-10
    x.set(0.0)
    ksp.setTolerances(max_it=1)
    with pytest.raises(SolveError, match="DIVERGED_INDEFINITE_PC"):
        linalg.solve(ksp, b, x, "toy")


def test_mesh_command_writes_geometry_json(cli, write_case, tmp_path):
    done = cli("mesh", write_case(""), "--out", tmp_path / "mesh", "--set", "mesh.cell_size_fraction=0.3",
               "--set", "mesh.surface_cell_size_fraction=0.15")
    assert done.returncode == 0, done.stderr
    geometry = json.loads((tmp_path / "mesh" / "geometry.json").read_text())
    assert geometry["cells"] > 0


def test_verify_command_prints_the_comparison(cli, write_case):
    # a coarse mesh and 4 steps: ~8 % off the series solution, so it passes a 20 % tolerance
    done = cli("verify", write_case(""), "--set", "mesh.cell_size_fraction=0.3",
               "--set", "mesh.surface_cell_size_fraction=0.15", "--set", "time.steps=4", "--tau", "0.2",
               "--tolerance-percent", "20")
    assert done.returncode == 0, done.stderr
    assert "hoop(R) FE" in done.stdout and "0.200" in done.stdout
    assert "reference: series solution" in done.stdout and "PASS: largest error" in done.stdout
    # the same coarse run against a tolerance it does not meet: FAIL and exit code 1
    done = cli("verify", write_case(""), "--set", "mesh.cell_size_fraction=0.3",
               "--set", "mesh.surface_cell_size_fraction=0.15", "--set", "time.steps=4", "--tau", "0.2",
               "--tolerance-percent", "1e-6")
    assert done.returncode == 1 and "FAIL: largest error" in done.stdout
    done = cli("verify", write_case('[operation]\nmode = "potentiostatic"\nsurface_li_fraction = 0.5\n'))
    assert done.returncode == 2 and "operation.mode = 'potentiostatic'" in done.stderr


def test_version_and_the_program_name_in_help(cli):
    import subprocess
    import sys
    from pathlib import Path

    import solver

    done = cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"particle-solver {solver.__version__}"
    assert cli("--help").stdout.startswith("usage: python -m solver ")
    script = Path(sys.executable).parent / "particle-solver"   # the console script pip installs beside python
    helped = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert helped.stdout.startswith("usage: particle-solver ")
