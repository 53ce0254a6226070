"""What benchmarks share: the machine they ran on (as benchmarks/RESULTS.md records it) and timing."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time


def cpu_model() -> str:
    """``lscpu``'s model name and the number of CPUs this process sees."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return f"{fields.get('Model name', '?').strip()}, {os.cpu_count()} CPUs visible"


def median_time(function, repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``function()``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
