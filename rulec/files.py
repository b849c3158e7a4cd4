"""Writing outputs as a user expects: all or nothing, with the umask's mode, and never another's file.

Every changed file is first written to a temporary file beside it; only when all of them are written are
they renamed into place. When a rename fails or the user presses Ctrl-C, the files already replaced get their
old content back, new files and directories are removed again, and no temporary file is left behind.
A build directory's manifest (`.rulec-manifest`, JSON) lists the files rulec wrote there, so that a later
build removes only those and never a file someone else put in the directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from rulec.errors import Position, error_at

MANIFEST = ".rulec-manifest"  # JSON, without the suffix so that globs for *.json outputs skip it
_REL = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$")


def file_mode() -> int:
    """0666 minus the process umask: the mode `open()` would give a new file (0644 under umask 022)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def read_or_none(path: Path) -> bytes | None:
    """The file's bytes, None when there is no file; unreadable files are bad input, never a traceback."""
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise error_at(Position(str(path)), f"cannot read: {exc.strerror}") from None


def _missing_dirs(path: Path) -> list[Path]:
    missing = []
    for parent in path.parents:
        if parent.exists():
            break
        missing.append(parent)
    return missing


def _backup(path: Path) -> str:
    """A hard link (or copy) of `path` beside it, to restore its content if the batch fails."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".rulec-old", dir=path.parent)
    os.close(fd)
    try:
        os.unlink(name)
        os.link(path, name)
    except OSError:
        shutil.copy2(path, name)
    return name


def write_atomic(targets: dict[Path, bytes], remove: list[Path] | tuple[Path, ...] = ()) -> list[Path]:
    """Write the files whose content changes and remove `remove`, all or nothing. Returns the changed paths."""
    changed = [p for p, data in targets.items() if read_or_none(p) != data]
    removing = [p for p in remove if p.is_file()]
    mode = file_mode()
    staged: list[tuple[str, Path]] = []
    backups: dict[Path, str] = {}
    created: list[Path] = []
    done: list[Path] = []
    current: Path | None = None
    try:
        for path in changed:
            current = path
            missing = _missing_dirs(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            created.extend(reversed(missing))
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".rulec-new", dir=path.parent)
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), mode)
                fh.write(targets[path])
        for path in [*changed, *removing]:
            current = path
            if path.is_file():
                backups[path] = _backup(path)
        for tmp, path in staged:
            current = path
            os.replace(tmp, path)
            done.append(path)
        for path in removing:
            current = path
            os.unlink(path)
            done.append(path)
    except BaseException as exc:
        _roll_back(done, backups, staged, created)
        if isinstance(exc, OSError):
            where = str(current or exc.filename)
            raise error_at(Position(where), f"cannot write: {exc.strerror}; nothing was changed") from None
        raise
    for name in backups.values():
        _quietly(os.unlink, name)
    for path in removing:
        _quietly(os.rmdir, path.parent)  # a region directory the build emptied
    return changed + removing


def _roll_back(done: list[Path], backups: dict[Path, str], staged: list[tuple[str, Path]], created: list[Path]):
    for path in reversed(done):
        if path in backups:
            _quietly(os.replace, backups.pop(path), path)
        else:
            _quietly(os.unlink, path)
    for name in backups.values():
        _quietly(os.unlink, name)
    for tmp, _ in staged:
        _quietly(os.unlink, tmp)
    for d in reversed(created):
        _quietly(os.rmdir, d)


def _quietly(fn, *args) -> None:
    try:
        fn(*args)
    except OSError:
        pass


def read_manifest(out_dir: Path) -> list[str]:
    """The files an earlier build wrote under `out_dir` (relative paths); none when there is no manifest."""
    path = out_dir / MANIFEST
    raw = read_or_none(path)
    if raw is None:
        return []
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        data = None
    files = data.get("files") if isinstance(data, dict) and data.get("version") == 1 else None
    if not isinstance(files, list) or not all(isinstance(f, str) and _safe(f) for f in files):
        raise error_at(Position(str(path)), "not a manifest written by rulec; restore it from git or delete it")
    return files


def _safe(rel: str) -> bool:
    return bool(_REL.match(rel)) and ".." not in rel.split("/") and rel != MANIFEST


def dump_manifest(files: list[str]) -> bytes:
    doc = {"version": 1, "comment": "files written by rulec build; only these are ever removed", "files": files}
    return (json.dumps(doc, indent=2) + "\n").encode()
