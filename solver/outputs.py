"""The one rule for output paths: the tool removes, moves or overwrites only folders it wrote itself.

Every folder the tool creates (a run's result folder, `mesh --out`, a sweep folder, a study folder)
holds a marker file `.particle-solver-result` naming its kind. An `--out PATH` is then

  - absent: created (with the marker);
  - an empty folder: used;
  - a folder holding the marker of the same kind: replaced (a run's result folder) or written into
    (mesh, sweep and study folders, which are reused and resumed);
  - anything else: refused with OutputError (exit code 2) before anything is touched: a file, a folder
    of other files, a folder of another kind, a symbolic link, the working folder or one of its ancestors.

A file the tool writes at a path the user names (`python -m solver.render compare ... --out FILE.png`) follows
the same rule: an absent path is written; an existing one is replaced only if it is a regular file this tool wrote
(its metadata names the tool: PNG tEXt "Software", PDF "/Creator", SVG dc:creator; see `SIGNATURE`) or it lies in
a folder of this tool (a marker); anything else is refused with OutputError naming the path.

Also here: JSON without `Infinity`/`NaN`, lock files created exclusively without following links, and
SIGTERM handled like Ctrl-C so that staging folders are removed. Nothing here imports dolfinx or MPI.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import shutil
import signal
import socket
import stat
import struct
import uuid
import zlib
from pathlib import Path

from solver.errors import OutputError

MARKER = ".particle-solver-result"
SIGNATURE = "particle-solver"   # in the metadata of every picture file the tool writes (figure_style.save, sign_png)
# where each format keeps it (matplotlib's writers; sign_png for VTK's PNGs); searched in a file's head and tail
_SIGNED = {".png": b"tEXtSoftware\x00" + SIGNATURE.encode(), ".pdf": b"/Creator (" + SIGNATURE.encode() + b")",
           ".svg": b"<dc:title>" + SIGNATURE.encode() + b"</dc:title>"}
_SIGNATURE_WINDOW = 1 << 16
KINDS = ("run", "mesh", "sweep", "study")
_WRITE_ERRORS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)


# ------------------------------------------------------------------------------------------------ markers
def marker_kind(folder: Path) -> str | None:
    """The kind recorded in a folder's marker, or None (no marker, or not a regular file)."""
    path = Path(folder) / MARKER
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data.get("kind") if isinstance(data, dict) else None


def write_marker(folder: Path, kind: str) -> None:
    assert kind in KINDS, kind
    (Path(folder) / MARKER).write_text(json.dumps({"kind": kind, "written_by": "particle-solver"}) + "\n")


def _refuse(path: Path, why: str) -> OutputError:
    return OutputError(f"--out {path}: {why}; nothing was changed: choose a new folder")


def check_output_folder(path: str | Path, kind: str, legacy=None) -> Path:
    """The absolute path if `--out path` may be used for `kind`, else OutputError; touches nothing.

    `legacy(folder) -> bool` may accept a folder of this tool written before it had markers.
    """
    final = Path(os.path.abspath(path))
    real = final.resolve()
    cwd = Path.cwd().resolve()
    if real == cwd or real in cwd.parents:
        raise _refuse(final, "is the working folder or contains it")
    if final.is_symlink():
        raise _refuse(final, "is a symbolic link")
    if not final.exists():
        return final
    if not final.is_dir():
        raise _refuse(final, "is a file, not a result folder")
    found = marker_kind(final)
    if found == kind:
        return final
    if found is not None:
        raise _refuse(final, f"is a {found} folder of this tool, not a {kind} folder")
    if not any(final.iterdir()) or (legacy is not None and legacy(final)):
        return final
    raise _refuse(final, f"exists and was not written by this tool (no {MARKER} file in it)")


def written_by_tool(path: str | Path) -> bool:
    """Whether a regular file (not a link) carries this tool's signature in its metadata (see `SIGNATURE`)."""
    path = Path(path)
    expected = _SIGNED.get(path.suffix.lower())
    try:
        if expected is None or not stat.S_ISREG(path.lstat().st_mode):
            return False
        with open(path, "rb") as handle:
            head = handle.read(_SIGNATURE_WINDOW)
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(size - _SIGNATURE_WINDOW, 0))
            tail = handle.read(_SIGNATURE_WINDOW)
    except OSError:
        return False
    return expected in head or expected in tail


def check_output_file(path: str | Path) -> Path:
    """The absolute path if the tool may write the file `--out path`, else OutputError; touches nothing.

    Absent: fine (its folder is created when written). Present: only a regular file this tool wrote (signed, see
    `SIGNATURE`) or one inside a folder of this tool (a marker) is replaced; a link, a folder or a user's file is
    refused."""
    final = Path(os.path.abspath(path))
    if final.is_symlink():
        raise OutputError(f"--out {final}: is a symbolic link; nothing was changed: choose a new file name")
    if not final.exists():
        return final
    if not final.is_file():
        raise OutputError(f"--out {final}: exists and is not a file; nothing was changed: choose a new file name")
    if written_by_tool(final) or marker_kind(final.parent) is not None:
        return final
    raise OutputError(f"--out {final}: exists and was not written by this tool (no {SIGNATURE} signature in it, "
                      f"no {MARKER} in its folder); nothing was changed: choose a new file name")


def sign_png(path: str | Path) -> None:
    """Add this tool's signature (a tEXt "Software" chunk after the header) to a PNG another library wrote."""
    path = Path(path)
    data = path.read_bytes()
    header_end = 8 + 8 + 13 + 4          # PNG magic, then the IHDR chunk: length, type, 13 bytes, CRC
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or _SIGNED[".png"] in data[:_SIGNATURE_WINDOW]:
        return
    body = b"tEXt" + b"Software\x00" + SIGNATURE.encode()
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    scratch = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:6]}")
    try:
        scratch.write_bytes(data[:header_end] + chunk + data[header_end:])
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


@contextlib.contextmanager
def writing(folder: Path):
    """Turn a failed write (read-only, no permission, disk full) into one OutputError naming the path."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _WRITE_ERRORS:
            raise
        raise OutputError(f"cannot write in {folder}: {exc.strerror}"
                          + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(folder) else "")) from None


def prepare_output_folder(path: str | Path, kind: str, legacy=None) -> Path:
    """A folder that is written into and reused (mesh, sweep, study): checked, created, marked."""
    final = check_output_folder(path, kind, legacy)
    with writing(final):
        final.mkdir(parents=True, exist_ok=True)
        if marker_kind(final) != kind:
            write_marker(final, kind)
    return final


def adopt(folder: Path, kind: str) -> None:
    """Mark a folder inside a folder of ours that predates markers (e.g. a sweep's cases/<id>)."""
    folder = Path(folder)
    if folder.is_dir() and not folder.is_symlink() and marker_kind(folder) is None:
        write_marker(folder, kind)


def on_root(comm, action):
    """Run `action` on MPI rank 0 of `comm`; an error there is raised on every rank (collective)."""
    result = error = None
    if comm.rank == 0:
        try:
            result = action()
        except Exception as exc:  # noqa: BLE001 - handed to every rank
            error = exc
    if comm.size > 1:
        result, error = comm.bcast((result, error), root=0)
    if error is not None:
        raise error
    return result


def make_staging(staging: Path, kind: str = "run") -> None:
    """Create a private staging folder (marked) next to its destination."""
    with writing(staging.parent):
        staging.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        write_marker(staging, kind)


def replace_result_folder(staging: Path, final: Path, kind: str = "run") -> Path:
    """Move a finished staging folder to `final`; an existing `final` must be one of ours (or empty).

    If `final` was taken meanwhile by something else, the results stay in `staging` and the error says so.
    """
    try:
        check_output_folder(final, kind)
    except OutputError as exc:
        raise OutputError(f"{exc}; the results are kept in {staging}") from None
    with writing(final.parent):
        if final.is_dir() and any(final.iterdir()):
            trash = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(final, trash)
            os.replace(staging, final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(staging, final)  # a rename onto an empty folder replaces it
    return final


# ------------------------------------------------------------------------------------------------ JSON
def json_safe(value):
    """Plain JSON values: numpy scalars and arrays as numbers and lists, paths as strings, and
    non-finite floats as the strings "inf", "-inf", "nan" (JSON has no Infinity or NaN)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "tolist") and not isinstance(value, (int, float)):  # numpy arrays and scalars
        return json_safe(value.tolist())
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else str(float(value))
    return str(value)


def dumps_json(data) -> str:
    return json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n"


def write_json_atomic(path: Path, data) -> None:
    """Write JSON next to `path` under a private name, then rename it into place."""
    path = Path(path)
    scratch = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:6]}")
    try:
        scratch.write_text(dumps_json(data))
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------ locks
class LockBusy(OutputError):
    """The lock is held by a running process."""


def acquire_lock(path: Path, what: str) -> int | None:
    """Hold `path` as a lock file: created exclusively (O_EXCL), never through a link (O_NOFOLLOW), and
    flock()ed; returns the descriptor. A lock left by a dead process (its flock is gone) is taken over.
    LockBusy when a live process holds it; None on a file system without flock (unguarded, as before)."""
    path = Path(path)
    for _ in range(5):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            try:
                fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)  # no O_CREAT, no O_TRUNC
            except FileNotFoundError:
                continue  # released meanwhile
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise OutputError(f"{path} is a symbolic link, not a lock file of this tool: remove it") from None
                raise
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise OutputError(f"{path} is not a lock file of this tool (a link or special file): remove it")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LockBusy(f"{what} ({holder})") from None
        except OSError:
            os.close(fd)
            return None
        try:  # a finishing holder unlinks its lock: the path must still name the file we locked
            same = os.stat(path, follow_symlinks=False).st_ino == info.st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        return fd
    raise LockBusy(f"{what}: could not take {path} (it keeps changing)")


def release_lock(path: Path, fd: int | None) -> None:
    if fd is None:
        return
    try:
        if os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
            os.unlink(path)
    except OSError:
        pass
    os.close(fd)


@contextlib.contextmanager
def held_lock(path: Path, what: str):
    fd = acquire_lock(path, what)
    try:
        yield
    finally:
        release_lock(path, fd)


# ------------------------------------------------------------------------------------------------ signals
@contextlib.contextmanager
def sigterm_as_interrupt():
    """`kill PID` stops a command like Ctrl-C does: KeyboardInterrupt, so staging folders are removed."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (e.g. an API call from a worker thread): leave it
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
