import pytest
import torch
import torch.nn.functional as F

from interestyle.metrics import MS_SSIM_WEIGHTS, masked_mse, ms_ssim, restrict_to_mask, ssim, ssim_map


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


# -- against torchmetrics (the reference implementation) and the published formulas ---------------------------
def unit(x: torch.Tensor) -> torch.Tensor:
    return (x + 1) / 2


@pytest.fixture
def pair_256():
    g = torch.Generator().manual_seed(3)
    a = torch.rand(3, 3, 192, 180, generator=g) * 2 - 1
    b = (a + 0.4 * torch.randn(a.shape, generator=g)).clamp(-1, 1)
    return a, b


def test_ssim_is_torchmetrics_ssim_on_unit_images(pair_256):
    from torchmetrics.functional.image import structural_similarity_index_measure

    a, b = pair_256
    expected = structural_similarity_index_measure(unit(b), unit(a), data_range=1.0, reduction="none")
    torch.testing.assert_close(ssim(b, a), expected, atol=1e-5, rtol=0)


def test_ms_ssim_is_torchmetrics_ms_ssim_on_unit_images(pair_256):
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

    a, b = pair_256
    expected = multiscale_structural_similarity_index_measure(unit(b), unit(a), data_range=1.0, reduction="none")
    torch.testing.assert_close(ms_ssim(b, a), expected, atol=1e-5, rtol=0)
    assert (expected < 0.99).all()  # a comparison that can fail


def test_ssim_and_ms_ssim_of_flat_images_follow_the_published_formula():
    # Flat images have no variance: the contrast-structure factor is c2 / c2 = 1 and SSIM is the luminance
    # term (2 mu_x mu_y + c1) / (mu_x^2 + mu_y^2 + c1); MS-SSIM is that term to the coarsest scale's weight.
    # On [0, 1]. In float32 the window's taps sum to 1 only within 1e-7, and E[x^2] - E[x]^2 cancels to
    # about 1e-7, which is 1e-4 of c2 = 0.03^2: hence the tolerance (the [-1, 1] variant would be off by 1.2).
    x, y = 0.25, 0.75
    c1 = 0.01**2
    luminance = (2 * x * y + c1) / (x * x + y * y + c1)
    a = torch.full((1, 3, 176, 176), 2 * x - 1)
    b = torch.full((1, 3, 176, 176), 2 * y - 1)
    torch.testing.assert_close(ssim(a, b), torch.tensor([luminance]), atol=5e-4, rtol=0)
    torch.testing.assert_close(ms_ssim(a, b), torch.tensor([luminance ** MS_SSIM_WEIGHTS[-1]]), atol=5e-4, rtol=0)
    assert sum(MS_SSIM_WEIGHTS) == pytest.approx(1.0, abs=1e-4)


def test_ms_ssim_with_a_full_mask_is_the_plain_value_and_a_mask_counts_only_its_pixels(pair_256):
    a, b = pair_256
    torch.testing.assert_close(ms_ssim(a, b, torch.ones(3, 1, 192, 180)), ms_ssim(a, b))
    mask = torch.zeros(3, 1, 192, 180)
    mask[..., :96, :] = 1
    pasted = restrict_to_mask(b, a, mask)
    changed = b.clone()
    changed[..., 96:, :] = -b[..., 96:, :]  # what happens outside the mask is pasted over
    torch.testing.assert_close(ms_ssim(restrict_to_mask(changed, a, mask), a, mask), ms_ssim(pasted, a, mask))
    assert not torch.allclose(ms_ssim(pasted, a, mask), ms_ssim(b, a))
    assert torch.isnan(ms_ssim(a, b, torch.zeros(3, 1, 192, 180))).all()


def test_ms_ssim_needs_five_scales_of_the_window():
    with pytest.raises(ValueError, match="at least 176x176"):
        ms_ssim(torch.zeros(1, 3, 175, 256), torch.zeros(1, 3, 175, 256))


def test_restrict_to_mask_takes_the_prediction_inside_and_the_target_outside():
    prediction, target = torch.ones(1, 3, 4, 4), -torch.ones(1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2] = 1
    mask[..., 2] = 0.25
    out = restrict_to_mask(prediction, target, mask)
    assert torch.equal(out[..., :2], prediction[..., :2]) and torch.equal(out[..., 3:], target[..., 3:])
    torch.testing.assert_close(out[..., 2], torch.full((1, 3, 4), -0.5))
