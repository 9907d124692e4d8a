import math

import numpy as np
import pytest
import torch

from interestyle.align import align_face, face_region_mask, paste_back, paste_weight, unalign


def face_points(centre, angle_deg, eyes=50.0):
    a = math.radians(angle_deg)
    rotation = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    canonical = np.array([[-0.5, 0], [0.5, 0], [0, 0.5], [-0.3, 1], [0.3, 1]]) * eyes
    return canonical @ rotation.T + np.asarray(centre, dtype=np.float64)


@pytest.fixture
def photo() -> torch.Tensor:
    """A smooth 300x400 photo, (1, 3, H, W) in [-1, 1]."""
    yy, xx = torch.meshgrid(torch.arange(300.0), torch.arange(400.0), indexing="ij")
    xx, yy = xx / 50, yy / 50
    rgb = torch.stack([torch.sin(xx + 0.3 * yy), torch.cos(0.7 * yy - 0.2 * xx), torch.sin(0.2 * xx * yy)])
    return (0.8 * rgb)[None]


@pytest.mark.parametrize(("size", "eyes", "angle"), [(256, 50.0, 15.0), (64, 50.0, -10.0), (128, 25.0, 100.0)])
def test_unalign_of_align_restores_the_photo_outside_the_blend_band(photo, size, eyes, angle):
    aligned, transform = align_face(photo, face_points((200, 150), angle, eyes), size=size)
    back = unalign(aligned, transform, photo)
    weight = paste_weight(transform, size=size)[0, 0]
    outside, inside = weight == 0, weight >= 1 - 1e-6
    assert outside.any() and inside.any()
    # Where nothing is blended the photo comes back bit for bit ...
    assert torch.equal(back[0][:, outside], photo[0][:, outside])
    # ... and where the crop replaces it, up to resampling twice a smooth image: below one 8-bit level.
    assert (back - photo)[0][:, inside].abs().max() < 1 / 255
    assert back.shape == photo.shape and back.dtype == torch.float32


def test_the_blend_weight_follows_the_mask(photo):
    aligned, transform = align_face(photo, face_points((200, 150), 0.0), size=64)
    edited = -aligned
    untouched = unalign(edited, transform, photo, mask=torch.zeros(64, 64))
    assert torch.equal(untouched, photo)
    everything = unalign(edited, transform, photo, mask=np.ones((64, 64), np.float32), feather_fraction=0.0)
    quad = np.asarray(transform.quad)
    centre = np.round(quad.mean(0)).astype(int)
    # The centre of the crop is the edited face; the photo's corner is not touched.
    expected = edited[0, :, 32, 32]
    torch.testing.assert_close(everything[0, :, centre[1], centre[0]], expected, atol=0.05, rtol=0)
    assert torch.equal(everything[0, :, 0, 0], photo[0, :, 0, 0])
    # Feathering widens the band: more pixels strictly between 0 and 1.
    hard = paste_weight(transform, mask=torch.ones(64, 64), feather_fraction=0.0, size=64)
    soft = paste_weight(transform, mask=torch.ones(64, 64), feather_fraction=0.2, size=64)
    band = lambda w: int(((w > 0) & (w < 1 - 1e-6)).sum())  # noqa: E731
    assert band(soft) > 4 * band(hard)


def test_results_of_another_size_and_overshooting_values_are_accepted(photo):
    aligned, transform = align_face(photo, face_points((200, 150), 10.0), size=256)
    small = torch.nn.functional.interpolate(aligned, size=(32, 32), mode="bilinear", antialias=True) * 1.05
    back = unalign(small, transform, photo)  # a generator's output overshoots [-1, 1]: clipped, not refused
    assert back.shape == photo.shape and back.min() >= -1 and back.max() <= 1


def test_paste_back_puts_several_faces_in_one_photo(photo):
    left = align_face(photo, face_points((110, 150), 5.0, eyes=30), size=32)
    right = align_face(photo, face_points((290, 150), -5.0, eyes=30), size=32)
    results = torch.cat([-left.image, -right.image])
    out = paste_back(photo, results, [left.transform, right.transform])
    one_by_one = unalign(-right.image, right.transform, unalign(-left.image, left.transform, photo))
    torch.testing.assert_close(out, one_by_one)
    masks = torch.zeros(2, 1, 32, 32)
    assert torch.equal(paste_back(photo, results, [left.transform, right.transform], masks=masks), photo)


def test_face_region_mask_covers_the_template_face():
    mask = face_region_mask(256)[0, 0]
    assert mask.shape == (256, 256) and mask.min() >= 0 and mask.max() <= 1
    for x, y in ((95.5, 121.1), (159.5, 121.1), (127.5, 185.1)):  # FFHQ template eyes and mouth
        assert mask[round(y), round(x)] == 1
    assert mask[0, 0] == 0 and mask[255, 128] == 0 and mask[128, 10] == 0


def test_bad_paste_inputs_are_refused(photo):
    aligned, transform = align_face(photo, face_points((200, 150), 0.0), size=32)
    with pytest.raises(ValueError, match=r"300x400 photo"):
        unalign(aligned, transform, photo[..., :200])
    with pytest.raises(ValueError, match="square"):
        unalign(aligned[..., :16], transform, photo)
    with pytest.raises(ValueError, match=r"feather_fraction=0\.9"):
        unalign(aligned, transform, photo, feather_fraction=0.9)
    with pytest.raises(TypeError, match="AlignmentTransform"):
        unalign(aligned, transform.to_dict(), photo)
    with pytest.raises(ValueError, match="holds 2 images"):
        unalign(torch.cat([aligned, aligned]), transform, photo)
    with pytest.raises(ValueError, match="2 results for 1 transforms"):
        paste_back(photo, torch.cat([aligned, aligned]), [transform])
    with pytest.raises(ValueError, match="mask"):
        unalign(aligned, transform, photo, mask=torch.ones(2, 3, 1, 32, 32))


def _psnr(a: torch.Tensor, b: torch.Tensor, region: torch.Tensor) -> float:
    return 10 * math.log10(4 / float(((a - b)[0][:, region] ** 2).mean()))


@pytest.fixture(scope="module")
def textured() -> torch.Tensor:
    """A 700x700 photo with detail down to a few pixels (upsampled noise), (1, 3, H, W) in [-1, 1]."""
    noise = torch.randn(1, 3, 350, 350, generator=torch.Generator().manual_seed(0))
    photo = torch.nn.functional.interpolate(noise, size=(700, 700), mode="bicubic", align_corners=False)
    return (photo / photo.abs().max() * 0.9).clamp(-1, 1)


@pytest.mark.parametrize("eyes", [30.0, 160.0])  # faces of about 120 and 640 photo pixels
def test_a_1024_result_pastes_back_as_sharp_as_a_256_one(textured, eyes):
    # round trip: the aligned crop of the photo, pasted back, against the photo where it replaces it fully
    psnr = {}
    for size in (256, 1024):
        aligned, transform = align_face(textured, face_points((350, 330), 7.0, eyes), size=size)
        inside = paste_weight(transform, size=size)[0, 0] >= 1 - 1e-6
        psnr[size] = _psnr(unalign(aligned, transform, textured), textured, inside)
    # a 1024 result used to be shrunk to the face's size and then warped: 31 dB, blurrier than a 256 one
    assert psnr[1024] >= 37.0 and psnr[1024] >= psnr[256] - 1.5, psnr


def test_detail_finer_than_the_photo_holds_is_filtered_not_aliased():
    photo = torch.zeros(1, 3, 400, 400)
    _, transform = align_face(photo, face_points((200, 190), 0.0, 30.0), size=1024)  # a 120-pixel face
    yy, xx = torch.meshgrid(torch.arange(1024), torch.arange(1024), indexing="ij")
    checker = (((xx + yy) % 2) * 1.6 - 0.8).float()[None, None].expand(1, 3, -1, -1)  # one-pixel detail
    back = unalign(checker, transform, photo, mask=torch.ones(1024, 1024), feather_fraction=0.0)
    inside = paste_weight(transform, mask=torch.ones(1024, 1024), feather_fraction=0.0, size=1024)[0, 0] >= 1 - 1e-6
    assert float(back[0][:, inside].abs().max()) < 0.05  # its mean, 0, not a moire of it
