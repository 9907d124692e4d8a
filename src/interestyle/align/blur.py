"""Padding indices and a Gaussian blur for (1, C, H, W) tensors, with numpy / scipy boundary semantics.

The FFHQ tool pads with ``numpy.pad(..., "reflect")`` and blurs with ``scipy.ndimage.gaussian_filter``;
these reproduce both in PyTorch (no scipy dependency).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["gaussian_blur", "mirror_indices", "reflect_indices"]


def reflect_indices(n: int, before: int, after: int) -> Tensor:
    """Indices of numpy's ``"reflect"`` padding (edge not repeated), for any pad width."""
    idx = torch.arange(-before, n + after)
    if n == 1:
        return torch.zeros_like(idx)
    period = 2 * (n - 1)
    idx = idx.remainder(period)
    return torch.where(idx >= n, period - idx, idx)


def mirror_indices(n: int, pad: int) -> Tensor:
    """Indices of a half-sample mirror padding, (d c b a | a b c d), for any pad width."""
    idx = torch.arange(-pad, n + pad).remainder(2 * n)
    return torch.where(idx < n, idx, 2 * n - 1 - idx)


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of (1, C, H, W), mirrored at the borders; large sigmas on a reduced copy."""
    if sigma < 0.3:
        return x
    h, w = x.shape[-2:]
    factor = int(sigma // 4)
    if factor > 1 and min(h, w) // factor >= 8:
        small = F.interpolate(x, size=(h // factor, w // factor), mode="bilinear", antialias=True, align_corners=False)
        blurred = gaussian_blur(small, sigma / factor)
        return F.interpolate(blurred, size=(h, w), mode="bilinear", align_corners=False)
    radius = int(4 * sigma + 0.5)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(x.dtype)
    c = x.shape[1]
    # Half-sample mirror, like scipy.ndimage's default "reflect" mode: (d c b a | a b c d).
    iy, ix = mirror_indices(h, radius), mirror_indices(w, radius)
    x = F.conv2d(x[:, :, iy], kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return F.conv2d(x[:, :, :, ix], kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
