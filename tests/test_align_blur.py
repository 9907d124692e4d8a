import numpy as np
import torch
import torch.nn.functional as F

from interestyle.align.blur import scipy_style_blur


def reference_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Direct 2-D Gaussian (truncated at 4 sigma) over a symmetric-padded float64 copy."""
    radius = int(4 * sigma + 0.5)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k1 = torch.exp(-0.5 * (taps / sigma) ** 2)
    k2 = torch.outer(k1, k1) / k1.sum() ** 2
    arr = np.pad(x[0].double().numpy(), ((0, 0), (radius, radius), (radius, radius)), mode="symmetric")
    out = torch.nn.functional.conv2d(torch.from_numpy(arr)[:, None], k2[None, None])
    return out[:, 0][None].float()


def separable_blur_before_the_shared_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """This module's blur as it was before it used interestyle.blur: columns then rows, grouped, mirrored."""
    radius = int(4 * sigma + 0.5)
    kernel = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=torch.float64) / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(x.dtype)
    c, (h, w) = x.shape[1], x.shape[-2:]
    iy = torch.from_numpy(np.pad(np.arange(h), radius, mode="symmetric"))
    ix = torch.from_numpy(np.pad(np.arange(w), radius, mode="symmetric"))
    x = F.conv2d(x[:, :, iy], kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return F.conv2d(x[:, :, :, ix], kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)


def test_gaussian_blur_is_the_separable_gaussian_and_keeps_constants():
    x = torch.rand(1, 2, 23, 31, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(scipy_style_blur(x, 1.5), reference_blur(x, 1.5), atol=1e-5, rtol=0)
    flat = torch.full((1, 3, 40, 40), 0.3)
    torch.testing.assert_close(scipy_style_blur(flat, 20.0), flat)
    assert scipy_style_blur(x, 0.1) is x


def test_numerics_are_unchanged_by_the_shared_blur():
    x = torch.rand(1, 3, 37, 45, generator=torch.Generator().manual_seed(1))
    for sigma in (0.5, 1.5, 3.0, 7.9):
        difference = (scipy_style_blur(x, sigma) - separable_blur_before_the_shared_blur(x, sigma)).abs().max()
        assert difference < 1e-6, (sigma, float(difference))


def test_large_sigmas_run_on_a_reduced_copy_and_stay_close():
    yy, xx = torch.meshgrid(torch.arange(96.0), torch.arange(96.0), indexing="ij")
    x = ((xx // 12 + yy // 12) % 2)[None, None]  # a checkerboard of 12-pixel squares
    fast, exact = scipy_style_blur(x, 10.0), reference_blur(x, 10.0)
    assert (fast - exact).abs().max() < 0.03
