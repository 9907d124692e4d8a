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

from torch import Tensor

from .blur import gaussian_blur
from .validation import check_non_negative_number

__all__ = ["FILTER_VARIANTS", "UninterestFilter", "step_radii"]

FilterVariant = Literal["uninterest", "whole"]
FILTER_VARIANTS: tuple[str, ...] = ("uninterest", "whole")


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
        self.radii = tuple(check_non_negative_number(r, "radii") for r in radii)
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
        # the kernel spans ceil(3 sigma) on each side, clipped to the image (PIL's GaussianBlur in spirit)
        half = max(0, min(math.ceil(3 * sigma), images.shape[-2] - 1, images.shape[-1] - 1))
        blurred = gaussian_blur(images, sigma, radius=half, padding="reflect")
        if self.variant == "whole":
            return blurred
        if mask is None:
            raise ValueError("the 'uninterest' variant of the Uninterest Filter needs an interest mask")
        m = mask.to(images.dtype)
        return m * images + (1 - m) * blurred

    def step_input(self, mask: Tensor | None) -> Callable[[int, Tensor], Tensor]:
        """``f(step, images)`` for `IntereStyleModel.refine`'s ``step_input``, with ``mask`` bound."""
        return lambda step, images: self(images, mask, step)
