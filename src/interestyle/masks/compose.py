"""Small providers that wrap others: morphology, feathering, set operations and a cache.

Sizes (dilation radius, feathering sigma) are in pixels of a 256 x 256 mask, the resolution IntereStyle
computes its losses at, and scale with the mask's width: ``Dilate(p, 4)`` grows a 1024-pixel mask by 16
pixels. Every wrapper accepts a provider or a registered provider name.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .protocol import MaskProvider, provider_device, provider_name, provider_resolution, run_provider

__all__ = [
    "REFERENCE_SIZE",
    "Cached",
    "Dilate",
    "Erode",
    "Feather",
    "Intersect",
    "Invert",
    "Union",
    "dilate_mask",
    "erode_mask",
    "feather_mask",
]

REFERENCE_SIZE = 256
"""Mask width at which radii and sigmas are given; they scale linearly with the actual width."""

ProviderLike = MaskProvider | Callable[[Tensor], Tensor] | str


def _scaled(value: float, width: int) -> float:
    return value * width / REFERENCE_SIZE


def _check_size(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{what}={value!r} is invalid: expected a finite number >= 0 (pixels at 256 x 256)")
    return float(value)


def _check_mask(masks: Tensor, what: str) -> None:
    if not isinstance(masks, Tensor) or masks.ndim != 4 or masks.shape[1] != 1:
        shape = tuple(masks.shape) if isinstance(masks, Tensor) else type(masks).__name__
        raise ValueError(f"{what} expects masks of shape (B, 1, H, W), got {shape}")


def dilate_mask(masks: Tensor, radius: float) -> Tensor:
    """Grey-level dilation (a max filter) over a near-disc of ``radius`` pixels of a 256-wide mask.

    The disc is an octagon: alternating 3x3 square and plus-shaped max filters, one pixel per pass.
    Pixels outside the image do not count.

    Args:
        masks: (B, 1, H, W) in [0, 1].
        radius: in pixels at 256 x 256; scaled by W / 256 and rounded.

    Returns:
        (B, 1, H, W) in [0, 1], >= ``masks`` everywhere.
    """
    _check_mask(masks, "dilate_mask")
    steps = round(_scaled(_check_size(radius, "radius"), masks.shape[-1]))
    out = masks
    for step in range(steps):
        if step % 2 == 0:
            out = F.max_pool2d(out, 3, stride=1, padding=1)
        else:
            rows = F.max_pool2d(out, (3, 1), stride=1, padding=(1, 0))
            cols = F.max_pool2d(out, (1, 3), stride=1, padding=(0, 1))
            out = torch.maximum(rows, cols)
    return out


def erode_mask(masks: Tensor, radius: float) -> Tensor:
    """Grey-level erosion, the dual of :func:`dilate_mask`: ``1 - dilate(1 - m)``; (B, 1, H, W) in [0, 1]."""
    _check_mask(masks, "erode_mask")
    return 1.0 - dilate_mask(1.0 - masks, radius)


def feather_mask(masks: Tensor, sigma: float) -> Tensor:
    """Gaussian blur of standard deviation ``sigma`` pixels of a 256-wide mask (edges replicated).

    Args:
        masks: (B, 1, H, W) in [0, 1].
        sigma: in pixels at 256 x 256; scaled by W / 256.

    Returns:
        (B, 1, H, W) in [0, 1]; constant regions stay constant.
    """
    _check_mask(masks, "feather_mask")
    s = _scaled(_check_size(sigma, "sigma"), masks.shape[-1])
    if s < 1e-3:
        return masks
    half = max(1, math.ceil(3 * s))
    half = min(half, max(masks.shape[-2:]) - 1) if max(masks.shape[-2:]) > 1 else 0
    if half == 0:
        return masks
    t = torch.arange(-half, half + 1, dtype=torch.float32, device=masks.device)
    kernel = torch.exp(-0.5 * (t / s) ** 2)
    kernel = (kernel / kernel.sum()).to(masks.dtype)
    x = F.pad(masks, (half, half, 0, 0), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1))
    x = F.pad(x, (0, 0, half, half), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, -1, 1))
    return x.clamp(0.0, 1.0)


def _as_provider(provider: ProviderLike, what: str) -> Callable[[Tensor], Tensor]:
    if isinstance(provider, str):
        from .registry import get_mask_provider

        return get_mask_provider(provider)
    if not callable(provider):
        raise TypeError(f"{what} must be a mask provider (callable) or a registered provider name, got {provider!r}")
    return provider


class _Unary:
    """A wrapper around one provider; it asks for its inner provider's resolution and device."""

    op = "unary"

    def __init__(self, provider: ProviderLike) -> None:
        self.inner = _as_provider(provider, f"{type(self).__name__}'s provider")
        self.resolution = provider_resolution(self.inner)
        self.device = provider_device(self.inner)
        self.name = f"{self.op}({provider_name(self.inner)})"

    def __call__(self, images: Tensor) -> Tensor:
        return self.apply(run_provider(self.inner, images))

    def apply(self, masks: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


class Dilate(_Unary):
    """Grow the interest region by ``radius`` pixels (at 256 x 256) of the wrapped provider's mask."""

    op = "dilate"

    def __init__(self, provider: ProviderLike, radius: float) -> None:
        super().__init__(provider)
        self.radius = _check_size(radius, "radius")

    def apply(self, masks: Tensor) -> Tensor:
        return dilate_mask(masks, self.radius)


class Erode(_Unary):
    """Shrink the interest region by ``radius`` pixels (at 256 x 256) of the wrapped provider's mask."""

    op = "erode"

    def __init__(self, provider: ProviderLike, radius: float) -> None:
        super().__init__(provider)
        self.radius = _check_size(radius, "radius")

    def apply(self, masks: Tensor) -> Tensor:
        return erode_mask(masks, self.radius)


class Feather(_Unary):
    """Soften the wrapped provider's mask edges with a Gaussian of ``sigma`` pixels (at 256 x 256)."""

    op = "feather"

    def __init__(self, provider: ProviderLike, sigma: float) -> None:
        super().__init__(provider)
        self.sigma = _check_size(sigma, "sigma")

    def apply(self, masks: Tensor) -> Tensor:
        return feather_mask(masks, self.sigma)


class Invert(_Unary):
    """Swap interest and uninterest: ``1 - mask``."""

    op = "invert"

    def apply(self, masks: Tensor) -> Tensor:
        return 1.0 - masks


class _Nary:
    op = "nary"

    def __init__(self, *providers: ProviderLike) -> None:
        if len(providers) < 2:
            raise ValueError(f"{type(self).__name__} needs at least two providers, got {len(providers)}")
        self.providers: Sequence[Callable[[Tensor], Tensor]] = [
            _as_provider(p, f"{type(self).__name__}'s provider {i}") for i, p in enumerate(providers)
        ]
        self.resolution = None  # each member is run at its own resolution; the result comes at the caller's
        self.device = None
        self.name = f"{self.op}({', '.join(provider_name(p) for p in self.providers)})"

    def __call__(self, images: Tensor) -> Tensor:
        masks = [run_provider(p, images) for p in self.providers]
        out = masks[0]
        for m in masks[1:]:
            out = self.combine(out, m)
        return out

    def combine(self, a: Tensor, b: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


class Union(_Nary):
    """Interest wherever any provider sees interest: the pointwise maximum."""

    op = "union"

    def combine(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.maximum(a, b)


class Intersect(_Nary):
    """Interest only where every provider sees interest: the pointwise minimum."""

    op = "intersect"

    def combine(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.minimum(a, b)


class Cached(_Unary):
    """Remember the wrapped provider's mask of each image, keyed by a hash of its pixels.

    Useful when the same images are inverted or trained on repeatedly with an expensive provider
    (``"face-parsing"``). Least-recently-used entries beyond ``maxsize`` are dropped; masks are kept on
    the CPU. Only images missing from the cache are sent to the wrapped provider, as one batch, each
    distinct image once.

    Attributes:
        hits, misses: counts of images served from the cache and computed.
    """

    op = "cached"

    def __init__(self, provider: ProviderLike, maxsize: int = 1024) -> None:
        super().__init__(provider)
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"maxsize={maxsize!r} is invalid: expected an integer >= 1")
        self.maxsize = maxsize
        self._store: OrderedDict[str, Tensor] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(image: Tensor) -> str:
        """SHA-1 of one image's shape, dtype and pixel bytes."""
        data = image.detach().to("cpu").contiguous()
        digest = hashlib.sha1(f"{tuple(data.shape)}{data.dtype}".encode())
        digest.update(data.view(torch.uint8).numpy().tobytes() if data.numel() else b"")
        return digest.hexdigest()

    def __len__(self) -> int:
        return len(self._store)

    def clear(self) -> None:
        """Forget every cached mask."""
        self._store.clear()

    def __call__(self, images: Tensor) -> Tensor:
        keys = [self.key(image) for image in images]
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k not in self._store:
                first.setdefault(k, i)  # a repeated image in one batch is computed once
        missing = list(first.values())
        if missing:
            fresh = run_provider(self.inner, images[missing])
            for i, mask in zip(missing, fresh, strict=True):
                self._store[keys[i]] = mask.to("cpu")
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        out = []
        for k in keys:
            self._store.move_to_end(k)
            out.append(self._store[k])
        result = torch.stack(out).to(images.device)
        while len(self._store) > self.maxsize:
            self._store.popitem(last=False)
        return result
