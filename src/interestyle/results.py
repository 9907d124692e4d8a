"""What [`interestyle.invert`][interestyle.invert], [`interestyle.edit`][interestyle.edit] and
[`interestyle.style_mix`][interestyle.style_mix] return in common: W+ latents, the images they decode to, and the photos
and masks they came from, which [`LatentResult.composite`][interestyle.results.LatentResult.composite] pastes the images
back into.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from PIL import Image
from torch import Tensor, nn

from .align import PhotoFaces
from .images import to_pil
from .masks.morphology import feather_mask
from .validation import check_non_negative_number

__all__ = ["LatentResult", "composite_through_mask"]


@dataclass(kw_only=True)
class LatentResult:
    """The fields and methods [`InversionResult`][interestyle.InversionResult] and
    [`EditResult`][interestyle.EditResult] share; tensors on the model's device. Outputs are flat along the batch: ``N``
    rows.

    Attributes:
        latents: W+ latents, (N, n_latent, style_dim).
        images: G(latents), (N, 3, R, R), roughly in [-1, 1] (not clipped).
        inputs: the photos at the generator's resolution, (B, 3, R, R) in [-1, 1], B dividing N (output
            ``n`` belongs to photo ``n % B``); None when the latents did not come from photos.
        masks: the interest masks of the inversion, (B, 1, R, R) in [0, 1]; None without a mask.
        alignment: with ``align=True``, each photo's aligned faces and their transforms; the rows are then
            the faces, photo by photo and left to right.
        photos: with ``align=True``, the photos with their faces replaced by the outputs, (1, 3, H, W) in
            [-1, 1] each, in output order; None otherwise.
        generator: the generator the latents decode with when it is not the model's own: the tuned copy
            [`interestyle.refine`][interestyle.refine] makes (edits and style mixes of a refined result keep it); None:
            the model's generator.
    """

    latents: Tensor
    images: Tensor
    inputs: Tensor | None = None
    masks: Tensor | None = None
    alignment: list[PhotoFaces] | None = None
    photos: list[Tensor] | None = None
    generator: nn.Module | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return self.latents.shape[0]

    def to_pil(self) -> list[Image.Image]:
        """The images as RGB PIL images, in output order."""
        return to_pil(self.images)

    def composite(self, *, feather_px: float | None = None) -> Tensor:
        """The images inside the interest mask, the photos outside: (N, 3, R, R) in [-1, 1].

        The two are blended across a Gaussian-feathered edge so that no seam shows.

        Args:
            feather_px: the edge's Gaussian sigma in pixels; default ``R / 64`` (16 px at 1024); 0 for a hard edge.

        Raises:
            ValueError: no mask (the inversion was run without one), no photos (the latents were edited
                bare), or a bad ``feather_px``.
        """
        if self.masks is None:
            raise ValueError(
                "composite() needs the interest mask of the inversion, and this result has none: invert with "
                "invert(..., mask=...) and edit that result"
            )
        if self.inputs is None:
            raise ValueError(
                "composite() needs the photos and mask of the inversion, and this result was made from bare "
                "latents: edit an InversionResult made with invert(..., mask=...) instead"
            )
        return composite_through_mask(self.images, self.inputs, self.masks, feather_px=feather_px)


def composite_through_mask(images: Tensor, photos: Tensor, masks: Tensor, *, feather_px: float | None = None) -> Tensor:
    """``m * images + (1 - m) * photos`` with ``m`` the feathered mask: (N, 3, R, R) in [-1, 1].

    Args:
        images: (N, 3, R, R) generated images (clipped to [-1, 1]).
        photos: (B, 3, R, R) in [-1, 1]; B divides N and output ``n`` uses photo ``n % B`` (strength-major
            sweeps of [`interestyle.edit`][interestyle.edit]).
        masks: (B, 1, R, R) in [0, 1], one per photo.
        feather_px: Gaussian sigma of the blend edge in pixels; default ``R / 64``; 0 for a hard edge.
    """
    sigma = (
        images.shape[-1] / 64
        if feather_px is None
        else check_non_negative_number(feather_px, "feather_px", note="pixels")
    )
    # feather_mask takes its sigma in pixels of a 256-wide mask
    soft = feather_mask(masks, sigma * 256 / masks.shape[-1]) if sigma > 0 else masks
    index = torch.arange(images.shape[0], device=images.device) % photos.shape[0]
    m = soft[index].to(images.dtype)
    return m * images.clamp(-1, 1) + (1 - m) * photos[index]
