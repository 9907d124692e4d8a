"""Small providers that wrap others: morphology, feathering, set operations and a cache.

Sizes (dilation radius, feathering sigma) are in pixels of a 256 x 256 mask, the resolution IntereStyle
computes its losses at, hence the ``_px256`` in their names, and scale with the mask's width:
``Dilate(p, radius_px256=4)`` grows a 1024-pixel mask by 16 pixels (see
[`interestyle.masks.morphology`][interestyle.masks.morphology]). Every wrapper accepts a provider or a registered
provider name.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from ..validation import check_positive_int
from .morphology import check_size, dilate_mask, erode_mask, feather_mask
from .protocol import MaskProvider, provider_device, provider_name, provider_resolution, run_provider
from .registry import get_mask_provider

__all__ = [
    "Cached",
    "Dilate",
    "Erode",
    "Feather",
    "Intersect",
    "Invert",
    "Union",
]

ProviderLike = MaskProvider | Callable[[Tensor], Tensor] | str


def _as_provider(provider: ProviderLike, what: str) -> Callable[[Tensor], Tensor]:
    if isinstance(provider, str):
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
    """Grow the interest region by ``radius_px256`` pixels (at 256 x 256) of the wrapped provider's mask."""

    op = "dilate"

    def __init__(self, provider: ProviderLike, radius_px256: float) -> None:
        super().__init__(provider)
        self.radius_px256 = check_size(radius_px256, "radius_px256")

    def apply(self, masks: Tensor) -> Tensor:
        return dilate_mask(masks, self.radius_px256)


class Erode(_Unary):
    """Shrink the interest region by ``radius_px256`` pixels (at 256 x 256) of the wrapped provider's mask."""

    op = "erode"

    def __init__(self, provider: ProviderLike, radius_px256: float) -> None:
        super().__init__(provider)
        self.radius_px256 = check_size(radius_px256, "radius_px256")

    def apply(self, masks: Tensor) -> Tensor:
        return erode_mask(masks, self.radius_px256)


class Feather(_Unary):
    """Soften the wrapped provider's mask edges with a Gaussian of ``sigma_px256`` pixels (at 256 x 256)."""

    op = "feather"

    def __init__(self, provider: ProviderLike, sigma_px256: float) -> None:
        super().__init__(provider)
        self.sigma_px256 = check_size(sigma_px256, "sigma_px256")

    def apply(self, masks: Tensor) -> Tensor:
        return feather_mask(masks, self.sigma_px256)


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
        self.maxsize = check_positive_int(maxsize, "maxsize")
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
