"""Image-quality measures restricted to a region: MSE and SSIM, for evaluation and training.

Images are (B, C, H, W) in [-1, 1]; masks (B, 1, H, W) in [0, 1] weight the pixels that count. Every
function returns one value per image, shape (B,).
"""

from __future__ import annotations

from torch import Tensor

from .blur import gaussian_blur
from .validation import check_positive_int, check_positive_number

__all__ = ["masked_mse", "ssim", "ssim_map"]


def _check(a: Tensor, b: Tensor, mask: Tensor | None) -> None:
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(
            f"images must be two (B, C, H, W) tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if mask is not None and (mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[-2:] != a.shape[-2:]):
        raise ValueError(f"mask must be (B, 1, {a.shape[-2]}, {a.shape[-1]}), got {tuple(mask.shape)}")


def masked_mse(a: Tensor, b: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean squared error over the pixels of ``mask`` (all pixels when None), per image: (B,).

    An image whose mask is empty gets NaN, so that an average over images can skip it explicitly.
    """
    _check(a, b, mask)
    err = (a - b).square().mean(1, keepdim=True)
    if mask is None:
        return err.flatten(1).mean(1)
    m = mask.to(err.dtype).expand_as(err)
    return (err * m).flatten(1).sum(1) / m.flatten(1).sum(1)


def ssim_map(a: Tensor, b: Tensor, *, window: int = 11, sigma: float = 1.5) -> Tensor:
    """Per-pixel SSIM (Wang et al. 2004) of images in [-1, 1], computed on [0, 1]: (B, 1, H, W).

    A Gaussian window of ``window`` taps (odd) and standard deviation ``sigma`` pixels, constants K1 = 0.01
    and K2 = 0.03, channels averaged; borders use reflection padding so the map has the images' size.
    """
    _check(a, b, None)
    window = check_positive_int(window, "window")
    if window % 2 == 0:
        raise ValueError(f"window={window!r} is invalid: expected an odd number of taps")
    sigma = check_positive_number(sigma, "sigma", note="pixels")
    x, y = (a.float() + 1) / 2, (b.float() + 1) / 2

    def blur(t: Tensor) -> Tensor:
        return gaussian_blur(t, sigma, radius=window // 2, padding="reflect")

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return s.mean(1, keepdim=True)


def ssim(a: Tensor, b: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean SSIM over the pixels of ``mask`` (all pixels when None), per image: (B,). 1 means identical."""
    _check(a, b, mask)
    s = ssim_map(a, b)
    if mask is None:
        return s.flatten(1).mean(1)
    m = mask.to(s.dtype)
    return (s * m).flatten(1).sum(1) / m.flatten(1).sum(1)
