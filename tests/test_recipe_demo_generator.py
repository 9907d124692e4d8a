"""The demo generator's recipe runs, checkpoints, resumes exactly and exports a generator folder."""

import json
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from interestyle.models.generator import load_generator

SCRIPT = Path(__file__).resolve().parents[1] / "recipes" / "demo_generator.py"
TINY = {
    "generator": {"resolution": 16, "style_dim": 32, "n_mlp": 2, "channels": [16, 16, 8], "lr_mlp": 1.0},
    "batch_size": 2,
    "lr": 0.002,
    "betas": [0.0, 0.99],
    "steps": 4,
    "lr_decay_from": 2,
    "checkpoint_every": 2,
    "sample_every": 100,
    "seed": 0,
    "threads": 1,
}


def run(*args: str) -> str:
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_recipe_resumes_bit_exactly_and_exports(tmp_path):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    run("--config", str(config), "--run", str(tmp_path / "straight"))
    run("--config", str(config), "--run", str(tmp_path / "resumed"), "--max-steps", "2")
    assert "resumed at step 2" in run("--config", str(config), "--run", str(tmp_path / "resumed"))
    straight = load_file(tmp_path / "straight" / "state.safetensors")
    resumed = load_file(tmp_path / "resumed" / "state.safetensors")
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    run("--config", str(config), "--run", str(tmp_path / "straight"), "--export", str(tmp_path / "generator"))
    generator, latent_avg = load_generator(tmp_path / "generator")
    assert generator.config.resolution == 16 and latent_avg.shape == (32,)


def test_a_resumed_run_logs_each_step_once(tmp_path):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    run_dir = tmp_path / "run"
    run("--config", str(config), "--run", str(run_dir), "--max-steps", "2")
    with (run_dir / "log.csv").open("a") as log:  # steps a stopped run logged after its last checkpoint
        log.write("3,0.5,0.001\n")
    run("--config", str(config), "--run", str(run_dir))
    steps = [int(line.split(",")[0]) for line in (run_dir / "log.csv").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
