"""The blur of the FFHQ alignment tool, which blurs with ``scipy.ndimage.gaussian_filter``.

`scipy_style_blur` reproduces scipy's defaults (a kernel truncated at 4 sigma, half-sample mirror borders) with
[`interestyle.blur.gaussian_blur`][interestyle.blur.gaussian_blur], so there is no scipy dependency.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ..blur import gaussian_blur

__all__ = ["scipy_style_blur"]


def scipy_style_blur(x: Tensor, sigma: float) -> Tensor:
    """Gaussian blur of (B, C, H, W) like ``scipy.ndimage.gaussian_filter(x, sigma)`` on each image plane.

    Sigmas under 0.3 pixels return ``x`` itself. From sigma 8 the blur runs on a copy reduced by
    ``sigma // 4`` and is scaled back (within a few percent of the exact blur, much faster).
    """
    if sigma < 0.3:
        return x
    h, w = x.shape[-2:]
    factor = int(sigma // 4)
    if factor > 1 and min(h, w) // factor >= 8:
        small = F.interpolate(x, size=(h // factor, w // factor), mode="bilinear", antialias=True, align_corners=False)
        blurred = scipy_style_blur(small, sigma / factor)
        return F.interpolate(blurred, size=(h, w), mode="bilinear", align_corners=False)
    return gaussian_blur(x, sigma, radius=int(4 * sigma + 0.5), padding="symmetric")
