"""solver/render/: pictures from a synthetic result folder, always in a subprocess.

Nothing here imports pyvista/vtk or solver.render into the pytest process: other tests import
dolfinx, and the PyPI VTK wheel must never share a process with it (docs: CRASH TRAP).
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

meshio = pytest.importorskip("meshio")
Delaunay = pytest.importorskip("scipy.spatial").Delaunay
Image = pytest.importorskip("PIL.Image")

REPO = Path(__file__).resolve().parents[1]
RADIUS_M = 5e-6
SECTION_SIZE = (1100, 900)  # solver/render/cross_section.py SECTION_WINDOW
CONC_CENTRE, CONC_SURFACE = 20000.0, 48000.0


# ------------------------------------------------------------------------------------------------
# synthetic result folder: tetrahedralised ball, fields analytic in r
# ------------------------------------------------------------------------------------------------
def _ball_points(octant: bool, n: int = 8) -> np.ndarray:
    h = RADIUS_M / n
    g = np.arange(-n, n + 1) * h
    if octant:
        g = g[g >= 0]
    X, Y, Z = np.meshgrid(g, g, g, indexing="ij")
    pts = np.c_[X.ravel(), Y.ravel(), Z.ravel()]
    pts = pts[np.linalg.norm(pts, axis=1) < RADIUS_M - 0.4 * h]
    # jitter x, y (not z: keeps nodes exactly on the section plane z = 0) so that the Delaunay
    # tetrahedra of the grid are not degenerate
    rng = np.random.default_rng(7)
    jitter = rng.uniform(-0.2 * h, 0.2 * h, size=(len(pts), 2))
    if octant:  # symmetry planes x = 0 and y = 0 stay flat
        jitter[pts[:, :2] == 0] = 0.0
    pts[:, :2] += jitter
    k = np.arange(900) + 0.5  # Fibonacci points on the surface
    phi = np.arccos(1 - 2 * k / k.size)
    theta = np.pi * (1 + 5**0.5) * k
    surf = RADIUS_M * np.c_[np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)]
    if octant:  # plus the quarter circles where the sphere meets the symmetry planes
        surf = np.abs(surf)
        a = np.linspace(0, np.pi / 2, 40)
        ca, sa, zero = RADIUS_M * np.cos(a), RADIUS_M * np.sin(a), np.zeros_like(a)
        surf = np.vstack([surf, np.c_[ca, sa, zero], np.c_[zero, ca, sa], np.c_[sa, zero, ca]])
    return np.vstack([pts, surf])


def make_result_folder(root: Path, name: str, octant: bool = False, pore: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    pts = _ball_points(octant)
    tets = Delaunay(pts).simplices
    centroid = pts[tets].mean(axis=1)
    vol = np.abs(np.einsum("ij,ij->i", np.cross(pts[tets[:, 1]] - pts[tets[:, 0]],
                                                pts[tets[:, 2]] - pts[tets[:, 0]]),
                           pts[tets[:, 3]] - pts[tets[:, 0]])) / 6
    keep = vol > 1e-9 * (RADIUS_M / 8) ** 3  # drop degenerate slivers on the hull
    if pore:  # one pore off the horizontal centre line, cut through z = 0
        pc = np.array([0.15, 0.5, 0.0]) * RADIUS_M
        keep &= np.linalg.norm(centroid - pc, axis=1) > 0.2 * RADIUS_M
    tets = tets[keep]
    centroid = centroid[keep]
    region = np.where(np.linalg.norm(centroid, axis=1) > 0.8 * RADIUS_M, 2, 1).astype(np.int32)

    r = np.linalg.norm(pts, axis=1)
    s = (r / RADIUS_M) ** 2
    conc = CONC_CENTRE + (CONC_SURFACE - CONC_CENTRE) * s  # surface-rich: lithiation
    k = 1.0e9  # Pa; Cheng & Verbrugge-type stresses for c ~ r^2
    radial = 2 * k * (1 - s) / 5
    hoop = k * (2 - 4 * s) / 5
    vm = np.abs(hoop - radial)
    hydro = (radial + 2 * hoop) / 3
    disp = pts * (1e-2 * (1 + s))[:, None]

    # the octant file also carries facet triangles (their cuts are lines, not section area)
    blocks, regions = [("tetra", tets)], [region]
    if octant:
        hull = Delaunay(pts).convex_hull
        blocks.append(("triangle", hull))
        regions.append(np.zeros(len(hull), dtype=np.int32))

    def write(path: Path, scale: float):
        meshio.write(
            path,
            meshio.Mesh(
                pts, blocks,
                point_data={
                    "concentration_mol_m3": conc * scale,
                    "li_fraction": conc * scale / 49000.0,
                    "displacement_m": disp * scale,
                    "von_mises_Pa": vm * scale,
                    "max_principal_Pa": np.maximum(radial, hoop) * scale,
                    "hydrostatic_Pa": hydro * scale,
                    "hoop_Pa": hoop * scale,
                    "radial_Pa": radial * scale,
                },
                cell_data={"region": regions},
            ),
        )

    write(root / "fields_1.vtu", 0.5)
    write(root / "fields_final.vtu", 1.0)
    (root / "snapshots.json").write_text(json.dumps([
        {"file": "fields_1.vtu", "time_s": 1800.0, "state_of_charge": 0.25},
        {"file": "fields_final.vtu", "time_s": 3600.0, "state_of_charge": 0.5},
    ]))
    t = np.linspace(0, 3600, 25)
    f = t / 3600
    with open(root / "timeseries.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time_s", "state_of_charge", "mean_li_fraction", "peak_von_mises_Pa",
                    "peak_max_principal_Pa", "peak_hoop_Pa", "peak_radial_Pa", "peak_hydrostatic_Pa",
                    "surface_concentration_mol_m3", "centre_concentration_mol_m3", "extra_column"])
        for ti, fi in zip(t, f):
            w.writerow([ti, 0.5 * fi, 0.6 + 0.1 * fi, 0.4e9 * fi, 0.4e9 * fi**0.5, -0.4e9 * fi,
                        0.3e9 * fi, 0.13e9 * fi, 48000 * fi, 20000, "x"])
    u = np.array([1.0, 1.0, 0.0]) / 2**0.5
    peak = {"value_Pa": 4.0e8, "position_m": list(RADIUS_M * 0.98 * u), "radius_fraction": 0.98,
            "time_s": 3600.0}
    off = {"value_Pa": 4.0e8, "position_m": [0.0, 0.0, 0.9 * RADIUS_M], "radius_fraction": 0.9,
           "time_s": 3600.0}
    (root / "summary.json").write_text(json.dumps({
        "case": {"name": name},
        "mesh": {"cell_regions": {"bulk": 1, "shell": 2}},
        "peak": {"von_mises": peak, "max_principal": peak, "hoop": off, "radial": off,
                 "hydrostatic": off},
    }))
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("render")
    return {
        "full": make_result_folder(base / "pristine", "pristine sphere"),
        "octant": make_result_folder(base / "octant", "octant model", octant=True, pore=False),
    }


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run(args, timeout=120):
    return subprocess.run([sys.executable, *args], cwd=REPO, env=_env(), capture_output=True,
                          text=True, timeout=timeout)


# runs solver.render exactly as `python -m solver.render ...` does, then records whether dolfinx
# (or anything of FEniCSx) was imported during the run
_WRAPPER = textwrap.dedent("""
    import atexit, json, runpy, sys
    marker, args = sys.argv[1], sys.argv[2:]
    def _record():
        bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dolfinx', 'ufl', 'basix', 'ffcx'))
        with open(marker, 'w') as fh:
            json.dump({'fenics_modules': bad, 'pyvista': 'pyvista' in sys.modules}, fh)
    atexit.register(_record)
    sys.argv = ['solver.render'] + args
    runpy.run_module('solver.render', run_name='__main__', alter_sys=True)
""")


def _image(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=float)


def _coloured_mask(img: np.ndarray) -> np.ndarray:
    """Pixels painted by a colour map (saturated), left of the colour bar."""
    sat = img.max(axis=2) - img.min(axis=2)
    mask = sat > 40
    mask[:, int(0.82 * img.shape[1]):] = False
    return mask


# ------------------------------------------------------------------------------------------------
# tests
# ------------------------------------------------------------------------------------------------
def test_cli_renders_result_folder_without_dolfinx(folders, tmp_path):
    d = folders["full"]
    marker = tmp_path / "modules.json"
    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(_WRAPPER)
    res = _run([str(wrapper), str(marker), str(d), "--fields", "concentration_mol_m3", "von_mises_Pa"])
    assert res.returncode == 0, res.stderr
    mods = json.loads(marker.read_text())
    assert mods["pyvista"], "renderer did not run"
    assert mods["fenics_modules"] == [], f"render process imported {mods['fenics_modules']}"

    expected = {
        d / "cross_section_concentration_mol_m3.png": SECTION_SIZE,
        d / "cross_section_von_mises_Pa.png": SECTION_SIZE,
    }
    curves = [d / f"peak_stress_vs_time.{suffix}" for suffix in ("png", "pdf", "svg")]
    printed = {Path(line) for line in res.stdout.split()}
    assert printed == set(expected) | set(curves)
    for png, (w, h) in expected.items():
        img = _image(png)
        assert img.shape == (h, w, 3), png
        assert img.std() > 15, f"{png.name} looks blank"
    assert _image(curves[0]).std() > 15

    # radial field: colour at the section centre differs from the colour near the outer surface
    for name in ("concentration_mol_m3", "von_mises_Pa"):
        img = _image(d / f"cross_section_{name}.png")
        mask = _coloured_mask(img)
        rows, cols = np.nonzero(mask)
        assert rows.size > 0.1 * img.shape[0] * img.shape[1], "section covers too little of the picture"
        r0, r1, c0, c1 = rows.min(), rows.max(), cols.min(), cols.max()
        assert abs((r1 - r0) - (c1 - c0)) < 0.05 * (r1 - r0), "section is not drawn face-on"
        rc, cc = (r0 + r1) // 2, (c0 + c1) // 2
        centre = img[rc - 2:rc + 3, cc - 2:cc + 3].reshape(-1, 3).mean(axis=0)
        inset = int(0.04 * (c1 - c0))
        edge = img[rc - 2:rc + 3, c0 + inset - 2:c0 + inset + 3].reshape(-1, 3).mean(axis=0)
        assert np.linalg.norm(centre - edge) > 80, (name, centre, edge)


def test_octant_model_snapshots_and_curves(folders):
    d = folders["octant"]
    res = _run(["-m", "solver.render", str(d), "--fields", "li_fraction", "--snapshot", "all"])
    assert res.returncode == 0, res.stderr
    for png in ("cross_section_li_fraction_1.png", "cross_section_li_fraction.png"):
        img = _image(d / png)
        assert img.shape == (SECTION_SIZE[1], SECTION_SIZE[0], 3)
        rows, cols = np.nonzero(_coloured_mask(img))
        # the octant is mirrored to the full disc: about as tall as wide
        assert abs((rows.max() - rows.min()) - (cols.max() - cols.min())) < 0.05 * (cols.max() - cols.min())
    # shared colour range across snapshots: the half-concentration snapshot is darker on average
    early = _image(d / "cross_section_li_fraction_1.png")
    late = _image(d / "cross_section_li_fraction.png")
    m1, m2 = _coloured_mask(early), _coloured_mask(late)
    assert early[m1].mean() < late[m2].mean() - 20
    curves = _image(d / "peak_stress_vs_time.png")
    assert curves.shape[1] > 900 and curves.std() > 10   # one journal column at 300 dpi


def test_compare_two_folders(folders, tmp_path):
    out = tmp_path / "cmp" / "compare_vm.png"
    res = _run(["-m", "solver.render", "compare", str(folders["full"]), str(folders["octant"]),
                "--labels", "pristine", "octant", "--field", "von_mises", "--out", str(out)])
    assert res.returncode == 0, res.stderr
    img = _image(out)
    assert img.shape == (720, 2 * 560 + 260, 3)
    mask = _coloured_mask(img)
    half = int(0.41 * img.shape[1])
    assert mask[:, :half].sum() > 0.05 * mask.size and mask[:, half:].sum() > 0.05 * mask.size


def test_compare_out_never_replaces_a_file_the_tool_did_not_write(folders, tmp_path):
    foreign = tmp_path / "figure.png"
    foreign.write_bytes(b"a user's own picture")
    args = ["-m", "solver.render", "compare", str(folders["full"]), "--field", "von_mises", "--out"]
    res = _run([*args, str(foreign)])
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and str(foreign) in lines[0] and "not written by this tool" in lines[0], res.stderr
    assert foreign.read_bytes() == b"a user's own picture"
    ours = tmp_path / "ours.png"
    for _ in range(2):   # the second run replaces the picture the first one wrote
        res = _run([*args, str(ours)])
        assert res.returncode == 0, res.stderr
    assert _image(ours).std() > 15


def test_missing_files_give_one_clear_line(folders, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in ("summary.json", "timeseries.csv", "snapshots.json"):
        (broken / f).write_bytes((folders["full"] / f).read_bytes())
    res = _run(["-m", "solver.render", str(broken)])
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "fields_final.vtu" in lines[0], res.stderr

    res = _run(["-m", "solver.render", "compare", str(folders["full"]), str(tmp_path / "nowhere"),
                "--field", "von_mises", "--out", str(tmp_path / "x.png")])
    assert res.returncode != 0
    assert len(res.stderr.strip().splitlines()) == 1 and "nowhere" in res.stderr

    (broken / "fields_final.vtu").write_bytes((folders["full"] / "fields_final.vtu").read_bytes())
    res = _run(["-m", "solver.render", str(broken), "--fields", "no_such_field", "--no-curves"])
    assert res.returncode != 0 and "no_such_field" in res.stderr and "von_mises_Pa" in res.stderr


def test_import_refused_after_dolfinx():
    code = ("import sys, types; sys.modules['dolfinx'] = types.ModuleType('dolfinx'); "
            "import solver.render")
    res = _run(["-c", code])
    assert res.returncode != 0
    assert "RuntimeError" in res.stderr and "dolfinx" in res.stderr
