"""``interestyle invert | edit | mix`` on a tiny model folder: the files they promise, and their errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from conftest import tiny_model
from interestyle import DirectionSet
from interestyle.cli import main
from interestyle.grids import label_height


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    tiny_model().save_pretrained(root / "model")
    DirectionSet({"smile": torch.randn(32, generator=torch.Generator().manual_seed(0))}).save_pretrained(root / "model")
    rng = np.random.default_rng(0)
    (root / "photos").mkdir()
    (root / "masks").mkdir()
    for name in ("a", "b", "c"):
        Image.fromarray(rng.integers(0, 256, (40, 38, 3), dtype=np.uint8)).save(root / "photos" / f"{name}.png")
        mask = np.zeros((40, 38), np.uint8)
        mask[6:34, 6:30] = 255
        Image.fromarray(mask).save(root / "masks" / f"{name}.png")
    (root / "photos" / "broken.png").write_bytes(b"this is not a PNG")
    (root / "photos" / "notes.txt").write_text("not an image, and not an image suffix: ignored")
    return root


def cli(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interestyle", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def latents_of(path) -> dict[str, torch.Tensor]:
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118


def test_invert_a_folder_skips_the_unreadable_image(work):
    proc = cli("invert", "photos", "--model", "model", "--mask", "masks", "--out", "inverted", "--grid", cwd=work)
    assert proc.returncode == 1, proc.stderr
    assert "skipped photos/broken.png" in proc.stderr and "Traceback" not in proc.stderr
    out = work / "inverted"
    for name in ("a", "b", "c"):
        assert Image.open(out / f"{name}.png").size == (32, 32)
        assert Image.open(out / f"{name}.composite.png").size == (32, 32)
        assert latents_of(out / f"{name}.safetensors")["latents"].shape == (8, 32)
    assert not (out / "broken.png").exists()
    # rows a, b, c of photo | reconstruction | composite: 32-pixel cells, 2-pixel gaps, under a label strip and
    # right of a column of names
    grid = np.asarray(Image.open(out / "grid.png").convert("L"))
    left = grid.shape[1] - (2 + 3 * 34)
    assert grid.shape[0] == label_height(32) + 2 + 3 * 34 and left > 0
    assert grid[: label_height(32), left:].min() < 128 and grid[label_height(32) :, :left].min() < 128  # text
    assert "inverted 3 photo(s)" in proc.stdout


def test_edit_writes_one_image_per_strength(work):
    proc = cli(
        "edit", "photos/a.png", "photos/b.png", "--model", "model", "--direction", "smile",
        "--strength", "-2", "0", "1.5", "--layers", "coarse", "--out", "edited", "--grid", "--no-progress",
        cwd=work,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = work / "edited"
    for name in ("a", "b"):
        for label in ("-2", "+0", "+1.5"):
            assert (out / f"{name}_smile_{label}.png").is_file()
        saved = latents_of(out / f"{name}_smile.safetensors")
        assert saved["latents"].shape == (3, 8, 32) and saved["strengths"].tolist() == [-2.0, 0.0, 1.5]
    assert (out / "grid.png").is_file()
    assert proc.stderr == ""  # --no-progress: no progress bars


def test_edit_without_strength_takes_the_direction_s_recommended_one(work, tmp_path):
    from interestyle import Direction, DirectionSet

    vector = torch.randn(32, generator=torch.Generator().manual_seed(0))
    DirectionSet([Direction(vector, name="smile", strength=0.6)]).save_pretrained(tmp_path / "dirs")
    args = ["photos/a.png", "--model", "model", "--direction", "smile", "--no-progress"]
    recommended = cli("edit", *args, "--directions", str(tmp_path / "dirs"), "--out", "rec", cwd=work)
    assert recommended.returncode == 0, recommended.stderr
    assert latents_of(work / "rec" / "a_smile.safetensors")["strengths"].tolist() == pytest.approx([0.6])
    plain = cli("edit", *args, "--out", "plain", cwd=work)
    assert plain.returncode == 0, plain.stderr  # the model's own smile records no strength
    assert latents_of(work / "plain" / "a_smile.safetensors")["strengths"].tolist() == [1.0]


def test_edit_saved_latents_matches_the_python_api(work):
    from interestyle import edit, load_encoder

    cli("invert", "photos/c.png", "--model", "model", "--out", "inv-c", "--no-progress", cwd=work)
    proc = cli(
        "edit", "inv-c/c.safetensors", "--model", "model", "--direction", "model/directions.safetensors",
        "--strength", "2", "--out", "edited-latents", "--no-progress",
        cwd=work,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    saved = latents_of(work / "edited-latents" / "c_smile.safetensors")["latents"]
    model = load_encoder(work / "model")
    source = latents_of(work / "inv-c" / "c.safetensors")["latents"]
    expected = edit(model, source, DirectionSet.from_pretrained(work / "model")["smile"], 2.0).latents
    torch.testing.assert_close(saved, expected)


def test_edit_says_what_align_and_mask_cannot_do_with_saved_latents(work, capsys, monkeypatch):
    monkeypatch.chdir(work)
    main(["invert", "photos/a.png", "--model", "model", "--out", "inv-a", "--no-progress"])
    capsys.readouterr()
    common = ["--model", "model", "--direction", "model/directions.safetensors", "--no-progress"]
    assert main(["edit", "inv-a/a.safetensors", "--align", *common, "--out", "e-align"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith("interestyle edit: error: --align pastes each face's edit back") and "inv-a/a.safetensors" in err
    )
    assert not (work / "e-align").exists()  # refused before anything was written
    assert main(["edit", "inv-a/a.safetensors", "photos/b.png", "--mask", "masks", *common, "--out", "e-mask"]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert [line for line in lines if "--mask" in line] == [
        "interestyle edit: warning: --mask: 1 input(s) are saved latents, with no photo to paste into: their edits "
        "are written as the generator made them"
    ]
    # a photo and saved latents in one call (this raised "zip() argument 2 is longer than argument 1")
    assert sorted(p.name for p in (work / "e-mask").glob("*.png")) == ["a_smile_+1.png", "b_smile_+1.png"]


def test_mix_with_a_style_photo_and_with_random_styles(work):
    proc = cli(
        "mix", "photos/a.png", "photos/b.png", "--style", "photos/c.png", "--layers", "fine",
        "--model", "model", "--mask", "masks", "--out", "mixed", "--grid", "--no-progress",
        cwd=work,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for name in ("a_c", "b_c"):
        assert Image.open(work / "mixed" / f"{name}.png").size == (32, 32)
        saved = latents_of(work / "mixed" / f"{name}.safetensors")
        assert torch.equal(saved["latents"][4:], saved["style"][4:])
    assert (work / "mixed" / "grid.png").is_file()

    proc = cli(
        "mix",
        "photos/a.png",
        "--random",
        "3",
        "--seed",
        "1",
        "--model",
        "model",
        "--out",
        "rnd",
        "--no-progress",
        cwd=work,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (work / "rnd").glob("*.png")) == ["a_random0.png", "a_random1.png", "a_random2.png"]


def test_help_shows_examples(work):
    for command in ("invert", "edit", "mix"):
        proc = cli(command, "--help", cwd=work)
        assert proc.returncode == 0 and "examples:" in proc.stdout and "--batch-size" in proc.stdout


def run_main(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err
    return code, err


def test_a_glob_that_matches_nothing_is_an_error(work, capsys, monkeypatch):
    monkeypatch.chdir(work)
    code, err = run_main(capsys, "invert", "nothing/*.png", "--model", "model", "--out", "x")
    assert code == 2
    assert err.strip() == "interestyle invert: error: input pattern 'nothing/*.png' matches no file"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--direction", "smiel"], "unknown direction 'smiel'; known directions: smile"),
        (["--direction", "smile", "--strength", "nan"], "strength must be finite, got nan"),
        (["--direction", "smile", "--strength", "1", "inf"], "strength must be finite, got inf"),
        (["--direction", "smile", "--layers", "2:12"], "layers='2:12' is out of bounds"),
        (["--direction", "wrong.npy"], "direction 'wrong' has shape (5,), which does not fit this model"),
        (["--direction", "smile", "--device", "tpu9"], "--device 'tpu9' is not a device"),
    ],
)
def test_edit_errors_are_one_line(work, capsys, monkeypatch, args, message):
    monkeypatch.chdir(work)
    np.save(work / "wrong.npy", np.ones(5))
    code, err = run_main(capsys, "edit", "photos/a.png", "--model", "model", "--out", "never", *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not (work / "never").exists()


def test_a_direction_name_without_directions_folder(work, capsys, monkeypatch, tmp_path):
    tiny_model().save_pretrained(tmp_path / "bare")
    monkeypatch.chdir(work)
    code, err = run_main(capsys, "edit", "photos/a.png", "--model", str(tmp_path / "bare"), "-d", "smile", "-o", "x")
    assert code == 2 and "holds no directions.safetensors" in err


def test_mix_batches_that_do_not_pair_up(work, capsys, monkeypatch):
    monkeypatch.chdir(work)
    code, err = run_main(
        capsys, "mix", "photos/a.png", "photos/b.png", "photos/c.png", "--style", "photos/a.png", "photos/b.png",
        "--model", "model", "--out", "never",
    )  # fmt: skip
    assert code == 2 and "3 content photos and 2 styles do not pair up" in err
    assert not (work / "never").exists()


def test_an_unreadable_file_named_alone_is_skipped_with_exit_1(work, capsys, monkeypatch):
    monkeypatch.chdir(work)
    code, err = run_main(
        capsys, "invert", "photos/broken.png", "photos/a.png", "-m", "model", "-o", "two", "--no-progress"
    )
    assert code == 1
    assert "warning: skipped photos/broken.png: cannot read" in err
    assert (work / "two" / "a.png").is_file() and not (work / "two" / "broken.png").exists()


def test_a_missing_input_is_an_error(work, capsys, monkeypatch):
    monkeypatch.chdir(work)
    code, err = run_main(capsys, "mix", "photos/zzz.png", "--model", "model", "--out", "never")
    assert code == 2 and "content photos/zzz.png does not exist" in err
