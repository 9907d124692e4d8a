"""``interestyle demo`` and ``run_demo`` on tiny models (tests/test_demo_weights.py runs the embedded ones)."""

import subprocess
import sys

from PIL import Image

from conftest import tiny_model
from interestyle.demo import COLUMNS, run_demo


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
