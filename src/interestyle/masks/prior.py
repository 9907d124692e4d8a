"""``aligned-face``: a smooth elliptical prior of face + hair for FFHQ-aligned crops, with no model.

FFHQ alignment puts the eyes about a quarter of the crop apart, their midpoint slightly above the centre
and the mouth about a quarter of the crop below them. Two ellipses in those coordinates cover the face
(forehead to chin, cheek to cheek) and the cranium with its hair; their union, with a soft edge, is the
prior. It ignores the image content: occluders and long hair are not followed. Use it as a fallback when
no segmenter is available, or as a sanity bound (``Intersect(parser, Dilate("aligned-face", 16))``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..validation import check_number, check_positive_int, check_positive_number

__all__ = ["AlignedFacePrior", "Ellipse", "aligned_face_prior"]


@dataclass(frozen=True)
class Ellipse:
    """An axis-aligned ellipse in coordinates normalised to the crop: (0, 0) top-left, (1, 1) bottom-right."""

    cx: float
    cy: float
    rx: float
    ry: float

    def __post_init__(self) -> None:
        for field in ("cx", "cy", "rx", "ry"):
            object.__setattr__(self, field, check_number(getattr(self, field), f"Ellipse.{field}"))
        if self.rx <= 0 or self.ry <= 0:
            raise ValueError(f"Ellipse radii must be > 0, got rx={self.rx!r}, ry={self.ry!r}")


FACE = Ellipse(cx=0.5, cy=0.54, rx=0.25, ry=0.32)
"""Skin from the hairline to the chin in an FFHQ-aligned crop (approximate)."""
HAIR = Ellipse(cx=0.5, cy=0.40, rx=0.32, ry=0.30)
"""Cranium and the hair on it (approximate; long hair below the ears is not covered)."""


def aligned_face_prior(
    height: int,
    width: int,
    *,
    ellipses: tuple[Ellipse, ...] = (FACE, HAIR),
    softness: float = 0.02,
    device: torch.device | str | None = None,
) -> Tensor:
    """The prior as one (1, 1, height, width) float32 mask in [0, 1].

    Each ellipse contributes ``sigmoid(d / softness)`` with ``d`` an approximate signed distance to its
    boundary (positive inside, in crop-widths); the union is the pointwise maximum.

    Args:
        height: rows of the mask.
        width: columns of the mask.
        ellipses: regions of interest in normalised crop coordinates.
        softness: edge width as a fraction of the crop (0.02: 5 pixels at 256); > 0.
    """
    softness = check_positive_number(softness, "softness", note="a fraction of the crop")
    height, width = check_positive_int(height, "height"), check_positive_int(width, "width")
    if not ellipses:
        raise ValueError("ellipses is empty: give at least one Ellipse")
    y = (torch.arange(height, dtype=torch.float32, device=device) + 0.5) / height
    x = (torch.arange(width, dtype=torch.float32, device=device) + 0.5) / width
    yy, xx = torch.meshgrid(y, x, indexing="ij")
    out = torch.zeros(height, width, device=device)
    for e in ellipses:
        r = torch.sqrt(((xx - e.cx) / e.rx) ** 2 + ((yy - e.cy) / e.ry) ** 2)
        signed = (1.0 - r) * min(e.rx, e.ry)
        out = torch.maximum(out, torch.sigmoid(signed / softness))
    return out[None, None]


class AlignedFacePrior:
    """The ``aligned-face`` provider: [`aligned_face_prior`][interestyle.masks.prior.aligned_face_prior] at the size of
    the images it is given.

    A fallback for FFHQ-aligned faces (see `interestyle.masks.prior`); it never looks at the pixels.

    Args:
        ellipses: the regions, in normalised crop coordinates (default: face and hair).
        softness: edge width as a fraction of the crop.
    """

    name = "aligned-face"

    def __init__(self, *, ellipses: tuple[Ellipse, ...] = (FACE, HAIR), softness: float = 0.02) -> None:
        aligned_face_prior(8, 8, ellipses=ellipses, softness=softness)  # validates the arguments
        self.ellipses = tuple(ellipses)
        self.softness = float(softness)
        self.resolution: int | None = None
        self.device = None

    def __call__(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, 1, H, W) in [0, 1], the same prior for every image."""
        b, _, h, w = images.shape
        prior = aligned_face_prior(int(h), int(w), ellipses=self.ellipses, softness=self.softness, device=images.device)
        return prior.expand(b, -1, -1, -1).clone()

    def __repr__(self) -> str:
        return f"AlignedFacePrior(softness={self.softness})"
