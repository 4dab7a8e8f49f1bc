"""Bad case files end in one clear line and exit code 2, never a traceback or a hang: a fixed corpus of what
fuzzing found (encodings, `base` targets, nesting, types and ranges, meshes that cannot be made), and
hypothesis-driven mutations of the shipped cases (tools/fuzz_check.py) through the loader."""
import contextlib
import io
import json
import os
import random
import signal
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import CASES, REPO, run_cli
from solver.case import load_case
from solver.cli import main
from solver.errors import CaseError

sys.path.insert(0, str(REPO / "tools"))
from fuzz_check import fuzz_file  # noqa: E402

VERIFICATION = CASES / "verification_sphere.toml"
CASE_TEXT = VERIFICATION.read_text()
SECRET = "hunter2"


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    """Fail (not hang) when the body runs longer than `seconds`: a FIFO base once blocked forever."""
    def alarm(signum, frame):
        raise Hang(f"over {seconds} s")
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def over(text: str) -> str:
    """A case laid over the verification sphere."""
    return f'base = "{VERIFICATION}"\n{text}'


def _base(target: str) -> str:
    return f'base = {json.dumps(target)}\nname = "x"\n'


def _chain(folder: Path) -> str:
    for i in range(1500):
        (folder / f"c{i}.toml").write_text(_base(f"c{i + 1}.toml") if i < 1499 else over(""))
    return _base("c0.toml")


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "pipe")
    return _base("pipe")


def _binary(folder: Path) -> str:
    (folder / "blob").write_bytes(bytes(range(256)) * 16)
    return _base("blob")


def _not_a_case(folder: Path) -> str:
    (folder / "secrets.toml").write_text(f'password = "{SECRET}"\n[database]\ntoken = "{SECRET}"\n')
    return _base("secrets.toml")


def _cycle(folder: Path) -> str:
    (folder / "other.toml").write_text(_base("case.toml"))
    return _base("other.toml")


def _directory(folder: Path) -> str:
    (folder / "sub").mkdir()
    return _base("sub")


# (id, file content: text, bytes, or a function of the folder returning text, fragment the message must hold)
CORPUS = [
    # encodings: UTF-8 only (a BOM is fine, see test_utf8_bom_loads)
    ("random-bytes", bytes(range(128, 256)) * 8, "not UTF-8 text"),
    ("utf-16-bom", CASE_TEXT.encode("utf-16"), "UTF-16"),
    ("latin-1-comment", "# r\xe9sum\xe9\n".encode("latin-1") + CASE_TEXT.encode(), "not UTF-8 text"),
    ("nul-in-text", CASE_TEXT.encode()[:50] + b"\x00" + CASE_TEXT.encode()[50:], "not valid TOML"),
    # base targets
    ("base-directory", _directory, "not a regular file"),
    ("base-empty", _base(""), "base = ''"),
    ("base-dot", _base("."), "not a regular file"),
    ("base-root", _base("/"), "not a regular file"),
    ("base-fifo", _fifo, "not a regular file"),
    ("base-dev-zero", _base("/dev/zero"), "not a regular file"),
    ("base-binary", _binary, "base = 'blob'"),
    ("base-long-name", _base("n" * 5000), "base = 'nnn"),
    ("base-nul", _base("a\x00b.toml"), "NUL"),
    ("base-chain-1500", _chain, "more than 32 files"),
    ("base-cycle", _cycle, "cycle"),
    ("base-not-a-case", _not_a_case, "unknown top-level key"),
    ("base-number", "base = 5\n", "base = 5"),
    # nesting
    ("nested-arrays-400", over("[material]\nregions = " + "[" * 400 + "]" * 400 + "\n"), "nested more than 16"),
    ("nested-arrays-20000", over("x = " + "[" * 20000 + "]" * 20000 + "\n"), "nested more than 16"),
    ("nested-inline-20000", over("x = " + "{a = " * 20000 + "1" + "}" * 20000 + "\n"), "nested more than 16"),
    ("nested-headers-20000", over("[" + ".".join(["t"] * 20000) + "]\n"), "more than 16 parts"),
    ("dotted-keys-20000", over(".".join(["d"] * 20000) + " = 1\n"), "more than 16 parts"),
    ("dotted-keys-400", over(".".join(["d"] * 400) + " = 1\n"), "more than 16 parts"),
    # types and ranges
    ("kind-list", over('[geometry]\nkind = ["sphere"]\n'), "geometry.kind = ['sphere']"),
    ("kind-table", over("[geometry]\nkind = {a = 1}\n"), "geometry.kind = {'a': 1}"),
    ("c-max-huge", over(f"[material]\nc_max_mol_m3 = {10**400}\n"), "material.c_max_mol_m3 = 1000"),
    ("radius-huge", over(f"[geometry]\nradius_um = {10**400}\n"), "geometry.radius_um = 1000"),
    ("d-table-huge", over(f"[material]\ndiffusivity_table_li_fraction_m2_s = [[0, {10**400}], [1, 1e-14]]\n"),
     "material.diffusivity_table_li_fraction_m2_s[0][1]"),
    ("thresholds-huge", over(f"[grain_boundaries]\ncritical_traction_MPa = 100\n"
                             f"report_thresholds_MPa = [{10**400}]\n"), "grain_boundaries.report_thresholds_MPa[0]"),
    ("crystal-axis-huge", over(f'[material]\nmodel = "layered_oxide"\n[material.layered]\nlattice = "ncm83"\n'
                               f"crystal_c_axis = [{10**400}, 0, 0]\n"), "material.layered.crystal_c_axis[0]"),
    ("radius-underflow", over("[geometry]\nradius_um = 5e-324\n"), "geometry.radius_um = 5e-324"),
    ("radius-too-small", over("[geometry]\nradius_um = 1e-6\n"), "0.01"),
    ("steps-int64", over(f"[time]\nsteps = {2**63 - 1}\n"), "time.steps = 9223372036854775807: must be a whole number in [1, 1000000]"),
    ("snapshots-int64", over(f"[output]\nsnapshots = {2**63 - 1}\n"), "output.snapshots"),
    ("t-end-huge", over("[time]\nt_end_dimensionless = 1.7e308\n"), "time.t_end_dimensionless = 1.7e+308"),
    ("inf", over("[operation]\nc_rate = inf\n"), "operation.c_rate = inf"),
    ("nan", over("[operation]\nc_rate = nan\n"), "operation.c_rate = nan"),
    ("modulus-tiny", over("[material]\nyoung_modulus_GPa = 1e-300\n"), "material.young_modulus_GPa = 1e-300"),
    ("void-0.9999", over('[geometry]\nkind = "hollow_sphere"\nvoid_radius_fraction = 0.9999\n'),
     "geometry.void_radius_fraction = 0.9999: must be in (0, 0.99]"),
    ("thin-shell", over('[geometry]\nkind = "core_shell"\nshell_thickness_fraction = 0.001\n'),
     "geometry.shell_thickness_fraction / mesh.layer_cells"),
    ("curvature-cells", over("[mesh]\ncurvature_cells = 1e6\nmin_cell_size_fraction = 1e-6\n"), "mesh.curvature_cells"),
    ("unknown-key-newline", over('[material]\n"a\\nb" = 1\n'), "material.a\\nb"),
    ("top-level-key", over("[materiel]\nx = 1\n"), "materiel: unknown top-level key"),
]


def write(folder: Path, content) -> Path:
    content = content(folder) if callable(content) else content
    path = folder / "case.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return path


def check_in_process(path: Path, *args: str) -> tuple[int, str]:
    """`python -m solver check PATH` in this process (one import for the corpus): (exit code, stderr)."""
    stderr = io.StringIO()
    with time_limit(20), contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(["check", str(path), *args])
    return code, stderr.getvalue()


@pytest.mark.parametrize("content,fragment", [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_bad_case_file_is_one_clear_line(tmp_path, content, fragment):
    code, stderr = check_in_process(write(tmp_path, content))
    assert code == 2, stderr
    assert len(stderr.splitlines()) == 1 and len(stderr) < 1200, stderr
    assert fragment in stderr, stderr
    assert SECRET not in stderr   # a file that is not a case is never printed back


@pytest.mark.parametrize("name", ["base-fifo", "base-dev-zero", "nested-arrays-20000", "utf-16-bom", "steps-int64"])
def test_real_cli_on_worst_files(tmp_path, name):
    """The same through `python -m solver check` as users run it: a hang fails on the timeout."""
    content, fragment = next(c[1:] for c in CORPUS if c[0] == name)
    done = run_cli("check", write(tmp_path, content), timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1 and fragment in done.stderr, done.stderr


def test_utf8_bom_loads(tmp_path):
    code, stderr = check_in_process(write(tmp_path, b"\xef\xbb\xbf" + over("").encode()))
    assert code == 0, stderr


def test_override_nesting_is_a_case_error(tmp_path):
    code, stderr = check_in_process(VERIFICATION, "--set", "time.steps=" + "[" * 5000 + "]" * 5000)
    assert code == 2 and "nested more than 16" in stderr, stderr
    code, stderr = check_in_process(VERIFICATION, "--set", ".".join(["a"] * 5000) + "=1")
    assert code == 2 and "nested more than 16" in stderr, stderr


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
def test_fuzzed_shipped_cases_raise_only_case_errors(rng: random.Random):
    """Mutations of cases/*.toml (types, ranges, encodings, nesting, base targets, unknown keys): loading ends
    in a CaseError or a case whose every number is finite (check prints it as strict JSON)."""
    with tempfile.TemporaryDirectory() as tmp, time_limit(20):
        path, _ = fuzz_file(rng, Path(tmp))
        try:
            case = load_case(path)
        except CaseError as exc:
            assert str(exc) and str(exc).isprintable(), repr(str(exc))
            return
        json.dumps(case, allow_nan=False)


def test_gmsh_failure_at_mesh_time_names_the_geometry_keys():
    """What the checks cannot foresee: gmsh's own error (a bare Exception) becomes a CaseError naming the keys;
    any other exception is a bug and keeps its type."""
    from solver.geometry.build import _as_case_error
    from solver.geometry.schema import validate_geometry

    geometry = validate_geometry({"kind": "hollow_sphere", "radius_um": 5.0, "void_radius_fraction": 0.99})
    error = _as_case_error(Exception("PLC Error:  A segment and a facet intersect at point"), geometry)
    assert isinstance(error, CaseError)
    assert "void_radius_fraction = 0.99" in str(error) and "radius_um = 5" in str(error) and "PLC Error" in str(error)
    assert isinstance(_as_case_error(KeyError("x"), geometry), KeyError)
