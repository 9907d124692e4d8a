"""Command-line outputs: unique file names in the output folder, PNGs and latents (safetensors) written
atomically, and the contact sheet of ``--grid``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from PIL import Image
from safetensors.torch import save_file
from torch import Tensor

from ..grids import image_grid
from ..serialization import atomic_write

__all__ = ["Grid", "output_folder", "save_latents", "save_png", "unique_names"]


def output_folder(path: str) -> Path:
    """Create the output folder; a path that is a file is an error."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"--out {folder} is a file; give a folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def unique_names(names: Sequence[Path | str]) -> list[str]:
    """Names (a path's stem) made safe for files, with ``-2``, ``-3`` ... added where two would clash."""
    out, seen = [], set()
    for item in names:
        stem = item.stem if isinstance(item, Path) else item
        base = re.sub(r"[^\w.+-]", "_", stem) or "image"
        name, k = base, 1
        while name in seen:
            k += 1
            name = f"{base}-{k}"
        seen.add(name)
        out.append(name)
    return out


def save_png(image: Image.Image, path: Path) -> None:
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))


def save_latents(path: Path, tensors: Mapping[str, Tensor], metadata: Mapping[str, str]) -> None:
    """Write tensors (moved to the CPU, float32) and string metadata into a safetensors file."""
    data = {k: v.detach().float().cpu().contiguous() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(data, str(tmp), metadata={"format": "pt", **metadata}))


class Grid:
    """Rows of a contact sheet, collected as the images are made (thumbnails only, so memory stays small),
    with a label over each column and each row's input named on its left."""

    def __init__(self, enabled: bool, labels: Sequence[str], cell: int = 128) -> None:
        self.enabled = enabled
        self.labels = list(labels)
        self.cell = cell
        self.rows: list[list[Image.Image | None]] = []
        self.names: list[str] = []

    def add(self, row: Sequence[Image.Image | None], name: str = "") -> None:
        if self.enabled:
            self.rows.append([None if im is None else _thumbnail(im, self.cell) for im in row])
            self.names.append(name)

    def save(self, path: Path) -> Path | None:
        if not self.enabled or not self.rows:
            return None
        row_labels = self.names if any(self.names) else None
        save_png(image_grid(self.rows, column_labels=self.labels, row_labels=row_labels), path)
        return path


def _thumbnail(image: Image.Image, cell: int) -> Image.Image:
    im = image.convert("RGB")
    if max(im.size) > cell:
        im.thumbnail((cell, cell), Image.Resampling.LANCZOS)
    return im
