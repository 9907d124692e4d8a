"""The machine a benchmark ran on, in one line for the record beside its figures.

The scripts here import it as ``from machine import describe``: a script's own folder is on ``sys.path``
when it runs.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

import interestyle


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``; where that has none (not Linux, some ARM kernels),
    ``platform.processor()`` or, failing that, the architecture (``platform.machine()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``"1.2, 0.9, 0.7"``; ``"unknown"`` where the system keeps none."""
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def describe() -> str:
    """CPU model, logical CPU count, load average, torch version and its intra-op thread count, Python and
    interestyle versions: e.g. ``"AMD EPYC, 2 CPUs (load 1.2, 0.9, 0.7), torch 2.13.0+cpu (1 thread),
    Python 3.12.3, interestyle 0.1.0.dev0"``."""
    threads = torch.get_num_threads()
    return (
        f"{cpu_model()}, {os.cpu_count()} CPUs (load {load_average()}), "
        f"torch {torch.__version__} ({threads} thread{'s' if threads != 1 else ''}), "
        f"Python {platform.python_version()}, interestyle {interestyle.__version__}"
    )
