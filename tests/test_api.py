"""The Python API: Case from files or code with the file's validation, solver.run -> Result, the docs example."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import CASES, REPO
from solver.case import load_case, read_case_file
from solver.errors import CaseError

VERIFICATION = CASES / "verification_sphere.toml"
COARSE = {"mesh.cell_size_fraction": 0.3, "mesh.surface_cell_size_fraction": 0.15, "time.steps": 4}


def test_import_solver_and_building_cases_never_load_dolfinx():
    code = ("import sys, solver; case = solver.Case.from_toml(sys.argv[1]).with_overrides({'time.steps': 3}); "
            "assert case['time']['steps'] == 3; assert solver.Result.__module__ == 'solver.api'; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dolfinx', 'mpi4py', 'petsc4py')))")
    done = subprocess.run([sys.executable, "-c", code, str(VERIFICATION)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_overrides_as_dict_strings_or_sections_give_the_same_case():
    import solver

    by_dict = solver.Case.from_toml(VERIFICATION, {"material.young_modulus_GPa": 120, "time.steps": 7})
    by_text = solver.Case.from_toml(VERIFICATION, ["material.young_modulus_GPa=120", "time.steps=7"])
    base = solver.Case.from_toml(VERIFICATION)
    by_section = base.with_overrides(material={"young_modulus_GPa": 120}, time={"steps": 7})
    assert by_dict.resolved == by_text.resolved == by_section.resolved
    assert by_dict["material"]["young_modulus_Pa"] == pytest.approx(120e9)
    assert by_dict.resolved == load_case(VERIFICATION, ["material.young_modulus_GPa=120", "time.steps=7"])
    assert base["time"]["steps"] == 40  # with_overrides made a new case
    assert by_section.raw["material"]["young_modulus_GPa"] == 120  # raw keeps the units as written


def test_case_from_dict_is_validated_like_a_file():
    import solver

    raw = read_case_file(VERIFICATION)
    assert solver.Case.from_dict(raw).resolved == load_case(VERIFICATION)
    raw["material"]["poisson_ratio"] = 0.55
    with pytest.raises(CaseError) as from_code:
        solver.Case.from_dict(raw)
    with pytest.raises(CaseError) as from_file:
        load_case(VERIFICATION, ["material.poisson_ratio=0.55"])
    assert str(from_code.value) == str(from_file.value) == "material.poisson_ratio = 0.55: must be in (-1, 0.5)"
    laid_over = solver.Case.from_dict({"base": str(VERIFICATION), "operation": {"c_rate": 3.0}})
    assert laid_over["operation"]["c_rate"] == 3.0 and laid_over["material"]["poisson_ratio"] == 0.3
    with pytest.raises(CaseError, match="time.steps is not a table"):
        laid_over.with_overrides({"time.steps.x": 1})
    with pytest.raises(CaseError, match="operation.wetted: unknown key"):
        laid_over.with_overrides({"operation.wetted": 1})


def test_run_returns_the_result_of_the_folder(tmp_path):
    import solver
    from solver import api

    assert solver.run is api.run
    case = solver.Case.from_toml(VERIFICATION, COARSE)
    result = solver.run(case, out=tmp_path / "ok")
    assert isinstance(result, solver.Result) and result.status == "completed"
    assert result.summary == json.loads((tmp_path / "ok" / "summary.json").read_text())
    series = result.timeseries
    assert series.shape == (5,) and series["time_s"][0] == 0.0
    assert series["peak_hoop_Pa"].max() == pytest.approx(result.peaks["hoop"]["value_Pa"], rel=1e-9)
    assert result.fields["final"].name == "fields_final.vtu" and result.fields["xdmf"].exists()
    assert result.fields["pvd"].name == "fields.pvd" and result.fields["mesh"].name == "mesh.xdmf"
    assert set(result.fields["peaks"]) == set(result.peaks) and all(p.is_file() for p in result.fields["peaks"].values())
    assert not list(tmp_path.glob("*.png")) and not list((tmp_path / "ok").glob("*.png"))  # pictures=False
    reopened = solver.Result.open(tmp_path / "ok")
    assert np.array_equal(reopened.timeseries["mean_li_fraction"], series["mean_li_fraction"])

    failing = case.with_overrides({"coupling.stress_assisted_diffusion": True, "coupling.max_iterations": 1})
    failed = solver.run(failing, out=tmp_path / "failed")
    assert failed.status == "failed" and "coupling iteration did not converge" in failed.summary["message"]


def docs_example() -> str:
    text = (REPO / "docs" / "sweeps.md").read_text()
    match = re.search(r"<!-- api-example.*?-->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/sweeps.md lost its api-example block"
    return match.group(1)


def test_the_documented_example_runs_as_written(tmp_path):
    (tmp_path / "cases").symlink_to(CASES)
    done = subprocess.run([sys.executable, "-c", docs_example()], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "completed" and lines[1].startswith("peak hoop stress ")
    summary = json.loads((tmp_path / "results" / "api_example" / "summary.json").read_text())
    assert summary["case"]["operation"]["c_rate"] == 2.0 and summary["time"]["steps"] == 4
    assert f"{summary['peak']['hoop']['value_Pa'] / 1e6:.1f} MPa" in lines[1]
    assert lines[3].endswith("results/api_example/fields_final.vtu")
