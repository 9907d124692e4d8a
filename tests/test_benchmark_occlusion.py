"""benchmarks/occlusion.py runs end to end on tiny models and a small N."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import tiny_model
from interestyle.images import load_images
from interestyle.synthetic import DEMO_DOMAIN, make_batch

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
            "--domain",
            "v2",
            "--json",
            str(out),
            "--uninterest-filter",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| occluded | other |" in proc.stdout and "of domain v2" in proc.stdout
    written = json.loads(out.read_text())
    assert written["domain"] == "v2"
    figures = written["results"]
    for name in ("baseline", "other"):
        for condition in ("clean", "clutter", "occluded"):
            row = figures[name][condition]
            assert row["interest_mse"] >= 0 and -1 <= row["interest_ssim"] <= 1 and row["full_mse"] >= 0
        assert figures[name]["occluded"]["leak_mse"] >= 0
        assert figures[name]["clean"]["leak_mse"] != figures[name]["clean"]["leak_mse"]  # NaN: no occluder
    # each model again, inverting with the Uninterest Filter of the true masks
    assert "| occluded | other + UnF |" in proc.stdout
    assert figures["other + UnF"]["occluded"]["leak_mse"] != figures["other"]["occluded"]["leak_mse"]


def test_a_model_spec_without_a_name_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--model", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "NAME=DIR_OR_REPO" in proc.stderr


def test_ablations_are_the_runs_checkpoints_at_one_step(tmp_path):
    sys.path.insert(0, str(SCRIPT.parent))
    import occlusion

    for domain, runs in occlusion.ABLATIONS.items():
        for run in runs.values():
            (tmp_path / run / "checkpoints" / "step-00000040").mkdir(parents=True)
        specs = occlusion.ablation_models(tmp_path, step=40, domain=domain)
        assert [s.split("=")[0] for s in specs] == [f"{name}@40" for name in runs]
        assert specs[0].startswith("baseline@40=")  # the ratios' reference comes first
        assert all(f"/{run}/" in spec for spec, run in zip(specs, runs.values(), strict=True))
    (tmp_path / "ablation-no-ind" / "checkpoints" / "step-00000040").rmdir()
    with pytest.raises(SystemExit, match=r"ablation-no-ind.*recipes/train_demo\.sh"):
        occlusion.ablation_models(tmp_path, step=40, domain="v1")
    (tmp_path / "v2-no-ind" / "checkpoints" / "step-00000040").rmdir()
    with pytest.raises(SystemExit, match=r"v2-no-ind.*recipes/train_demo_v2\.sh"):
        occlusion.ablation_models(tmp_path, step=40, domain="v2")


def test_seed_runs_are_grouped_as_mean_and_spread(tmp_path):
    sys.path.insert(0, str(SCRIPT.parent))
    import occlusion

    for pattern in occlusion.SEED_RUNS.values():
        for seed in occlusion.SEEDS:
            (tmp_path / pattern.format(seed) / "checkpoints" / "step-00001000").mkdir(parents=True)
    specs = occlusion.seed_models(tmp_path)
    assert [s.split("=")[0] for s in specs] == [f"{n}#{k}" for n in ("baseline", "interestyle") for k in (0, 1, 2)]
    with pytest.raises(SystemExit, match=r"v2-baseline-seed0.*step-00000500.*train_demo_v2"):
        occlusion.seed_models(tmp_path, step=500)

    def row(interest: float, leak: float) -> dict[str, float]:
        return {"interest_mse": interest, "interest_ssim": 0.5, "full_mse": 0.1, "leak_mse": leak}

    results = {
        f"{name}#{k}": {c: row(i + k * 0.002, leak + k * 0.004) for c in occlusion.CONDITIONS}
        for name, i, leak in (("baseline", 0.020, 0.040), ("interestyle", 0.010, 0.010))
        for k in (0, 1, 2)
    }
    table = occlusion.format_table(results)
    # means 0.022 / 0.044 and 0.012 / 0.014; the sample standard deviation of (0, 2, 4) x 1e-3 is 0.002
    assert "| occluded | baseline (3 seeds) | 0.0220 +- 0.0020 | 0.5000 +- 0.0000 |" in table
    assert "| occluded | interestyle (3 seeds) | 0.0120 +- 0.0020 |" in table
    assert f"{100 * (0.012 / 0.022 - 1):+.1f}%, {100 * (0.014 / 0.044 - 1):+.1f}%" in table
    assert occlusion.mean_std([1.0, float("nan")]) == (1.0, 0.0)


def test_ablations_seeds_and_models_are_exclusive(tmp_path):
    for args in (["--ablations", "--model", f"a={tmp_path}"], ["--seeds", "--ablations", "--domain", "v2"]):
        proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)
        assert proc.returncode == 2 and "give one of them" in proc.stderr
    proc = subprocess.run([sys.executable, str(SCRIPT), "--seeds", "--domain", "v1"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--domain v2" in proc.stderr


def test_write_faces_writes_the_held_out_faces_and_masks_for_interestyle_eval(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--write-faces", str(tmp_path), "-n", "3"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    for condition in ("clean", "clutter", "occluded"):
        images = sorted((tmp_path / condition / "images").glob("*.png"))
        masks = sorted((tmp_path / condition / "masks").glob("*.png"))
        assert [p.name for p in images] == [p.name for p in masks] == ["0000.png", "0001.png", "0002.png"]
        batch = make_batch(3, size=64, seed=900_001, condition=condition, domain=DEMO_DOMAIN)
        torch.testing.assert_close(load_images(images, 64), batch.image, atol=1 / 127.5, rtol=0)  # 8-bit PNGs
