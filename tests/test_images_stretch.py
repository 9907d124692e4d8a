"""Photos that are not square: the model's square input stretches them, and invert and the command line say so."""

from __future__ import annotations

import warnings

import pytest
import torch
from PIL import Image

from conftest import tiny_model
from interestyle import StretchWarning, invert
from interestyle.cli import main
from interestyle.images import SQUARE_TOLERANCE, not_square, stretch_message


def test_not_square_allows_the_tolerance_of_a_resized_crop():
    assert SQUARE_TOLERANCE == 0.05
    assert not_square([(100, 100), (100, 95), (100, 94), (94, 100), (30, 48)]) == [2, 3, 4]
    assert stretch_message([(64, 64), (63, 64)], 32) is None


def test_a_wide_photo_is_inverted_with_one_warning_naming_the_stretch():
    model = tiny_model()  # 32 pixels
    with pytest.warns(StretchWarning) as caught:
        result = invert(model, [torch.zeros(3, 40, 64), torch.zeros(3, 32, 32), torch.zeros(3, 48, 30)])
    assert len(result.latents) == 3 and len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith("image 0 is 64x40 pixels, not square, and is stretched to 32x32 (2 of 3 are not square)")
    assert "align=True" in message


def test_a_square_photo_and_an_aligned_one_are_not_warned_about():
    model = tiny_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        invert(model, torch.zeros(1, 3, 31, 32))  # within the tolerance
        invert(model, Image.new("RGB", (64, 64)))


def test_the_command_line_names_each_stretched_file_once(tmp_path, capsys):
    model = tiny_model()
    model.save_pretrained(tmp_path / "model")
    Image.new("RGB", (60, 40), (90, 60, 40)).save(tmp_path / "wide.png")
    Image.new("RGB", (40, 40), (90, 60, 40)).save(tmp_path / "square.png")
    argv = ["invert", str(tmp_path / "square.png"), str(tmp_path / "wide.png"), "--model", str(tmp_path / "model")]
    assert main([*argv, "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "stretched" in line]
    assert lines == [
        f"interestyle invert: warning: {tmp_path / 'wide.png'} is 60x40 pixels, not square, and is stretched to "
        "32x32, which distorts the face: crop it square around the face, or align it (invert(..., align=True); "
        "--align on the command line)"
    ]
