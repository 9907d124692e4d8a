"""Kind ``interfacegan``: one InterFaceGAN-style direction file into a [`DirectionSet`][interestyle.DirectionSet]
folder.

e4e's and PTI's ``editings/interfacegan_directions/`` (``age.pt``, ``smile.pt``, ``rotation.pt``: (1, 512);
``pose.pt``: (1, 18, 512)) are tensors saved with ``torch.save``; genforce/interfacegan's ``boundaries/`` are
``.npy`` arrays (1, 512). An edit is ``latent + factor * direction`` on W+ (e4e's
``LatentEditor.apply_interfacegan``); the direction keeps the file's length as its ``unit``, so strength
``f`` is exactly e4e's factor ``f`` (the shipped files are unit vectors: the unit is 1).
"""

from __future__ import annotations

import re

import torch
from torch import Tensor

from ..directions import Direction, DirectionSet
from .checkpoint import Checkpoint
from .registry import Conversion, ConvertOptions, Kind

__all__ = ["KIND", "direction_name"]

USAGE = """from interestyle import DirectionSet, edit

directions = DirectionSet.from_pretrained("MODEL")
result = edit(model, inversion, directions["NAME"], [-3, 0, 3])  # latent + strength * direction"""


def direction_name(checkpoint: Checkpoint) -> str:
    """The direction's name: the file's stem, in the characters a direction name allows."""
    stem = re.sub(r"[^A-Za-z0-9_.+-]", "_", checkpoint.path.stem).lstrip("_.+-")[:64]
    return stem or "direction"


def _vector(checkpoint: Checkpoint) -> Tensor | None:
    value = checkpoint.content
    return value if isinstance(value, Tensor) else None


def _why_not(checkpoint: Checkpoint) -> str | None:
    vector = _vector(checkpoint)
    if vector is None:
        return "not a single tensor (an InterFaceGAN direction is one (1, D) or (1, L, D) tensor)"
    if not vector.dtype.is_floating_point:
        return f"a tensor of dtype {vector.dtype}, not a float direction"
    shape = tuple(vector.shape)
    if not (len(shape) in (1, 2) or (len(shape) == 3 and shape[0] == 1)) or vector.numel() == 0:
        return f"a tensor of shape {shape}; a direction is (D,), (1, D), (L, D) or (1, L, D)"
    return None


def _evidence(checkpoint: Checkpoint) -> str | None:
    return "it is a single direction tensor" if _why_not(checkpoint) is None else None


def _convert(checkpoint: Checkpoint, options: ConvertOptions) -> Conversion:
    vector = _vector(checkpoint)
    assert vector is not None  # why_not said so
    raw = vector.detach().to("cpu", torch.float64)
    raw = raw[0] if raw.ndim == 3 else raw
    length = float(raw.norm(dim=-1).max())
    name = direction_name(checkpoint)
    space = " (W space)" if "_w_" in checkpoint.path.name else ""
    description = (
        f"InterFaceGAN direction from {checkpoint.path.name}{space}: an edit is latent + strength * direction "
        "(e4e's apply_interfacegan)"
    )
    notes = [f"{name}: shape {tuple(vector.shape)}, length {length:.6g} (kept as its unit)"]
    if checkpoint.path.suffix.lower() == ".npy" and "_w_" not in checkpoint.path.name:
        notes.append(
            f"{checkpoint.path.name} has no '_w_' in its name: genforce's naming for a Z-space boundary, which does "
            "not apply to W+ latents"
        )
    directions = DirectionSet([Direction(raw, name=name, description=description, unit=length)])
    return Conversion(
        config=directions.metadata(),
        tensors=directions.tensors(),
        notes=notes,
        usage=USAGE.replace("NAME", name),
        sources={name: checkpoint.path.name},
        directions=directions,
    )


KIND = Kind(
    name="interfacegan",
    summary="an InterFaceGAN direction (e4e / PTI .pt, genforce .npy): a DirectionSet folder",
    why_not=_why_not,
    evidence=_evidence,
    convert=_convert,
)
