"""``interestyle train`` in subprocesses (examples/train_tiny.py: test_examples.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from interestyle import load_encoder
from training_setup import tiny_run

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=ENV)


def test_cli_trains_writes_a_loadable_checkpoint_and_resumes(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps(tiny_run(tmp_path)))
    first = run("-m", "interestyle", "train", "run.json", "--max-steps", "2", "--no-progress", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    checkpoint = tmp_path / "run" / "checkpoints" / "step-00000002"
    assert f"checkpoint {checkpoint}" in first.stdout
    assert load_encoder(checkpoint).config.method == "interestyle"
    second = run("-m", "interestyle", "train", "run.json", "--resume", "--no-progress", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "resuming from" in second.stdout and "step 4;" in second.stdout


def test_cli_reports_a_bad_config_in_one_line(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps(tiny_run(tmp_path, loss={"l2": -1})))
    proc = run("-m", "interestyle", "train", "run.json", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "interestyle train: error: run.json: loss.l2=-1 is invalid: expected a number >= 0"
    ]
    assert not (tmp_path / "run").exists()
