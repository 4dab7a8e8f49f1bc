"""Fuzz the case loader: N case files mutated from the shipped cases/*.toml (types, ranges, encodings, nesting,
`base` targets, unknown keys), each loaded as `python -m solver check` loads it; prints the counts of clean
errors (CaseError), valid cases, tracebacks (any other exception) and hangs (over the per-file timeout).

    .venv/bin/python tools/fuzz_check.py -n 1000 [--seed 1] [--cli-sample 20]

The loader runs in this process (fast); --cli-sample files are also run through the real CLI in a fresh
process each, which must exit 0, or 2 with one line on stderr and no traceback. Exit status 1 on any
traceback or hang. tests/test_fuzz_cases.py uses `fuzz_file` with hypothesis-drawn randomness.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CASES = sorted((REPO / "cases").glob("*.toml"))

# values that broke the loader or the solver once (issue: 43 tracebacks in 1000 fuzzed files)
ODD_VALUES = [["sphere"], {"kind": "sphere"}, {}, [], "", "x" * 5000, True, 0, -1, 2**63 - 1, 10**400, -10**400,
              5e-324, 1.8e308, math.inf, -math.inf, math.nan, 1e-300, 1e300, 0.99, 1e-6, "\x00", "é", [[1, 2]],
              [10**400, 1], [1e308, 1e308, 1e308]]
SCALES = [0.0, -1.0, 1e-300, 1e-9, 1e-3, 0.999, 1.001, 1e3, 1e9, 1e300]
ENCODINGS = ["utf-8-sig", "utf-16", "utf-16-le", "latin-1-comment", "random-bytes", "nul", "truncated"]
NESTINGS = ["array", "inline-table", "table-header", "dotted-key"]
DEPTHS = [17, 400, 2000, 20000]


# -- a small TOML writer (tomllib only reads): top-level keys with inline values, enough for any tree ------
def _toml_key(key) -> str:
    return json.dumps(str(key), ensure_ascii=False)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)   # JSON's escapes are TOML's
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    return "{" + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def to_toml(raw: dict) -> str:
    return "".join(f"{_toml_key(key)} = {toml_value(value)}\n" for key, value in raw.items())


# -- mutations of a raw case tree ------------------------------------------------------------------------
def _leaves(tree, path=()):
    """(path, value) of every table entry and list item (iteratively, as the loader's trees are shallow)."""
    stack = [(path, tree)]
    while stack:
        path, node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            yield path + (key,), value
            stack.append((path + (key,), value))


def _set(tree, path, value) -> None:
    for key in path[:-1]:
        tree = tree[key]
    tree[path[-1]] = value


def _deep(kind: str, depth: int) -> str:
    """TOML text nesting `depth` levels: a value for kind array / inline-table, whole lines otherwise."""
    if kind == "array":
        return "[" * depth + "1" + "]" * depth
    if kind == "inline-table":
        return "{a = " * depth + "1" + "}" * depth
    if kind == "table-header":
        return "\n[" + ".".join(["t"] * depth) + "]\nv = 1\n"
    return "\n" + ".".join(["d"] * depth) + " = 1\n"


def _write_base_target(rng: random.Random, folder: Path) -> str:
    """A `base` value aimed at something that is not a case file (or a long chain, a cycle)."""
    target = rng.choice(["directory", "empty", "dot", "root", "fifo", "dev-zero", "binary", "long-name", "nul",
                         "chain", "cycle", "not-a-case", "missing", "shipped", "etc-passwd", "non-string"])
    if target == "directory":
        (folder / "sub").mkdir(exist_ok=True)
        return "sub"
    if target == "fifo":
        if not (folder / "pipe").exists():
            os.mkfifo(folder / "pipe")
        return "pipe"
    if target == "binary":
        (folder / "blob.bin").write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
        return "blob.bin"
    if target == "chain":
        length = rng.choice([40, 1500])
        for i in range(length):
            (folder / f"chain{i}.toml").write_text(f'base = "chain{i + 1}.toml"\n' if i + 1 < length else
                                                   f'base = "{CASES[0]}"\n')
        return "chain0.toml"
    if target == "cycle":
        (folder / "a.toml").write_text('base = "b.toml"\n')
        (folder / "b.toml").write_text('base = "a.toml"\n')
        return "a.toml"
    if target == "not-a-case":
        (folder / "other.toml").write_text('password = "hunter2"\n[database]\nuser = "root"\n')
        return "other.toml"
    return {"empty": "", "dot": ".", "root": "/", "dev-zero": "/dev/zero", "long-name": "n" * 5000,
            "nul": "a\x00b.toml", "missing": "missing.toml", "shipped": str(rng.choice(CASES)),
            "etc-passwd": "/etc/passwd", "non-string": 5}[target]


def fuzz_file(rng: random.Random, folder: Path) -> tuple[Path, str]:
    """Write one fuzzed case file (and what its `base` names) into the empty `folder`; (path, category)."""
    source = rng.choice(CASES)
    raw = tomllib.loads(source.read_text())
    if isinstance(raw.get("base"), str):   # the copy lives elsewhere: its base keeps naming the shipped file
        raw["base"] = str(source.parent / raw["base"])
    category = rng.choice(["types", "ranges", "unknown-key", "encoding", "nesting", "base", "mixed"])
    mutations = rng.randint(2, 4) if category == "mixed" else 1
    text_suffix, encoding = "", "utf-8"
    for _ in range(mutations):
        kind = category if category != "mixed" else rng.choice(["types", "ranges", "unknown-key", "base"])
        leaves = list(_leaves(raw))
        if kind == "types":
            path, _ = rng.choice(leaves)
            _set(raw, path, copy.deepcopy(rng.choice(ODD_VALUES)))
        elif kind == "ranges":
            numbers = [(p, v) for p, v in leaves if isinstance(v, (int, float)) and not isinstance(v, bool)]
            if numbers:
                path, value = rng.choice(numbers)
                scaled = value * rng.choice(SCALES) if abs(value) < 1e300 else value   # 10**400 has no float
                _set(raw, path, rng.choice([scaled, scaled, value + 1, 2**63 - 1, 10**400]))
        elif kind == "unknown-key":
            tables = [raw] + [v for _, v in leaves if isinstance(v, dict)]
            rng.choice(tables)[rng.choice(["typo", "radius_mm", "\n", "a.b", "é", "x" * 300])] = 1
        elif kind == "base":
            raw["base"] = _write_base_target(rng, folder)
        elif kind == "encoding":
            encoding = rng.choice(ENCODINGS)
        elif kind == "nesting":
            style, depth = rng.choice(NESTINGS), rng.choice(DEPTHS)
            if style in ("array", "inline-table"):
                text_suffix = f"deep = {_deep(style, depth)}\n"
            else:
                text_suffix = _deep(style, depth)
    if "base" not in raw and rng.random() < 0.5:
        raw["base"] = str(source)   # most fuzzed files lean on a shipped case, as study pairs do
    text = (text_suffix + to_toml(raw)) if text_suffix.startswith("deep") else to_toml(raw) + text_suffix
    path = folder / "case.toml"
    if encoding == "utf-8":
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
    elif encoding == "latin-1-comment":
        path.write_bytes("# r\xe9sum\xe9 in latin-1\n".encode("latin-1") + text.encode())
    elif encoding == "random-bytes":
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.choice([1, 100, 5000]))))
    elif encoding == "nul":
        data = text.encode()
        cut = rng.randrange(len(data))
        path.write_bytes(data[:cut] + b"\x00" + data[cut:])
    elif encoding == "truncated":
        data = text.encode()
        path.write_bytes(data[:rng.randrange(len(data))])
    else:
        path.write_bytes(text.encode(encoding))
    return path, category


# -- running ---------------------------------------------------------------------------------------------
class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def load_in_process(path: Path, timeout_s: float = 10.0) -> tuple[str, str]:
    """("clean" | "valid" | "traceback" | "hang", detail) for loading `path` as `python -m solver check` does."""
    from solver.case import load_case
    from solver.errors import CaseError

    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout_s)
            case = load_case(path)
            json.dumps(case, allow_nan=False)   # what `check` prints must be valid JSON
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)   # before any handler below runs
        return "valid", ""
    except CaseError as exc:
        return "clean", str(exc)
    except Hang:
        return "hang", f"over {timeout_s} s"
    except KeyboardInterrupt:
        raise
    except BaseException as exc:   # noqa: BLE001 -- every other escape is what this counts
        return "traceback", f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        signal.signal(signal.SIGALRM, previous)


def run_cli_check(path: Path, timeout_s: float = 120.0) -> tuple[str, str]:
    """The same classification through `python -m solver check` in a fresh process."""
    try:
        done = subprocess.run([sys.executable, "-m", "solver", "check", str(path)], cwd=REPO, capture_output=True,
                              text=True, errors="replace", timeout=timeout_s,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    except subprocess.TimeoutExpired:
        return "hang", f"over {timeout_s} s"
    if "Traceback" in done.stderr or done.returncode not in (0, 2):
        return "traceback", f"exit {done.returncode}: {done.stderr[-300:]}"
    if done.returncode == 2 and len(done.stderr.strip().splitlines()) != 1:
        return "traceback", f"not one line: {done.stderr[-300:]}"
    return ("valid", "") if done.returncode == 0 else ("clean", done.stderr.strip())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="fuzzed files")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cli-sample", type=int, default=20, help="files also run through the real CLI")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per file in process")
    args = parser.parse_args(argv)
    sys.setrecursionlimit(1000)   # the interpreter's default, as in `python -m solver check`
    rng = random.Random(args.seed)
    counts = {"clean": 0, "valid": 0, "traceback": 0, "hang": 0}
    by_category: dict[str, dict[str, int]] = {}
    problems = []
    cli_counts = {"clean": 0, "valid": 0, "traceback": 0, "hang": 0}
    sample = set(rng.sample(range(args.n), min(args.cli_sample, args.n)))
    with tempfile.TemporaryDirectory(prefix="fuzz-cases-") as tmp:
        for i in range(args.n):
            folder = Path(tmp) / f"{i:05d}"
            folder.mkdir()
            path, category = fuzz_file(rng, folder)
            outcome, detail = load_in_process(path, args.timeout)
            counts[outcome] += 1
            by_category.setdefault(category, dict.fromkeys(counts, 0))[outcome] += 1
            if outcome in ("traceback", "hang"):
                problems.append(f"{category} {path}: {outcome} {detail}")
            if i in sample:
                outcome, detail = run_cli_check(path)
                cli_counts[outcome] += 1
                if outcome in ("traceback", "hang"):
                    problems.append(f"CLI {category} {path}: {outcome} {detail}")
            if outcome not in ("traceback", "hang"):
                _remove(folder)
    print(f"{args.n} fuzzed case files (seed {args.seed}), loaded in process: " +
          ", ".join(f"{k} {v}" for k, v in counts.items()))
    for category, row in sorted(by_category.items()):
        print(f"  {category:12s} " + "  ".join(f"{k} {v}" for k, v in row.items()))
    print(f"through `python -m solver check` ({len(sample)} of them): " +
          ", ".join(f"{k} {v}" for k, v in cli_counts.items()))
    for line in problems[:30]:
        print("  " + line)
    return 1 if counts["traceback"] or counts["hang"] or cli_counts["traceback"] or cli_counts["hang"] else 0


def _remove(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()


if __name__ == "__main__":
    sys.exit(main())
