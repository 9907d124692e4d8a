"""Mask morphology: dilation, erosion and feathering of (B, 1, H, W) masks, sized at 256 x 256.

Radii and sigmas are in pixels of a 256-wide mask (``radius_px256``, ``sigma_px256``) and scale linearly with the actual
width, so one value means the same share of the face at every resolution. A leaf: it imports no other module of
``masks``, so the providers ([`compose`][interestyle.masks.compose], [`face_parsing`][interestyle.masks.face_parsing])
and the inversion's compositing all build on it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..blur import gaussian_blur
from ..validation import check_non_negative_number

__all__ = ["REFERENCE_SIZE", "check_size", "dilate_mask", "erode_mask", "feather_mask"]

REFERENCE_SIZE = 256
"""Mask width at which radii and sigmas are given; they scale linearly with the actual width."""


def _scaled(value: float, width: int) -> float:
    return value * width / REFERENCE_SIZE


def check_size(value: float, what: str) -> float:
    """``value`` as a float when it is a finite number >= 0 (a radius or sigma in pixels at 256 x 256).

    Raises:
        ValueError: anything else (a bool, a string, NaN, a negative number), naming ``what``.
    """
    return check_non_negative_number(value, what, note="pixels at 256 x 256")


def _check_mask(masks: Tensor, what: str) -> None:
    if not isinstance(masks, Tensor) or masks.ndim != 4 or masks.shape[1] != 1:
        shape = tuple(masks.shape) if isinstance(masks, Tensor) else type(masks).__name__
        raise ValueError(f"{what} expects masks of shape (B, 1, H, W), got {shape}")


def dilate_mask(masks: Tensor, radius_px256: float) -> Tensor:
    """Grey-level dilation (a max filter) over a near-disc of ``radius_px256`` pixels of a 256-wide mask.

    The disc is an octagon: alternating 3x3 square and plus-shaped max filters, one pixel per pass.
    Pixels outside the image do not count.

    Args:
        masks: (B, 1, H, W) in [0, 1].
        radius_px256: in pixels at 256 x 256; scaled by W / 256 and rounded.

    Returns:
        (B, 1, H, W) in [0, 1], >= ``masks`` everywhere.
    """
    _check_mask(masks, "dilate_mask")
    steps = round(_scaled(check_size(radius_px256, "radius_px256"), masks.shape[-1]))
    out = masks
    for step in range(steps):
        if step % 2 == 0:
            out = F.max_pool2d(out, 3, stride=1, padding=1)
        else:
            rows = F.max_pool2d(out, (3, 1), stride=1, padding=(1, 0))
            cols = F.max_pool2d(out, (1, 3), stride=1, padding=(0, 1))
            out = torch.maximum(rows, cols)
    return out


def erode_mask(masks: Tensor, radius_px256: float) -> Tensor:
    """Grey-level erosion, the dual of [`dilate_mask`][interestyle.masks.morphology.dilate_mask]: ``1 - dilate(1 - m)``;
    (B, 1, H, W) in [0, 1]."""
    _check_mask(masks, "erode_mask")
    return 1.0 - dilate_mask(1.0 - masks, radius_px256)


def feather_mask(masks: Tensor, sigma_px256: float) -> Tensor:
    """Gaussian blur of standard deviation ``sigma_px256`` pixels of a 256-wide mask (edges replicated).

    Args:
        masks: (B, 1, H, W) in [0, 1].
        sigma_px256: in pixels at 256 x 256; scaled by W / 256.

    Returns:
        (B, 1, H, W) in [0, 1]; constant regions stay constant.
    """
    _check_mask(masks, "feather_mask")
    s = _scaled(check_size(sigma_px256, "sigma_px256"), masks.shape[-1])
    if s < 1e-3:
        return masks
    half = min(max(1, math.ceil(3 * s)), max(masks.shape[-2:]) - 1)
    if half <= 0:
        return masks
    return gaussian_blur(masks, s, radius=half, padding="replicate").clamp(0.0, 1.0)
