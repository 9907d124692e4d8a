"""What [`evaluate`][interestyle.evaluate] measures: images by name, and the masks and reconstructions paired with them.

Files pair by name (the file's stem: ``0001.png`` pairs with ``0001.jpg``), images held in memory by
position. Each pair is checked before anything is inverted: a missing partner, or one whose aspect ratio is
not its image's (both are resized to the evaluation size), is an error naming the file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from torch import Tensor

from ..images import IMAGE_SUFFIXES, ImageInput, image_sizes, read_images

__all__ = ["ImageSet", "image_set", "paired"]

_EXIF_ORIENTATION = 0x0112
_TRANSPOSED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


def _file_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image file as it will be read (EXIF orientation applied), from its header."""
    try:
        with Image.open(path) as img:
            w, h = img.size
            orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"cannot read {path} as an image: {exc}") from None
    return (w, h) if orientation in _TRANSPOSED else (h, w)


class ImageSet:
    """Images by name, read a few at a time: image files (named by stem) or images in memory (named by index).

    Attributes:
        names: one per image, unique.
        paths: the files, or None for images in memory.
        what: how errors call these images (``"images"``, ``"masks"``, ``"reconstructions"``).
    """

    def __init__(
        self, names: list[str], what: str, *, paths: list[Path] | None = None, tensors: list[Tensor] | None = None
    ) -> None:
        self.names, self.what, self.paths, self._tensors = names, what, paths, tensors
        self._sizes: list[tuple[int, int]] | None = None

    def __len__(self) -> int:
        return len(self.names)

    def read(self, indices: Sequence[int]) -> list[Tensor]:
        """The images at ``indices``, each (1, 3, H, W) float32 in [-1, 1] at its own size."""
        if self.paths is not None:
            return [read_images(self.paths[i], what=str(self.paths[i]))[0] for i in indices]
        assert self._tensors is not None
        return [self._tensors[i] for i in indices]

    def sizes(self) -> list[tuple[int, int]]:
        """Each image's (H, W) as it will be read (file headers only, read once).

        Raises:
            ValueError: a file that is not an image (named).
        """
        if self._sizes is None:
            if self.paths is not None:
                self._sizes = [_file_size(p) for p in self.paths]
            else:
                assert self._tensors is not None
                self._sizes = image_sizes(self._tensors)
        return self._sizes

    def where(self, index: int) -> str:
        """The image's file, or its position."""
        return str(self.paths[index]) if self.paths is not None else f"{self.what}[{index}]"

    def reordered(self, order: Sequence[int]) -> ImageSet:
        """The images at the positions ``order``, in that order."""
        paths = None if self.paths is None else [self.paths[i] for i in order]
        tensors = None if self._tensors is None else [self._tensors[i] for i in order]
        return ImageSet([self.names[i] for i in order], self.what, paths=paths, tensors=tensors)


def image_set(images: ImageInput, what: str) -> ImageSet:
    """Images to measure: a folder (its image files, sorted by name), a file, a list of files, or anything
    [`interestyle.images.read_images`][interestyle.images.read_images] reads (tensors, arrays, PIL images: read now,
    named by index).

    Raises:
        FileNotFoundError: a folder without images, or a file that does not exist.
        ValueError: two files of one name (``a.png`` and ``a.jpg``: names are what pairs images up).
    """
    if isinstance(images, (str, os.PathLike)):
        specs: list[str | os.PathLike[str]] | None = [images]
    elif isinstance(images, Sequence) and images and all(isinstance(i, (str, os.PathLike)) for i in images):
        specs = list(images)  # type: ignore[arg-type]
    else:
        specs = None
    if specs is not None:
        paths: list[Path] = []
        for spec in specs:
            p = Path(spec)
            if p.is_dir():
                found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
                if not found:
                    raise FileNotFoundError(f"{what}: the folder {p} holds no images ({', '.join(IMAGE_SUFFIXES)})")
                paths.extend(found)
            elif p.is_file():
                paths.append(p)
            else:
                raise FileNotFoundError(f"{what}: {p} does not exist")
        seen: dict[str, Path] = {}
        for p in paths:
            if p.stem in seen:
                raise ValueError(
                    f"{what}: {seen[p.stem]} and {p} have one name, {p.stem!r}; names pair images with their masks "
                    "and reconstructions, so each must be unique"
                )
            seen[p.stem] = p
        return ImageSet([p.stem for p in paths], what, paths=paths)
    singles = [t[i : i + 1] for t in read_images(images, what=what) for i in range(t.shape[0])]
    return ImageSet([str(i) for i in range(len(singles))], what, tensors=singles)


def paired(images: ImageSet, other: ImageSet) -> ImageSet:
    """``other`` in the order of ``images``, one per image: by name when both are files, else by position.

    Files of ``other`` that pair with no image are left out (``interestyle invert`` writes
    ``NAME.composite.png`` beside ``NAME.png``, for example).

    Raises:
        ValueError: an image without a partner (the message names it and counts the others), a count that
            differs (by position), or a partner whose aspect ratio is not its image's (both named).
    """
    if images.paths is not None and other.paths is not None:
        index = {name: i for i, name in enumerate(other.names)}
        missing = [i for i, name in enumerate(images.names) if name not in index]
        if missing:
            folders = sorted({str(p.parent) for p in other.paths})
            raise ValueError(
                f"{other.what} do not pair with the images: {', '.join(folders)} has no file named "
                f"{images.names[missing[0]]}.* for {images.where(missing[0])}"
                + (f" ({len(missing) - 1} more images unpaired)" if len(missing) > 1 else "")
                + "; files pair with images by name"
            )
        result = other.reordered([index[name] for name in images.names])
    elif len(other) != len(images):
        raise ValueError(f"{len(other)} {other.what} for {len(images)} images: give one per image, in the same order")
    else:
        result = other
    for i, ((h, w), (oh, ow)) in enumerate(zip(images.sizes(), result.sizes(), strict=True)):
        if not math.isclose(oh / ow, h / w, rel_tol=0.02):
            raise ValueError(
                f"{result.where(i)} is {oh}x{ow} (HxW) but its image {images.where(i)} is {h}x{w}: a partner needs "
                "its image's aspect ratio (both are resized to the evaluation size)"
            )
    return result
