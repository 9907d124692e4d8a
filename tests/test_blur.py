import numpy as np
import pytest
import torch

from interestyle.blur import gaussian_blur, gaussian_kernel, padding_indices, reflect_indices, symmetric_indices

NUMPY_MODES = {"reflect": "reflect", "symmetric": "symmetric", "replicate": "edge"}


@pytest.mark.parametrize(("n", "before", "after"), [(5, 2, 3), (4, 9, 11), (1, 3, 2), (2, 5, 0)])
def test_reflect_indices_match_numpy_reflect_padding(n, before, after):
    expected = np.pad(np.arange(n), (before, after), mode="reflect")
    assert reflect_indices(n, before, after).tolist() == expected.tolist()


@pytest.mark.parametrize(("n", "before", "after"), [(5, 3, 3), (3, 8, 2), (1, 2, 2)])
def test_symmetric_indices_match_numpy_symmetric_padding(n, before, after):
    expected = np.pad(np.arange(n), (before, after), mode="symmetric")
    assert symmetric_indices(n, before, after).tolist() == expected.tolist()


@pytest.mark.parametrize("padding", list(NUMPY_MODES))
def test_padding_indices_match_numpy_for_any_width(padding):
    for n, pad in ((6, 2), (3, 7), (1, 4)):
        expected = np.pad(np.arange(n), pad, mode=NUMPY_MODES[padding])
        assert padding_indices(n, pad, pad, padding).tolist() == expected.tolist()


def direct_blur(x: torch.Tensor, sigma: float, radius: int, padding: str) -> torch.Tensor:
    """The 2-D Gaussian as one convolution over a numpy-padded float64 copy."""
    k1 = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=torch.float64) / sigma) ** 2)
    k2 = torch.outer(k1, k1) / k1.sum() ** 2
    widths = ((0, 0), (0, 0), (radius, radius), (radius, radius))
    padded = torch.from_numpy(np.pad(x.double().numpy(), widths, mode=NUMPY_MODES[padding]))
    b, c, h, w = padded.shape
    out = torch.nn.functional.conv2d(padded.reshape(b * c, 1, h, w), k2[None, None])
    return out.reshape(b, c, *out.shape[-2:])


@pytest.mark.parametrize("padding", list(NUMPY_MODES))
@pytest.mark.parametrize(("sigma", "radius"), [(0.8, None), (2.0, 5), (3.0, 20)])  # radius 20 > the image
def test_the_blur_is_the_2d_gaussian_under_each_padding(padding, sigma, radius):
    x = torch.rand(2, 3, 13, 17, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = gaussian_blur(x, sigma, radius=radius, padding=padding)
    expected = direct_blur(x, sigma, int(np.ceil(3 * sigma)) if radius is None else radius, padding)
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=0)


def test_constants_stay_constant_and_zero_is_the_identity():
    flat = torch.full((1, 2, 9, 9), 0.25)
    for padding in NUMPY_MODES:
        torch.testing.assert_close(gaussian_blur(flat, 4.0, padding=padding), flat)
    x = torch.rand(1, 1, 5, 5)
    assert gaussian_blur(x, 0.0) is x
    assert gaussian_blur(x, 2.0, radius=0) is x


def test_the_kernel_is_normalised_and_symmetric():
    k = gaussian_kernel(1.5, 5)
    assert k.shape == (11,) and k.dtype == torch.float64
    torch.testing.assert_close(k.sum(), torch.tensor(1.0, dtype=torch.float64))
    torch.testing.assert_close(k, k.flip(0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sigma": -1.0}, "sigma=-1.0"),
        ({"sigma": float("nan")}, "sigma=nan"),
        ({"sigma": True}, "sigma=True"),
        ({"sigma": 1.0, "radius": -2}, "radius=-2"),
        ({"sigma": 1.0, "padding": "wrap"}, "padding='wrap'"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gaussian_blur(torch.zeros(1, 1, 4, 4), **kwargs)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        gaussian_blur(torch.zeros(4, 4), 1.0)
