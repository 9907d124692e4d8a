"""`interestyle masks`: mask PNGs and an overlay grid from files, folders and globs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from interestyle.cli import main
from interestyle.cli.masks import expand_images, parse_options
from interestyle.masks import aligned_face_prior


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, size in (("a.png", (64, 64)), ("b.jpg", (48, 32)), ("c.png", (40, 40))):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_folder_to_masks_and_grid(photos, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        ["masks", str(photos), "--provider", "aligned-face", "--out", str(out), "--thumb", "32", "--columns", "2"]
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["a_mask.png", "b_mask.png", "c_mask.png", "overlay.png"]
    a = np.asarray(Image.open(out / "a_mask.png"))
    assert a.shape == (64, 64) and a.dtype == np.uint8
    expected = (aligned_face_prior(64, 64)[0, 0].numpy() * 255).round()
    assert np.abs(a.astype(float) - expected).max() <= 3
    assert Image.open(out / "b_mask.png").size == (32, 48)  # each mask at its image's size
    assert Image.open(out / "overlay.png").size == (64, 64)  # 2 x 2 cells of 32
    captured = capsys.readouterr()
    assert "masks (aligned-face)" in captured.err  # the progress bar
    assert "wrote 3 masks" in captured.out


def test_globs_files_and_duplicates(photos, tmp_path):
    paths = expand_images([str(photos / "*.png"), str(photos / "b.jpg"), str(photos / "a.png")])
    assert [p.name for p in paths] == ["a.png", "c.png", "b.jpg"]
    other = tmp_path / "other"
    other.mkdir()
    Image.new("RGB", (8, 8)).save(other / "a.png")
    out = tmp_path / "out"
    assert (
        main(
            [
                "masks",
                str(photos / "a.png"),
                str(other / "a.png"),
                "--provider",
                "aligned-face",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    assert {"a_mask.png", "a-1_mask.png"} <= {p.name for p in out.iterdir()}


def test_composition_flags(photos, tmp_path):
    plain, grown = tmp_path / "plain", tmp_path / "grown"
    args = [str(photos / "a.png"), "--provider", "aligned-face", "--no-progress"]
    main(["masks", *args, "--out", str(plain)])
    main(["masks", *args, "--out", str(grown), "--dilate-px256", "8", "--feather-px256", "1", "--invert"])
    p = np.asarray(Image.open(plain / "a_mask.png")).astype(int)
    g = np.asarray(Image.open(grown / "a_mask.png")).astype(int)
    assert (255 - g).sum() > p.sum()  # inverted after growing: less uninterest left than interest before
    assert g[32, 32] == 0 and g[2, 2] == 255


def test_provider_options(photos, tmp_path):
    assert parse_options(["softness=0.2", "weights=path/to/folder", "classes=[1, 17]"]) == {
        "softness": 0.2,
        "weights": "path/to/folder",
        "classes": [1, 17],
    }
    out = tmp_path / "out"
    main(["masks", str(photos / "a.png"), "--provider", "aligned-face", "--option", "softness=0.2", "--out", str(out)])
    soft = np.asarray(Image.open(out / "a_mask.png"))
    assert ((soft > 10) & (soft < 245)).mean() > 0.2  # much softer edges than the default


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--provider", "no-such-thing"], "unknown mask provider 'no-such-thing'; known: aligned-face, face-parsing"),
        (["--provider", "face-parsing"], "`interestyle convert 79999_iter.pth --out DIR`, then give DIR"),
        (["--provider", "face-parsing"], "`--option weights=DIR` with interestyle masks, INTERESTYLE_FACE_PARSING"),
        (["--provider", "aligned-face", "--option", "softness"], "KEY=VALUE"),
        (["--provider", "aligned-face", "--option", "colour=red"], "'aligned-face' does not accept options ['colour']"),
        (["--provider", "aligned-face", "--batch-size", "0"], "--batch-size=0"),
        (["--provider", "aligned-face", "--dilate-px256", "-1"], "radius_px256=-1"),
    ],
)
def test_user_errors_are_one_line(photos, tmp_path, capsys, argv, message, monkeypatch):
    monkeypatch.delenv("INTERESTYLE_FACE_PARSING", raising=False)
    code = main(["masks", str(photos / "a.png"), "--out", str(tmp_path / "out"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("missing.png", "does not exist"), ("*.gif", "matches no files"), ("empty", "holds no images")],
)
def test_missing_images(tmp_path, capsys, monkeypatch, pattern, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    assert main(["masks", pattern, "--provider", "aligned-face", "--out", "out"]) == 2
    assert message in capsys.readouterr().err


def test_runs_as_a_module(photos, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "interestyle",
            "masks",
            str(photos),
            "--provider",
            "aligned-face",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
