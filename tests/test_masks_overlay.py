"""Overlay pictures: the interest region outlined, at the size it is looked at, laid out in a grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from interestyle.masks.overlay import OUTLINE, overlay, overlay_grid, overlay_picture


def test_overlay_outlines_the_interest_region_and_leaves_every_other_pixel():
    images = torch.rand(1, 3, 16, 16) * 2 - 1
    masks = torch.zeros(1, 1, 16, 16)
    masks[..., 4:12, 4:12] = 1
    out = overlay(images, masks, width_px=2)
    line = (out != images).any(1)[0]
    # a 2-pixel line straddling the edge: the square's border row and the row just outside it
    assert line[3, 3:13].all() and line[4, 4:12].all() and not line[5, 5:11].any() and not line[2].any()
    assert line.sum() == 10 * 10 - 6 * 6  # rows and columns 3..12, less the untouched inside 5..10
    torch.testing.assert_close(out[0, :, 3, 8], torch.tensor(OUTLINE))
    assert torch.equal(out[..., ~line], images[..., ~line])  # no tint anywhere
    wide = (overlay(images, masks, width_px=4) != images).any(1)[0]
    assert wide.sum() > line.sum()
    assert torch.equal(overlay(images, torch.ones(1, 1, 16, 16)), images)  # no edge inside the image: no line


def test_overlay_resizes_masks():
    out = overlay(torch.zeros(2, 3, 8, 8), torch.ones(2, 1, 4, 4))
    assert out.shape == (2, 3, 8, 8) and out.eq(0).all()


def test_an_overlay_picture_is_drawn_at_the_size_it_is_shown():
    image, mask = torch.zeros(1, 3, 1000, 800), torch.zeros(1, 1, 1000, 800)
    mask[..., 200:800, 200:600] = 1
    picture = overlay_picture(image, mask, cell=256)
    assert picture.size == (205, 256)
    green = int((np.asarray(picture)[..., 1] > 200).sum())
    assert green > 2 * 2 * (102 + 154)  # a line about 2 px wide around the 102 x 154 px box, not a blur of it


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
        (lambda: overlay(torch.zeros(1, 3, 4, 4), torch.zeros(1, 1, 4, 4), width_px=0), "width_px"),
        (lambda: overlay_grid([]), "at least one"),
        (lambda: overlay_grid([Image.new("RGB", (4, 4))], columns=0), "columns=0"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
