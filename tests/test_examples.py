"""Every script in examples/ runs, offline, on the embedded demo model, and writes what it says it writes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import interestyle as its
from interestyle.grids import label_height

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
CELL, PAD = 128, 2  # the examples' grid cells


def run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=ENV
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def png(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def grid_size(columns: int) -> tuple[int, int]:
    """One row of cells under a strip of column labels."""
    return PAD + columns * (CELL + PAD), label_height(CELL) + PAD + CELL + PAD


def labelled_columns(path: Path, columns: int) -> bool:
    """Whether each column of a one-row grid has dark label text in the strip above it."""
    strip = np.asarray(Image.open(path).convert("L"))[: label_height(CELL)]
    return all(strip[:, PAD + c * (CELL + PAD) :][:, :CELL].min() < 128 for c in range(columns))


@pytest.fixture(scope="module")
def demo():
    return its.load_encoder()


TESTED = {
    "invert_with_mask.py",
    "sweep_edit.py",
    "style_mix.py",
    "custom_mask_provider.py",
    "convert_checkpoint.py",
    "train_tiny.py",
}


def test_every_example_is_tested_and_documents_its_usage():
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert scripts == TESTED
    for name in scripts:
        text = (EXAMPLES / name).read_text()
        assert re.search(rf"^Usage: python examples/{re.escape(name)} .*--out", text, flags=re.M), name


def test_invert_with_mask_on_a_synthetic_photo(tmp_path, demo):
    proc = run("invert_with_mask.py", "--out", "out", cwd=tmp_path)
    out = tmp_path / "out"
    assert png(out / "photo.png") == png(out / "mask.png") == (64, 64)
    assert png(out / "reconstruction.png") == png(out / "composite.png") == (64, 64)
    latents = load_file(out / "latents.safetensors")["latents"]
    assert latents.shape == (1, demo.n_latent, demo.style_dim)
    assert f"after {demo.config.iterations} refinement steps" in proc.stdout
    # the script's latents are the library's inversion of the photo it wrote
    expected = its.invert(demo, out / "photo.png", mask=out / "mask.png").latents
    torch.testing.assert_close(latents, expected)
    # outside the mask, the composite is the photo
    mask = np.asarray(Image.open(out / "mask.png").convert("L")) == 0
    photo = np.asarray(Image.open(out / "photo.png").convert("RGB")).astype(int)
    composite = np.asarray(Image.open(out / "composite.png").convert("RGB")).astype(int)
    assert mask.any() and np.abs(photo - composite)[mask].mean() < 8


def test_invert_with_mask_on_a_given_photo(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(tmp_path / "photo.png")
    Image.fromarray(np.full((48, 40), 255, np.uint8)).save(tmp_path / "mask.png")
    run("invert_with_mask.py", "photo.png", "mask.png", "--out", "out", cwd=tmp_path)
    assert png(tmp_path / "out" / "composite.png") == (64, 64)
    assert not (tmp_path / "out" / "photo.png").exists()


def test_invert_with_mask_needs_both_or_neither(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "invert_with_mask.py"), "photo.png"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=ENV,
    )
    assert proc.returncode == 2 and "both PHOTO and MASK" in proc.stderr


def test_sweep_edit_writes_one_row_per_strength(tmp_path):
    proc = run("sweep_edit.py", "--direction", "skin_tone", "--out", "out", cwd=tmp_path)
    strengths = re.search(r"strengths (.*?) \(the direction's units\)", proc.stdout).group(1).split(",")
    assert png(tmp_path / "out" / "sweep.png") == grid_size(1 + len(strengths))
    assert labelled_columns(tmp_path / "out" / "sweep.png", 1 + len(strengths))
    sheet = np.asarray(Image.open(tmp_path / "out" / "sweep.png").convert("RGB")).astype(int)[label_height(CELL) :]
    cells = [sheet[PAD : PAD + CELL, PAD + c * (CELL + PAD) :][:, :CELL] for c in range(1, 1 + len(strengths))]
    assert np.abs(cells[0] - cells[-1]).max() > 0  # the two ends of the sweep differ


def test_style_mix_writes_content_style_and_three_mixes(tmp_path):
    run("style_mix.py", "--out", "out", cwd=tmp_path)
    assert png(tmp_path / "out" / "content.png") == (64, 64)
    assert png(tmp_path / "out" / "mix.png") == grid_size(5)
    assert labelled_columns(tmp_path / "out" / "mix.png", 5)


def test_convert_checkpoint_round_trips_the_demo_model(tmp_path):
    proc = run("convert_checkpoint.py", "--out", "out", cwd=tmp_path)
    out = tmp_path / "out"
    checkpoint = torch.load(out / "interestyle_demo.pt", map_location="cpu", weights_only=True)
    assert set(checkpoint) == {"state_dict", "latent_avg", "opts"}  # the official layout
    assert {k.split(".")[0] for k in checkpoint["state_dict"]} == {"encoder", "decoder"}
    assert "kind: interestyle" in proc.stdout
    assert its.load_encoder(out / "converted").config.method == "interestyle"
    difference = float(re.search(r"original model's inversion: (\S+)", proc.stdout).group(1))
    assert difference <= 1e-5


def test_custom_mask_provider_finds_the_skin(tmp_path):
    face = np.zeros((64, 64, 3), np.uint8)
    face[...] = (40, 90, 160)  # blue background
    face[16:56, 20:44] = (224, 172, 140)  # a skin-coloured face
    Image.fromarray(face).save(tmp_path / "face.png")
    proc = run("custom_mask_provider.py", "face.png", "--out", "out", cwd=tmp_path)
    assert "interest fraction" in proc.stdout
    mask = np.asarray(Image.open(tmp_path / "out" / "mask.png"))
    assert mask.shape == (64, 64)
    assert mask[36, 32] > 200 and mask[4, 4] < 30  # the skin box is interest, the blue background is not
    assert png(tmp_path / "out" / "composite.png") == (64, 64)


def test_custom_mask_provider_on_a_synthetic_photo(tmp_path):
    run("custom_mask_provider.py", "--out", "out", cwd=tmp_path)
    assert png(tmp_path / "out" / "photo.png") == png(tmp_path / "out" / "mask.png") == (64, 64)


def test_skin_tone_provider_is_valid():
    sys.path.insert(0, str(EXAMPLES))
    try:
        from custom_mask_provider import SkinTone
    finally:
        sys.path.remove(str(EXAMPLES))
    images = torch.tensor([[224, 172, 140], [40, 90, 160]], dtype=torch.float32).T.reshape(1, 3, 1, 2) / 127.5 - 1
    mask = SkinTone()(images)
    assert mask.shape == (1, 1, 1, 2) and mask[0, 0, 0, 0] > 0.9 and mask[0, 0, 0, 1] < 0.1


def test_train_tiny_trains_on_the_demo_generator_and_resumes(tmp_path, demo):
    first = run("train_tiny.py", "--steps", "2", "--out", "out", cwd=tmp_path)
    assert "trained 2 steps" in first.stdout
    second = run("train_tiny.py", "--steps", "3", "--out", "out", cwd=tmp_path)
    assert "resuming from" in second.stdout
    model = its.load_encoder(tmp_path / "out" / "checkpoints" / "step-00000003")
    assert model.config.generator == demo.config.generator
    torch.testing.assert_close(model.decoder.state_dict(), demo.decoder.state_dict())  # frozen, copied in
    assert png(tmp_path / "out" / "inversion.png") == (64, 64)
