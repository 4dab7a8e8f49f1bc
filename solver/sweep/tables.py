"""Tidy tables of a sweep folder written atomically: a reader (or a second driver's --aggregate-only) sees the
old file or the new one, never half of one. Shared by the results table (aggregate.py) and the fracture census
(census.py). Nothing here imports dolfinx."""
from __future__ import annotations

import csv
import os
import uuid
from pathlib import Path


def replace_atomically(path: Path, write) -> Path:
    """`write(scratch)` then one rename onto `path`; the scratch file is removed if writing fails."""
    scratch = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        write(scratch)
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)
    return path


def columns_of(rows: list[dict], last: tuple[str, ...] = ()) -> list[str]:
    """Every key of the rows in order of first appearance, the names in `last` moved to the end."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    for name in last:
        columns.pop(name, None)
    return [*columns, *last]


def write_csv(rows: list[dict], path: Path, columns: list[str] | None = None) -> Path:
    """The rows as CSV (None as an empty cell), columns in the given order or as columns_of finds them."""
    columns = columns or columns_of(rows)

    def write(target):
        with open(target, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    return replace_atomically(path, write)
