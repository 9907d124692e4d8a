"""Checks on what a browser uploads, before any pixel is decoded: size, format, mode."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..images import read_images, to_pil

__all__ = ["MAX_MEGAPIXELS", "UNUSUAL_MODES", "read_upload"]

MAX_MEGAPIXELS = 40.0
"""Largest upload the editor accepts, in millions of pixels; a larger image is refused before it is decoded."""
# Modes that read_images converts to RGB, with a note to the user because the colours may shift.
UNUSUAL_MODES = {
    "CMYK": "CMYK (print colours): converted to RGB, colours may shift",
    "I;16": "16-bit grayscale: reduced to 8-bit RGB",
    "I;16B": "16-bit grayscale: reduced to 8-bit RGB",
    "I;16L": "16-bit grayscale: reduced to 8-bit RGB",
    "I": "32-bit integer: reduced to 8-bit RGB",
    "F": "32-bit float: reduced to 8-bit RGB",
}


def read_upload(path: str | os.PathLike[str], *, max_megapixels: float = MAX_MEGAPIXELS) -> tuple[Image.Image, str]:
    """Open an uploaded file as one RGB image, refusing what the app cannot use.

    The header is read first, so a huge image is refused before it is decoded; the pixels then go through
    [`interestyle.images.read_images`][interestyle.images.read_images] (EXIF orientation, mode conversion) like every
    other input.

    Args:
        path: the uploaded file.
        max_megapixels: the largest image accepted, in millions of pixels.

    Returns:
        (the image as RGB, a note for the user: empty, or what was converted).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an image, or an image larger than ``max_megapixels``.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"uploaded file {p.name} is missing")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                width, height, mode, fmt = img.width, img.height, img.mode, img.format
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(
            f"{p.name} is far too large to decode safely; the app accepts up to {max_megapixels:.0f} megapixels: "
            "downscale it first"
        ) from None
    except UnidentifiedImageError:
        raise ValueError(f"{p.name} is not an image this app can read; upload a PNG, JPEG or WebP") from None
    except OSError as exc:
        raise ValueError(f"{p.name} cannot be read as an image: {exc}") from None
    megapixels = width * height / 1e6
    if megapixels > max_megapixels:
        raise ValueError(
            f"{p.name} is {width}x{height} ({megapixels:.0f} megapixels); the app accepts up to {max_megapixels:.0f} "
            "megapixels: downscale it first"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = to_pil(read_images(p, what=p.name)[0])[0]
    note = UNUSUAL_MODES.get(mode, "")
    if note:
        note = f"{p.name} ({fmt}) is {note}."
    return image, note
