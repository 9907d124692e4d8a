import pytest
import torch

from interestyle.metrics import masked_mse, ssim


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
