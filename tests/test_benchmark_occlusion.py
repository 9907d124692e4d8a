"""benchmarks/occlusion.py runs end to end on tiny models and a small N."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import tiny_model
from interestyle.images import load_images
from interestyle.synthetic import make_batch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "occlusion.py"


def test_occlusion_benchmark_end_to_end(tmp_path):
    tiny_model(seed=0).save_pretrained(tmp_path / "a")
    tiny_model(seed=1).save_pretrained(tmp_path / "b")
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--model",
            f"baseline={tmp_path / 'a'}",
            "--model",
            f"other={tmp_path / 'b'}",
            "-n",
            "4",
            "--batch-size",
            "2",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| occluded | other |" in proc.stdout
    figures = json.loads(out.read_text())["results"]
    for name in ("baseline", "other"):
        for condition in ("clean", "clutter", "occluded"):
            row = figures[name][condition]
            assert row["interest_mse"] >= 0 and -1 <= row["interest_ssim"] <= 1 and row["full_mse"] >= 0
        assert figures[name]["occluded"]["leak_mse"] >= 0
        assert figures[name]["clean"]["leak_mse"] != figures[name]["clean"]["leak_mse"]  # NaN: no occluder


def test_a_model_spec_without_a_name_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--model", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "NAME=DIR_OR_REPO" in proc.stderr


def test_ablations_are_the_runs_checkpoints_at_one_step(tmp_path):
    sys.path.insert(0, str(SCRIPT.parent))
    import occlusion

    for run in occlusion.ABLATIONS.values():
        (tmp_path / run / "checkpoints" / "step-00000040").mkdir(parents=True)
    specs = occlusion.ablation_models(tmp_path, step=40)
    assert [s.split("=")[0] for s in specs] == [f"{name}@40" for name in occlusion.ABLATIONS]
    assert specs[0].startswith("baseline@40=")  # the ratios' reference comes first
    (tmp_path / "ablation-no-ind" / "checkpoints" / "step-00000040").rmdir()
    with pytest.raises(SystemExit, match=r"ablation-no-ind.*recipes/train_demo\.sh"):
        occlusion.ablation_models(tmp_path, step=40)


def test_ablations_and_models_are_exclusive(tmp_path):
    args = ["--ablations", "--model", f"a={tmp_path}"]
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)
    assert proc.returncode == 2 and "--ablations" in proc.stderr


def test_write_faces_writes_the_held_out_faces_and_masks_for_interestyle_eval(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--write-faces", str(tmp_path), "-n", "3"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    for condition in ("clean", "clutter", "occluded"):
        images = sorted((tmp_path / condition / "images").glob("*.png"))
        masks = sorted((tmp_path / condition / "masks").glob("*.png"))
        assert [p.name for p in images] == [p.name for p in masks] == ["0000.png", "0001.png", "0002.png"]
        batch = make_batch(3, size=64, seed=900_001, condition=condition)
        torch.testing.assert_close(load_images(images, 64), batch.image, atol=1 / 127.5, rtol=0)  # 8-bit PNGs
