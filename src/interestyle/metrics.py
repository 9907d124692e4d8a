"""Image-quality measures restricted to a region: MSE, SSIM and MS-SSIM, for evaluation and training.

Images are (B, C, H, W) in [-1, 1]; masks (B, 1, H, W) in [0, 1] weight the pixels that count. Every
function returns one value per image, shape (B,). SSIM and MS-SSIM are computed on the images mapped to
[0, 1] (data range 1, Wang et al.'s convention and torchmetrics'), with an 11-tap Gaussian window of
standard deviation 1.5 pixels, K1 = 0.01, K2 = 0.03 and reflection padding at the border.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .blur import gaussian_blur
from .validation import check_positive_int, check_positive_number

__all__ = ["MS_SSIM_MIN_SIDE", "MS_SSIM_WEIGHTS", "masked_mse", "ms_ssim", "restrict_to_mask", "ssim", "ssim_map"]

MS_SSIM_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""The exponents of MS-SSIM's five scales, finest first (Wang, Simoncelli and Bovik 2003)."""
_WINDOW = 11
_SIGMA = 1.5
MS_SSIM_MIN_SIDE = _WINDOW * 2 ** (len(MS_SSIM_WEIGHTS) - 1)
"""The smallest image side MS-SSIM takes, in pixels (176): its coarsest scale must hold the 11-tap window."""


def _check(a: Tensor, b: Tensor, mask: Tensor | None) -> None:
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(
            f"images must be two (B, C, H, W) tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if mask is not None and (mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[-2:] != a.shape[-2:]):
        raise ValueError(f"mask must be (B, 1, {a.shape[-2]}, {a.shape[-1]}), got {tuple(mask.shape)}")


def _weighted_mean(values: Tensor, mask: Tensor | None) -> Tensor:
    """(B, 1, H, W) -> (B,): the mean over all pixels, or over ``mask``'s weighted by it (NaN when empty)."""
    if mask is None:
        return values.flatten(1).mean(1)
    m = mask.to(values.dtype).expand_as(values)
    return (values * m).flatten(1).sum(1) / m.flatten(1).sum(1)


def masked_mse(a: Tensor, b: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean squared error over the pixels of ``mask`` (all pixels when None), per image: (B,).

    An image whose mask is empty gets NaN, so that an average over images can skip it explicitly.
    """
    _check(a, b, mask)
    return _weighted_mean((a - b).square().mean(1, keepdim=True), mask)


def _ssim_terms(x: Tensor, y: Tensor, window: int, sigma: float) -> tuple[Tensor, Tensor]:
    """SSIM and its contrast-structure factor per pixel of images in [0, 1], channels averaged: two (B, 1, H, W)."""

    def blur(t: Tensor) -> Tensor:
        return gaussian_blur(t, sigma, radius=window // 2, padding="reflect")

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    s = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs
    return s.mean(1, keepdim=True), cs.mean(1, keepdim=True)


def ssim_map(a: Tensor, b: Tensor, *, window: int = _WINDOW, sigma: float = _SIGMA) -> Tensor:
    """Per-pixel SSIM (Wang et al. 2004) of images in [-1, 1], computed on [0, 1]: (B, 1, H, W).

    A Gaussian window of ``window`` taps (odd) and standard deviation ``sigma`` pixels, constants K1 = 0.01
    and K2 = 0.03, channels averaged; borders use reflection padding so the map has the images' size.
    """
    _check(a, b, None)
    window = check_positive_int(window, "window")
    if window % 2 == 0:
        raise ValueError(f"window={window!r} is invalid: expected an odd number of taps")
    sigma = check_positive_number(sigma, "sigma", note="pixels")
    return _ssim_terms((a.float() + 1) / 2, (b.float() + 1) / 2, window, sigma)[0]


def ssim(a: Tensor, b: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean SSIM over the pixels of ``mask`` (all pixels when None), per image: (B,). 1 means identical.

    Over the whole image this is torchmetrics' ``structural_similarity_index_measure`` of the images in
    [0, 1] with ``data_range=1``. An image whose mask is empty gets NaN.
    """
    _check(a, b, mask)
    return _weighted_mean(ssim_map(a, b), mask)


def ms_ssim(a: Tensor, b: Tensor, mask: Tensor | None = None) -> Tensor:
    """Multi-scale SSIM (Wang, Simoncelli and Bovik 2003) over the pixels of ``mask``, per image: (B,).

    Five scales, each half the previous (2x2 average pooling of the images, and of the mask): the
    contrast-structure factor of the four finest and the whole SSIM of the coarsest, each averaged over
    the mask at that scale, clipped at 0 and raised to ``MS_SSIM_WEIGHTS``, multiplied. As in
    torchmetrics (whose ``multiscale_structural_similarity_index_measure`` of the images in [0, 1] with
    ``data_range=1`` this equals when ``mask`` is None), the contrast-structure factors leave out the 5
    pixels along the border, whose windows reach beyond the image. 1 means identical.

    Raises:
        ValueError: images smaller than 176x176 (the coarsest scale must hold the 11-tap window), or shapes
            that do not match. An image whose mask is empty (at any scale, border aside) gets NaN.
    """
    _check(a, b, mask)
    if min(a.shape[-2:]) < MS_SSIM_MIN_SIDE:
        raise ValueError(
            f"MS-SSIM needs images of at least {MS_SSIM_MIN_SIDE}x{MS_SSIM_MIN_SIDE} ({len(MS_SSIM_WEIGHTS)} "
            f"scales, {_WINDOW}-tap window), got {a.shape[-2]}x{a.shape[-1]}"
        )
    x, y = (a.float() + 1) / 2, (b.float() + 1) / 2
    m = None if mask is None else mask.float()
    border = _WINDOW // 2
    factors = []
    for scale in range(len(MS_SSIM_WEIGHTS)):
        s, cs = _ssim_terms(x, y, _WINDOW, _SIGMA)
        if scale == len(MS_SSIM_WEIGHTS) - 1:
            factors.append(_weighted_mean(s, m))
            break
        inner = (..., slice(border, -border), slice(border, -border))
        factors.append(_weighted_mean(cs[inner], None if m is None else m[inner]))
        x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        m = None if m is None else F.avg_pool2d(m, 2)
    weights = torch.tensor(MS_SSIM_WEIGHTS, dtype=x.dtype, device=x.device).view(-1, 1)
    return (torch.stack(factors).clamp_min(0) ** weights).prod(0)


def restrict_to_mask(prediction: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """``prediction`` inside ``mask`` and ``target`` outside it (a linear blend by the soft mask): (B, C, H, W).

    What the interest-region SSIM, MS-SSIM, LPIPS and identity measure, so that what a model draws
    outside the interest region cannot count, even through windows and receptive fields that reach
    across the mask's edge.
    """
    _check(prediction, target, mask)
    return torch.lerp(target, prediction, mask.to(prediction.dtype))
