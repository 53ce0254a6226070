"""Atomic file writes: a reader never sees a half-written output.

Snakemake deletes the outputs of a failed job, but a library function called
outside the workflow (``pssnmf predict``, a notebook) must not leave a partial file
either, so every writer goes through :func:`atomic_path`.
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
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_table(df, path: str | os.PathLike, *, index: bool = False) -> None:
    """Write a pandas DataFrame as tab-separated text, atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=index, lineterminator="\n")
