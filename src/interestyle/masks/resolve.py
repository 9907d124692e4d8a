"""``resolve_mask``: whatever ``mask=`` was given -> one batch of masks, or None.

The rule for strings: a string of provider-name form (lowercase letters, digits, ``-``, ``_``; see
[`is_provider_name`][interestyle.masks.registry.is_provider_name]) is a provider name, always; any other string, and
every ``os.PathLike``, is the path of a mask file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..images import image_sizes, not_square, stack_resized
from ..validation import check_positive_int
from .explicit import explicit_masks
from .prior import AlignedFacePrior
from .protocol import MaskSpec, prepare_provider, provider_name, resize_masks
from .registry import available_mask_providers, get_mask_provider, is_provider_name

__all__ = ["masks_for_items", "resolve_mask"]


def resolve_mask(
    mask: MaskSpec | None,
    images: Tensor | Sequence[Tensor],
    size: int,
    *,
    batch_size: int = 8,
    progress: bool = False,
) -> Tensor | None:
    """Turn a ``mask=`` argument into masks for a batch of images.

    Args:
        mask: one of
            * None: no mask (returns None);
            * a provider: any callable ``images (B, 3, H, W) in [-1, 1] -> (B, 1, H, W) in [0, 1]``, run on
              the images resized to its declared ``resolution`` (default: ``size``) and on its ``device``;
            * a registered provider name such as ``"face-parsing"`` or ``"aligned-face"``;
            * an explicit mask: PIL / numpy / tensor / path, or a list of them, one for all images or one per
              image (see [`explicit_masks`][interestyle.masks.explicit.explicit_masks]).
        images: the images as read ([`interestyle.images.read_images`][interestyle.images.read_images]: a list of (B_i,
            3, H_i, W_i) in [-1, 1] of any sizes), or one (B, 3, H, W) tensor in [-1, 1].
        size: the side of the square masks returned.
        batch_size: images per provider call.
        progress: show a progress bar over provider calls.

    Returns:
        (B, 1, size, size) float32 in [0, 1] on the CPU, or None.

    Raises:
        MaskProviderError: an unknown provider name, or a provider whose output is invalid (named).
        FileNotFoundError: a path that does not exist (and is not a provider name).
        ValueError / TypeError: an invalid explicit mask (NaN, outside [0, 1], wrong rank or batch size).
    """
    if mask is None:
        return None
    items = [images] if isinstance(images, Tensor) else list(images)
    size, batch_size = check_positive_int(size, "size"), check_positive_int(batch_size, "batch_size")
    return masks_for_items(mask, items, size, batch_size=batch_size, progress=progress)


def masks_for_items(
    mask: MaskSpec,
    items: Sequence[Tensor],
    size: int,
    *,
    batch_size: int,
    progress: bool,
    resized: Tensor | None = None,
) -> Tensor:
    """[`resolve_mask`][interestyle.masks.resolve.resolve_mask] for a caller that has checked ``size`` and
    ``batch_size`` already (``invert``).

    Args:
        mask: anything [`resolve_mask`][interestyle.masks.resolve.resolve_mask] takes but None.
        items: the images as read ([`interestyle.images.read_images`][interestyle.images.read_images]).
        size: the side of the square masks returned, an integer >= 1.
        batch_size: images per provider call, an integer >= 1.
        progress: show a progress bar over provider calls.
        resized: the caller's ``stack_resized(items, size)``, (B, 3, size, size), when it has it: a provider
            that declares no resolution of its own (or ``size``) runs on it instead of a second resize.

    Returns:
        (B, 1, size, size) float32 in [0, 1] on the CPU.

    Raises:
        As [`resolve_mask`][interestyle.masks.resolve.resolve_mask].
    """
    if isinstance(mask, str) and is_provider_name(mask):
        return _run(get_mask_provider(mask), items, size, batch_size, progress, resized, name=mask)
    if isinstance(mask, type):
        raise TypeError(f"mask={mask.__name__} is a class; pass an instance of it (a provider), not the class")
    if callable(mask) and not isinstance(mask, Tensor):
        return _run(mask, items, size, batch_size, progress, resized, name=provider_name(mask))
    if isinstance(mask, (str, os.PathLike)) and not Path(mask).exists():
        raise FileNotFoundError(
            f"mask {str(mask)!r} is neither an existing file nor a mask provider name; known providers: "
            f"{', '.join(available_mask_providers())}"
        )
    return explicit_masks(mask, image_sizes(items), size)  # type: ignore[arg-type]


def _run(
    provider: Callable[[Tensor], Tensor],
    items: Sequence[Tensor],
    size: int,
    batch_size: int,
    progress: bool,
    resized: Tensor | None,
    *,
    name: str,
) -> Tensor:
    prepared = prepare_provider(provider, name=name)
    if _assumes_aligned(provider):
        _warn_if_unaligned(image_sizes(items), name)
    side = prepared.resolution or size
    x = resized if resized is not None and side == size else stack_resized(items, side)
    starts = range(0, x.shape[0], batch_size)
    out = []
    for start in tqdm(starts, desc=f"mask ({name})", unit="batch", disable=not progress):
        masks = prepared(x[start : start + batch_size])
        out.append(resize_masks(masks.to("cpu"), (size, size)))
    return torch.cat(out)


def _assumes_aligned(provider: object) -> bool:
    """Whether ``provider`` is (or wraps, through Dilate, Feather ...) the aligned-face prior."""
    while not isinstance(provider, AlignedFacePrior) and hasattr(provider, "inner"):
        provider = provider.inner
    return isinstance(provider, AlignedFacePrior)


def _warn_if_unaligned(sizes: Sequence[tuple[int, int]], name: str) -> None:
    """The prior paints the FFHQ crop's face and hair without looking at the pixels: warn for images that
    cannot be such a crop. Only the shape tells (an aligned crop is square); an off-centre face in a square
    photo goes unnoticed."""
    odd = not_square(sizes)
    if not odd:
        return
    i = odd[0]
    h, w = sizes[i]
    which = f"image {i}" if len(sizes) > 1 else "the image"
    more = f" ({len(odd)} of {len(sizes)} are not square)" if len(odd) > 1 else ""
    warnings.warn(
        f"the {name!r} mask assumes FFHQ-aligned crops (square, the face centred and upright) but {which} is "
        f"{w}x{h}{more}: align photos first (invert(..., align=True); --align on the command line) or use a mask "
        "that looks at the pixels (face-parsing)",
        stacklevel=4,
    )
