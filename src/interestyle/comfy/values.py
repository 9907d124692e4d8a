"""What travels along the IntereStyle wires of a ComfyUI graph: the custom type names and their values.

ComfyUI connects an output to an input when both name the same upper-case type; these three are ours. IMAGE and MASK are
ComfyUI's own (see [`interestyle.comfy.tensors`][interestyle.comfy.tensors]).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..align import PhotoFaces
from ..directions import DirectionSet, shipped_directions
from ..models.model import IntereStyleModel

__all__ = ["ALIGNMENT", "LATENTS", "MODEL", "ComfyModel", "FaceAlignment"]

MODEL = "INTERESTYLE_MODEL"
"""The type of a loaded model (a [`ComfyModel`][interestyle.comfy.values.ComfyModel])."""
LATENTS = "INTERESTYLE_LATENTS"
"""The type of inverted or edited W+ latents with the photos and masks they came from: the
[`LatentResult`][interestyle.results.LatentResult] that ``invert``, ``edit`` or ``style_mix`` returned, which ``edit``
and ``style_mix`` take as their source and whose ``composite()`` pastes the images into the photos."""
ALIGNMENT = "INTERESTYLE_ALIGNMENT"
"""The type of a photo batch's aligned faces and their transforms (a
[`FaceAlignment`][interestyle.comfy.values.FaceAlignment])."""


@dataclass
class ComfyModel:
    """An INTERESTYLE_MODEL value: the model and where it came from, to find the directions it ships.

    Attributes:
        model: the loaded model, in eval mode.
        source: what the LoadModel node was given: an embedded name, a folder or a Hub repo id.
    """

    model: IntereStyleModel = field(repr=False)
    source: str

    @cached_property
    def directions(self) -> DirectionSet | None:
        """The directions the model ships beside its weights (read on first use), or None when it ships none."""
        return shipped_directions(self.source)


@dataclass(frozen=True)
class FaceAlignment:
    """An INTERESTYLE_ALIGNMENT value: every face of every photo of a batch, aligned.

    Attributes:
        photos: one [`PhotoFaces`][interestyle.align.PhotoFaces] per photo, in batch order; each holds the photo
            and its aligned faces, left to right, with their transforms.
        size: the side of the aligned crops, in pixels.
    """

    photos: tuple[PhotoFaces, ...]
    size: int

    @property
    def face_count(self) -> int:
        """The number of faces over all photos: the rows of the crop batch."""
        return sum(len(photo.faces) for photo in self.photos)
