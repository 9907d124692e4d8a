import math

import pytest
import torch
import torch.nn.functional as F

from interestyle.blur import gaussian_blur
from interestyle.uninterest_filter import UninterestFilter, step_radii
from training_setup import single_thread  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("single_thread")


def images_and_mask(size: int = 32):
    torch.manual_seed(0)
    x = torch.rand(2, 3, size, size) * 2 - 1
    m = torch.zeros(2, 1, size, size)
    m[:, :, 8:24, 8:24] = 1
    return x, m


def test_radius_zero_is_the_identity():
    x, m = images_and_mask()
    for variant in ("uninterest", "whole"):
        assert torch.equal(UninterestFilter((0, 0), variant)(x, m, 0), x)
        assert torch.equal(UninterestFilter((16,), variant)(x, m, 3), x)  # steps past the list get 0


def test_uninterest_variant_keeps_the_interest_region_and_blurs_the_rest():
    x, m = images_and_mask()
    out = UninterestFilter((16, 9), "uninterest")(x, m, 0)
    inside = m.expand_as(x).bool()
    assert torch.equal(out[inside], x[inside])
    assert (out[~inside] - x[~inside]).abs().mean() > 0.1


def test_whole_variant_blurs_the_interest_region_too():
    x, m = images_and_mask()
    out = UninterestFilter((16, 9), "whole")(x, m, 0)
    inside = m.expand_as(x).bool()
    assert (out[inside] - x[inside]).abs().mean() > 0.1
    assert torch.equal(out, gaussian_blur(x, 2.0, padding="reflect"))


def test_blur_keeps_constant_images_and_lowers_variance():
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert torch.allclose(UninterestFilter((48,), "whole")(flat, None, 0), flat, atol=1e-6)
    x, _ = images_and_mask()
    blurred = UninterestFilter((16,), "whole")(x, None, 0)
    assert blurred.var() < 0.5 * x.var() and blurred.shape == x.shape


def blur_before_the_shared_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """The filter's blur as it was: float32 kernel of ceil(3 sigma) taps a side clipped to the image, F.pad reflect."""
    b, c, h, w = images.shape
    half = min(math.ceil(3 * sigma), h - 1, w - 1)
    if half < 1:
        return images
    kernel = torch.exp(-0.5 * (torch.arange(-half, half + 1, dtype=torch.float32) / sigma) ** 2)
    kernel = kernel / kernel.sum()
    x = images.reshape(b * c, 1, h, w)
    x = F.conv2d(F.pad(x, (half, half, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, half, half), mode="reflect"), kernel.view(1, 1, -1, 1))
    return x.reshape(b, c, h, w)


@pytest.mark.parametrize("size", [32, 5])  # at 5 pixels the kernel is clipped to the image
def test_numerics_are_unchanged_by_the_shared_blur(size):
    x, m = images_and_mask(32)
    x = x[..., :size, :size]
    unf = UninterestFilter((16, 9, 4, 1, 128), "whole")
    for step in range(5):
        sigma = unf.radius(step, size)
        difference = (unf(x, m, step) - blur_before_the_shared_blur(x, sigma)).abs().max()
        assert difference < 1e-6, (step, float(difference))


def test_radii_are_scaled_to_the_resolution_and_padded_with_zero():
    assert step_radii((16, 9, 4, 1, 0), 5, 256) == [16, 9, 4, 1, 0]
    assert step_radii((16, 9, 4, 1, 0), 6, 64) == [4, 2.25, 1, 0.25, 0, 0]
    assert step_radii((16, 9), 1, 1024) == [64]
    assert UninterestFilter().radius(1, 128) == 4.5


def test_uninterest_variant_without_a_mask_is_an_error():
    x, _ = images_and_mask()
    with pytest.raises(ValueError, match="needs an interest mask"):
        UninterestFilter()(x, None, 0)


@pytest.mark.parametrize(("kwargs", "match"), [({"variant": "blur"}, "variant"), ({"radii": (1, -2)}, "radii")])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        UninterestFilter(**kwargs)


def test_step_input_binds_the_mask_for_refine(model):
    x, m = images_and_mask()
    unf = UninterestFilter((16, 0), "uninterest")
    seen = []
    f = unf.step_input(m)
    for step in range(2):
        seen.append(f(step, x))
    assert not torch.equal(seen[0], x) and torch.equal(seen[1], x)
    outputs = list(model.refine(x, 2, step_input=f))
    assert len(outputs) == 2
