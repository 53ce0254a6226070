"""Are two finished workflow runs the same, byte for byte?  For refactors that must not change results.

    python benchmarks/compare_runs.py BEFORE_DIR AFTER_DIR

Compares every file under ``results/`` of the two run folders except what holds wall-clock times or
machine paths (``*.timings.tsv``, logs, the report, Snakemake's own files), and prints one line per
difference.  A layout change is allowed where it only regroups rows: per-fold metrics files of one job
(``K4_fold0.tsv``, ``K4_fold1.tsv``, ...) count as one file (``K4.tsv``) when their rows, concatenated
in fold order under one header, are the new file's bytes; their ``.models`` folders count as the union
of their model files.  Exit status 0 when the runs agree, 1 otherwise.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import sys
from pathlib import Path

SKIP_DIRS = {"logs", "benchmarks"}
SKIP_SUFFIXES = (".timings.tsv", ".log")
# A per-fold job's metrics file and models folder of the layout before the folds of a job were merged.
PER_FOLD = re.compile(r"^(?P<stem>K\d+|ct)_fold(?P<fold>\d+)(?P<rest>\.tsv|\.models)$")


def _files(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted((root / "results").rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or any(part in SKIP_DIRS for part in rel.parts) or path.name.endswith(SKIP_SUFFIXES):
            continue
        out[str(rel)] = path
    return out


def _regrouped(files: dict[str, Path]) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    """Files of the per-fold layout mapped to the merged layout's names: plain files, and metrics
    files made of several per-fold files (in fold order)."""
    plain: dict[str, Path] = {}
    merged: dict[str, list[tuple[int, Path]]] = {}
    for rel, path in files.items():
        parts = Path(rel).parts
        for i, part in enumerate(parts):
            match = PER_FOLD.match(part)
            if match:
                new = Path(*parts[:i], match["stem"] + match["rest"], *parts[i + 1:])
                if match["rest"] == ".tsv" and i == len(parts) - 1:
                    merged.setdefault(str(new), []).append((int(match["fold"]), path))
                else:
                    plain[str(new)] = path
                break
        else:
            plain[rel] = path
    return plain, {name: [p for _, p in sorted(parts)] for name, parts in merged.items()}


def compare(before: Path, after: Path) -> list[str]:
    plain, merged = _regrouped(_files(before))
    now = _files(after)
    problems = []
    for name in sorted(set(plain) | set(merged) | set(now)):
        if name not in now:
            problems.append(f"only in {before}: {name}")
        elif name in merged:
            lines = []
            for i, path in enumerate(merged[name]):
                text = path.read_text().splitlines(keepends=True)
                lines += text if i == 0 else text[1:]
            if "".join(lines) != now[name].read_text():
                problems.append(f"differs: {name} (the per-fold files, concatenated)")
        elif name not in plain:
            problems.append(f"only in {after}: {name}")
        elif not filecmp.cmp(plain[name], now[name], shallow=False):
            problems.append(f"differs: {name}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    problems = compare(args.before, args.after)
    n = len(_files(args.after))
    for line in problems:
        print(line)
    print(f"{n} files in {args.after}/results compared: {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
