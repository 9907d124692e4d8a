"""Command-line inputs: files, globs and folders expanded to image paths; images read one by one, an
unreadable one skipped with a warning; masks matched to their images."""

from __future__ import annotations

import glob
import sys
from collections.abc import Sequence
from pathlib import Path

from safetensors import SafetensorError, safe_open
from torch import Tensor
from tqdm.auto import tqdm

from ..images import DECODE_MARGIN, IMAGE_SUFFIXES, image_sizes, read_images, stretch_message, upscale_message
from ..latents_file import INDEX_SUFFIX, read_latents_file
from ..models.model import IntereStyleModel

__all__ = ["MaskFinder", "Reader", "expand_inputs", "is_latents_input", "model_side", "warn"]

_GLOB_CHARS = frozenset("*?[")


def warn(command: str, message: str) -> None:
    """One line on stderr that does not break a running progress bar."""
    tqdm.write(f"interestyle {command}: warning: {message}", file=sys.stderr)


def _folder_images(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def expand_inputs(specs: Sequence[str], *, what: str = "input", suffixes: Sequence[str] = IMAGE_SUFFIXES) -> list[Path]:
    """Expand each file, glob pattern or folder (its files with one of ``suffixes``, not recursive), in order.

    A file named explicitly is kept whatever its suffix (reading it decides). Duplicates are dropped.

    Raises:
        FileNotFoundError: a path that does not exist, a glob that matches nothing, or a folder without images.
    """
    out: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found = _folder_images(path, suffixes)
            if not found:
                raise FileNotFoundError(f"{what} folder {spec} holds no files ending in {', '.join(suffixes)}")
        elif path.is_file():
            found = [path]
        elif _GLOB_CHARS & set(spec):
            matches = sorted(Path(m) for m in glob.glob(spec, recursive=True))
            found = [m for m in matches if m.is_file()]
            if not found:
                raise FileNotFoundError(f"{what} pattern {spec!r} matches no file")
        else:
            raise FileNotFoundError(f"{what} {spec} does not exist")
        out.extend(found)
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def is_latents_input(path: Path) -> bool:
    """A saved-latents input rather than an image: a ``.safetensors`` file or a latents index
    (``*.safetensors.index.json``, see [`interestyle.latents_file`][interestyle.latents_file])."""
    return path.suffix.lower() == ".safetensors" or path.name.endswith(".safetensors" + INDEX_SUFFIX)


def model_side(model: IntereStyleModel) -> int:
    """The side images are resized to for ``model`` (without --align): the larger of its input and its output."""
    return max(model.input_size, model.resolution)


class Reader:
    """Reads images one at a time; an unreadable file (or a photo whose mask is missing from a mask folder)
    is reported with a warning naming it and counted, not raised.

    With ``side`` (the side the model resizes images to, `model_side`), a large file is decoded at a reduced
    size that keeps `DECODE_MARGIN` times it, and one enlarged past `MAX_UPSCALE` or stretched to the square
    side is warned about by name (the library's own warnings count images in a batch; `main` silences them).
    Without it, files are read whole (photos to align).
    """

    def __init__(self, command: str, masks: MaskFinder | None = None, *, side: int | None = None) -> None:
        self.command = command
        self.masks = masks
        self.side = side
        self.skipped: list[Path] = []

    def read(self, path: Path) -> Tensor | None:
        """(1, 3, H, W) float32 in [-1, 1], or None when the file cannot be read as an image."""
        min_side = None if self.side is None else DECODE_MARGIN * self.side
        try:
            image = read_images(path, what=str(path), min_side=min_side)[0]
        except (ValueError, TypeError, OSError) as exc:
            warn(self.command, f"skipped {path}: {exc}")
            self.skipped.append(path)
            return None
        if self.side is not None:
            for describe in (upscale_message, stretch_message):
                if message := describe(image_sizes([image]), self.side, what=str(path)):
                    warn(self.command, message)
        missing = None if self.masks is None else self.masks.missing(path)
        if missing is not None:
            warn(self.command, f"skipped {path}: {missing}")
            self.skipped.append(path)
            return None
        return image

    def read_latents(self, path: Path) -> Tensor | None:
        """The ``latents`` tensor of a safetensors file as (K, n_latent, style_dim), or None when unreadable."""
        try:
            with safe_open(str(path), framework="pt", device="cpu") as f:
                if "latents" not in f.keys():  # noqa: SIM118 (safe_open is not a dict)
                    raise ValueError("it holds no tensor named 'latents' (write it with `interestyle invert`)")
                latents = f.get_tensor("latents")
        except (SafetensorError, ValueError, OSError) as exc:
            warn(self.command, f"skipped {path}: cannot read W+ latents: {exc}")
            self.skipped.append(path)
            return None
        if latents.ndim == 2:
            latents = latents[None]
        if latents.ndim != 3 or not latents.dtype.is_floating_point:
            warn(self.command, f"skipped {path}: 'latents' has shape {tuple(latents.shape)}, not (n_latent, style_dim)")
            self.skipped.append(path)
            return None
        return latents

    def read_latents_file(self, path: Path) -> dict[str, Tensor] | None:
        """The ``{name: latents}`` of a dataset's latents file or index, or None (warned, counted) when unreadable."""
        try:
            return read_latents_file(path)
        except (ValueError, OSError) as exc:
            warn(self.command, f"skipped {path}: cannot read its latents: {exc}")
            self.skipped.append(path)
            return None

    def exit_code(self) -> int:
        """0 when every input was read, else 1 after a summary line."""
        if not self.skipped:
            return 0
        names = ", ".join(str(p) for p in self.skipped[:5]) + (" ..." if len(self.skipped) > 5 else "")
        print(f"interestyle {self.command}: {len(self.skipped)} input(s) could not be read: {names}", file=sys.stderr)
        return 1


class MaskFinder:
    """What ``--mask`` names for each image: one mask file for all, a folder of masks matched by file stem, or (anything
    else) a value passed to [`interestyle.invert`][interestyle.invert] unchanged."""

    def __init__(self, spec: str | None) -> None:
        self.spec = spec
        self.by_stem: dict[str, Path] | None = None
        if spec is not None and Path(spec).is_dir():
            self.by_stem = {p.stem: p for p in _folder_images(Path(spec), IMAGE_SUFFIXES)}

    def missing(self, image: Path) -> str | None:
        """Why ``image`` has no mask (a mask folder without its stem), or None."""
        if self.by_stem is None or image.stem in self.by_stem:
            return None
        return f"the mask folder {self.spec} has no mask named {image.stem}.*"

    def masks(self, images: Sequence[Path]) -> list[str] | list[Path] | str | None:
        """The ``mask=`` argument of [`interestyle.invert`][interestyle.invert] for these images."""
        if self.by_stem is not None:
            return [self.by_stem[p.stem] for p in images]
        return self.spec
