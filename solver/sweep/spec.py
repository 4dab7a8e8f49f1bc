"""Sweep files: TOML in, a list of cases (each a set of `--set` overrides of one base case) out.

    base = "../verification_sphere.toml"       # relative to this file
    seed_key = "geometry.seed"                 # optional: each case gets its own seed there
    replicates = 1                             # optional: cases per parameter point (distinct seeds)
    [set]                                      # fixed overrides for every case
    "time.steps" = 20
    [grid]                                     # outer product
    "operation.c_rate" = [0.5, 1.0, 2.0]
    [list]                                     # zipped: the i-th values go together
    "geometry.radius_um" = [3.0, 5.0]
    "mesh.cell_size_fraction" = [0.2, 0.1]
    [sample]                                   # random, latin_hypercube, sobol or halton over ranges
    method = "latin_hypercube"
    count = 8
    seed = 1
    ranges = { "material.diffusivity_m2_s" = [1e-15, 1e-13] }
    log = ["material.diffusivity_m2_s"]        # sampled uniformly in log(value)
    [run]                                      # how each case runs
    ranks = 1                                  # MPI ranks per case (launched with `launcher`)
    launcher = "mpirun -n {ranks}"
    timeout_s = 3600
    pictures = false
    [plot]
    metric = "peak.von_mises.value_Pa"         # a column of the results table
    x = "operation.c_rate"                     # default: the first swept key

Keys may be written quoted ("operation.c_rate") or as TOML dotted keys (operation.c_rate); both mean
the same case key. grid, list and sample combine as a product. A case's id is a hash of all its
overrides (fixed, swept and seed), so it does not depend on the order of the cases and a rerun finds
the cases already done.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solver.case import read_toml
from solver.dotted import dotted_items
from solver.errors import CaseError
from solver.sweep.slurm import check_job_name
from solver.sweep.sampling import SAMPLE_METHODS, combine, grid_points, sample_points, zipped_points

TOP_LEVEL_KEYS = ("name", "description", "base", "set", "grid", "list", "sample", "seed_key", "replicates",
                  "run", "plot")
SAMPLE_KEYS = ("method", "count", "seed", "ranges", "log")
RUN_KEYS = ("ranks", "launcher", "timeout_s", "pictures")
PLOT_KEYS = ("metric", "x", "series")
DEFAULT_METRIC = "peak.von_mises.value_Pa"
SEED_RANGE = 2**31


@dataclass(frozen=True)
class RunOptions:
    """How one case is launched: `launcher` (with {ranks}) prefixes the solver command when ranks > 1."""

    ranks: int = 1
    launcher: str = "mpirun -n {ranks}"
    timeout_s: float | None = None
    pictures: bool = False


@dataclass(frozen=True)
class PlotOptions:
    metric: str = DEFAULT_METRIC
    x: str | None = None
    series: str | None = None


@dataclass(frozen=True)
class SweepCase:
    """One case of a sweep: its stable id, the swept inputs (table columns) and all its overrides."""

    index: int
    case_id: str
    inputs: dict[str, Any]
    overrides: dict[str, Any]

    def override_strings(self) -> list[str]:
        """["key=value", ...] as `--set` and solver.case.load_case take them (values written as TOML)."""
        return [f"{key}={toml_value(value)}" for key, value in self.overrides.items()]

    def set_arguments(self) -> list[str]:
        return [arg for text in self.override_strings() for arg in ("--set", text)]


@dataclass(frozen=True)
class Sweep:
    name: str
    description: str
    base: Path
    fixed: dict[str, Any]
    swept_keys: tuple[str, ...]
    cases: tuple[SweepCase, ...]
    run: RunOptions = RunOptions()
    plot: PlotOptions = PlotOptions()
    source: dict = field(default_factory=dict)
    seed_key: str | None = None     # the swept key that only draws replicates (pooled by the fracture census)

    def case(self, key: str) -> SweepCase:
        """A case by id or by index (as text or int)."""
        for case in self.cases:
            if case.case_id == str(key):
                return case
        if str(key).isdigit() and int(key) < len(self.cases):
            return self.cases[int(key)]
        raise CaseError(f"case {key!r}: not in sweep {self.name!r} (ids or indices 0..{len(self.cases) - 1})")


def toml_value(value: Any) -> str:
    """A Python value from a TOML file written back as TOML text (for `--set key=value`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise CaseError(f"value {value!r}: cannot be written as TOML (use numbers, strings, booleans, lists, tables)")


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def case_id(overrides: dict[str, Any]) -> str:
    """12 hex digits of the SHA-256 of the overrides: the same overrides give the same id."""
    return hashlib.sha256(canonical_json(overrides).encode()).hexdigest()[:12]


def derived_seed(overrides: dict[str, Any], replicate: int) -> int:
    """A seed in [0, 2^31) fixed by the case's other overrides and its replicate number."""
    digest = hashlib.sha256(f"{canonical_json(overrides)}|replicate={replicate}".encode()).hexdigest()
    return int(digest[:12], 16) % SEED_RANGE


def _as_table(section: str, table: Any) -> dict:
    if not isinstance(table, dict):
        raise CaseError(f"[{section}] must be a table, got {table!r}")
    return table


def _check_keys(section: str, table: Any, allowed: tuple[str, ...]) -> dict:
    unknown = sorted(set(_as_table(section, table)) - set(allowed))
    if unknown:
        prefix = f"{section}." if section else ""
        raise CaseError(f"{prefix}{unknown[0]}: unknown sweep key; allowed are {', '.join(allowed)}")
    return table


def _value_lists(section: str, table: Any) -> dict[str, list]:
    flat = dotted_items(_as_table(section, table))
    for key, values in flat.items():
        if not isinstance(values, list) or not values:
            raise CaseError(f"{section}.{key} = {values!r}: must be a non-empty list of values")
    return flat


def _number(key: str, value: Any, low: float | None = None, integer: bool = False) -> Any:
    kinds = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or (low is not None and value < low):
        what = "a whole number" if integer else "a number"
        raise CaseError(f"{key} = {value!r}: must be {what}" + (f" >= {low}" if low is not None else ""))
    return value


def _sample(table: Any) -> tuple[list[dict], list[str]]:
    table = _check_keys("sample", table, SAMPLE_KEYS)
    method = table.get("method", "latin_hypercube")
    if method not in SAMPLE_METHODS:
        raise CaseError(f"sample.method = {method!r}: must be one of {', '.join(map(repr, SAMPLE_METHODS))}")
    if "count" not in table:
        raise CaseError("sample.count: missing; it is required (number of sampled points)")
    count = _number("sample.count", table["count"], 1, integer=True)
    seed = _number("sample.seed", table.get("seed", 0), 0, integer=True)
    ranges = dotted_items(_as_table("sample.ranges", table.get("ranges", {})))
    if not ranges:
        raise CaseError("sample.ranges: missing or empty; give {\"section.key\" = [low, high], ...}")
    for key, bounds in ranges.items():
        ok = (isinstance(bounds, list) and len(bounds) == 2
              and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds))
        if not ok or not bounds[0] < bounds[1]:
            raise CaseError(f"sample.ranges.{key} = {bounds!r}: must be [low, high] numbers with low < high")
    log_keys = table.get("log", [])
    if not isinstance(log_keys, list) or any(k not in ranges for k in log_keys):
        raise CaseError(f"sample.log = {log_keys!r}: must be a list of keys of sample.ranges")
    for key in log_keys:
        if ranges[key][0] <= 0:
            raise CaseError(f"sample.ranges.{key} = {ranges[key]!r}: must be > 0 to be sampled in log")
    points = sample_points(method, count, seed, {k: tuple(map(float, v)) for k, v in ranges.items()},
                           frozenset(log_keys))
    return points, list(ranges)


def _run_options(table: Any) -> RunOptions:
    table = _check_keys("run", table, RUN_KEYS)
    ranks = _number("run.ranks", table.get("ranks", 1), 1, integer=True)
    launcher = table.get("launcher", RunOptions.launcher)
    if not isinstance(launcher, str) or "{ranks}" not in launcher:
        raise CaseError(f"run.launcher = {launcher!r}: must be a command containing {{ranks}}, e.g. 'mpirun -n {{ranks}}'")
    try:  # a sweep file is trusted like a script (the launcher runs), but a typo gets a clear error
        launcher_words = shlex.split(launcher.format(ranks=1))
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        raise CaseError(f"run.launcher = {launcher!r}: {{ranks}} is its only placeholder (write {{{{ and }}}} for "
                        f"braces) and quotes must close ({type(exc).__name__}: {exc})") from None
    if not launcher_words:
        raise CaseError(f"run.launcher = {launcher!r}: must be a command containing {{ranks}}")
    timeout = table.get("timeout_s")
    if timeout is not None:
        _number("run.timeout_s", timeout, 0)
        if timeout <= 0:
            raise CaseError(f"run.timeout_s = {timeout!r}: must be > 0")
    pictures = table.get("pictures", False)
    if not isinstance(pictures, bool):
        raise CaseError(f"run.pictures = {pictures!r}: must be true/false")
    return RunOptions(ranks=ranks, launcher=launcher, timeout_s=None if timeout is None else float(timeout),
                      pictures=pictures)


def _plot_options(table: Any, swept: tuple[str, ...]) -> PlotOptions:
    table = _check_keys("plot", table, PLOT_KEYS)
    metric = table.get("metric", DEFAULT_METRIC)
    if not isinstance(metric, str) or not metric:
        raise CaseError(f"plot.metric = {metric!r}: must be a column name such as {DEFAULT_METRIC!r}")
    for key in ("x", "series"):
        if key in table and table[key] not in swept:
            raise CaseError(f"plot.{key} = {table[key]!r}: must be a swept key ({', '.join(swept) or 'none swept'})")
    return PlotOptions(metric=metric, x=table.get("x"), series=table.get("series"))


def _check_disjoint(named_keys: dict[str, list[str]]) -> None:
    seen: dict[str, str] = {}
    for part, keys in named_keys.items():
        for key in keys:
            if key in seen:
                raise CaseError(f"{key}: set in both [{seen[key]}] and [{part}]; a key may be swept or set in one place only")
            seen[key] = part


def sweep_from_dict(raw: dict, origin: str | Path = ".", name: str | None = None) -> Sweep:
    """A parsed sweep table -> Sweep; `origin` is the folder a relative `base` is taken from."""
    _check_keys("", raw, TOP_LEVEL_KEYS)
    base = raw.get("base")
    if not isinstance(base, str):
        raise CaseError(f"base = {base!r}: must be the path (string) of the base case file")
    base_path = (Path(origin) / base).resolve()
    if not base_path.is_file():
        raise CaseError(f"base = {base!r}: case file {str(base_path)!r} not found")
    sweep_name = raw.get("name", name or base_path.stem)
    description = raw.get("description", "")
    if not isinstance(sweep_name, str) or not sweep_name.strip() or not isinstance(description, str):
        raise CaseError(f"name = {sweep_name!r}, description = {description!r}: must be strings (name non-empty)")
    if "name" in raw:
        check_job_name(sweep_name)
    else:  # the file name: made a valid job name
        sweep_name = re.sub(r"[^A-Za-z0-9_.+-]", "_", sweep_name).lstrip("_.+-")[:128] or "sweep"
    fixed = dotted_items(_as_table("set", raw.get("set", {})))
    grid = _value_lists("grid", raw.get("grid", {}))
    lists = _value_lists("list", raw.get("list", {}))
    lengths = {key: len(values) for key, values in lists.items()}
    if len(set(lengths.values())) > 1:
        raise CaseError(f"[list]: lists must have one length; got {', '.join(f'{k}: {n}' for k, n in lengths.items())}")
    sampled, sample_keys = _sample(raw["sample"]) if "sample" in raw else ([], [])
    seed_key = raw.get("seed_key")
    if seed_key is not None and (not isinstance(seed_key, str) or not seed_key):
        raise CaseError(f"seed_key = {seed_key!r}: must be a dotted case key such as 'geometry.seed'")
    replicates = _number("replicates", raw.get("replicates", 1), 1, integer=True)
    if replicates > 1 and seed_key is None:
        raise CaseError(f"replicates = {replicates}: needs seed_key (without a seed the replicates are one case)")
    _check_disjoint({"set": list(fixed), "grid": list(grid), "list": list(lists), "sample": sample_keys,
                     "seed_key": [seed_key] if seed_key else []})
    swept = tuple(list(grid) + list(lists) + sample_keys + ([seed_key] if seed_key else []))
    cases, ids = [], {}
    for point in combine(grid_points(grid), zipped_points(lists), sampled):
        for replicate in range(replicates):
            inputs = dict(point)
            if seed_key:
                inputs[seed_key] = derived_seed({**fixed, **point}, replicate)
            overrides = {**fixed, **inputs}
            identity = case_id(overrides)
            if identity in ids:
                raise CaseError(f"cases {ids[identity]} and {len(cases)} are the same case ({inputs}); "
                                "remove the repeated values")
            ids[identity] = len(cases)
            cases.append(SweepCase(len(cases), identity, inputs, overrides))
    return Sweep(name=sweep_name, description=description, base=base_path, fixed=fixed, swept_keys=swept,
                 cases=tuple(cases), run=_run_options(raw.get("run", {})),
                 plot=_plot_options(raw.get("plot", {}), swept), source=raw, seed_key=seed_key)


def load_sweep(path: str | Path) -> Sweep:
    path = Path(path)
    return sweep_from_dict(read_toml(path, "sweep file"), path.resolve().parent, name=path.stem)
