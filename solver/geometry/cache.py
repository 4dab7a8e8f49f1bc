"""Mesh cache: <key>.msh (the tagged gmsh mesh) + <key>.json (names, description, orientations, pores).

key = sha256 of the kind and normalised geometry, the mesh options that shape the mesh, the gmsh version,
BUILDER_VERSION and (for pore-bearing geometries) the pore sampler's source hash. Files are written to a
temporary name and moved into place, json last, so a reader sees a complete pair or nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

BUILDER_VERSION = 2   # 2: polycrystal grains built as one shared-face complex (polycrystal.py)
#: mesh options that do not change the mesh (checked again on every load instead)
NOT_IN_KEY = ("min_quality", "verbose")


#: options left out of the key at their default, so entries made before the option existed stay valid
OMITTED_AT_DEFAULT = {"geometry_order": 1}


def cache_key(geometry: dict, mesh: dict, extra: dict) -> str:
    import gmsh
    shaping = {k: v for k, v in mesh.items()
               if k not in NOT_IN_KEY and not (k in OMITTED_AT_DEFAULT and v == OMITTED_AT_DEFAULT[k])}
    content = {"geometry": geometry, "mesh": shaping,
               "gmsh": gmsh.__version__, "builder_version": BUILDER_VERSION, **extra}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:32]


def paths(cache_dir: Path, key: str) -> tuple[Path, Path]:
    return Path(cache_dir) / f"{key}.msh", Path(cache_dir) / f"{key}.json"


def load_meta(cache_dir: Path | None, key: str) -> dict | None:
    """The stored metadata of a complete cache entry; None on a miss."""
    if cache_dir is None:
        return None
    msh, meta_path = paths(cache_dir, key)
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return None
    return meta if meta.get("key") == key and msh.exists() else None


def merge_mesh(cache_dir: Path, key: str) -> None:
    """Read the cached mesh into the current gmsh model."""
    import gmsh
    gmsh.merge(str(paths(cache_dir, key)[0]))
    gmsh.model.mesh.renumberNodes()


def store(cache_dir: Path | None, key: str, meta: dict) -> None:
    """Write the current gmsh model's mesh and `meta` atomically."""
    if cache_dir is None:
        return
    import gmsh
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    msh, meta_path = paths(cache_dir, key)
    tmp_msh = cache_dir / f".{key}.{os.getpid()}.tmp.msh"
    tmp_json = cache_dir / f".{key}.{os.getpid()}.tmp.json"
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    gmsh.option.setNumber("Mesh.Binary", 1)
    try:
        gmsh.write(str(tmp_msh))
        os.replace(tmp_msh, msh)
        tmp_json.write_text(json.dumps({**meta, "key": key}, default=_jsonable))
        os.replace(tmp_json, meta_path)
    finally:
        for tmp in (tmp_msh, tmp_json):
            tmp.unlink(missing_ok=True)


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
