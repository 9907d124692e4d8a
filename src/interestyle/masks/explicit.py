"""Explicit masks: masks the user already has, validated and resized to the images they belong to."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from ..images import MaskInput, load_masks
from .protocol import resize_masks

__all__ = ["ExplicitMask", "explicit_masks"]


def explicit_masks(mask: MaskInput, sizes: Sequence[tuple[int, int]], size: int, *, what: str = "mask") -> Tensor:
    """Validate explicit masks for a batch of images and resize them: (B, 1, size, size) float32 in [0, 1].

    Args:
        mask: one mask for every image, or one per image: a PIL image, a numpy array ((H, W), (H, W, 1) or
            (B, H, W); bool, uint8, uint16 or float in [0, 1]), a tensor ((H, W), (B, H, W) or
            (B, 1, H, W); bool, uint8 or float in [0, 1]), a path to an image file, or a list of these.
        sizes: the images' original (H, W); each mask must have its image's aspect ratio.
        size: the side of the square masks returned.

    Raises:
        ValueError: NaN or infinite values, values outside [0, 1], a wrong rank or channel count, a number
            of masks that is neither 1 nor the number of images, or a mismatched aspect ratio.
        TypeError: an unsupported type or dtype.
        FileNotFoundError: a path that does not exist.
    """
    return load_masks(mask, size, sizes=sizes, what=what)


class ExplicitMask:
    """A fixed mask (or one per image) as a provider, so explicit masks compose with the wrappers in
    [`interestyle.masks.compose`][interestyle.masks.compose] (e.g. ``Union(ExplicitMask(m), "aligned-face")``).

    When called with (B, 3, H, W) images it returns its mask(s) resized to (B, 1, H, W). The mask needs the aspect ratio
    of the images it is called with (square inside [`interestyle.invert`][interestyle.invert], which resizes every image
    to a square).
    """

    def __init__(self, mask: MaskInput, *, name: str = "explicit") -> None:
        self.mask = mask
        self.name = name
        self.resolution: int | None = None
        self.device = None

    def __call__(self, images: Tensor) -> Tensor:
        b, _, h, w = (int(n) for n in images.shape)
        masks = load_masks(self.mask, max(h, w), sizes=[(h, w)] * b, what=self.name)
        return resize_masks(masks, (h, w)).to(images.device)
