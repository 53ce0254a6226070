"""Atomic file writes: a reader never sees a half-written output.

Snakemake deletes the outputs of a failed job, but a library function called
outside the workflow (``pssnmf predict``, a notebook) must not leave a partial file
either, so every writer goes through :func:`atomic_path`.

A written file gets the mode a plain ``open(path, "w")`` would give it (``0666`` less the
umask), not the ``0600`` of the temporary file: a lab's shared results folder stays
readable to the colleagues the umask lets in.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it onto ``path``.

    The temporary file lives in the same folder so that ``os.replace`` is atomic
    (same file system).  On any exception the temporary file is removed and
    ``path`` is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        os.close(fd)
        os.chmod(tmp, 0o666 & ~current_umask())
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask, read from ``/proc`` where it can be (setting and restoring it, the
    only other way, would briefly change it for every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_table(df, path: str | os.PathLike, *, index: bool = False, float_format: str | None = None) -> Path:
    """Write a pandas DataFrame as tab-separated text, atomically; returns the path.

    Floats keep full precision (pandas writes ``repr``), so reruns give equal bytes."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=index, lineterminator="\n", float_format=float_format)
    return Path(path)


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write ``text`` as UTF-8 with ``\\n`` line ends, atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return Path(path)
