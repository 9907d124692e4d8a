"""Interest masks: which pixels are the face + hair (1) and which are not (0).

* [`MaskProvider`][interestyle.masks.protocol.MaskProvider]: the protocol, ``images (B, 3, H, W) in [-1, 1] -> masks (B,
1, H, W) in [0, 1]``.
* A registry of providers by name ([`get_mask_provider`][interestyle.masks.registry.get_mask_provider],
[`register_mask_provider`][interestyle.masks.registry.register_mask_provider]), extended by
  installed packages through the ``interestyle.mask_providers`` entry-point group.
* Built-ins: explicit masks ([`ExplicitMask`][interestyle.masks.explicit.ExplicitMask]), ``"aligned-face"``
([`AlignedFacePrior`][interestyle.masks.prior.AlignedFacePrior]),
  ``"face-parsing"`` ([`FaceParser`][interestyle.masks.face_parsing.FaceParser], BiSeNet).
* Wrappers: [`Dilate`][interestyle.masks.compose.Dilate], [`Erode`][interestyle.masks.compose.Erode],
[`Feather`][interestyle.masks.compose.Feather], [`Invert`][interestyle.masks.compose.Invert],
[`Union`][interestyle.masks.compose.Union],
  [`Intersect`][interestyle.masks.compose.Intersect], [`Cached`][interestyle.masks.compose.Cached].
* [`resolve_mask`][interestyle.masks.resolve.resolve_mask]: what ``invert(..., mask=...)`` does with its argument.

This package never imports the inversion models.
"""

from __future__ import annotations

from .bisenet import BiSeNet, bisenet_layout, bisenet_state_dict_from_checkpoint
from .compose import Cached, Dilate, Erode, Feather, Intersect, Invert, Union
from .explicit import ExplicitMask, explicit_masks
from .face_parsing import (
    DEFAULT_INTEREST,
    LABELS,
    FaceParser,
    interest_from_labels,
    interest_from_probabilities,
)
from .morphology import dilate_mask, erode_mask, feather_mask
from .prior import AlignedFacePrior, Ellipse, aligned_face_prior
from .protocol import MaskProvider, MaskProviderError, MaskSpec, run_provider
from .registry import (
    ENTRY_POINT_GROUP,
    available_mask_providers,
    get_mask_provider,
    is_provider_name,
    register_mask_provider,
    unregister_mask_provider,
)
from .resolve import resolve_mask

__all__ = [
    "DEFAULT_INTEREST",
    "ENTRY_POINT_GROUP",
    "LABELS",
    "AlignedFacePrior",
    "BiSeNet",
    "Cached",
    "Dilate",
    "Ellipse",
    "Erode",
    "ExplicitMask",
    "FaceParser",
    "Feather",
    "Intersect",
    "Invert",
    "MaskProvider",
    "MaskProviderError",
    "MaskSpec",
    "Union",
    "aligned_face_prior",
    "available_mask_providers",
    "bisenet_layout",
    "bisenet_state_dict_from_checkpoint",
    "dilate_mask",
    "erode_mask",
    "explicit_masks",
    "feather_mask",
    "get_mask_provider",
    "interest_from_labels",
    "interest_from_probabilities",
    "is_provider_name",
    "register_mask_provider",
    "resolve_mask",
    "run_provider",
    "unregister_mask_provider",
]
