"""``benchmarks/machine.py``: the one line describing the machine beside every benchmark's figures."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import machine  # noqa: E402


def test_describe_names_the_cpu_count_torch_and_its_threads():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        text = machine.describe()
    finally:
        torch.set_num_threads(before)
    assert f", {os.cpu_count()} CPUs (load " in text
    assert f"torch {torch.__version__} (1 thread)" in text
    assert f"Python {platform.python_version()}" in text


def test_cpu_model_falls_back_to_platform_without_proc_cpuinfo(monkeypatch):
    def unreadable(self):
        raise FileNotFoundError(self)

    monkeypatch.setattr(Path, "read_text", unreadable)
    monkeypatch.setattr(platform, "processor", lambda: "")
    monkeypatch.setattr(platform, "machine", lambda: "riscv64")
    assert machine.cpu_model() == "riscv64"
    assert machine.describe().startswith("riscv64, ")


def test_load_average_is_named_unknown_where_the_system_keeps_none(monkeypatch):
    def unsupported():
        raise OSError("getloadavg unsupported")

    monkeypatch.setattr(os, "getloadavg", unsupported)
    assert "(load unknown)" in machine.describe()
