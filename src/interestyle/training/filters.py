"""The Uninterest Filter (UnF): what the encoder sees at each refinement step.

At step ``t`` the input is low-passed with a Gaussian of standard deviation ``r_t`` (IntereStyle's radii
16, 9, 4, 1, 0 at 256x256, scaled to the image size), so early steps see coarse structure and later ones
add detail; the loss target stays the sharp image. ``"uninterest"`` blurs only outside the interest mask,
``x_t = m * x + (1 - m) * blur(x, r_t)`` (the paper's wording); ``"whole"`` blurs the whole image (the
released code). Radius 0 is the identity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["FILTER_VARIANTS", "UninterestFilter", "gaussian_blur", "step_radii"]

FilterVariant = Literal["uninterest", "whole"]
FILTER_VARIANTS: tuple[str, ...] = ("uninterest", "whole")


def gaussian_blur(images: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur with standard deviation ``sigma`` pixels and reflect padding.

    The kernel spans ``ceil(3 * sigma)`` pixels on each side (clipped to the image), like PIL's
    ``GaussianBlur(radius=sigma)`` in spirit (PIL approximates the Gaussian with box blurs).

    Args:
        images: (B, C, H, W), any float dtype.
        sigma: standard deviation in pixels, >= 0; 0 returns ``images`` unchanged.

    Returns:
        (B, C, H, W), same dtype and device.
    """
    if not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma={sigma!r} is invalid: expected a finite number >= 0")
    if sigma == 0:
        return images
    b, c, h, w = images.shape
    half = min(math.ceil(3 * sigma), h - 1, w - 1)
    if half < 1:
        return images
    offsets = torch.arange(-half, half + 1, device=images.device, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(images.dtype)
    x = images.reshape(b * c, 1, h, w)
    x = F.conv2d(F.pad(x, (half, half, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, half, half), mode="reflect"), kernel.view(1, 1, -1, 1))
    return x.reshape(b, c, h, w)


def step_radii(
    radii: Sequence[float], iterations: int, resolution: int, *, reference_resolution: int = 256
) -> list[float]:
    """Blur radius (standard deviation in pixels) of each refinement step at ``resolution``.

    ``radii`` are expressed at ``reference_resolution`` and scaled by ``resolution / reference_resolution``;
    steps beyond ``len(radii)`` get 0 (no blur), extra radii are ignored.
    """
    scale = resolution / reference_resolution
    return [float(radii[t]) * scale if t < len(radii) else 0.0 for t in range(iterations)]


class UninterestFilter:
    """The per-step input filter of IntereStyle training.

    Args:
        radii: blur standard deviations per step at ``reference_resolution`` (default 16, 9, 4, 1, 0).
        variant: ``"uninterest"`` (blur outside the mask only) or ``"whole"`` (blur everything).
        reference_resolution: the size the radii are expressed at (256 upstream).
    """

    def __init__(
        self,
        radii: Sequence[float] = (16, 9, 4, 1, 0),
        variant: FilterVariant = "uninterest",
        *,
        reference_resolution: int = 256,
    ) -> None:
        if variant not in FILTER_VARIANTS:
            raise ValueError(f"variant={variant!r} is invalid: expected one of {list(FILTER_VARIANTS)}")
        if any(not math.isfinite(r) or r < 0 for r in radii):
            raise ValueError(f"radii={list(radii)!r} are invalid: expected numbers >= 0")
        self.radii = tuple(float(r) for r in radii)
        self.variant = variant
        self.reference_resolution = reference_resolution

    def radius(self, step: int, resolution: int) -> float:
        """The blur standard deviation, in pixels, of ``step`` for images of side ``resolution``."""
        return step_radii(self.radii, step + 1, resolution, reference_resolution=self.reference_resolution)[step]

    def __call__(self, images: Tensor, mask: Tensor | None, step: int) -> Tensor:
        """Filter ``images`` (B, 3, H, W) for refinement ``step``; ``mask`` (B, 1, H, W) in [0, 1].

        The ``"uninterest"`` variant needs the mask; ``"whole"`` ignores it.
        """
        sigma = self.radius(step, images.shape[-1])
        if sigma == 0:
            return images
        blurred = gaussian_blur(images, sigma)
        if self.variant == "whole":
            return blurred
        if mask is None:
            raise ValueError("the 'uninterest' variant of the Uninterest Filter needs an interest mask")
        m = mask.to(images.dtype)
        return m * images + (1 - m) * blurred

    def step_input(self, mask: Tensor | None) -> Callable[[int, Tensor], Tensor]:
        """``f(step, images)`` for :meth:`IntereStyleModel.refine`'s ``step_input``, with ``mask`` bound."""
        return lambda step, images: self(images, mask, step)
