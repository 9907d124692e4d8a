import pytest
import torch
import torch.nn.functional as F

from interestyle.metrics import masked_mse, ssim, ssim_map


@pytest.fixture
def images():
    g = torch.Generator().manual_seed(0)
    return torch.rand(2, 3, 24, 24, generator=g) * 2 - 1, torch.rand(2, 3, 24, 24, generator=g) * 2 - 1


def test_mse_counts_only_masked_pixels(images):
    a, b = images
    mask = torch.zeros(2, 1, 24, 24)
    mask[..., :12] = 1
    c = b.clone()
    c[..., 12:] = 5  # changes outside the mask do not count
    torch.testing.assert_close(masked_mse(a, b, mask), masked_mse(a, c, mask))
    torch.testing.assert_close(masked_mse(a, b), (a - b).square().flatten(1).mean(1))
    expected = (a - b)[..., :12].square().flatten(1).mean(1)
    torch.testing.assert_close(masked_mse(a, b, mask), expected)
    assert torch.isnan(masked_mse(a, b, torch.zeros(2, 1, 24, 24))).all()


def test_ssim_is_one_for_identical_and_drops_with_noise(images):
    a, _ = images
    torch.testing.assert_close(ssim(a, a), torch.ones(2))
    noisy = (a + 0.3 * torch.randn_like(a)).clamp(-1, 1)
    assert (ssim(a, noisy) < 0.9).all()
    flat = torch.zeros_like(a)
    assert (ssim(a, flat) < ssim(a, noisy)).all()


def test_masked_ssim_ignores_the_outside(images):
    a, b = images
    mask = torch.zeros(2, 1, 24, 24)
    mask[..., 4:10, 4:10] = 1
    c = a.clone()
    c[..., 16:, 16:] = b[..., 16:, 16:]  # far from the mask, beyond the 11-tap window
    torch.testing.assert_close(ssim(a, c, mask), torch.ones(2))


def test_shape_errors():
    with pytest.raises(ValueError, match="one shape"):
        masked_mse(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5))
    with pytest.raises(ValueError, match="mask must be"):
        ssim(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16))


def ssim_map_before_the_shared_blur(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """ssim_map as it was: an 11-tap float32 window (sigma 1.5), F.pad reflect, grouped convolutions."""
    x, y = (a + 1) / 2, (b + 1) / 2
    c = x.shape[1]
    t = torch.arange(11, dtype=torch.float32) - 5
    g = torch.exp(-(t**2) / (2 * 1.5**2))
    g = g / g.sum()

    def blur(v: torch.Tensor) -> torch.Tensor:
        v = F.pad(v, (5, 5, 5, 5), mode="reflect")
        v = F.conv2d(v, g.view(1, 1, 1, -1).expand(c, 1, 1, 11), groups=c)
        return F.conv2d(v, g.view(1, 1, -1, 1).expand(c, 1, 11, 1), groups=c)

    mu_x, mu_y = blur(x), blur(y)
    var_x, var_y, cov = blur(x * x) - mu_x**2, blur(y * y) - mu_y**2, blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return s.mean(1, keepdim=True)


def test_ssim_numerics_are_unchanged_by_the_shared_blur(images):
    a, b = images
    b = (a + 0.2 * (b - a)).clamp(-1, 1)
    assert (ssim_map(a, b) - ssim_map_before_the_shared_blur(a, b)).abs().max() < 1e-6


def test_ssim_window_must_be_odd():
    with pytest.raises(ValueError, match="window=10"):
        ssim_map(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16), window=10)
