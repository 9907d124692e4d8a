"""resolve_mask and invert(mask=...): None, providers, names, paths and explicit masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_model
from interestyle import invert
from interestyle.images import read_images
from interestyle.masks import (
    AlignedFacePrior,
    Dilate,
    ExplicitMask,
    MaskProviderError,
    Union,
    aligned_face_prior,
    resolve_mask,
)


@pytest.fixture
def photo() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)


def items(*shapes):
    return read_images([np.zeros(s, np.uint8) for s in shapes])


def left_half(images):
    m = torch.zeros(images.shape[0], 1, *images.shape[-2:])
    m[..., : images.shape[-1] // 2] = 1
    return m


def test_none_is_no_mask():
    assert resolve_mask(None, items((8, 8, 3)), 16) is None


def test_provider_runs_on_squared_images_at_its_resolution():
    seen = []

    def provider(images):
        seen.append(tuple(images.shape))
        return left_half(images)

    provider.resolution = 24
    masks = resolve_mask(provider, items((40, 60, 3), (30, 30, 3), (10, 10, 3)), 32, batch_size=2)
    assert seen == [(2, 3, 24, 24), (1, 3, 24, 24)]
    assert masks.shape == (3, 1, 32, 32) and masks.device == torch.device("cpu")
    assert masks[..., :15].eq(1).all() and masks[..., 17:].eq(0).all()


def test_provider_without_resolution_works_at_the_output_size():
    seen = []
    resolve_mask(lambda x: seen.append(x.shape[-1]) or left_half(x), items((40, 40, 3)), 32)
    assert seen == [32]


def test_tensor_batch_is_accepted():
    masks = resolve_mask("aligned-face", torch.zeros(2, 3, 20, 20), 16)
    torch.testing.assert_close(masks, aligned_face_prior(16, 16).expand(2, -1, -1, -1))


def test_invert_with_a_provider_object(photo):
    model = tiny_model()
    result = invert(model, [photo, photo[:, :20]], mask=left_half)
    assert result.masks.shape == (2, 1, 32, 32)
    composite = result.composite(feather_px=0)
    torch.testing.assert_close(composite[..., :15], result.images.clamp(-1, 1)[..., :15])
    torch.testing.assert_close(composite[..., 17:], result.inputs[..., 17:])


class CountingProvider:
    """A provider that records each call's batch and how often its declared attributes are read."""

    def __init__(self, resolution=None):
        self._resolution = resolution
        self.reads = {"resolution": 0, "device": 0}
        self.batches = []

    @property
    def resolution(self):
        self.reads["resolution"] += 1
        return self._resolution

    @property
    def device(self):
        self.reads["device"] += 1
        return None

    def __call__(self, images):
        self.batches.append(images.clone())
        return left_half(images)


def test_invert_prepares_a_provider_once_and_reuses_the_generator_size_images(photo, monkeypatch):
    import interestyle.masks.resolve as resolve

    resized = []
    original = resolve.stack_resized
    monkeypatch.setattr(resolve, "stack_resized", lambda items, size: resized.append(size) or original(items, size))
    provider = CountingProvider()
    result = invert(tiny_model(), [photo, photo[:, :20], photo], mask=provider, batch_size=1)
    assert [tuple(b.shape) for b in provider.batches] == [(1, 3, 32, 32)] * 3
    assert provider.reads == {"resolution": 1, "device": 1}  # read once, not once per batch
    assert resized == []  # the provider runs on invert's own 32 x 32 images, not on a second resize
    torch.testing.assert_close(torch.cat(provider.batches), result.inputs, atol=0, rtol=0)

    at_24 = CountingProvider(resolution=24)
    invert(tiny_model(), [photo, photo], mask=at_24, batch_size=1)
    assert resized == [24] and [tuple(b.shape) for b in at_24.batches] == [(1, 3, 24, 24)] * 2
    assert at_24.reads == {"resolution": 1, "device": 1}


def test_invert_with_a_composed_provider(photo):
    model = tiny_model()
    explicit = np.zeros((40, 40), bool)
    explicit[30:, :] = True
    provider = Union(ExplicitMask(explicit), Dilate("aligned-face", 2))
    masks = invert(model, photo, mask=provider).masks
    assert masks[0, 0, 31, 0] > 0.99  # from the explicit mask
    assert masks[0, 0, 16, 16] > 0.99  # from the prior


def test_invert_with_a_registered_name(photo):
    result = invert(tiny_model(), photo, mask="aligned-face")
    torch.testing.assert_close(result.masks, aligned_face_prior(32, 32))


def test_a_name_wins_over_a_file_of_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.zeros((40, 40), np.uint8)).save("aligned-face", format="PNG")
    images = items((40, 40, 3))
    torch.testing.assert_close(resolve_mask("aligned-face", images, 32), aligned_face_prior(32, 32))
    for as_path in ("./aligned-face", Path("aligned-face"), str(tmp_path / "aligned-face")):
        assert resolve_mask(as_path, images, 32).eq(0).all()


def test_strings_that_are_not_names_are_paths(tmp_path, photo):
    Image.fromarray(np.full((40, 40), 255, np.uint8)).save(tmp_path / "mask.png")
    assert invert(tiny_model(), photo, mask=str(tmp_path / "mask.png")).masks.min() > 0.999
    with pytest.raises(
        FileNotFoundError, match=r"'Mask\.png' is neither an existing file nor a mask provider name; known"
    ):
        invert(tiny_model(), photo, mask="Mask.png")


def test_explicit_masks_of_any_form_and_size():
    images = items((40, 40, 3))
    reference = np.zeros((40, 40), np.float32)
    reference[:, :20] = 1
    forms = [
        reference,
        reference.astype(bool),
        (reference * 255).astype(np.uint8),
        torch.from_numpy(reference),
        torch.from_numpy(reference)[None, None],
        Image.fromarray((reference * 255).astype(np.uint8)),
    ]
    expected = resolve_mask(reference, images, 32)
    assert expected.shape == (1, 1, 32, 32) and expected[..., :15].min() > 0.999 and expected[..., 17:].max() < 1e-3
    for form in forms:
        torch.testing.assert_close(resolve_mask(form, images, 32), expected, atol=1e-6, rtol=0)
    larger = resolve_mask(np.kron(reference, np.ones((2, 2), np.float32)), images, 32)  # 80 x 80, resized
    assert larger.shape == expected.shape and float((larger - expected).abs().max()) < 0.1


@pytest.mark.parametrize(
    ("mask", "error", "message"),
    [
        (np.full((40, 40), 1.5, np.float32), ValueError, r"outside the accepted \[0, 1\]"),
        (np.full((40, 40), -0.5, np.float32), ValueError, r"outside the accepted \[0, 1\]"),
        (np.full((40, 40), np.nan, np.float32), ValueError, "NaN"),
        (torch.full((1, 1, 40, 40), float("nan")), ValueError, "NaN"),
        (np.zeros((3, 40, 40)), ValueError, "3 masks for 2 images"),
        (torch.zeros(1, 1, 1, 40, 40), ValueError, "is not a mask"),
        (torch.zeros(1, 3, 40, 40), ValueError, "is not a mask"),
        (torch.zeros(40), ValueError, "is not a mask"),
        (np.zeros((40, 20)), ValueError, "aspect ratio"),
        (torch.zeros(40, 40, dtype=torch.int32), TypeError, "dtype torch.int32"),
        ([], ValueError, "empty list"),
        (3.5, TypeError, "float is not accepted"),
    ],
)
def test_bad_explicit_masks(photo, mask, error, message):
    with pytest.raises(error, match=message):
        invert(tiny_model(), [photo, photo], mask=mask)


def test_bad_providers_are_named(photo):
    with pytest.raises(MaskProviderError, match="'wrong_shape' returned shape"):

        def wrong_shape(images):
            return torch.zeros(images.shape[0], *images.shape[-2:])

        invert(tiny_model(), photo, mask=wrong_shape)
    with pytest.raises(TypeError, match="is a class; pass an instance"):
        invert(tiny_model(), photo, mask=AlignedFacePrior)
    with pytest.raises(MaskProviderError, match="unknown mask provider 'face-parser'"):
        invert(tiny_model(), photo, mask="face-parser")


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"size": 0}, "size=0"), ({"size": 8, "batch_size": 0}, "batch_size=0")]
)
def test_bad_resolver_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resolve_mask(left_half, items((8, 8, 3)), **kwargs)


def test_progress_bar(capsys):
    resolve_mask(left_half, items(*[(8, 8, 3)] * 3), 8, batch_size=1, progress=True)
    assert "mask (left_half)" in capsys.readouterr().err


def test_explicit_mask_provider_checks_batch_and_aspect():
    provider = ExplicitMask(np.ones((2, 10, 10), bool))
    assert provider(torch.zeros(2, 3, 20, 20)).shape == (2, 1, 20, 20)
    assert provider(torch.zeros(2, 3, 20, 20)).eq(1).all()
    with pytest.raises(ValueError, match="2 masks for 3 images"):
        provider(torch.zeros(3, 3, 20, 20))
    with pytest.raises(ValueError, match="aspect ratio"):
        provider(torch.zeros(2, 3, 20, 40))
