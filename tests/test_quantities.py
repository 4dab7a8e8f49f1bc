"""solver/quantities.py: the one registry of output quantities, read by post-processing, the writers, the
renderer and the reduced models.

- importable without the FE stack (the renderer's process must never load dolfinx);
- every registered quantity reaches a 3D run's summary, timeseries.csv and field files, and a reduced run's;
- adding a quantity is one entry: a toy `tresca` registered in-process reaches the sampled peaks, the summary,
  the timeseries row and columns, the field files and the renderer's label lookup, no other module edited.
"""
import csv
import json
import subprocess
import sys
import textwrap

import meshio
import numpy as np
import pytest
from mpi4py import MPI

from conftest import CASES, REPO
import solver.extensions  # noqa: F401  (its section modules register the extensions' quantities)
from solver import quantities
from solver.case import load_case
from solver.pipeline import run_case

QUIET = ["output.pictures=false", "output.progress=false", "time.steps=3"]
BUILT_IN = ["von_mises", "max_principal", "hoop", "radial", "hydrostatic", "concentration_mol_m3", "li_fraction",
            "displacement_m"]


def tresca_stress(sigma, points, radius_m):
    eigenvalues = quantities.symmetric_eigenvalues(sigma)
    return eigenvalues[:, 2] - eigenvalues[:, 0]


# the extensions' quantities: only where their extension runs (3D)
EXTENSION_QUANTITIES = {q.name for q in quantities.all_quantities() if q.sampled == "extension"}
TRESCA = quantities.stress_quantity("tresca", "Tresca stress", "sigma_T", tresca_stress, cmap="magma", signed=False,
                                    colour="#000000")


def dotted(summary: dict, path: str):
    for key in path.split("."):
        summary = summary[key]
    return summary


def test_the_registry_and_the_renderer_import_without_dolfinx_petsc_or_mpi():
    code = ("import sys\nimport solver.quantities, solver.render.data, solver.render.curves\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dolfinx', 'mpi4py', 'petsc4py', 'ufl')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_built_in_quantities_in_their_fixed_order_then_the_extensions():
    names = [q.name for q in quantities.all_quantities()]
    assert names[:len(BUILT_IN)] == BUILT_IN
    assert {"o2_mobile", "o2_trapped", "gb_normal_traction"} <= set(names[len(BUILT_IN):])
    assert quantities.get("o2_mobile").label == "O2 concentration (mol/m^3)"
    assert quantities.get("von_mises").label == "von Mises stress (MPa)"
    assert quantities.get("li_fraction").label == "Li fraction"
    assert [q.peak for q in quantities.peak_quantities()] == ["max", "max", "max", "max_magnitude_signed",
                                                              "max_magnitude_signed"]


def test_timeseries_columns_keep_their_names_and_order():
    assert quantities.timeseries_columns() == (
        "time_s", "dt_s", "state_of_charge", "mean_li_fraction",
        "peak_von_mises_Pa", "peak_max_principal_Pa", "peak_hoop_Pa", "peak_radial_Pa", "peak_hydrostatic_Pa",
        "surface_concentration_mol_m3", "centre_concentration_mol_m3", "coupling_iterations")


def test_a_name_taken_twice_is_refused_and_the_registry_is_restored():
    with pytest.raises(ValueError, match="already registered"):
        quantities.register(quantities.stress_quantity("von_mises", "other", "s", tresca_stress))
    before = quantities.all_quantities()
    with quantities.registered(TRESCA):
        assert quantities.all_quantities()[-1] is TRESCA
    assert quantities.all_quantities() == before


def test_the_peak_rules():
    radial = quantities.get("radial")
    hoop = quantities.get("hoop")
    values = np.array([1.0, -3.0, 2.0])
    assert radial.pick(values) == 1 and hoop.pick(values) == 2
    assert radial.beats(-3.0, 2.0) and not hoop.beats(-3.0, 2.0)


def check_outputs(summary: dict, out, skip=()):
    """Every registered quantity (but those in `skip`) in the summary, timeseries.csv and the final field file."""
    with open(out / "timeseries.csv", newline="") as fh:
        header = next(csv.reader(fh))
    on_disk = json.loads((out / "summary.json").read_text())
    point_data = meshio.read(out / "fields_final.vtu").point_data
    for q in quantities.all_quantities():
        if q.name in skip:
            continue
        if q.summary_key:
            assert dotted(on_disk, q.summary_key) is not None, q.name
            assert dotted(summary, q.summary_key) is not None, q.name
        assert set(q.columns) <= set(header), q.name
        if q.field_name:
            assert q.field_name in point_data, q.name
            assert np.isfinite(point_data[q.field_name]).all(), q.name
    assert tuple(header) == quantities.timeseries_columns()


def test_every_quantity_reaches_the_outputs_of_a_3d_run_with_oxygen(tmp_path):
    case = load_case(CASES / "verification_sphere.toml", [*QUIET, "oxygen.diffusivity_m2_s=1e-18",
                                                          "mesh.cell_size_fraction=0.3",
                                                          "mesh.surface_cell_size_fraction=0.2"])
    summary = run_case(case, tmp_path / "run", MPI.COMM_SELF, render=False)
    assert summary["status"] == "completed"
    check_outputs(summary, tmp_path / "run", skip=EXTENSION_QUANTITIES - {"o2_mobile", "o2_trapped"})


@pytest.mark.parametrize("formulation", ["spherical_1d", "axisymmetric"])
def test_every_quantity_reaches_the_outputs_of_a_reduced_run(tmp_path, formulation):
    case = load_case(CASES / "verification_sphere.toml", [*QUIET, f'solver.formulation="{formulation}"'])
    summary = run_case(case, tmp_path / "run", MPI.COMM_SELF, render=False)
    assert summary["status"] == "completed"
    check_outputs(summary, tmp_path / "run", skip=EXTENSION_QUANTITIES)


def test_a_toy_quantity_flows_to_peaks_timeseries_and_fields_of_a_run(tmp_path):
    """One entry (registered in-process, then restored): no other module edited."""
    case = load_case(CASES / "verification_sphere.toml", [*QUIET, 'solver.formulation="spherical_1d"'])
    with quantities.registered(TRESCA):
        summary = run_case(case, tmp_path / "run", MPI.COMM_SELF, render=False)
        check_outputs(summary, tmp_path / "run", skip=EXTENSION_QUANTITIES)
    tresca = summary["peak"]["tresca"]
    # sigma_r, sigma_t, sigma_t: Tresca = |sigma_t - sigma_r| = von Mises, up to the round-off of the two formulas
    # (the tensor's eigenvalues vs the closed form: 5.7e-9 relative with numpy 2.5)
    assert tresca["value_Pa"] == pytest.approx(summary["peak"]["von_mises"]["value_Pa"], rel=1e-7)
    with open(tmp_path / "run" / "timeseries.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert float(rows[-1]["peak_tresca_Pa"]) > 0
    assert "tresca" not in {q.name for q in quantities.all_quantities()}


def test_a_toy_quantity_reaches_the_sampled_peaks_and_the_timeseries_row():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(50, 3, 3))
    sigma = a + np.swapaxes(a, 1, 2)
    points = rng.normal(size=(50, 3))
    with quantities.registered(TRESCA):
        measures = quantities.stress_measures(sigma, points, 1.0)
        peaks = quantities.local_peaks(measures, points)
        assert peaks["tresca"][0] == pytest.approx(tresca_stress(sigma, points, 1.0).max())
        row = quantities.timeseries_row(1.0, 0.5, 0.1, peaks, {"mean_mol_m3": 1.0, "surface_mol_m3": 2.0,
                                                                "centre_mol_m3": 0.5}, 10.0, 1)
        assert row["peak_tresca_Pa"] == peaks["tresca"][0]
        assert set(quantities.timeseries_columns()) == set(row)
        # after the other peaks, before the concentrations
        columns = quantities.timeseries_columns()
        assert columns.index("peak_tresca_Pa") == columns.index("peak_hydrostatic_Pa") + 1
    assert "tresca" not in quantities.stress_measures(sigma, points, 1.0)


def test_the_renderer_reads_labels_units_colours_and_peaks_from_the_registry(tmp_path):
    """In a fresh process (the renderer never shares one with dolfinx), with the toy quantity registered there."""
    (tmp_path / "summary.json").write_text(json.dumps({
        "case_name": "toy", "peak": {"tresca": {"value_Pa": 2e8, "position_m": [1e-6, 0, 0], "radius_fraction": 0.2,
                                                "time_s": 1.0}}}))
    (tmp_path / "timeseries.csv").write_text("time_s,peak_von_mises_Pa,peak_tresca_Pa\n0,1e6,2e6\n60,3e6,4e6\n")
    code = textwrap.dedent(f"""
        import sys
        from solver import quantities
        TRESCA = quantities.stress_quantity(
            "tresca", "Tresca stress", "sigma_T", lambda sigma, points, radius_m: sigma[:, 0, 0], cmap="magma",
            signed=False, colour="#000000")
        from solver.render import curves, data
        with quantities.registered(TRESCA):
            style = data.field_style("tresca_Pa")
            assert (style.label, style.unit, style.scale, style.cmap, style.signed) == (
                "Tresca stress", "MPa", 1e-6, "magma", False), style
            assert data.resolve_field("tresca", ["tresca_Pa", "von_mises_Pa"]) == "tresca_Pa"
            assert data.ResultFolder.open({str(tmp_path)!r}).peak("tresca_Pa")["value_Pa"] == 2e8
            _, series = curves.curve_series(data.read_timeseries(data.Path({str(tmp_path)!r}) / "timeseries.csv"),
                                            "time")
            assert [(s.label, s.quantity.colour) for s in series] == [
                ("von Mises stress", None), ("Tresca stress", "#000000")], series
        assert data.field_style("o2_mol_m3").title == "O2 concentration (mol/m³)"
        assert data.field_style("hoop_Pa").title == "hoop stress (MPa)\\ntension > 0"
        print("ok", sorted(m for m in sys.modules if m.split('.')[0] in ('dolfinx', 'mpi4py', 'petsc4py')))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok []"


def test_radially_symmetric_states_use_the_closed_forms_or_else_the_tensor_measure():
    """The 1D models (spherical1d.SphericalResult.field, the kinetic case's stress fields) read the registry too."""
    sigma_r = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]]) * 1e8
    sigma_t = np.array([[1.0, 4.0, -3.0], [0.25, 2.0, 1.0]]) * 1e8
    r = np.array([0.0, 0.5, 1.0]) * 1e-6
    with quantities.registered(TRESCA):
        measures = quantities.spherical_measures(sigma_r, sigma_t, r)
    assert list(measures) == [q.name for q in quantities.stress_quantities()] + ["tresca"]
    np.testing.assert_array_equal(measures["von_mises"], np.abs(sigma_t - sigma_r))
    np.testing.assert_array_equal(measures["max_principal"], np.maximum(sigma_r, sigma_t))
    np.testing.assert_array_equal(measures["radial"], sigma_r)
    np.testing.assert_array_equal(measures["hoop"], sigma_t)
    np.testing.assert_allclose(measures["tresca"], np.abs(sigma_t - sigma_r), rtol=1e-12, atol=1e-6)
