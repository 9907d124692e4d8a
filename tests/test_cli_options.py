"""What every command shares: one progress flag, ``--model`` defaulting to the demo model, ``--mask`` naming the
providers, one line and exit code 2 for a missing optional extra; and ``mix --random`` / ``mix --align``."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from conftest import tiny_model
from interestyle import available_mask_providers, invert, style_mix
from interestyle.cli import COMMANDS, build_parser, main
from interestyle.editing import random_styles, resolve_layers
from training_setup import tiny_run

MODEL_COMMANDS = ("invert", "edit", "mix")


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def help_text(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_one_progress_flag_on_every_command():
    commands = subparsers()
    assert set(commands) == set(COMMANDS)
    for name, parser in commands.items():
        assert not {"--quiet", "-q"} & option_strings(parser), name
    for name in (*MODEL_COMMANDS, "masks", "convert", "train"):
        assert "--no-progress" in option_strings(commands[name]), name


def test_model_defaults_to_the_demo_model_and_its_help_says_what_it_takes(capsys):
    commands = subparsers()
    for name in (*MODEL_COMMANDS, "demo", "app"):
        action = next(a for a in commands[name]._actions if "--model" in a.option_strings)
        assert action.default == "demo" and not action.required, name
    for name in (*MODEL_COMMANDS, "app"):
        text = help_text(capsys, name)
        assert "(default: demo, the embedded demo model)" in text and "Hugging Face Hub repo id" in text, name
        assert "org/interestyle-ffhq" not in text and "org/" not in text, name
    assert "you/your-interestyle-model" in help_text(capsys, "invert")


def test_mask_help_lists_the_registered_providers(capsys, monkeypatch):
    from interestyle.masks import registry

    monkeypatch.setitem(registry._REGISTERED, "test-oval", lambda: None)
    for name in MODEL_COMMANDS:
        text = help_text(capsys, name).replace("- ", "-")  # argparse may wrap after a hyphen
        for provider in available_mask_providers():
            assert provider in text, (name, provider)
    assert "test-oval" in available_mask_providers()


def test_masks_takes_a_device(tmp_path, capsys):
    Image.new("RGB", (40, 40), (120, 90, 60)).save(tmp_path / "a.png")
    argv = ["masks", str(tmp_path / "a.png"), "--provider", "aligned-face", "--out", str(tmp_path / "m")]
    assert main([*argv, "--device", "cpu", "--no-progress"]) == 0
    assert (tmp_path / "m" / "a_mask.png").is_file()
    if not torch.cuda.is_available():
        assert main([*argv, "--device", "cuda"]) == 2
        assert "CUDA is not available" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is not None, reason="mediapipe is installed here")
@pytest.mark.parametrize(
    "argv",
    [
        ["invert", "PHOTO", "--align", "--out", "OUT"],
        ["edit", "PHOTO", "--align", "--direction", "grey_hair", "--out", "OUT"],
        ["mix", "PHOTO", "--align", "--random", "1", "--out", "OUT"],
        ["masks", "PHOTO", "--provider", "mediapipe-face", "--out", "OUT"],
    ],
)
def test_a_missing_extra_is_one_line_naming_the_install_command_and_exit_2(tmp_path, capsys, argv):
    Image.new("RGB", (60, 40), (120, 90, 60)).save(tmp_path / "photo.png")
    argv = [{"PHOTO": str(tmp_path / "photo.png"), "OUT": str(tmp_path / "out")}.get(a, a) for a in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"interestyle {argv[0]}: error:") and "pip install 'interestyle[mediapipe]'" in line


def test_app_and_train_without_their_extras_are_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "gradio", None)
    monkeypatch.delitem(sys.modules, "interestyle.app.ui", raising=False)
    assert main(["app", "--port", "7999"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("interestyle app: error:") and "pip install 'interestyle[app]'" in line

    monkeypatch.setitem(sys.modules, "accelerate", None)
    config = tmp_path / "run.json"
    config.write_text(json.dumps(tiny_run(tmp_path)))
    assert main(["train", str(config)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("interestyle train: error:") and "pip install 'interestyle[train]'" in line


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("mix")
    tiny_model().save_pretrained(root / "model")
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        Image.fromarray(rng.integers(0, 256, (36, 36, 3), dtype=np.uint8)).save(root / f"{name}.png")
    return root


def test_mix_random_n_gives_every_photo_the_same_n_random_styles(folder):
    photos = [str(folder / f"{name}.png") for name in ("a", "b", "c")]
    argv = ["mix", *photos, "--random", "2", "--model", str(folder / "model"), "--out", str(folder / "rnd")]
    assert main([*argv, "--grid", "--batch-size", "4", "--no-progress"]) == 0
    names = sorted(p.stem for p in (folder / "rnd").glob("*_random*.png"))
    assert names == [f"{c}_random{k}" for c in "abc" for k in range(2)]
    model = tiny_model()
    styles = random_styles(model, 2, seed=0, truncation=0.7)
    for c in "abc":
        content = invert(model, folder / f"{c}.png")
        for k in range(2):
            saved = load_file(str(folder / "rnd" / f"{c}_random{k}.safetensors"))
            torch.testing.assert_close(saved["style"], styles[k])
            expected = style_mix(model, content, styles[k : k + 1], layers="coarse").latents[0]
            torch.testing.assert_close(saved["latents"], expected)
    assert (folder / "rnd" / "grid.png").is_file()


class TwoFaces:
    """Two faces at fixed places of any photo (5-point landmarks)."""

    def __call__(self, image):
        h, w = image.shape[-2:]
        d = 0.1 * w
        return torch.tensor(
            [[[cx - d, 0.4 * h], [cx + d, 0.4 * h], [cx, 0.5 * h], [cx - 0.7 * d, 0.6 * h], [cx + 0.7 * d, 0.6 * h]]
             for cx in (0.3 * w, 0.7 * w)]
        )  # fmt: skip


def test_mix_align_pastes_each_face_s_mix_into_the_photo(folder):
    from interestyle.align import register_landmark_provider
    from interestyle.align.landmarks import _REGISTERED

    photo = np.random.default_rng(1).integers(0, 256, (96, 320, 3), dtype=np.uint8)
    Image.fromarray(photo).save(folder / "group.png")
    register_landmark_provider("test-mix-two-faces", TwoFaces)
    try:
        argv = ["mix", str(folder / "group.png"), "--style", str(folder / "group.png"), "--layers", "all"]
        argv += ["--align", "--landmarks", "test-mix-two-faces", "--model", str(folder / "model")]
        assert main([*argv, "--out", str(folder / "aligned"), "--grid", "--no-progress"]) == 0
    finally:
        _REGISTERED.pop("test-mix-two-faces")
    mixed = np.asarray(Image.open(folder / "aligned" / "group_group.png"), dtype=np.int16)
    assert mixed.shape == photo.shape
    assert np.array_equal(mixed[:4, :4], photo[:4, :4])  # outside the faces: the photo
    saved = load_file(str(folder / "aligned" / "group_group.safetensors"))
    model = tiny_model()
    content = invert(model, photo, align=True, landmarks=TwoFaces())
    assert saved["latents"].shape == (2, model.n_latent, model.style_dim)  # both faces
    layers = resolve_layers("all", model.n_latent)
    torch.testing.assert_close(saved["latents"][:, layers], content.latents[:1, layers].expand(2, -1, -1))
    assert (folder / "aligned" / "grid.png").is_file()
