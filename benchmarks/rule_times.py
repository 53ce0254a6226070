"""Per-rule wall times of one Snakemake run, from Snakemake's own log of it.

    python benchmarks/rule_times.py .snakemake/log/<stamp>.snakemake.log [more logs of the same run]

Snakemake logs a time stamp before each job starts (``[Wed Dec  2 14:33:16 2026]`` then
``rule NAME:`` or ``localrule NAME:`` and ``jobid: N``) and before each ``Finished jobid: N``.
A job's time is the span between the two (second resolution, the log's), so it includes the
Python start-up and imports of the job's command, and, on a loaded machine, time waiting for a
core.  Prints one row per rule (jobs, total, mean and longest job in seconds, share of the summed
job time), then the run's wall time, first job start to last job end, summed over the logs given
(a run stopped and resumed has one log per invocation).
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
from pathlib import Path

_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
_START = re.compile(r"^(?:local)?rule (\S+):$")
_JOBID = re.compile(r"^\s+jobid: (\d+)$")
_FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\S+)\)$")


def job_times(log: Path) -> dict[int, tuple[str, datetime, datetime | None]]:
    """jobid -> (rule, start, end or None)."""
    jobs: dict[int, tuple[str, datetime, datetime | None]] = {}
    stamp = None
    pending_rule, pending_start = None, None
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if match := _STAMP.match(line):
            stamp = datetime.strptime(" ".join(match[1].split()), "%a %b %d %H:%M:%S %Y")
        elif match := _START.match(line):
            pending_rule, pending_start = match[1], stamp
        elif (match := _JOBID.match(line)) and pending_rule is not None:
            jobs[int(match[1])] = (pending_rule, pending_start, None)
            pending_rule = None
        elif match := _FINISHED.match(line):
            jobid = int(match[1])
            if jobid in jobs:
                rule, start, _ = jobs[jobid]
                jobs[jobid] = (rule, start, stamp)
    return jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logs", type=Path, nargs="+", help="the run's .snakemake/log/*.snakemake.log files")
    args = parser.parse_args(argv)
    per_rule: dict[str, list[float]] = {}
    wall = 0.0
    n_done = n_unfinished = 0
    spans = []
    for log in args.logs:
        jobs = job_times(log)
        done = [v for v in jobs.values() if v[2] is not None]
        n_done += len(done)
        n_unfinished += len(jobs) - len(done)
        for rule, start, end in done:
            per_rule.setdefault(rule, []).append((end - start).total_seconds())
        if done:
            first, last = min(v[1] for v in done), max(v[2] for v in done)
            wall += (last - first).total_seconds()
            spans.append(f"{first} to {last}")
    if not per_rule:
        print(f"{', '.join(map(str, args.logs))}: no finished job found", file=sys.stderr)
        return 2
    total = sum(sum(v) for v in per_rule.values())
    print("| rule | jobs | total s | mean s | longest s | share of job time |")
    print("|---|---|---|---|---|---|")
    for rule, times in sorted(per_rule.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {rule} | {len(times)} | {sum(times):.0f} | {sum(times) / len(times):.1f} | {max(times):.0f} | "
              f"{sum(times) / total:.1%} |")
    print(f"\n{n_done} jobs finished ({n_unfinished} started and not finished); wall {wall:.0f} s = "
          f"{wall / 3600:.2f} h ({'; '.join(spans)}); summed job time {total:.0f} s "
          f"({total / wall:.2f} jobs running on average)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
