"""Putting aligned faces back: warp an inverted or edited crop into its photo, blended through a mask.

The blend weight is built in aligned coordinates (the interest mask, or
[`face_region_mask`][interestyle.align.paste.face_region_mask] when there is none), feathered, and warped into the photo
with the crop's [`AlignmentTransform`][interestyle.align.ffhq.AlignmentTransform]. Where the weight is 0 (everywhere
outside the crop, and outside the mask) the photo is returned bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..images import ImageInput, MaskInput, load_masks, read_images
from ..validation import check_number, check_positive_int
from .blur import scipy_style_blur
from .ffhq import AlignmentTransform, read_photo

__all__ = ["DEFAULT_FEATHER_FRACTION", "face_region_mask", "paste_back", "paste_weight", "unalign"]

DEFAULT_FEATHER_FRACTION = 0.05
"""Width of the paste-back blend band, as a fraction of the crop side (the blend's Gaussian sigma is a quarter
of it)."""
# The warp into the photo reads at most this many result pixels per photo pixel: a larger result is first
# shrunk (antialiased) to this density, so that detail finer than the photo can hold is filtered, not
# aliased. Shrinking to 1 pixel per photo pixel blurred twice (a 1024 result pasted into a 400-pixel face:
# 31 dB round trip, worse than a 256 one); at 2, with the bicubic read, 39 dB.
_MAX_DENSITY = 2.0
# The face of an FFHQ crop (eyes at y = 0.475, mouth at y = 0.725, eyes 0.25 apart): brow to chin, cheek to cheek.
_FACE_CENTRE, _FACE_RADII = (0.5, 0.55), (0.30, 0.37)


def face_region_mask(size: int) -> Tensor:
    """The face region of an FFHQ crop: an ellipse, centre (0.5, 0.55), radii (0.30, 0.37) of the side.

    Returns:
        (1, 1, size, size) float32 in [0, 1], antialiased edge.
    """
    size = check_positive_int(size, "size")
    t = (torch.arange(size, dtype=torch.float64) + 0.5) / size
    dx, dy = (t[None, :] - _FACE_CENTRE[0]) / _FACE_RADII[0], (t[:, None] - _FACE_CENTRE[1]) / _FACE_RADII[1]
    r = torch.sqrt(dx**2 + dy**2)
    # Signed distance ~ (r - 1) * radius, in pixels: a one-pixel antialiased edge.
    edge = (0.5 - (r - 1) * min(_FACE_RADII) * size).clamp(0, 1)
    return edge.float()[None, None]


def _check_feather_fraction(feather_fraction: object) -> float:
    return check_number(
        feather_fraction, "feather_fraction", minimum=0, maximum=0.5, note="a fraction of the crop side"
    )


def _aligned_weight(mask: Tensor, feather_fraction: float) -> Tensor:
    """(1, 1, n, n) mask in aligned space -> the feathered blend weight, 0 on the crop's outermost pixels."""
    n = mask.shape[-1]
    if feather_fraction == 0:
        return mask
    band = feather_fraction * n
    weight = scipy_style_blur(mask, band / 4).clamp(0, 1)
    centre = torch.arange(n, dtype=torch.float64) + 0.5
    ramp = ((torch.minimum(centre, n - centre) - 0.5) / band).clamp(0, 1).float()
    return weight * ramp[None, :] * ramp[:, None]


def _to_photo(
    aligned: Tensor, weight: Tensor, transform: AlignmentTransform
) -> tuple[Tensor, Tensor, tuple[int, int, int, int]] | None:
    """Warp (1, C, n, n) colour and (1, 1, n, n) weight onto the photo's pixels under the crop.

    Returns the colour and weight over the crop's bounding box and the box ``(x0, y0, x1, y1)``, or None
    when the crop does not touch the photo.
    """
    h, w = transform.original_size
    q = np.asarray(transform.quad)
    x0, y0 = (max(int(v) - 1, 0) for v in np.floor(q.min(0)))
    x1, y1 = min(int(np.ceil(q[:, 0].max())) + 2, w), min(int(np.ceil(q[:, 1].max())) + 2, h)
    if x1 <= x0 or y1 <= y0:
        return None
    m = transform.matrix
    inverse = np.linalg.inv(m[:2, :2])
    xs = torch.arange(x0, x1, dtype=torch.float64)[None, :] - m[0, 2]
    ys = torch.arange(y0, y1, dtype=torch.float64)[:, None] - m[1, 2]
    s = inverse[0, 0] * xs + inverse[0, 1] * ys
    t = inverse[1, 0] * xs + inverse[1, 1] * ys
    grid = torch.stack([2 * s - 1, 2 * t - 1], dim=-1)[None].to(aligned.dtype)
    # bicubic: the sharper of torch's kernels (a bilinear read softens detail once more); clamped, as it overshoots
    colour = F.grid_sample(aligned, grid, mode="bicubic", padding_mode="border", align_corners=False).clamp(-1, 1)
    alpha = F.grid_sample(weight.to(aligned.dtype), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return colour, alpha.clamp(0, 1), (x0, y0, x1, y1)


def _prepare(
    result: Tensor, mask: Tensor | None, transform: AlignmentTransform, feather_fraction: float
) -> tuple[Tensor, Tensor]:
    """Bring a (1, 3, n, n) result to at most `_MAX_DENSITY` times the crop's size in the photo
    (antialiased) and build its weight."""
    n = result.shape[-1]
    photo_side = transform.scale * transform.size
    if n > _MAX_DENSITY * photo_side:
        side = max(math.ceil(_MAX_DENSITY * photo_side), 8)
        result = F.interpolate(result, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    side = result.shape[-1]
    region = (
        face_region_mask(side)
        if mask is None
        else F.interpolate(mask, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    )
    return result, _aligned_weight(region.clamp(0, 1), feather_fraction)


def _square_results(result: ImageInput, what: str) -> Tensor:
    if isinstance(result, Tensor) and result.dtype.is_floating_point:
        result = result.detach().float().cpu().clamp(-1, 1)  # generator outputs overshoot [-1, 1] a little
    items = read_images(result, what=what)
    sides = {tuple(t.shape[-2:]) for t in items}
    if len(sides) != 1 or next(iter(sides))[0] != next(iter(sides))[1]:
        raise ValueError(f"{what} must be square aligned faces of one size, got sizes (H, W) {sorted(sides)}")
    return torch.cat(items)


def _check_photo(photo: Tensor, transform: AlignmentTransform, what: str) -> None:
    if not isinstance(transform, AlignmentTransform):
        raise TypeError(f"transform must be an AlignmentTransform (from align_face), got {type(transform).__name__}")
    hw = tuple(photo.shape[-2:])
    if hw != transform.original_size:
        raise ValueError(
            f"{what} is {hw[0]}x{hw[1]} (HxW) but the transform was made for a "
            f"{transform.original_size[0]}x{transform.original_size[1]} photo; pass the photo the face was aligned from"
        )


def _paste(
    photo: Tensor, result: Tensor, transform: AlignmentTransform, mask: Tensor | None, feather_fraction: float
) -> Tensor:
    result, weight = _prepare(result, mask, transform, feather_fraction)
    warped = _to_photo(result, weight, transform)
    if warped is None:
        return photo
    colour, alpha, (x0, y0, x1, y1) = warped
    out = photo.clone()
    region = out[:, :, y0:y1, x0:x1]
    out[:, :, y0:y1, x0:x1] = region * (1 - alpha) + colour * alpha
    return out


@torch.no_grad()
def paste_weight(
    transform: AlignmentTransform,
    *,
    mask: MaskInput | None = None,
    feather_fraction: float = DEFAULT_FEATHER_FRACTION,
    size: int = 256,
) -> Tensor:
    """The blend weight [`unalign`][interestyle.align.paste.unalign] uses, in the photo's pixels: (1, 1, H, W) in [0,
    1].

    Args:
        transform: the crop's [`AlignmentTransform`][interestyle.align.ffhq.AlignmentTransform].
        mask: the interest mask in aligned coordinates (any square size; PIL / numpy / tensor / path), or None
            for [`face_region_mask`][interestyle.align.paste.face_region_mask].
        feather_fraction: width of the blend band, as a fraction of the crop side (0: a hard edge).
        size: side of the aligned result the weight is made for ([`unalign`][interestyle.align.paste.unalign] uses the
            result's side).
    """
    feather_fraction = _check_feather_fraction(feather_fraction)
    h, w = transform.original_size
    blank = torch.zeros(1, 3, size, size)
    masks = None if mask is None else load_masks(mask, size, sizes=[(size, size)])
    _, weight = _prepare(blank, masks, transform, feather_fraction)
    warped = _to_photo(weight.expand(1, 3, -1, -1), weight, transform)
    out = torch.zeros(1, 1, h, w)
    if warped is not None:
        _, alpha, (x0, y0, x1, y1) = warped
        out[:, :, y0:y1, x0:x1] = alpha
    return out


@torch.no_grad()
def unalign(
    result: ImageInput,
    transform: AlignmentTransform,
    original: ImageInput,
    *,
    mask: MaskInput | None = None,
    feather_fraction: float = DEFAULT_FEATHER_FRACTION,
) -> Tensor:
    """Warp an aligned face (inverted, edited) back into the photo it was cropped from.

    Args:
        result: the aligned face, one square image of any side (PIL / numpy / tensor (1, 3, n, n) or
            (3, n, n) in [-1, 1], clipped / path).
        transform: from `align_face` (``AlignedFace.transform``).
        original: the photo the face was aligned from, of the size the transform records.
        mask: the interest mask in aligned coordinates (e.g. ``InversionResult.masks[i]``), any square size;
            None blends the [`face_region_mask`][interestyle.align.paste.face_region_mask] ellipse.
        feather_fraction: width of the blend band as a fraction of the crop side (0 for a hard edge).

    Returns:
        The photo with the face replaced: (1, 3, H, W) float32 in [-1, 1]. Pixels where the blend weight
        ([`paste_weight`][interestyle.align.paste.paste_weight]) is 0 are the photo's own, unchanged.

    Raises:
        ValueError: a result that is not square or not one image, a photo of another size than the
            transform's, a bad mask or feather_fraction.
        TypeError: a transform that is not an [`AlignmentTransform`][interestyle.align.ffhq.AlignmentTransform], inputs
            of the wrong type.
    """
    feather_fraction = _check_feather_fraction(feather_fraction)
    photo = read_photo(original, "original")
    _check_photo(photo, transform, "original")
    res = _square_results(result, "result")
    if res.shape[0] != 1:
        raise ValueError(f"result holds {res.shape[0]} images; unalign pastes one face (use paste_back for several)")
    n = res.shape[-1]
    masks = None if mask is None else load_masks(mask, n, sizes=[(n, n)])
    return _paste(photo, res, transform, masks, feather_fraction)


@torch.no_grad()
def paste_back(
    original: ImageInput,
    results: ImageInput,
    transforms: Sequence[AlignmentTransform],
    *,
    masks: MaskInput | None = None,
    feather_fraction: float = DEFAULT_FEATHER_FRACTION,
) -> Tensor:
    """Paste several faces of one photo back, one after the other (see [`unalign`][interestyle.align.paste.unalign]).

    Args:
        original: the photo.
        results: F aligned faces: a (F, 3, n, n) tensor in [-1, 1] (e.g. ``InversionResult.images``) or a
            list of F images.
        transforms: the F transforms, in the same order (``[face.transform for face in faces]``).
        masks: None, or F masks in aligned coordinates ((F, 1, n, n), e.g. ``InversionResult.masks``), or
            one for all.
        feather_fraction: as in [`unalign`][interestyle.align.paste.unalign].

    Returns:
        (1, 3, H, W) float32 in [-1, 1].
    """
    feather_fraction = _check_feather_fraction(feather_fraction)
    photo = read_photo(original, "original")
    transforms = list(transforms)
    res = _square_results(results, "results")
    if res.shape[0] != len(transforms):
        raise ValueError(f"{res.shape[0]} results for {len(transforms)} transforms; give one transform per face")
    for transform in transforms:
        _check_photo(photo, transform, "original")
    n = res.shape[-1]
    loaded = None if masks is None else load_masks(masks, n, sizes=[(n, n)] * len(transforms))
    for i, transform in enumerate(transforms):
        mask = None if loaded is None else loaded[i : i + 1]
        photo = _paste(photo, res[i : i + 1], transform, mask, feather_fraction)
    return photo
