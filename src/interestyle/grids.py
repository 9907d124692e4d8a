"""Contact sheets: rows of images pasted into one picture, for sweeps, mixes and side-by-side comparisons."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

from .validation import check_non_negative_int, check_positive_int

__all__ = ["image_grid"]


def image_grid(
    rows: Sequence[Sequence[Image.Image | None]],
    *,
    cell: int | None = None,
    pad: int = 2,
    background: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """Paste rows of images into one RGB contact sheet.

    Args:
        rows: one list per row; rows may differ in length, and ``None`` leaves a cell empty.
        cell: side of each (square) cell in pixels; default the largest side of the images, at most 256.
            Images are resized to fit inside a cell, keeping their aspect ratio, and centred.
        pad: pixels between cells and around the sheet.
        background: RGB colour of the gaps.

    Raises:
        ValueError: no images, or a non-positive cell size or a negative pad.
    """
    images = [im for row in rows for im in row if im is not None]
    if not images:
        raise ValueError("image_grid needs at least one image")
    if cell is None:
        cell = min(256, max(max(im.size) for im in images))
    cell, pad = check_positive_int(cell, "cell"), check_non_negative_int(pad, "pad")
    columns = max(len(row) for row in rows)
    sheet = Image.new("RGB", (pad + columns * (cell + pad), pad + len(rows) * (cell + pad)), background)
    for r, row in enumerate(rows):
        for c, im in enumerate(row):
            if im is None:
                continue
            scale = cell / max(im.size)
            size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
            thumb = im.convert("RGB").resize(size, Image.Resampling.LANCZOS) if size != im.size else im.convert("RGB")
            x = pad + c * (cell + pad) + (cell - size[0]) // 2
            y = pad + r * (cell + pad) + (cell - size[1]) // 2
            sheet.paste(thumb, (x, y))
    return sheet
