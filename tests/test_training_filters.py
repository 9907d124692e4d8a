import pytest
import torch

from interestyle.training.filters import UninterestFilter, gaussian_blur, step_radii
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
    assert gaussian_blur(x, 0) is x
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
    assert torch.equal(out, gaussian_blur(x, 2.0))


def test_blur_keeps_constant_images_and_lowers_variance():
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert torch.allclose(gaussian_blur(flat, 3.0), flat, atol=1e-6)
    x, _ = images_and_mask()
    assert gaussian_blur(x, 2.0).var() < 0.5 * x.var()
    assert gaussian_blur(x, 2.0).shape == x.shape


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
