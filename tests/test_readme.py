"""The README and the Quickstart say what works: their Python blocks run here, on a tiny model folder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import tiny_model

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    tiny_model().save_pretrained(tmp_path / "path/to/model-folder")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(tmp_path / "photo.png")
    mask = np.zeros((48, 40), np.uint8)
    mask[8:40, 8:32] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("page", ["README.md", "docs/quickstart.md"])
def test_python_examples_run(workdir, page):
    blocks = [b for b in python_blocks(ROOT / page) if "load_encoder(" in b]
    assert blocks, f"{page} has no example"
    for block in blocks:
        exec(compile(block, page, "exec"), {})
    assert (workdir / "reconstruction.png").is_file() and (workdir / "composite.png").is_file()


def test_readme_example_is_short():
    (block,) = [b for b in python_blocks(ROOT / "README.md") if "load_encoder(" in b]
    assert len(block.strip().splitlines()) <= 10


def test_example_script_runs(workdir):
    script = ROOT / "examples" / "invert_with_mask.py"
    proc = subprocess.run(
        [sys.executable, str(script), "path/to/model-folder", "photo.png", "mask.png", "--out", "out.png"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert Image.open(workdir / "out.png").size == (32, 32)


def test_cli_entry_point():
    proc = subprocess.run([sys.executable, "-m", "interestyle", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("interestyle ")
