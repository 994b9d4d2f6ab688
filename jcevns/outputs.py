"""Output files written atomically, checked before any computation.

Every command that writes results (``jcevns scan``, ``sample``, ``reproduce``) goes through
:class:`OutputDir`:

1. :func:`check_output_dir` runs first, before any computation: the location must be a directory
   (or creatable as one) that accepts a file; otherwise a ``ValueError`` in one sentence (exit
   code 2 on the command line), never a traceback after minutes of sampling.
2. Files are written into a hidden staging directory beside the destination
   (``.<name>.partial-<pid>``, same file system), flushed and ``fsync``-ed.
3. Only when everything is written are the files moved into place, each with ``os.replace``
   (atomic on POSIX). An interrupted or failed run leaves the destination as it was: no mix of
   new and old files, no half-written JSON. Files already in the destination that this run does
   not produce are never touched or deleted.
4. ``manifest.json`` in the destination records, per file, when and by which command it was
   last written, so files kept from an earlier run (e.g. after ``reproduce --only lar``) can be
   told apart; the replaced files are printed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

MANIFEST = "manifest.json"


def json_safe(obj):
    """``obj`` with NaN and infinities replaced by ``None`` (standard JSON has neither) and NumPy
    scalars and arrays turned into Python numbers and lists, through dicts, lists and tuples.

    >>> json_safe({"a": [1.0, float("nan")], "b": (float("inf"), 2)})
    {'a': [1.0, None], 'b': [None, 2]}
    """
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def check_output_dir(path) -> Path:
    """Raise ``ValueError`` unless ``path`` is, or can become, a writable directory.

    Nothing is created: the nearest existing ancestor receives (and loses) a probe file.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output location {out} exists and is not a directory; choose another --out")
    ancestor = out
    while not ancestor.exists():
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"cannot create output directory {out}: {ancestor} is a file, not a directory")
    try:
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as err:
        raise ValueError(f"cannot write to output directory {out} ({ancestor}: {err.strerror or err})") from None
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text_atomic(path, text: str) -> bool:
    """Write ``text`` to ``path`` through a temporary sibling and ``os.replace``; True if a file
    was replaced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; results are ordinary files
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return existed


class OutputDir:
    """Stage files for ``destination`` and move them into place together (see the module docstring).

    Examples:
        >>> import tempfile, pathlib
        >>> dest = pathlib.Path(tempfile.mkdtemp()) / "out"
        >>> with OutputDir(dest, command="doc example", verbose=False) as out:
        ...     _ = out.path("a.txt").write_text("hello")
        >>> (dest / "a.txt").read_text()
        'hello'
    """

    def __init__(self, destination, *, command: str = "jcevns", verbose: bool = True):
        self.destination = check_output_dir(destination)
        self.command = command
        self.verbose = verbose
        self.replaced: list[str] = []
        self.written: list[str] = []
        self._staging: Path | None = None

    def __enter__(self) -> "OutputDir":
        parent = self.destination.parent
        parent.mkdir(parents=True, exist_ok=True)
        self._staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{self.destination.name}.partial-"))
        return self

    def path(self, name: str) -> Path:
        """Where to write the file ``name`` (relative to the destination) during the run."""
        p = self._staging / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def read_existing(self, name: str) -> str | None:
        """Text of ``name`` already in the destination, or ``None``."""
        p = self.destination / name
        return p.read_text() if p.is_file() else None

    def commit(self) -> None:
        """Move every staged file into the destination (``os.replace`` each) and update the manifest."""
        staged = sorted(p for p in self._staging.rglob("*") if p.is_file())
        self.destination.mkdir(parents=True, exist_ok=True)
        for p in staged:
            _fsync_file(p)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        for p in staged:
            rel = p.relative_to(self._staging).as_posix()
            target = self.destination / rel
            if target.is_dir():
                raise ValueError(f"cannot write {target}: a directory of that name exists")
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                self.replaced.append(rel)
            os.replace(p, target)
            self.written.append(rel)
        _fsync_dir(self.destination)
        manifest = {}
        old = self.read_existing(MANIFEST)
        if old:
            try:
                manifest = json.loads(old).get("files", {})
            except (json.JSONDecodeError, AttributeError):
                manifest = {}
        manifest.update({rel: {"written": stamp, "command": self.command} for rel in self.written})
        write_text_atomic(self.destination / MANIFEST, json.dumps({"files": manifest}, indent=1, sort_keys=True) + "\n")
        if self.verbose and self.replaced:
            print(f"replaced in {self.destination}: {', '.join(self.replaced)}")

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.commit()
        finally:
            shutil.rmtree(self._staging, ignore_errors=True)
