"""Uploads are checked before they are decoded: not an image, too large, unusual modes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from interestyle.app import read_upload


def test_an_ordinary_photo_is_read_as_rgb_without_a_note(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(path)
    image, note = read_upload(path)
    assert image.mode == "RGB" and image.size == (30, 20) and note == ""


def test_a_file_that_is_not_an_image_is_refused_by_name(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.png is not an image"):
        read_upload(path)


def test_a_missing_file_is_a_file_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_upload(tmp_path / "gone.png")


def test_an_image_over_the_limit_is_refused_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (3000, 2000)).save(path)
    with pytest.raises(ValueError, match=r"3000x2000 \(6 megapixels\).*up to 5"):
        read_upload(path, max_megapixels=5)
    assert read_upload(path, max_megapixels=6)[0].size == (3000, 2000)


def test_a_decompression_bomb_is_refused_as_too_large(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("L", (400, 400)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ValueError, match="too large"):
        read_upload(path)


@pytest.mark.parametrize(("mode", "value", "words"), [("CMYK", (0, 80, 160, 0), "CMYK"), ("I;16", 40000, "16-bit")])
def test_cmyk_and_16_bit_are_converted_with_a_note(tmp_path, mode, value, words):
    path = tmp_path / ("a.jpg" if mode == "CMYK" else "a.png")
    Image.new(mode, (10, 8), value).save(path)
    image, note = read_upload(path)
    assert image.mode == "RGB" and image.size == (10, 8)
    assert words in note and path.name in note
