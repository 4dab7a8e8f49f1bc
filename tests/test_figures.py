"""Publication figures (solver/figure_style.py and its users): one house style, vector files beside the PNG,
coinciding curves that stay distinguishable, labels from the quantity registry and the schema, field files and
pictures at the time of each peak, and --out that never replaces a user's file.

Guards what a researcher found in the first version: five legend entries over two or three visible lines (curves
coincide on a sphere), a hydrostatic "largest magnitude with its sign" curve whose sign jump looked like a bug,
raw dotted keys and "o2" / "mol/m^3" on axes, "SOC = 1.04" in titles, red/green coding without a legend, raster
output only, field pictures of the final state only. Drawing with VTK (solver.render) runs in a subprocess: this
process may hold dolfinx.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from solver import figure_style, outputs, oxygen_section, quantities  # noqa: F401  (oxygen_section: O2's quantities)
from solver.errors import OutputError

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "cases"


def _python(code: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               VTK_DEFAULT_OPENGL_WINDOW="vtkOSOpenGLRenderWindow")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _assert_vector_files(png: Path) -> str:
    """PNG, PDF and SVG of one figure exist, are well-formed and carry the tool's signature; returns the SVG text."""
    pdf, svg = png.with_suffix(".pdf"), png.with_suffix(".svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    root = ElementTree.parse(svg).getroot()
    assert root.tag.endswith("svg")
    for path in (png, pdf, svg):
        assert outputs.written_by_tool(path), path
    return svg.read_text()


# ------------------------------------------------------------------------------------------------ the house style
def test_the_house_style_draws_in_the_palette_and_writes_png_pdf_and_svg(tmp_path):
    import matplotlib

    before = dict(matplotlib.rcParams)
    with figure_style.style():
        assert matplotlib.rcParams["xtick.direction"] == "in" and matplotlib.rcParams["svg.fonttype"] == "none"
        fig, ax = figure_style.figure("column")
        assert tuple(fig.get_size_inches()) == pytest.approx((3.5, 2.625))
        for i in range(5):
            ax.plot(np.arange(30), np.arange(30) * (i + 1), **figure_style.series_style(i, 5, 30))
        written = figure_style.save(fig, tmp_path / "style.png")
    assert matplotlib.rcParams["xtick.direction"] == before["xtick.direction"]   # a notebook's settings come back
    assert [p.name for p in written] == ["style.png", "style.pdf", "style.svg"]
    svg = _assert_vector_files(written[0]).lower()
    for colour in figure_style.PALETTE[:5]:
        assert colour.lower() in svg, colour
    with pytest.raises(ValueError, match="must end in .png"):
        figure_style.save(fig, tmp_path / "style.jpg")


def test_the_palette_is_okabe_ito_and_pass_fail_is_not_red_against_green():
    assert figure_style.PALETTE[:7] == ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
    assert {figure_style.PASS_COLOUR, figure_style.FAIL_COLOUR} == {"#0072B2", "#D55E00"}
    # the built-in stresses take the palette in their order (no quantity fixes its own colour)
    assert all(q.colour is None for q in quantities.peak_quantities())


def test_coinciding_series_get_their_own_line_style_marker_and_marker_positions():
    many = [figure_style.series_style(i, 5, 200) for i in range(5)]
    assert len({(s["color"], str(s["linestyle"]), s["marker"]) for s in many}) == 5
    assert len({str(s["linestyle"]) for s in many}) == 5 and len({s["marker"] for s in many}) == 5
    offsets = [s["markevery"][0] for s in many]
    assert len(set(offsets)) == 5 and len({s["markevery"][1] for s in many}) == 1   # shifted, same spacing
    few = [figure_style.series_style(i, 5, 6) for i in range(5)]   # every point marked: nested marker sizes
    sizes = [s["markersize"] for s in few]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 5


def test_a_signed_peak_breaks_where_its_sign_flips_but_not_at_the_unloaded_start():
    x = np.arange(6.0)
    bx, by = figure_style.break_at_sign_changes(x, np.array([1e-9, 50.0, 125.0, -130.0, -120.0, 80.0]))
    assert np.isnan(by).sum() == 2 and np.flatnonzero(np.isnan(by)).tolist() == [3, 6]
    assert np.array_equal(by[~np.isnan(by)], [1e-9, 50.0, 125.0, -130.0, -120.0, 80.0])
    _, same = figure_style.break_at_sign_changes(x, np.array([1e-9, -50.0, -125.0, -130.0, -120.0, -80.0]))
    assert not np.isnan(same).any()


def test_labels_come_from_the_quantity_registry_and_the_schema():
    from solver.sweep.plot import key_axis, metric_axis

    assert figure_style.quantity_label(quantities.get("o2_mobile")) == "O₂ concentration (mol/m³)"
    assert figure_style.quantity_label(quantities.get("von_mises")) == "von Mises stress (MPa)"
    assert metric_axis("peak.von_mises.value_Pa") == (1e-6, "peak von Mises stress (MPa)")
    assert metric_axis("peak.hoop.time_s")[1] == "time of the peak hoop stress (min)"
    assert metric_axis("final_li_fraction_mean") == (1.0, "final li fraction mean")
    assert key_axis("operation.c_rate") == "current in C-rates"
    assert key_axis("geometry.radius_um") == "particle radius (µm)"
    assert key_axis("material.regions.shell.young_modulus_GPa") == "shell Young's modulus E (GPa)"
    assert key_axis("coupling.stress_assisted_diffusion") == "stress assisted diffusion"


def test_the_sweep_plot_has_no_raw_keys_and_shows_every_series(tmp_path):
    from solver.sweep.plot import plot_metric

    sweep = SimpleNamespace(name="toy", swept_keys=("operation.c_rate", "material.poisson_ratio"))
    rows = [{"status": "completed", "operation.c_rate": c, "material.poisson_ratio": nu,
             "peak.von_mises.value_Pa": 1e8 * c} for nu in (0.25, 0.3) for c in (0.5, 1.0, 2.0)]
    png, note = plot_metric(sweep, rows, tmp_path, "peak.von_mises.value_Pa")
    assert png == tmp_path / "results_peak.von_mises.value_Pa.png", note
    svg = _assert_vector_files(png)
    assert "current in C-rates" in svg and "peak von Mises stress (MPa)" in svg
    assert "Poisson's ratio nu = 0.25" in svg.replace("&#39;", "'") and "operation.c_rate" not in svg


# ------------------------------------------------------------------------------------------------ the peak curves
def test_the_peak_curves_keep_five_coinciding_curves_visible_and_say_what_a_signed_peak_is(tmp_path):
    t = np.linspace(0.0, 3600.0, 41)
    surface = 4e8 * t / 3600
    centre = np.where(t < 1800, 1.25e8 * t / 1800, -1.3e8 * t / 3600)   # the signed peak moves: +125 -> -130 MPa
    (tmp_path / "summary.json").write_text(json.dumps({"case_name": "sphere", "peak": {}}))
    columns = {"time_s": t, "state_of_charge": t / 3600 * 1.04, "peak_von_mises_Pa": surface,
               "peak_max_principal_Pa": surface, "peak_hoop_Pa": surface, "peak_radial_Pa": centre,
               "peak_hydrostatic_Pa": centre}
    lines = [",".join(columns)] + [",".join(f"{v[i]:.9g}" for v in columns.values()) for i in range(t.size)]
    (tmp_path / "timeseries.csv").write_text("\n".join(lines) + "\n")
    done = _python(f"""
        import json
        from pathlib import Path
        import numpy as np
        from solver.render import curves, data, drawing
        root = Path({str(tmp_path)!r})
        xlabel, series = curves.curve_series(data.read_timeseries(root / "timeseries.csv"), "time")
        fig = curves.curves_figure("sphere", xlabel, series)
        ax = fig.axes[0]
        drawn = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
        print(json.dumps({{
            "lines": [[line.get_label(), line.get_color(), str(line.get_linestyle()), line.get_marker(),
                       bool(np.isnan(line.get_ydata()).any())] for line in drawn],
            "legend": [text.get_text() for text in ax.get_legend().get_texts()],
            "ylabel": ax.get_ylabel(), "xlabel": ax.get_xlabel(),
            "files": [str(p) for p in curves.render_peak_curves(root)],
            "soc": [drawing.state_of_charge_text(v) for v in (0.5, 1.0004, 1.04)]}}))
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout)
    labels = [line[0] for line in got["lines"]]
    assert labels == got["legend"]   # the legend lists exactly the drawn curves, in the same order
    assert labels[:3] == ["von Mises stress", "max. principal stress", "hoop stress"]
    assert labels[3:] == [f"{t} stress (largest magnitude, sign kept)" for t in ("radial", "hydrostatic")]
    # own colour and marker each (the line styles differ too: matplotlib reports custom dashes as "--")
    assert len({line[1] for line in got["lines"]}) == 5 and len({line[3] for line in got["lines"]}) == 5
    assert [line[4] for line in got["lines"]] == [False, False, False, True, True]   # broken where the sign flips
    assert got["xlabel"] == "time (min)" and "MPa" in got["ylabel"]
    assert [Path(p).name for p in got["files"]] == [f"peak_stress_vs_time.{s}" for s in ("png", "pdf", "svg")]
    _assert_vector_files(Path(got["files"][0]))
    assert got["soc"][:2] == ["SOC = 0.50", "SOC = 1.00"]
    assert "SOC" not in got["soc"][2] and "1.04 of the Li-fraction window" in got["soc"][2]


# ------------------------------------------------------------------------------------------------ --out
def test_a_picture_file_is_replaced_only_when_the_tool_wrote_it(tmp_path):
    user = tmp_path / "mine.png"
    user.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + bytes(17) + b"user data")
    with pytest.raises(OutputError, match="mine.png: exists and was not written by this tool"):
        outputs.check_output_file(user)
    outputs.sign_png(user)
    assert outputs.written_by_tool(user) and outputs.check_output_file(user) == user
    assert user.read_bytes().endswith(b"user data")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4 a user's paper")
    with pytest.raises(OutputError, match="notes.pdf"):
        outputs.check_output_file(tmp_path / "notes.pdf")
    os.symlink(tmp_path / "elsewhere.png", tmp_path / "link.png")
    with pytest.raises(OutputError, match="symbolic link"):
        outputs.check_output_file(tmp_path / "link.png")
    assert outputs.check_output_file(tmp_path / "new.png") == tmp_path / "new.png"


# ------------------------------------------------------------------------------------------------ peak snapshots
def test_peak_snapshots_keep_one_file_per_peak_time_and_mark_a_snapshot_of_the_same_time(tmp_path):
    from mpi4py import MPI

    from solver.postprocess import PeakTracker
    from solver.runs import PeakSnapshots

    captured = []

    def capture() -> str:
        captured.append(f"state {len(captured) + 1}")
        return captured[-1]

    folder = SimpleNamespace(path=lambda name: tmp_path / name)   # a result folder's staging path
    tracker = PeakTracker(1.0)
    peaks = PeakSnapshots(folder, MPI.COMM_SELF, capture, lambda path, state: path.write_text(state))
    origin = np.zeros(3)
    # von Mises peaks at t = 1 and stays; radial (signed) grows to t = 2; hoop keeps growing to the end (t = 3)
    for t, vm, radial, hoop in ((0.0, 0.0, 0.0, 0.0), (1.0, 5.0, -1.0, 1.0), (2.0, 4.0, -3.0, 2.0), (3.0, 3.0, 2.0, 3.0)):
        tracker.update({"von_mises": (vm, origin), "radial": (radial, origin), "hoop": (hoop, origin)}, t)
        peaks.observe(tracker, t, t / 3)
    assert len(captured) == 4 and not list(tmp_path.iterdir())   # held in memory: nothing written before the end
    snapshots = [{"file": "fields_final.vtu", "time_s": 3.0, "state_of_charge": 1.0}]
    result = peaks.finish(snapshots)
    assert [(e["file"], e["time_s"], e.get("peaks")) for e in result] == [
        ("fields_peak_von_mises.vtu", 1.0, ["von_mises"]), ("fields_peak_radial.vtu", 2.0, ["radial"]),
        ("fields_final.vtu", 3.0, ["hoop"])]
    assert (tmp_path / "fields_peak_von_mises.vtu").read_text() == "state 2"
    assert (tmp_path / "fields_peak_radial.vtu").read_text() == "state 3"
    assert json.loads((tmp_path / "snapshots.json").read_text()) == result
    assert sorted(p.name for p in tmp_path.glob("fields_*")) == ["fields_peak_radial.vtu", "fields_peak_von_mises.vtu"]
    # the studies compare runs at the snapshot times all runs share: not at one run's own peak files
    from solver.studies import regular_snapshots

    assert [e["file"] for e in regular_snapshots(tmp_path)] == ["fields_final.vtu"]


def test_a_tiny_run_gets_a_field_file_and_pictures_at_the_time_of_its_peak(tmp_path):
    """A potentiostatic step loads the particle, then it relaxes: the stress peaks early, not at the end."""
    from mpi4py import MPI

    from solver.case import load_case
    from solver.pipeline import run_case

    case = load_case(CASES / "verification_sphere.toml", [
        'operation.mode="potentiostatic"', "operation.surface_li_fraction=0.5", "mesh.cell_size_fraction=0.45",
        "mesh.surface_cell_size_fraction=0.35", "time.steps=5", "time.t_end_dimensionless=0.4",
        "output.snapshots=0", "output.progress=false"])
    out = tmp_path / "run"
    summary = run_case(case, out, MPI.COMM_SELF, mesh_cache=None, render=False)
    peak = summary["peak"]["von_mises"]
    assert 0 < peak["time_s"] < summary["time"]["t_reached_s"]
    snapshots = json.loads((out / "snapshots.json").read_text())
    at_peak = [e for e in snapshots if "von_mises" in e.get("peaks", [])]
    assert len(at_peak) == 1 and at_peak[0]["time_s"] == peak["time_s"] and (out / at_peak[0]["file"]).is_file()
    done = _python(f"""
        import json
        from solver.render import data, render_results
        written = render_results({str(out)!r}, curves=False)
        folder = data.ResultFolder.open({str(out)!r})
        print(json.dumps({{"written": [p.name for p in written],
                           "peak": [folder.snapshot("peak", f).tag for f in ("von_mises", "concentration", "hoop_Pa")]}}))
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout)
    printed = got["written"]
    assert printed == ["cross_section_von_mises_Pa.png", "cross_section_von_mises_Pa_at_peak.png",
                       "cross_section_concentration_mol_m3.png", "cross_section_concentration_mol_m3_at_peak.png"]
    tag = Path(at_peak[0]["file"]).stem.removeprefix("fields_")
    assert got["peak"] == [tag, tag, tag]   # --snapshot peak: each field at its peak (or the von Mises one)
    final, early = ((out / name).read_bytes() for name in printed[:2])
    assert final != early and outputs.written_by_tool(out / printed[1])


def test_extension_fields_are_drawn_by_default_when_the_result_holds_them(tmp_path):
    import meshio

    points = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [-1, 0, 0]], dtype=float) * 1e-6
    mesh = meshio.Mesh(points, [("tetra", np.array([[0, 1, 2, 3], [0, 2, 4, 3]]))],
                       point_data={"von_mises_Pa": np.ones(5), "concentration_mol_m3": np.ones(5),
                                   "o2_mol_m3": np.ones(5)})
    mesh.write(tmp_path / "fields_final.vtu")
    (tmp_path / "summary.json").write_text(json.dumps({"case_name": "o2"}))
    done = _python(f"""
        from solver.render import data, results
        folder = data.ResultFolder.open({str(tmp_path)!r})
        print(",".join(results.default_fields(folder.snapshot("final"))))
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "von_mises_Pa,concentration_mol_m3,o2_mol_m3"
