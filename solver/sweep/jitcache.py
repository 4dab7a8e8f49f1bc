"""One dolfinx JIT cache per sweep worker, so that concurrent cases never wait on each other's compiles.

dolfinx 0.5 (and 0.6-0.9 alike) compiles forms with FFCx into `$XDG_CACHE_HOME/fenics` (default
`~/.cache/fenics`); there is no DOLFINX_JIT_CACHE_DIR variable, and the `cache_dir` JIT option is set
by code or by a `dolfinx_jit_parameters.json` in the working directory. The "lock" is FFCx's
`get_cached_module`: the first process creates `<module>.c` exclusively and compiles; every other
process that needs the same module polls for `<module>.c.cached` and raises TimeoutError after
`timeout` = 10 s. So two sweep cases compiling the same new form at once (a swept switch such as
coupling.stress_assisted_diffusion changes the forms; parameter values do not, they are Constants) can
fail spuriously on a busy machine, and a compile killed half-way leaves a `.c` without `.c.cached` that
makes every later process time out.

A warm-up run before fanning out only covers the forms of the case it runs. Instead each worker gets
its own cache (its case subprocesses get XDG_CACHE_HOME=DIR/.jit/<worker>), so no cache is ever shared
by two running processes. A new worker cache is seeded with hard links (or copies) of the complete
modules already in the user's cache, so nothing compiled before is compiled again; leftovers of killed
compiles are removed before each case (the worker runs one case at a time, so nothing else is writing).
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import uuid
from pathlib import Path

READY_SUFFIX = ".c.cached"  # FFCx writes this marker when a module's compile is complete
SEED_STAGING = ".seed-"  # .<worker>.seed-<token>: a worker cache being seeded


def default_cache_dir(environ=os.environ) -> Path:
    """Where dolfinx looks for compiled forms in this environment."""
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fenics"


def _module_files(cache: Path, module: str) -> list[Path]:
    return [p for p in cache.glob(f"{glob.escape(module)}.*") if p.is_file()]


def complete_modules(cache: Path) -> list[str]:
    if not cache.is_dir():
        return []
    return sorted(p.name[: -len(READY_SUFFIX)] for p in cache.glob(f"*{READY_SUFFIX}"))


def remove_incomplete(cache: Path) -> int:
    """Delete modules whose `.c` exists without `.c.cached` (a compile that was killed); returns count."""
    if not cache.is_dir():
        return 0
    orphans = [p.name[:-2] for p in cache.glob("*.c") if not (cache / (p.name + ".cached")).exists()]
    for module in orphans:
        for path in _module_files(cache, module):
            path.unlink(missing_ok=True)
    return len(orphans)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, target)


def seed_cache(source: Path, target: Path) -> int:
    """Put the complete modules of `source` into `target` (marker last); returns how many."""
    modules = complete_modules(source)
    for module in modules:
        files = sorted(_module_files(source, module), key=lambda p: p.name.endswith(READY_SUFFIX))
        for path in files:
            _link_or_copy(path, target / path.name)
    return len(modules)


def worker_slug(name) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name)) or "worker"


def prepare_worker_cache(root: Path, worker, seed_from: Path | None = None) -> Path:
    """XDG_CACHE_HOME for one worker: root/<worker>, created seeded on first use, cleaned on reuse."""
    home = Path(root) / worker_slug(worker)
    if not (home / "fenics").is_dir():
        staging = Path(root) / f".{home.name}{SEED_STAGING}{uuid.uuid4().hex[:8]}"
        try:
            (staging / "fenics").mkdir(parents=True)
            if seed_from is not None and Path(seed_from).resolve() != (home / "fenics").resolve():
                seed_cache(Path(seed_from), staging / "fenics")
            os.rename(staging, home)
        except OSError:  # made meanwhile (a worker restarted under the same name), or e.g. the disk is full
            if not (home / "fenics").is_dir():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone after the rename; else never left behind
    remove_incomplete(home / "fenics")
    return home


def remove_seed_leftovers(root: Path) -> int:
    """Remove seed staging folders of killed workers (call while no worker runs); returns how many."""
    leftovers = list(Path(root).glob(f".*{SEED_STAGING}*")) if Path(root).is_dir() else []
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
    return len(leftovers)
