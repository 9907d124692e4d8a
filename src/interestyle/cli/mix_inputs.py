"""The content and style inputs of ``interestyle mix``: photos to invert, or W+ latents saved by ``interestyle
invert`` (one photo's ``NAME.safetensors``, or a dataset's latents file or its index), one row each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor

from ..latents_file import is_latents_file
from ..models.model import IntereStyleModel
from .inputs import Reader, is_latents_input
from .outputs import unique_names

__all__ = ["MixInput", "check_latents_fit", "mix_inputs"]


@dataclass(frozen=True)
class MixInput:
    """One content or style input.

    Attributes:
        path: the file it comes from (a photo, or the latents file holding it).
        name: its part of the output names (``NAME`` of ``NAME_STYLE.png``), unique among its kind.
        latents: saved W+ latents (n_latent, style_dim), or None for a photo (inverted when needed).
        entry: the tensor's name in a dataset's latents file, or None.
        unreadable: saved latents that could not be read (already warned about): its pairs are skipped.
    """

    path: Path
    name: str
    latents: Tensor | None = None
    entry: str | None = None
    unreadable: bool = False

    @property
    def is_photo(self) -> bool:
        return self.latents is None and not self.unreadable

    def describe(self) -> str:
        """Where it comes from, for the metadata of the mixes: the file, and the entry of a dataset's file."""
        return str(self.path) if self.entry is None else f"{self.path}[{self.entry}]"


def _rows(name: str, latents: Tensor) -> list[tuple[str, Tensor]]:
    """One (name, (n_latent, style_dim)) per row: ``NAME``, or ``NAME-0`` ... for the faces of ``--align``."""
    if latents.ndim == 2:
        return [(name, latents)]
    if len(latents) == 1:
        return [(name, latents[0])]
    return [(f"{name}-{k}", row) for k, row in enumerate(latents)]


def mix_inputs(paths: Sequence[Path], reader: Reader) -> list[MixInput]:
    """The inputs named by ``paths``, in order: a photo is one input, saved latents one per row (a dataset's
    latents file one per entry, each named by its key). An unreadable latents file is warned about (by
    ``reader``) and stays one input, so that the inputs after it pair up as they would have."""
    found: list[tuple[Path, str, Tensor | None, str | None, bool]] = []
    for path in paths:
        if not is_latents_input(path):
            found.append((path, path.stem, None, None, False))
            continue
        rows: list[tuple[str, Tensor, str | None]] | None
        if is_latents_file(path):
            entries = reader.read_latents_file(path)
            rows = None if entries is None else [(n, t, k) for k, v in entries.items() for n, t in _rows(k, v)]
        else:
            latents = reader.read_latents(path)
            rows = None if latents is None else [(n, t, None) for n, t in _rows(path.stem, latents)]
        if rows is None:
            found.append((path, path.stem, None, None, True))
        else:
            found.extend((path, name, t, entry, False) for name, t, entry in rows)
    names = unique_names([name for _, name, _, _, _ in found])
    return [
        MixInput(path, name, latents, entry, unreadable)
        for (path, _, latents, entry, unreadable), name in zip(found, names, strict=True)
    ]


def check_latents_fit(inputs: Sequence[MixInput], model: IntereStyleModel, model_spec: str) -> None:
    """Raise before any work when saved latents are not the model's shape.

    Raises:
        ValueError: latents whose (n_latent, style_dim) differ from the model's, naming the file.
    """
    expected = (model.n_latent, model.style_dim)
    for item in inputs:
        if item.latents is not None and tuple(item.latents.shape) != expected:
            raise ValueError(
                f"{item.describe()} holds latents of shape {tuple(item.latents.shape)}, and the model {model_spec} "
                f"takes {expected}: were they inverted with another model?"
            )
