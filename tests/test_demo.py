"""``interestyle demo`` and ``run_demo`` on tiny models (tests/test_demo_weights.py runs the embedded ones)."""

import subprocess
import sys

import pytest
import torch
from PIL import Image

from conftest import tiny_model
from interestyle import Direction, to_pil
from interestyle.demo import COLUMNS, HELD_OUT_SEED, run_demo
from interestyle.synthetic import make_batch


def test_run_demo_grid_and_errors():
    report = run_demo(tiny_model(seed=0), tiny_model(seed=1), n=2, cell=32)
    assert set(report.interest_mse) == set(report.leak_mse) == {"baseline", "IntereStyle"}
    assert all(v >= 0 for v in [*report.interest_mse.values(), *report.leak_mse.values()])
    # one row per face under a label strip: 6 columns of 32 px cells with 2 px gaps
    assert report.grid.size == (2 + len(COLUMNS) * 34, 16 + 2 + 2 * 34)
    assert "interest MSE" in report.summary()


def test_run_demo_without_baseline_leaves_its_column_empty():
    report = run_demo(tiny_model(), None, n=1, cell=32)
    assert list(report.interest_mse) == ["IntereStyle"]
    column = report.grid.crop((2 + 2 * 34, 18, 2 + 2 * 34 + 32, 18 + 32))
    assert column.getextrema() == ((255, 255), (255, 255), (255, 255))  # background only


def test_demo_command_writes_the_grid(tmp_path):
    tiny_model(seed=0).save_pretrained(tmp_path / "ours")
    tiny_model(seed=1).save_pretrained(tmp_path / "base")
    out = tmp_path / "demo.png"
    cmd = [
        "demo",
        "--model",
        str(tmp_path / "ours"),
        "--baseline",
        str(tmp_path / "base"),
        "-n",
        "2",
        "--out",
        str(out),
    ]
    proc = subprocess.run([sys.executable, "-m", "interestyle", *cmd], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "baseline" in proc.stdout and "IntereStyle" in proc.stdout
    assert Image.open(out).size[0] > Image.open(out).size[1]


def test_an_edit_named_for_a_model_without_directions_is_refused(tmp_path):
    tiny_model().save_pretrained(tmp_path / "m")
    cmd = ["demo", "--model", str(tmp_path / "m"), "--baseline", "none", "--edit", "grey_hair", "--out", "x.png"]
    proc = subprocess.run([sys.executable, "-m", "interestyle", *cmd], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "ships no directions" in proc.stderr
    assert not (tmp_path / "x.png").exists()


def test_the_edit_uses_the_direction_s_recommended_strength_and_the_summary_says_what_each_error_means():
    model = tiny_model(seed=0)
    smile = Direction(torch.randn(model.n_latent, model.style_dim), name="smile", strength=1.5)
    report = run_demo(model, None, n=2, cell=32, direction=smile)
    assert report.edit == "smile, strength 1.50 (W distance)"
    lines = report.summary().splitlines()
    assert lines[0].startswith("interest MSE (error inside the visible face and hair")
    assert lines[1].startswith("leak MSE (error where the occluder covers the face")
    vector = torch.randn(model.style_dim)
    unrated = run_demo(model, None, n=1, cell=32, direction=Direction(vector, name="d"))
    assert unrated.edit.startswith("d, strength ") and "W distance" in unrated.edit
    in_ranges = Direction(vector, name="r", unit=4.0)  # 2 sd of W, counted in units of 4
    ranged = run_demo(model, None, n=1, cell=32, direction=in_ranges)
    assert ranged.edit.endswith("(units of W distance 4.00)")
    assert float(ranged.edit.split("strength ")[1].split(" ")[0]) == pytest.approx(
        float(unrated.edit.split("strength ")[1].split(" ")[0]) / 4, abs=0.01
    )


def test_the_style_source_column_is_the_next_row_s_input_and_the_domain_is_honoured():
    model = tiny_model(seed=0)
    cell, n = 32, 3
    report = run_demo(model, None, n=n, cell=cell, domain="v2")
    batch = make_batch(n, size=model.resolution, seed=HELD_OUT_SEED, condition="occluded", domain="v2")

    def cell_at(row: int, column: int) -> Image.Image:
        x, y = 2 + column * (cell + 2), 16 + 2 + row * (cell + 2)
        return report.grid.crop((x, y, x + cell, y + cell))

    source = COLUMNS.index("style source")
    for row in range(n):
        expected = to_pil(batch.image[(row + 1) % n : (row + 1) % n + 1])[0].resize((cell, cell))
        assert cell_at(row, source).tobytes() == expected.tobytes()
    with pytest.raises(ValueError, match="domain"):
        run_demo(model, None, n=1, domain="v7")
