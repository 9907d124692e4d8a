"""Overlay pictures: the uninterest region tinted, laid out in a grid."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from interestyle.masks.overlay import TINT, overlay, overlay_grid


def test_overlay_keeps_interest_and_tints_the_rest():
    images = torch.zeros(1, 3, 4, 4)
    masks = torch.zeros(1, 1, 4, 4)
    masks[..., :2] = 1
    out = overlay(images, masks, strength=1.0)
    assert out[..., :2].eq(0).all()
    torch.testing.assert_close(out[0, :, 0, 3], torch.tensor(TINT))
    half = overlay(images, masks, strength=0.5)
    torch.testing.assert_close(half[0, :, 0, 3], torch.tensor(TINT) / 2)


def test_overlay_resizes_masks():
    out = overlay(torch.zeros(2, 3, 8, 8), torch.ones(2, 1, 4, 4))
    assert out.shape == (2, 3, 8, 8) and out.eq(0).all()


def test_grid_layout():
    pictures = [Image.new("RGB", (40, 20), (255, 0, 0))] * 5
    grid = overlay_grid(pictures, columns=2, cell=16)
    assert grid.size == (32, 48)
    assert grid.getpixel((8, 8)) == (255, 0, 0) and grid.getpixel((8, 1)) == (0, 0, 0)  # letterboxed
    assert grid.getpixel((24, 40)) == (0, 0, 0)  # the sixth cell is empty
    assert overlay_grid(pictures[:1], columns=8, cell=16).size == (16, 16)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: overlay(torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 4)), r"\(B, 1, H, W\)"),
        (lambda: overlay(torch.zeros(2, 3, 4, 4), torch.zeros(1, 1, 4, 4)), "1 masks for 2 images"),
        (lambda: overlay(torch.zeros(1, 3, 4, 4), torch.zeros(1, 1, 4, 4), strength=2), "strength=2"),
        (lambda: overlay_grid([]), "at least one"),
        (lambda: overlay_grid([Image.new("RGB", (4, 4))], columns=0), "columns=0"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
