"""Pictures of masks for people: the image with the interest region's outline drawn on it, and grids of those."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from ..validation import check_positive_int

__all__ = ["OUTLINE", "overlay", "overlay_grid", "overlay_picture"]

OUTLINE = (-1.0, 1.0, -0.2)
"""Colour of the outline, in [-1, 1] RGB: a bright green, seen on skin, hair and most backgrounds."""


def overlay(images: Tensor, masks: Tensor, *, width_px: int = 2, colour: Sequence[float] = OUTLINE) -> Tensor:
    """Draw the outline of the interest region (where the mask crosses 0.5) over the images; the pixels are
    left as they are everywhere else.

    Args:
        images: (B, 3, H, W) in [-1, 1].
        masks: (B, 1, H, W) in [0, 1] (resized to the images when their sizes differ).
        width_px: thickness of the line in pixels of ``images``, straddling the edge; draw on a picture of the
            size it is looked at ([`overlay_picture`][interestyle.masks.overlay.overlay_picture]), or a thin line
            vanishes when it is shrunk.
        colour: the line's RGB colour in [-1, 1].

    Returns:
        (B, 3, H, W) in [-1, 1].

    Raises:
        ValueError: shapes that do not match, or a width below 1.
    """
    if images.ndim != 4 or images.shape[1] != 3 or masks.ndim != 4 or masks.shape[1] != 1:
        raise ValueError(
            f"overlay expects images (B, 3, H, W) and masks (B, 1, H, W), got {tuple(images.shape)} and "
            f"{tuple(masks.shape)}"
        )
    if masks.shape[0] != images.shape[0]:
        raise ValueError(f"overlay got {masks.shape[0]} masks for {images.shape[0]} images")
    width_px = check_positive_int(width_px, "width_px")
    m = masks.to(images.device, torch.float32)
    if m.shape[-2:] != images.shape[-2:]:
        m = F.interpolate(m, size=images.shape[-2:], mode="bilinear", align_corners=False)
    inside = (m >= 0.5).float()
    # the morphological gradient: pixels within a (width + 1) square of both inside and outside pixels
    k = width_px + 1
    pad = (k // 2, k - 1 - k // 2, k // 2, k - 1 - k // 2)
    grown = F.max_pool2d(F.pad(inside, pad, value=0.0), k, stride=1)
    shrunk = -F.max_pool2d(F.pad(-inside, pad, value=-1.0), k, stride=1)
    line = (grown - shrunk) > 0
    paint = torch.tensor(list(colour), dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return torch.where(line, paint, images).clamp(-1, 1)


def overlay_picture(image: Tensor, mask: Tensor, *, cell: int = 256) -> Image.Image:
    """One image (1, 3, H, W) in [-1, 1] and its mask (1, 1, H, W) shrunk to fit a ``cell`` square (aspect
    kept, never enlarged), with the outline drawn at that size: about ``cell / 100`` pixels wide, at least 2.

    Returns:
        An RGB PIL image of at most ``cell`` x ``cell`` pixels.
    """
    cell = check_positive_int(cell, "cell")
    h, w = image.shape[-2:]
    scale = min(1.0, cell / max(h, w))
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if size != (h, w):
        image = F.interpolate(image.float(), size=size, mode="bilinear", antialias=True, align_corners=False)
    drawn = overlay(image.clamp(-1, 1), mask, width_px=max(2, round(max(size) / 100)))
    array = ((drawn[0].float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0)
    return Image.fromarray(array.numpy())


def overlay_grid(pictures: Sequence[Image.Image], *, columns: int = 8, cell: int = 256) -> Image.Image:
    """Lay pictures out in a grid of ``cell`` x ``cell`` cells, each fitted inside its cell (aspect kept).

    Raises:
        ValueError: no pictures, or a non-positive ``columns`` or ``cell``.
    """
    if not pictures:
        raise ValueError("overlay_grid needs at least one picture")
    if columns < 1 or cell < 1:
        raise ValueError(f"columns={columns} and cell={cell} must both be >= 1")
    columns = min(columns, len(pictures))
    rows = math.ceil(len(pictures) / columns)
    grid = Image.new("RGB", (columns * cell, rows * cell))
    for i, picture in enumerate(pictures):
        thumb = picture.convert("RGB")
        thumb.thumbnail((cell, cell), Image.Resampling.LANCZOS)
        x = (i % columns) * cell + (cell - thumb.width) // 2
        y = (i // columns) * cell + (cell - thumb.height) // 2
        grid.paste(thumb, (x, y))
    return grid
