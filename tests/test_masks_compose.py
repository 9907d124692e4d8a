"""Composition ops on known masks."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from interestyle.masks import (
    AlignedFacePrior,
    Cached,
    Dilate,
    Erode,
    Feather,
    Intersect,
    Invert,
    Union,
    dilate_mask,
    erode_mask,
    feather_mask,
)


def fixed(mask: torch.Tensor, resolution=None):
    """A provider returning ``mask`` (1, 1, h, w) for every image, at the size it is called with."""

    def provider(images):
        out = torch.nn.functional.interpolate(mask, size=images.shape[-2:], mode="nearest")
        return out.expand(images.shape[0], -1, -1, -1)

    provider.resolution = resolution
    return provider


def dot(size=256, y=128, x=128):
    m = torch.zeros(1, 1, size, size)
    m[..., y, x] = 1
    return m


def square(size=256, lo=96, hi=160):
    m = torch.zeros(1, 1, size, size)
    m[..., lo:hi, lo:hi] = 1
    return m


IMAGES = torch.zeros(2, 3, 256, 256)


def test_dilate_grows_a_dot_into_a_near_disc():
    out = dilate_mask(dot(), 4)
    ys, xs = torch.nonzero(out[0, 0], as_tuple=True)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (124, 132, 124, 132)  # radius 4 along the axes
    assert out[0, 0, 128 + 3, 128 + 3] == 1  # diagonal (3, 3): distance 4.2, inside the octagon
    assert out[0, 0, 128 + 4, 128 + 4] == 0  # diagonal (4, 4): distance 5.7, outside
    window = out[0, 0, 120:137, 120:137]  # centred on the dot
    torch.testing.assert_close(window, window.flip(-1))
    torch.testing.assert_close(window, window.transpose(-1, -2))


def test_radius_scales_with_mask_width():
    small = dilate_mask(dot(128, 64, 64), 4)  # 2 pixels at 128
    ys, _ = torch.nonzero(small[0, 0], as_tuple=True)
    assert (ys.min(), ys.max()) == (62, 66)
    torch.testing.assert_close(dilate_mask(dot(), 0), dot())


def test_erode_shrinks_a_square_and_is_dilations_dual():
    out = erode_mask(square(), 3)
    ys, xs = torch.nonzero(out[0, 0], as_tuple=True)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (99, 156, 99, 156)
    soft = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(erode_mask(soft, 16), 1 - dilate_mask(1 - soft, 16))


def test_erode_does_not_eat_the_border():
    full = torch.ones(1, 1, 64, 64)
    assert erode_mask(full, 8).eq(1).all()


def test_feather_blurs_edges_and_keeps_constants():
    out = feather_mask(square(), 2)
    inside, outside = float(out[0, 0, 128, 96]), float(out[0, 0, 128, 95])  # the edge lies between them
    assert inside + outside == pytest.approx(1.0, abs=1e-5) and 0.55 < inside < 0.65
    assert out[0, 0, 128, 128] > 0.999 and out[0, 0, 10, 10] < 1e-6
    assert out.min() >= 0 and out.max() <= 1
    torch.testing.assert_close(out.sum(), square().sum(), rtol=1e-4, atol=1e-2)  # mass conserved away from borders
    torch.testing.assert_close(feather_mask(torch.full((1, 1, 16, 16), 0.3), 20), torch.full((1, 1, 16, 16), 0.3))
    torch.testing.assert_close(feather_mask(square(), 0), square())


def test_feather_sigma_matches_a_gaussian():
    edge = torch.zeros(1, 1, 256, 256)
    edge[..., 128:] = 1
    out = feather_mask(edge, 4)[0, 0, 100]
    expected = [0.5 * (1 + math.erf((x + 0.5 - 128) / (4 * math.sqrt(2)))) for x in range(120, 137)]
    torch.testing.assert_close(out[120:137], torch.tensor(expected), atol=2e-3, rtol=0)


def feather_before_the_shared_blur(masks: torch.Tensor, sigma: float) -> torch.Tensor:
    """feather_mask as it was: float32 kernel, edges replicated with F.pad, at least one tap a side."""
    s = sigma * masks.shape[-1] / 256
    half = min(max(1, math.ceil(3 * s)), max(masks.shape[-2:]) - 1)
    if s < 1e-3 or half <= 0:
        return masks
    kernel = torch.exp(-0.5 * (torch.arange(-half, half + 1, dtype=torch.float32) / s) ** 2)
    kernel = kernel / kernel.sum()
    x = F.conv2d(F.pad(masks, (half, half, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, half, half), mode="replicate"), kernel.view(1, 1, -1, 1))
    return x.clamp(0, 1)


def test_feather_numerics_are_unchanged_by_the_shared_blur():
    masks = (torch.rand(3, 1, 40, 40, generator=torch.Generator().manual_seed(0)) > 0.6).float()
    for sigma in (0.5, 2.0, 8.0, 100.0):
        difference = (feather_mask(masks, sigma) - feather_before_the_shared_blur(masks, sigma)).abs().max()
        assert difference < 1e-6, (sigma, float(difference))
    thin = torch.rand(1, 1, 3, 2, generator=torch.Generator().manual_seed(1))  # the kernel is clipped to 2 taps
    assert (feather_mask(thin, 50.0) - feather_before_the_shared_blur(thin, 50.0)).abs().max() < 1e-6


def test_wrappers_apply_their_op_to_the_wrapped_provider():
    sq = fixed(square())
    torch.testing.assert_close(Dilate(sq, 3)(IMAGES), dilate_mask(square(), 3).expand(2, -1, -1, -1))
    torch.testing.assert_close(Erode(sq, 3)(IMAGES), erode_mask(square(), 3).expand(2, -1, -1, -1))
    torch.testing.assert_close(Feather(sq, 2)(IMAGES), feather_mask(square(), 2).expand(2, -1, -1, -1))
    torch.testing.assert_close(Invert(sq)(IMAGES), 1 - square().expand(2, -1, -1, -1))


def test_union_and_intersect_of_two_squares():
    a, b = square(lo=0, hi=128), square(lo=64, hi=192)
    union = Union(fixed(a), fixed(b))(IMAGES)
    both = Intersect(fixed(a), fixed(b))(IMAGES)
    assert union.shape == both.shape == (2, 1, 256, 256)
    torch.testing.assert_close(union[0], torch.maximum(a, b)[0])
    torch.testing.assert_close(both[0], square(lo=64, hi=128)[0])
    three = Union(fixed(a), fixed(b), fixed(square(lo=200, hi=256)))(IMAGES)
    assert three[0, 0, 220, 220] == 1


def test_members_run_at_their_own_resolution():
    seen = []

    def coarse(images):
        seen.append(images.shape[-1])
        return torch.ones(images.shape[0], 1, *images.shape[-2:])

    coarse.resolution = 16
    out = Union(coarse, fixed(square()))(IMAGES)
    assert seen == [16] and out.shape == (2, 1, 256, 256) and out.eq(1).all()


def test_unary_wrappers_forward_resolution_and_accept_names():
    inner = fixed(square(), resolution=64)
    assert Dilate(inner, 2).resolution == 64 and Invert(inner).resolution == 64
    wrapped = Feather("aligned-face", 1)
    assert isinstance(wrapped.inner, AlignedFacePrior) and wrapped.name == "feather(aligned-face)"
    assert repr(Invert(wrapped)) == "Invert(invert(feather(aligned-face)))"


def test_cached_computes_each_image_once():
    calls = []

    def counting(images):
        calls.append(images.shape[0])
        return (images[:, :1] > 0).float()

    cache = Cached(counting, maxsize=3)
    a, b, c = (torch.full((1, 3, 8, 8), v) for v in (-0.5, 0.5, 0.25))
    first = cache(torch.cat([a, b]))
    again = cache(torch.cat([b, c, a]))
    assert calls == [2, 1]  # only c was new the second time
    assert (cache.hits, cache.misses, len(cache)) == (2, 3, 3)
    torch.testing.assert_close(again[0], first[1])
    torch.testing.assert_close(again[2], first[0])
    cache(torch.full((1, 3, 8, 8), 0.75))  # a fourth image evicts the least recently used (b)
    assert len(cache) == 3
    cache(b)
    assert calls == [2, 1, 1, 1]
    cache.clear()
    assert len(cache) == 0
    cache(torch.cat([a, a, b]))
    assert calls[-1] == 2  # a repeated image is computed once


def test_cache_key_depends_on_pixels_shape_and_dtype():
    x = torch.zeros(3, 4, 4)
    assert Cached.key(x) == Cached.key(x.clone())
    assert Cached.key(x) != Cached.key(x + 1e-6)
    assert Cached.key(x) != Cached.key(x.reshape(3, 2, 8))
    assert Cached.key(x) != Cached.key(x.double())


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Dilate(fixed(dot()), -1), ValueError, "radius_px256=-1"),
        (lambda: Erode(fixed(dot()), float("nan")), ValueError, "radius_px256=nan"),
        (lambda: Feather(fixed(dot()), "wide"), ValueError, "sigma_px256='wide'"),
        (lambda: Union(fixed(dot())), ValueError, "at least two providers"),
        (lambda: Intersect(fixed(dot()), 3), TypeError, "provider 1 must be a mask provider"),
        (lambda: Invert(None), TypeError, "must be a mask provider"),
        (lambda: Cached(fixed(dot()), maxsize=0), ValueError, "maxsize=0"),
        (lambda: Dilate("no-such-provider", 1), ValueError, "unknown mask provider 'no-such-provider'"),
        (lambda: dilate_mask(torch.zeros(4, 4), 1), ValueError, r"\(B, 1, H, W\)"),
        (lambda: feather_mask(torch.zeros(1, 2, 4, 4), 1), ValueError, r"\(B, 1, H, W\)"),
    ],
)
def test_bad_arguments(build, error, message):
    with pytest.raises(error, match=message):
        build()
