"""The mask-provider contract, and running any provider on a batch with its output checked.

A mask provider is anything callable as ``provider(images) -> masks`` with images (B, 3, H, W) in [-1, 1]
and masks (B, 1, H, W) in [0, 1] (1 = interest region). It may carry two optional attributes:

* ``resolution`` (int): the square side it wants its images at; they are resized for it and its masks
  resized back. Absent or None: it gets the images at the size the caller works at.
* ``device`` (``torch.device`` or str): where it wants its images; absent or None: wherever they are.

[`run_provider`][interestyle.masks.protocol.run_provider] is the one place that honours both and validates what comes
back. A caller that runs one provider on many batches ([`resolve_mask`][interestyle.masks.resolve_mask], the trainer's
mask cache) prepares it once with `prepare_provider`, which reads and checks the two attributes, and calls the result:
that call is [`run_provider`][interestyle.masks.protocol.run_provider]'s.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Union, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from ..errors import InterestyleError
from ..validation import check_positive_int

__all__ = [
    "MaskProvider",
    "MaskProviderError",
    "MaskSpec",
    "PreparedProvider",
    "bilinear_resize",
    "prepare_provider",
    "provider_device",
    "provider_name",
    "provider_resolution",
    "resize_masks",
    "run_provider",
]

_TOL = 1e-3  # a float mask may overshoot [0, 1] by rounding; more than this is a bug in the provider


@runtime_checkable
class MaskProvider(Protocol):
    """Anything that maps images to soft interest masks.

    ``__call__(images)``: images (B, 3, H, W) float in [-1, 1] -> masks (B, 1, H, W) float in [0, 1],
    1 = interest region (face + hair), 0 = uninterest (background, occluders).

    Optional attributes (read with ``getattr``, so plain functions qualify too): ``resolution`` (int, the
    square side the provider wants its input at) and ``device`` (where it wants its input).
    """

    def __call__(self, images: Tensor) -> Tensor: ...


class MaskProviderError(InterestyleError, ValueError):
    """A mask provider could not be found or loaded, or returned something that is not a valid mask."""


# What ``mask=`` accepts: a provider, a registered provider name, or an explicit mask (see images.MaskInput).
MaskSpec = Union[  # noqa: UP007 (kept as Union for the runtime alias)
    MaskProvider,
    Callable[[Tensor], Tensor],
    Image.Image,
    np.ndarray,
    Tensor,
    str,
    os.PathLike,
    Sequence[Any],
]
"""What ``invert(..., mask=)`` accepts: a provider (images (B, 3, H, W) in [-1, 1] -> masks (B, 1, H, W) in
[0, 1]), a registered provider name, or an explicit mask (image, array, tensor or path; values in [0, 1])."""


def provider_name(provider: object) -> str:
    """A readable name for error messages: its ``name`` attribute, else its function's or its class's name."""
    name = getattr(provider, "name", None)
    if isinstance(name, str) and name:
        return name
    own = getattr(provider, "__name__", None)  # functions and classes
    if isinstance(own, str):
        return own
    return type(provider).__name__


def provider_resolution(provider: object) -> int | None:
    """The square input side a provider declares, or None.

    Raises:
        MaskProviderError: ``resolution`` is set to something other than a positive int.
    """
    resolution = getattr(provider, "resolution", None)
    if resolution is None:
        return None
    where = f"mask provider {provider_name(provider)!r} declares resolution"
    return check_positive_int(resolution, where, note="or None", error=MaskProviderError)


def provider_device(provider: object) -> torch.device | None:
    """The device a provider declares, or None.

    Raises:
        MaskProviderError: ``device`` is not a ``torch.device``, a device string or None.
    """
    device = getattr(provider, "device", None)
    if device is None:
        return None
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise MaskProviderError(
            f"mask provider {provider_name(provider)!r} declares device={device!r}; expected a torch.device, a "
            "device string such as 'cpu' or 'cuda', or None"
        ) from None


def bilinear_resize(images: Tensor, size: int) -> Tensor:
    """(B, C, H, W) -> (B, C, size, size), antialiased bilinear (a no-op at that size already)."""
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def resize_masks(masks: Tensor, size: tuple[int, int]) -> Tensor:
    """(B, 1, h, w) in [0, 1] -> (B, 1, H, W) in [0, 1], antialiased bilinear."""
    if tuple(masks.shape[-2:]) == tuple(size):
        return masks
    out = F.interpolate(masks, size=size, mode="bilinear", antialias=True, align_corners=False)
    return out.clamp_(0.0, 1.0)


def validate_mask_output(masks: object, batch: int, size: tuple[int, int], name: str) -> Tensor:
    """Check what a provider returned; returns it as float32 (B, 1, H, W), clamped to [0, 1].

    Raises:
        MaskProviderError: not a tensor, a wrong shape, a non-float dtype, NaN/inf, or values outside
            [0, 1]; the message names the provider.
    """
    where = f"mask provider {name!r}"
    if not isinstance(masks, Tensor):
        raise MaskProviderError(f"{where} returned {type(masks).__name__}; a provider must return a tensor")
    expected = (batch, 1, *size)
    if tuple(masks.shape) != expected:
        raise MaskProviderError(
            f"{where} returned shape {tuple(masks.shape)} for {batch} images of {size[0]}x{size[1]}; expected "
            f"{expected} (B, 1, H, W)"
        )
    if masks.dtype == torch.bool:
        return masks.float()
    if not masks.dtype.is_floating_point:
        raise MaskProviderError(f"{where} returned dtype {masks.dtype}; expected a float (or bool) tensor")
    masks = masks.detach().float()
    if masks.numel() == 0:
        return masks
    if not bool(torch.isfinite(masks).all()):
        raise MaskProviderError(f"{where} returned NaN or infinite values")
    lo, hi = float(masks.min()), float(masks.max())
    if lo < -_TOL or hi > 1 + _TOL:
        raise MaskProviderError(f"{where} returned values in [{lo:.4g}, {hi:.4g}]; masks must lie in [0, 1]")
    return masks.clamp(0.0, 1.0)


@dataclass(frozen=True)
class PreparedProvider:
    """A mask provider with its ``resolution`` and ``device`` read and checked once (see `prepare_provider`); calling it
    runs the provider the way [`run_provider`][interestyle.masks.protocol.run_provider] does.

    Attributes:
        provider: the provider itself.
        name: how errors call it.
        resolution: the square side it is run at, or None (the images' own size).
        device: where it is run, or None (the images' device).
    """

    provider: Callable[[Tensor], Tensor]
    name: str
    resolution: int | None
    device: torch.device | None

    def __call__(self, images: Tensor) -> Tensor:
        """Masks for ``images`` (B, 3, H, W) in [-1, 1]: (B, 1, H, W) float32 in [0, 1] on the images' device.

        Raises:
            MaskProviderError: an invalid output (see `validate_mask_output`).
        """
        size = (int(images.shape[-2]), int(images.shape[-1]))
        x = images if self.resolution is None else bilinear_resize(images, self.resolution)
        if self.device is not None:
            x = x.to(self.device)
        with torch.no_grad():
            out = self.provider(x)
        masks = validate_mask_output(out, x.shape[0], (int(x.shape[-2]), int(x.shape[-1])), self.name)
        return resize_masks(masks.to(images.device), size)


def prepare_provider(provider: Callable[[Tensor], Tensor], *, name: str | None = None) -> PreparedProvider:
    """Check that ``provider`` is callable and read its ``resolution`` and ``device``, once.

    Args:
        provider: any [`MaskProvider`][interestyle.masks.protocol.MaskProvider].
        name: how to call the provider in errors (default: `provider_name`).

    Raises:
        MaskProviderError: not callable, or a bad ``resolution``/``device`` attribute.
    """
    label = name or provider_name(provider)
    if not callable(provider):
        raise MaskProviderError(f"mask provider {label!r} of type {type(provider).__name__} is not callable")
    return PreparedProvider(provider, label, provider_resolution(provider), provider_device(provider))


def run_provider(provider: Callable[[Tensor], Tensor], images: Tensor, *, name: str | None = None) -> Tensor:
    """Call a provider the way it asks to be called, and check its answer.

    The images are resized to the provider's ``resolution`` and moved to its ``device`` (when it declares
    them); the masks come back at the images' size, on the images' device.

    Args:
        provider: any [`MaskProvider`][interestyle.masks.protocol.MaskProvider].
        images: (B, 3, H, W) float in [-1, 1].
        name: how to call the provider in errors (default: `provider_name`).

    Returns:
        (B, 1, H, W) float32 in [0, 1].

    Raises:
        MaskProviderError: a bad ``resolution``/``device`` attribute, or an invalid output (see
            `validate_mask_output`).
    """
    return prepare_provider(provider, name=name)(images)
