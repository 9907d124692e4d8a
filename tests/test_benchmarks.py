"""``benchmarks/speed.py`` keeps working: its FLOP counts are right and it runs end to end (no timing asserts)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from conftest import tiny_config
from interestyle import GeneratorConfig, IntereStyleModel, ModelConfig

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import speed  # noqa: E402


@pytest.mark.parametrize("kind", ["backbone", "progressive-backbone", "gradual", "e4e"])
def test_encoder_flops_match_torch_flop_counter(kind):
    config = tiny_config(kind, input_size=64)
    with torch.device("meta"):
        model = IntereStyleModel(config)
        x = torch.zeros(1, config.encoder.input_nc, 64, 64)
    with FlopCounterMode(display=False) as counter:
        model.encoder(x)
    g = config.generator
    assert speed.encoder_flops(config.encoder, g.n_latent, g.style_dim) == counter.get_total_flops()


SIX_TAPS = GeneratorConfig(resolution=32, style_dim=8, n_mlp=1, channels=(8, 8, 8, 4), blur_kernel=(1, 2, 3, 3, 2, 1))


@pytest.mark.parametrize("g", [speed.SETUPS[n].config.generator for n in ("tiny", "demo", "1024")] + [SIX_TAPS])
def test_generator_flops_match_torch_flop_counter(g):
    with torch.device("meta"):
        model = IntereStyleModel(ModelConfig(generator=g, encoder=tiny_config().encoder))
        w = torch.zeros(1, g.n_latent, g.style_dim)
    with FlopCounterMode(display=False) as counter:
        model.decoder(w)
    assert speed.generator_flops(g) == counter.get_total_flops()


def test_benchmark_runs_end_to_end(tmp_path):
    out = tmp_path / "rows.json"
    args = ["--configs", "tiny", "--batches", "2", "--repeats", "1", "--threads", "1", "--quiet-wait", "0"]
    args += ["--skip-startup", "--no-memory", "--json", str(out)]
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "speed.py"), *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())
    assert [(r["bench"], r["batch"]) for r in rows] == [("generator", 2), ("encoder", 2), ("invert", 2)]
    assert all(r["diff"] < 1e-4 and r["fast_ips"] > 0 and r["ref_ips"] > 0 for r in rows)
    assert "| tiny | invert | fp32 | 2 |" in proc.stdout


def test_memory_probe_reports_a_size():
    args = ["--probe-memory", "tiny:generator:2:fast", "--threads", "1"]
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "speed.py"), *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.strip().splitlines()[-1]) >= 0


def test_import_leaves_the_hub_libraries_for_later():
    """``import interestyle`` (timed by the benchmark) must not import diffusers or huggingface_hub."""
    code = "import sys, interestyle; print(sorted(m for m in ('diffusers', 'huggingface_hub') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_bad_options_are_refused():
    with pytest.raises(SystemExit):
        speed.parse_args(["--configs", "huge"])
    with pytest.raises(SystemExit):
        speed.parse_args(["--clock", "cpu", "--threads", "2"])
