"""The separable Gaussian blur every part of the package uses, with the border rule as an argument.

Callers differ in what happens at the image border, and each keeps its own rule: the Uninterest Filter
reflects (``"reflect"``, numpy's name: ``d c b | a b c d``), mask feathering repeats the edge pixel
(``"replicate"``), FFHQ alignment mirrors with the edge repeated like ``scipy.ndimage`` (``"symmetric"``:
``c b a | a b c d``), SSIM's window reflects. Padding is done by indexing, so any radius works on any
image size.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from .validation import check_non_negative_int, check_non_negative_number

__all__ = [
    "PADDINGS",
    "Padding",
    "gaussian_blur",
    "gaussian_kernel",
    "padding_indices",
    "reflect_indices",
    "symmetric_indices",
]

Padding = Literal["reflect", "symmetric", "replicate"]
PADDINGS: tuple[str, ...] = ("reflect", "symmetric", "replicate")


def reflect_indices(n: int, before: int, after: int) -> Tensor:
    """Indices of numpy's ``"reflect"`` padding (edge not repeated), for any pad width: (before + n + after,)."""
    idx = torch.arange(-before, n + after)
    if n == 1:
        return torch.zeros_like(idx)
    period = 2 * (n - 1)
    idx = idx.remainder(period)
    return torch.where(idx >= n, period - idx, idx)


def symmetric_indices(n: int, before: int, after: int) -> Tensor:
    """Indices of numpy's ``"symmetric"`` padding (a half-sample mirror, edge repeated), for any pad width."""
    idx = torch.arange(-before, n + after).remainder(2 * n)
    return torch.where(idx < n, idx, 2 * n - 1 - idx)


def _check_padding(padding: object) -> None:
    if padding not in PADDINGS:
        raise ValueError(f"padding={padding!r} is invalid: expected one of {list(PADDINGS)}")


def padding_indices(n: int, before: int, after: int, padding: Padding) -> Tensor:
    """Indices into a row of ``n`` pixels that pad it by ``before`` and ``after`` under ``padding``."""
    _check_padding(padding)
    if padding == "reflect":
        return reflect_indices(n, before, after)
    if padding == "symmetric":
        return symmetric_indices(n, before, after)
    return torch.arange(-before, n + after).clamp(0, n - 1)


def gaussian_kernel(sigma: float, radius: int) -> Tensor:
    """The normalised 1-D Gaussian of standard deviation ``sigma`` over taps ``-radius .. radius``:
    (2 * radius + 1,) float64, summing to 1."""
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(images: Tensor, sigma: float, *, radius: int | None = None, padding: Padding = "reflect") -> Tensor:
    """Separable Gaussian blur of every channel, rows then columns, the border padded by ``padding``.

    Args:
        images: (B, C, H, W), any float dtype; the kernel is computed in float64 and applied in this dtype.
        sigma: standard deviation in pixels, >= 0.
        radius: taps on each side of the centre; default ``ceil(3 * sigma)``.
        padding: ``"reflect"``, ``"symmetric"`` or ``"replicate"`` (see the module docstring).

    Returns:
        (B, C, H, W), same dtype and device; ``images`` itself when ``sigma`` or ``radius`` is 0.

    Raises:
        ValueError: a negative or non-finite ``sigma``, a negative ``radius``, an unknown ``padding``, or
            images that are not (B, C, H, W).
    """
    sigma = check_non_negative_number(sigma, "sigma", note="pixels")
    radius = math.ceil(3 * sigma) if radius is None else check_non_negative_int(radius, "radius")
    _check_padding(padding)
    if images.ndim != 4:
        raise ValueError(f"gaussian_blur expects images of shape (B, C, H, W), got {tuple(images.shape)}")
    if sigma == 0 or radius == 0:
        return images
    b, c, h, w = images.shape
    kernel = gaussian_kernel(sigma, radius).to(device=images.device, dtype=images.dtype)
    x = images.reshape(b * c, 1, h, w)
    x = F.conv2d(x[:, :, :, padding_indices(w, radius, radius, padding).to(x.device)], kernel.view(1, 1, 1, -1))
    x = F.conv2d(x[:, :, padding_indices(h, radius, radius, padding).to(x.device)], kernel.view(1, 1, -1, 1))
    return x.reshape(b, c, h, w)
