import numpy as np
import pytest
import torch

from interestyle.align.blur import gaussian_blur, mirror_indices, reflect_indices


@pytest.mark.parametrize(("n", "before", "after"), [(5, 2, 3), (4, 9, 11), (1, 3, 2), (2, 5, 0)])
def test_reflect_indices_match_numpy_reflect_padding(n, before, after):
    expected = np.pad(np.arange(n), (before, after), mode="reflect")
    assert reflect_indices(n, before, after).tolist() == expected.tolist()


@pytest.mark.parametrize(("n", "pad"), [(5, 3), (3, 8), (1, 2)])
def test_mirror_indices_match_numpy_symmetric_padding(n, pad):
    assert mirror_indices(n, pad).tolist() == np.pad(np.arange(n), pad, mode="symmetric").tolist()


def reference_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Direct 2-D Gaussian (truncated at 4 sigma) over a symmetric-padded float64 copy."""
    radius = int(4 * sigma + 0.5)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k1 = torch.exp(-0.5 * (taps / sigma) ** 2)
    k2 = torch.outer(k1, k1) / k1.sum() ** 2
    arr = np.pad(x[0].double().numpy(), ((0, 0), (radius, radius), (radius, radius)), mode="symmetric")
    out = torch.nn.functional.conv2d(torch.from_numpy(arr)[:, None], k2[None, None])
    return out[:, 0][None].float()


def test_gaussian_blur_is_the_separable_gaussian_and_keeps_constants():
    x = torch.rand(1, 2, 23, 31, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(gaussian_blur(x, 1.5), reference_blur(x, 1.5), atol=1e-5, rtol=0)
    flat = torch.full((1, 3, 40, 40), 0.3)
    torch.testing.assert_close(gaussian_blur(flat, 20.0), flat)
    assert gaussian_blur(x, 0.1) is x


def test_large_sigmas_run_on_a_reduced_copy_and_stay_close():
    yy, xx = torch.meshgrid(torch.arange(96.0), torch.arange(96.0), indexing="ij")
    x = ((xx // 12 + yy // 12) % 2)[None, None]  # a checkerboard of 12-pixel squares
    fast, exact = gaussian_blur(x, 10.0), reference_blur(x, 10.0)
    assert (fast - exact).abs().max() < 0.03
