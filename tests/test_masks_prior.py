"""The aligned-face prior: a smooth face + hair region, the same at every resolution."""

from __future__ import annotations

import pytest
import torch

from interestyle.masks import AlignedFacePrior, Ellipse, aligned_face_prior, get_mask_provider
from interestyle.masks.prior import FACE, HAIR


def test_shape_range_and_symmetry():
    m = aligned_face_prior(256, 256)
    assert m.shape == (1, 1, 256, 256) and m.min() >= 0 and m.max() <= 1
    torch.testing.assert_close(m, m.flip(-1))


def test_covers_face_and_hair_not_background_or_neck():
    m = aligned_face_prior(256, 256)[0, 0]
    at = lambda x, y: float(m[int(y * 256), int(x * 256)])  # noqa: E731
    for x, y in [(0.5, 0.5), (0.38, 0.47), (0.62, 0.47), (0.5, 0.72), (0.5, 0.18), (0.3, 0.3)]:
        assert at(x, y) > 0.95, (x, y)  # centre, eyes, mouth, top of the hair, temple
    for x, y in [(0.05, 0.05), (0.95, 0.5), (0.5, 0.97), (0.1, 0.9), (0.9, 0.9)]:
        assert at(x, y) < 0.05, (x, y)  # corners, sides, neck and shoulders
    assert 0.2 < float(m.mean()) < 0.5


def test_edges_are_smooth():
    m = aligned_face_prior(256, 256)[0, 0]
    row = m[int(0.55 * 256)]
    assert float((row[1:] - row[:-1]).abs().max()) < 0.25  # no hard step between neighbours
    assert ((row > 0.05) & (row < 0.95)).sum() >= 4


def test_same_prior_at_every_resolution():
    big = aligned_face_prior(1024, 1024)
    small = aligned_face_prior(128, 128)
    pooled = torch.nn.functional.avg_pool2d(big, 8)
    assert float((pooled - small).abs().max()) < 0.05


def test_provider_ignores_pixels_and_follows_input_size():
    provider = get_mask_provider("aligned-face")
    assert isinstance(provider, AlignedFacePrior) and provider.resolution is None
    a = provider(torch.zeros(2, 3, 64, 64))
    b = provider(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert a.shape == (2, 1, 64, 64)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a[0], aligned_face_prior(64, 64)[0])


def test_softness_and_custom_ellipses():
    hard = aligned_face_prior(128, 128, softness=1e-4)
    assert ((hard > 0.01) & (hard < 0.99)).float().mean() < 0.01
    only_face = AlignedFacePrior(ellipses=(FACE,))(torch.zeros(1, 3, 128, 128))
    both = AlignedFacePrior(ellipses=(FACE, HAIR))(torch.zeros(1, 3, 128, 128))
    assert only_face[0, 0, 20, 64] < 0.1 < 0.9 < both[0, 0, 20, 64]  # hair above the forehead


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: aligned_face_prior(0, 8), "height=0"),
        (lambda: aligned_face_prior(8, 8.5), "width=8.5"),
        (lambda: aligned_face_prior(8, 8, softness=0), "softness=0"),
        (lambda: aligned_face_prior(8, 8, ellipses=()), "ellipses is empty"),
        (lambda: Ellipse(0.5, 0.5, 0.0, 0.2), "radii must be > 0"),
        (lambda: Ellipse(0.5, float("nan"), 0.1, 0.2), "cy=nan"),
        (lambda: AlignedFacePrior(softness=-1), "softness=-1"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_the_prior_on_an_image_that_cannot_be_an_aligned_crop_warns():
    import warnings

    from interestyle.masks import Dilate, resolve_mask

    wide = torch.zeros(1, 3, 40, 60)
    with pytest.warns(UserWarning, match=r"'aligned-face' mask assumes FFHQ-aligned crops .* the image is 60x40"):
        resolve_mask("aligned-face", wide, 32)
    with pytest.warns(UserWarning, match=r"image 1 is 60x40"):
        resolve_mask(Dilate(AlignedFacePrior(), 2.0), [torch.zeros(1, 3, 40, 40), wide], 32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve_mask("aligned-face", torch.zeros(2, 3, 64, 62), 32)  # square within 5 %: no warning
