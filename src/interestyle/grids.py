"""Contact sheets: rows of images pasted into one picture, for sweeps, mixes and side-by-side comparisons,
with the columns (and rows) labelled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

from PIL import Image, ImageDraw, ImageFont

from .validation import check_non_negative_int, check_positive_int

__all__ = ["image_grid", "label_height"]

Font = Union[ImageFont.FreeTypeFont, ImageFont.ImageFont]  # noqa: UP007 (runtime alias on Python 3.10)

_MIN_FONT_PX = 8
_TEXT = (0, 0, 0)


def _font_px(cell: int) -> int:
    """The label font size for a cell: an eleventh of it, from 11 px (readable over a 32 px cell) to 20 px."""
    return max(11, min(20, cell // 11))


def label_height(cell: int) -> int:
    """Height in pixels of the label strip above cells of side ``cell``: 16 up to 131 px cells, at most 25."""
    return _font_px(check_positive_int(cell, "cell")) + 5


def _font(px: int) -> Font:
    try:
        return ImageFont.load_default(size=px)
    except (TypeError, OSError):  # Pillow < 10.1 or without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _fitted(text: str, width: int, px: int) -> tuple[str, Font]:
    """``text`` in the largest font from ``px`` down to 8 px that fits ``width``; cut with an ellipsis if none does."""
    for size in range(px, _MIN_FONT_PX - 1, -1):
        font = _font(size)
        if font.getlength(text) <= width:
            return text, font
    font = _font(_MIN_FONT_PX)
    while len(text) > 1 and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…", font


def _check_labels(labels: Sequence[str] | None, count: int, what: str) -> list[str] | None:
    if labels is None:
        return None
    if isinstance(labels, str) or not all(isinstance(t, str) for t in labels):
        raise TypeError(f"{what} must be a sequence of strings, got {labels!r}")
    if len(labels) > count:
        raise ValueError(f"{what} holds {len(labels)} labels for {count} {what.split('_')[0]}s")
    return list(labels)


def image_grid(
    rows: Sequence[Sequence[Image.Image | None]],
    *,
    cell: int | None = None,
    pad: int = 2,
    background: tuple[int, int, int] = (255, 255, 255),
    column_labels: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
) -> Image.Image:
    """Paste rows of images into one RGB contact sheet, with a label over each column and beside each row.

    Args:
        rows: one list per row; rows may differ in length, and ``None`` leaves a cell empty.
        cell: side of each (square) cell in pixels; default the largest side of the images, at most 256.
            Images are resized to fit inside a cell, keeping their aspect ratio, and centred.
        pad: pixels between cells and around the sheet.
        background: RGB colour of the gaps.
        column_labels: text over the columns, left to right (as many as the columns, or fewer); a strip of
            [`label_height`][interestyle.grids.label_height] pixels is added on top. Each label is shrunk (down to 8 px)
            or cut to fit its cell.
        row_labels: text left of the rows, top to bottom; a column as wide as the longest label (at most two
            cells) is added on the left.

    Returns:
        The sheet, ``(left + pad + columns * (cell + pad), top + pad + rows * (cell + pad))`` pixels, where
        ``top`` and ``left`` are the label strips (0 without labels).

    Raises:
        ValueError: no images, a non-positive cell size, a negative pad, or more labels than columns / rows.
        TypeError: labels that are not strings.
    """
    images = [im for row in rows for im in row if im is not None]
    if not images:
        raise ValueError("image_grid needs at least one image")
    if cell is None:
        cell = min(256, max(max(im.size) for im in images))
    cell, pad = check_positive_int(cell, "cell"), check_non_negative_int(pad, "pad")
    columns = max(len(row) for row in rows)
    column_texts = _check_labels(column_labels, columns, "column_labels")
    row_texts = _check_labels(row_labels, len(rows), "row_labels")
    px = _font_px(cell)
    top = label_height(cell) if column_texts else 0
    left = 0
    if row_texts:
        widest = max((_font(px).getlength(t) for t in row_texts), default=0.0)
        left = min(2 * cell, int(widest) + 2 * pad + 2)
    sheet = Image.new("RGB", (left + pad + columns * (cell + pad), top + pad + len(rows) * (cell + pad)), background)
    for r, row in enumerate(rows):
        for c, im in enumerate(row):
            if im is None:
                continue
            scale = cell / max(im.size)
            size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
            thumb = im.convert("RGB").resize(size, Image.Resampling.LANCZOS) if size != im.size else im.convert("RGB")
            x = left + pad + c * (cell + pad) + (cell - size[0]) // 2
            y = top + pad + r * (cell + pad) + (cell - size[1]) // 2
            sheet.paste(thumb, (x, y))
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(column_texts or []):
        text, font = _fitted(label, cell, px)
        _write(draw, left + pad + c * (cell + pad) + (cell - font.getlength(text)) / 2, top / 2, text, font)
    for r, label in enumerate(row_texts or []):
        text, font = _fitted(label, max(1, left - 2 * pad), px)
        _write(draw, pad, top + pad + r * (cell + pad) + cell / 2, text, font)
    return sheet


def _write(draw: ImageDraw.ImageDraw, x: float, y_centre: float, text: str, font: Font) -> None:
    if isinstance(font, ImageFont.FreeTypeFont):
        draw.text((x, y_centre), text, fill=_TEXT, font=font, anchor="lm")
    else:  # the bitmap font has no anchors: its glyphs are about 11 px high
        draw.text((x, y_centre - 5), text, fill=_TEXT, font=font)
