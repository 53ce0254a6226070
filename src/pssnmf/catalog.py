"""Read and write SBS96 count catalogs, with errors that say what is wrong and where.

A catalog is a table of integer mutation counts, one row per sample and one column
per SBS96 channel in COSMIC order (:data:`pssnmf.channels.SBS96`).  On disk the
workflow writes it in SigProfiler's matrix layout: a first column ``MutationType``
holding the 96 channel labels, then one column per sample, tab-separated.

:func:`read_catalog` also accepts what users are likely to have:

* SigProfiler layout whose first column is called ``MutationType``, ``Type`` or
  ``Mutation Types`` (COSMIC's files use ``Type``);
* samples as rows (first column the sample ID, then one column per channel), as in
  Levatić et al.'s GDSC table;
* channel labels spelled ``A[C>A]A`` or ``ACA>A``, in any order (they are put in
  COSMIC order);
* tab- or comma-separated text.

Anything else stops with a :class:`CatalogError` naming the file, the line or
column, and what was expected: unknown, duplicated or missing channels, negative,
missing (NaN), non-integer or too large (2^53 or more) counts, empty or duplicated sample IDs,
an empty file.

All-zero samples carry no profile (their proportions are undefined, and the models
work on proportions).  By default they are an error; ``on_all_zero="drop"`` drops
them and logs how many, which is what the workflow's data rules do.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pssnmf.channels import SBS96, normalize_channel
from pssnmf.data.atomic import atomic_path

log = logging.getLogger(__name__)

CHANNEL_HEADERS = ("mutationtype", "type", "mutation types", "mutation type", "mutationtypes")
"""First-column headers (compared in lower case) that mark the SigProfiler layout."""

_MAX_LISTED = 8

MAX_COUNT = 2**53
"""Counts must stay below this: larger whole numbers are not exact as the float64 every count
is parsed to (and 2^63 would wrap to a negative int64); no sample carries that many mutations."""


_SAFE_DIGITS = 15
"""Bare digit strings this long or shorter are counts below :data:`MAX_COUNT` (10^15 < 2^53)."""


class CatalogError(ValueError):
    """A catalog file or table that is not a valid SBS96 count matrix."""


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(str(i) for i in items[:_MAX_LISTED])
    more = len(items) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _detect_separator(path: Path, first_line: str) -> str:
    if "\t" in first_line:
        return "\t"
    if "," in first_line:
        return ","
    raise CatalogError(
        f"{path}: line 1 has neither tabs nor commas; expected a tab- or comma-separated "
        "table (SigProfiler layout: 'MutationType' then one column per sample)"
    )


def _is_channel(label: str) -> bool:
    try:
        normalize_channel(label)
    except ValueError:
        return False
    return True


def read_catalog(
    path: str | os.PathLike,
    *,
    on_all_zero: str = "error",
    ignore_columns: Iterable[str] = (),
    integer: bool = True,
) -> pd.DataFrame:
    """Read an SBS96 catalog file into a samples x 96 table of ``int64`` counts.

    Parameters
    ----------
    path : tab- or comma-separated text file (see the module docstring for layouts).
    on_all_zero : ``"error"`` (default) or ``"drop"``: what to do with samples whose
        96 counts are all zero.  ``"drop"`` logs the number dropped.
    ignore_columns : header names to leave out before validation (for example
        ``cancer_type`` or the indel columns of a samples-as-rows table, or
        ``Mutation`` beside ``MutationType``).
    integer : counts must be whole numbers (default).  ``False`` accepts any
        non-negative number, for signature tables such as COSMIC's.

    Returns
    -------
    DataFrame, index = sample IDs (``str``, name ``sample``), columns = SBS96 in
    COSMIC order, values ``int64``.
    """
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"{path}: no such file; expected an SBS96 catalog")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise CatalogError(f"{path}: not a UTF-8 text file ({err}); expected a tab- or comma-separated "
                           "SBS96 catalog (uncompress a .gz first)") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise CatalogError(f"{path}: the file is empty; expected an SBS96 catalog")
    sep = _detect_separator(path, lines[0])
    grid = _plain_grid(text, sep)
    if grid is None:
        try:
            raw = pd.read_csv(
                path,
                sep=sep,
                header=None,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=True,
                encoding="utf-8-sig",
            )
        except pd.errors.ParserError as err:
            raise CatalogError(f"{path}: not a rectangular table ({err}); expected the same number of fields on every line") from err
        grid = raw.to_numpy(dtype=object)
    return catalog_from_grid(grid, str(path), on_all_zero=on_all_zero, ignore_columns=ignore_columns, integer=integer)


def _plain_grid(text: str, sep: str) -> np.ndarray | None:
    """The fields of ``text`` split at ``sep``, where that is all that pandas' reader would do with
    it: no quotes, carriage returns or NULs, no line of blanks, as many fields on every line.  None
    otherwise, and pandas reads the file.

    pandas makes one text column per field of a line: for a catalog of 10,000 samples in
    SigProfiler layout that took 1.2-2 s (benchmarks/RESULTS.md, "Predict"), the split 0.1 s.
    """
    if '"' in text or "\r" in text or "\x00" in text:
        return None
    lines = [line for line in text.split("\n") if line]  # empty lines: skipped by pandas too
    rows = [line.split(sep) for line in lines]
    if not rows or any(not line.strip() for line in lines) or len({len(row) for row in rows}) != 1:
        return None
    return np.array(rows, dtype=object)


def catalog_from_table(
    table: pd.DataFrame,
    source: str,
    *,
    on_all_zero: str = "error",
    ignore_columns: Iterable[str] = (),
) -> pd.DataFrame:
    """Validate an in-memory table (header = ``table.columns``) as :func:`read_catalog` does.

    ``source`` names the table in error messages (for example ``file.xlsx, sheet TableS3``).
    """
    # A missing header (NaN) is an empty ID; the text "NaN" is a sample's name.
    header = np.array(["" if c is None or (isinstance(c, float) and np.isnan(c)) else str(c) for c in table.columns],
                      dtype=object)
    body = table.astype(object).where(table.notna(), "").astype(str).to_numpy(dtype=object)
    grid = np.vstack([header[None, :], body]) if len(body) else header[None, :]
    return catalog_from_grid(grid, source, on_all_zero=on_all_zero, ignore_columns=ignore_columns)


def catalog_from_grid(
    grid: np.ndarray,
    source: str,
    *,
    on_all_zero: str = "error",
    ignore_columns: Iterable[str] = (),
    integer: bool = True,
) -> pd.DataFrame:
    """Validate a grid of strings whose first row is the header; see :func:`read_catalog`."""
    if on_all_zero not in ("error", "drop"):
        raise ValueError(f"on_all_zero must be 'error' or 'drop', not {on_all_zero!r}")
    grid = np.asarray(grid, dtype=object)
    if grid.ndim != 2 or grid.shape[0] == 0 or grid.shape[1] < 2:
        raise CatalogError(f"{source}: fewer than two columns; expected a label column and at least one more")
    grid = _stripped(grid)
    # Trailing separators at line ends (some tools write them) make empty last columns.
    while grid.shape[1] > 2 and all(v in ("", "nan") for v in grid[:, -1]):
        grid = grid[:, :-1]
    ignored = {str(c).strip() for c in ignore_columns}
    keep = [j for j in range(grid.shape[1]) if j == 0 or grid[0, j] not in ignored]
    # Remember each kept column's 1-based position in the file for the messages.
    file_cols = [j + 1 for j in keep]
    grid = grid[:, keep]
    header, body = grid[0], grid[1:]

    first = header[0].lower()
    header_channels = sum(_is_channel(h) for h in header[1:])
    column_channels = sum(_is_channel(v) for v in body[:, 0]) if len(body) else 0
    if first in CHANNEL_HEADERS or (header_channels == 0 and column_channels > 0):
        channels_as_rows = True
    elif header_channels > 0:
        channels_as_rows = False
    else:
        raise CatalogError(
            f"{source}: no SBS96 channel labels in the first line or the first column; expected "
            "SigProfiler layout (first column 'MutationType' with labels like 'A[C>A]A') or samples "
            "as rows with one column per channel"
        )

    if channels_as_rows:
        labels = list(body[:, 0])
        label_where = [f"line {i + 2}" for i in range(len(labels))]
        samples = list(header[1:])
        sample_where = [f"column {file_cols[j + 1]}" for j in range(len(samples))]
        values = body[:, 1:].T  # samples x channels
    else:
        labels = list(header[1:])
        label_where = [f"column {file_cols[j + 1]}" for j in range(len(labels))]
        samples = list(body[:, 0])
        sample_where = [f"line {i + 2}" for i in range(len(samples))]
        values = body[:, 1:]

    order = _channel_order(labels, label_where, source)
    _check_sample_ids(samples, sample_where, source)
    if not samples:
        raise CatalogError(f"{source}: the catalog holds no samples; expected at least one sample")

    counts = _parse_counts(values, samples, sample_where, labels, label_where, source, integer)
    counts = counts[:, order]
    frame = pd.DataFrame(counts, index=pd.Index(samples, name="sample"), columns=list(SBS96))

    zero = frame.sum(axis=1) == 0
    if zero.any():
        names = [str(s) for s in frame.index[zero]]
        if on_all_zero == "error":
            raise CatalogError(
                f"{source}: {len(names)} sample(s) have no mutations in any of the 96 channels "
                f"({_listing(names)}); expected at least one count per sample (their profile is undefined)"
            )
        log.warning("%s: dropped %d all-zero sample(s): %s", source, len(names), _listing(names))
        frame = frame.loc[~zero]
    return frame


def _stripped(grid: np.ndarray) -> np.ndarray:
    """``str(v).strip()`` of every cell.  The counts of a catalog are nearly always bare digits,
    which stripping leaves as they are: checked at once (:func:`_bare_digits`), so that only the
    header, the first column and a body that is not all bare digits pay a call per cell."""
    out = grid.copy()
    out[0] = [str(v).strip() for v in grid[0]]
    out[1:, 0] = [str(v).strip() for v in grid[1:, 0]]
    if not _bare_digits(grid[1:, 1:]):
        out[1:, 1:] = np.vectorize(lambda v: str(v).strip(), otypes=[object])(grid[1:, 1:])
    return out


def _bare_digits(cells: np.ndarray) -> bool:
    """Whether every cell is a non-empty string of ASCII digits (a count as it stands)."""
    flat = cells.ravel().tolist()
    try:
        joined = "".join(flat)
    except TypeError:  # a cell that is not text (NaN where a line was short)
        return False
    return joined.isascii() and joined.isdigit() and all(flat)


def _channel_order(labels: list[str], where: list[str], source: str) -> list[int]:
    """Return, for each SBS96 channel in COSMIC order, its position in ``labels``."""
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):
        try:
            channel = normalize_channel(label)
        except ValueError as err:
            raise CatalogError(
                f"{source}: {where[i]}: {label!r} is not an SBS96 channel; expected labels like "
                f"'A[C>A]A' or 'ACA>A' ({err})"
            ) from None
        if channel in seen:
            raise CatalogError(
                f"{source}: {where[i]}: channel {label!r} ({channel}) appears twice "
                f"(also at {where[seen[channel]]}); expected each of the 96 channels once"
            )
        seen[channel] = i
    missing = [c for c in SBS96 if c not in seen]
    if missing:
        raise CatalogError(
            f"{source}: {len(missing)} of the 96 SBS96 channels are missing ({_listing(missing)}); "
            "expected all 96"
        )
    return [seen[c] for c in SBS96]


def _check_sample_ids(samples: list[str], where: list[str], source: str) -> None:
    first_seen: dict[str, int] = {}
    for i, name in enumerate(samples):
        if name == "":
            raise CatalogError(f"{source}: {where[i]}: empty sample ID; expected a unique name per sample")
        if name in first_seen:
            raise CatalogError(
                f"{source}: {where[i]}: sample ID {name!r} appears twice (also at "
                f"{where[first_seen[name]]}); expected unique sample IDs"
            )
        first_seen[name] = i


def _parse_counts(
    values: np.ndarray,
    samples: list[str],
    sample_where: list[str],
    labels: list[str],
    label_where: list[str],
    source: str,
    integer: bool = True,
) -> np.ndarray:
    """Turn a samples x channels grid of strings into int64 counts (float if not ``integer``), or raise."""
    if values.size and _bare_digits(values) and max(map(len, values.ravel().tolist())) <= _SAFE_DIGITS:
        # Every check below passes for these: parsed at once, to the same numbers.
        counts = np.fromstring(",".join(values.ravel().tolist()), dtype=np.int64, sep=",").reshape(values.shape)
        return counts if integer else counts.astype(float)
    flat = pd.Series(values.ravel(), dtype=object)
    numbers = pd.to_numeric(flat.replace("", np.nan), errors="coerce").to_numpy(dtype=float).reshape(values.shape)

    kind = "integer count" if integer else "number"

    def fail(mask: np.ndarray, what: str) -> None:
        rows, cols = np.nonzero(mask)
        i, j = rows[0], cols[0]
        raise CatalogError(
            f"{source}: sample {samples[i]!r} ({sample_where[i]}), channel {labels[j]!r} "
            f"({label_where[j]}): {what} {values[i, j]!r}; expected a non-negative {kind} "
            f"({mask.sum()} such value(s) in all)"
        )

    empty = np.vectorize(lambda v: v == "" or v.lower() in ("nan", "na", "none"), otypes=[bool])(values)
    if empty.any():
        fail(empty, "missing value (NaN)")
    not_number = np.isnan(numbers)
    if not_number.any():
        fail(not_number, "not a number:")
    infinite = np.isinf(numbers)
    if infinite.any():
        fail(infinite, "infinite value")
    if (numbers < 0).any():
        fail(numbers < 0, "negative count")
    if not integer:
        return numbers
    if (numbers >= MAX_COUNT).any():
        kind = f"integer count below 2^53 ({MAX_COUNT:,})"
        fail(numbers >= MAX_COUNT, "count too large:")
    fractional = numbers != np.round(numbers)
    if fractional.any():
        fail(fractional, "non-integer count")
    return numbers.astype(np.int64)


def write_catalog(counts: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a samples x 96 count table in SigProfiler layout, atomically.

    ``counts`` has one row per sample and the 96 channels as columns (any spelling
    :func:`pssnmf.channels.normalize_channel` accepts, any order); the file has
    ``MutationType`` then one column per sample, channels in COSMIC order.
    """
    table = _validated_for_writing(counts, path)
    out = table.T
    out.index.name = "MutationType"
    with atomic_path(path) as tmp:
        out.to_csv(tmp, sep="\t", lineterminator="\n")


def _validated_for_writing(counts: pd.DataFrame, path: str | os.PathLike) -> pd.DataFrame:
    try:
        mapping = {c: normalize_channel(c) for c in counts.columns}
    except ValueError as err:
        raise CatalogError(f"catalog to be written to {path}: {err}") from None
    table = counts.rename(columns=mapping)
    missing = [c for c in SBS96 if c not in table.columns]
    if missing or len(table.columns) != 96:
        raise CatalogError(
            f"catalog to be written to {path}: expected the 96 SBS96 channels as columns, "
            f"missing {_listing(missing)}" if missing else f"catalog to be written to {path}: {len(table.columns)} columns, expected 96"
        )
    table = table[list(SBS96)]
    values = table.to_numpy()
    if not np.issubdtype(values.dtype, np.number) or np.isnan(values.astype(float)).any():
        raise CatalogError(f"catalog to be written to {path}: counts must be numbers without NaN")
    if (values < 0).any() or (values != np.round(values)).any():
        raise CatalogError(f"catalog to be written to {path}: counts must be non-negative integers")
    if table.index.duplicated().any():
        dup = [str(s) for s in table.index[table.index.duplicated()]]
        raise CatalogError(f"catalog to be written to {path}: duplicate sample IDs {_listing(dup)}")
    return table.astype(np.int64)
