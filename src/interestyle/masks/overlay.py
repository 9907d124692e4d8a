"""Pictures of masks for people: the image with its uninterest region tinted, and grids of those."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from PIL import Image
from torch import Tensor

from ..validation import check_unit_interval

__all__ = ["TINT", "overlay", "overlay_grid"]

TINT = (0.57, -0.76, -0.76)
"""Colour, in [-1, 1] RGB, that the uninterest region is blended towards (a red)."""


def overlay(images: Tensor, masks: Tensor, *, strength: float = 0.55) -> Tensor:
    """Tint the uninterest region: ``m * x + (1 - m) * ((1 - s) * x + s * TINT)``.

    Args:
        images: (B, 3, H, W) in [-1, 1].
        masks: (B, 1, H, W) in [0, 1] (resized to the images when their sizes differ).
        strength: how far the uninterest region moves towards the tint, in [0, 1].

    Returns:
        (B, 3, H, W) in [-1, 1].
    """
    if images.ndim != 4 or images.shape[1] != 3 or masks.ndim != 4 or masks.shape[1] != 1:
        raise ValueError(
            f"overlay expects images (B, 3, H, W) and masks (B, 1, H, W), got {tuple(images.shape)} and "
            f"{tuple(masks.shape)}"
        )
    if masks.shape[0] != images.shape[0]:
        raise ValueError(f"overlay got {masks.shape[0]} masks for {images.shape[0]} images")
    strength = check_unit_interval(strength, "strength")
    m = masks.to(images.device, images.dtype)
    if m.shape[-2:] != images.shape[-2:]:
        m = torch.nn.functional.interpolate(m, size=images.shape[-2:], mode="bilinear", align_corners=False)
    tint = torch.tensor(TINT, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    tinted = (1 - strength) * images + strength * tint
    return (m * images + (1 - m) * tinted).clamp(-1, 1)


def overlay_grid(pictures: Sequence[Image.Image], *, columns: int = 8, cell: int = 128) -> Image.Image:
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
