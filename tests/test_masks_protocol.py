"""The provider contract: any callable qualifies; its resolution/device are honoured; its output is checked."""

from __future__ import annotations

import pytest
import torch

from interestyle.masks import MaskProvider, MaskProviderError, run_provider
from interestyle.masks.protocol import provider_name, resize_masks


def half(images: torch.Tensor) -> torch.Tensor:
    """Left half is interest."""
    m = torch.zeros(images.shape[0], 1, *images.shape[-2:])
    m[..., : images.shape[-1] // 2] = 1
    return m


class Recorder:
    """Remembers what it was called with."""

    def __init__(self, resolution=None, device=None):
        self.resolution = resolution
        self.device = device
        self.seen: list[torch.Tensor] = []

    def __call__(self, images):
        self.seen.append(images)
        return torch.full((images.shape[0], 1, *images.shape[-2:]), 0.5)


def test_any_callable_is_a_provider():
    assert isinstance(half, MaskProvider)
    assert isinstance(Recorder(), MaskProvider)
    assert isinstance(lambda x: x, MaskProvider)
    assert not isinstance(torch.zeros(1), MaskProvider)


def test_run_provider_returns_masks_at_image_size():
    images = torch.zeros(2, 3, 16, 24)
    masks = run_provider(half, images)
    assert masks.shape == (2, 1, 16, 24) and masks.dtype == torch.float32
    assert masks[..., :12].eq(1).all() and masks[..., 12:].eq(0).all()


def test_declared_resolution_and_device_are_honoured():
    provider = Recorder(resolution=8, device="cpu")
    masks = run_provider(provider, torch.zeros(3, 3, 32, 32))
    (seen,) = provider.seen
    assert seen.shape == (3, 3, 8, 8) and seen.device == torch.device("cpu")
    assert masks.shape == (3, 1, 32, 32)
    torch.testing.assert_close(masks, torch.full_like(masks, 0.5))


def test_bool_output_is_accepted_and_slight_overshoot_clamped():
    assert (
        run_provider(lambda x: torch.ones(x.shape[0], 1, *x.shape[-2:], dtype=torch.bool), torch.zeros(1, 3, 4, 4))
        .eq(1)
        .all()
    )
    out = run_provider(lambda x: torch.full((1, 1, 4, 4), 1.0005), torch.zeros(1, 3, 4, 4))
    assert out.max() == 1.0


def test_provider_name_prefers_name_attribute():
    class Named:
        name = "my-segmenter"

    assert provider_name(Named()) == "my-segmenter"
    assert provider_name(half) == "half"
    assert provider_name(Recorder()) == "Recorder"


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (lambda x: "not a tensor", "returned str"),
        (lambda x: torch.zeros(x.shape[0], *x.shape[-2:]), r"shape \(2, 4, 4\).*expected \(2, 1, 4, 4\)"),
        (lambda x: torch.zeros(1, 1, 4, 4), r"expected \(2, 1, 4, 4\)"),
        (lambda x: torch.zeros(2, 1, 4, 5), r"expected \(2, 1, 4, 4\)"),
        (lambda x: torch.zeros(2, 3, 4, 4), r"expected \(2, 1, 4, 4\)"),
        (lambda x: torch.zeros(2, 1, 4, 4, dtype=torch.uint8), "dtype torch.uint8"),
        (lambda x: torch.full((2, 1, 4, 4), float("nan")), "NaN"),
        (lambda x: torch.full((2, 1, 4, 4), float("inf")), "NaN or infinite"),
        (lambda x: torch.full((2, 1, 4, 4), 1.5), r"values in \[1.5, 1.5\]"),
        (lambda x: torch.full((2, 1, 4, 4), -0.2), "must lie in"),
    ],
)
def test_invalid_outputs_are_named_errors(output, message):
    with pytest.raises(MaskProviderError, match=f"mask provider 'bad'.*{message}"):
        run_provider(output, torch.zeros(2, 3, 4, 4), name="bad")


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"resolution": 0}, "resolution=0"),
        ({"resolution": "big"}, "resolution='big'"),
        ({"resolution": True}, "resolution=True"),
        ({"device": "warp-drive"}, "device='warp-drive'"),
        ({"device": 3.5}, "device=3.5"),
    ],
)
def test_invalid_declarations_are_named_errors(attributes, message):
    provider = Recorder(**attributes)
    with pytest.raises(MaskProviderError, match=f"'Recorder' declares {message}"):
        run_provider(provider, torch.zeros(1, 3, 4, 4))


def test_not_callable():
    with pytest.raises(MaskProviderError, match="not callable"):
        run_provider(42, torch.zeros(1, 3, 4, 4))  # type: ignore[arg-type]


def test_resize_masks_keeps_range():
    m = torch.zeros(1, 1, 8, 8)
    m[..., 2:6, 2:6] = 1
    out = resize_masks(m, (3, 5))
    assert out.shape == (1, 1, 3, 5) and out.min() >= 0 and out.max() <= 1
