"""FFHQ alignment: the oriented crop of the FFHQ dataset tool, and the transform that undoes it.

The procedure is ``recreate_aligned_images`` of NVlabs/ffhq-dataset (``download_ffhq.py``): from the eye
centres and mouth corners, ``eye_to_eye`` and ``eye_to_mouth`` give an oriented square

    x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1],  normalised, scaled by
        max(|eye_to_eye| * 2.0, |eye_to_mouth| * 1.8);   y = flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1;   quad = [c - x - y, c - x + y, c + x + y, c + x - y]

then shrinks large photos, crops, pads with reflection (blurred and faded to the median colour) where the
quad leaves the photo, and resamples the quad to the output size. Here the resampling is a supersampled
bilinear warp (box-filtered, up to 4 x 4 samples a pixel) in PyTorch, and the pixels stay float.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from typing_extensions import Self

from ..blur import reflect_indices
from ..errors import NoFaceError
from ..images import ImageInput, read_images
from ..validation import check_int, check_positive_int
from .blur import scipy_style_blur
from .landmarks import (
    LandmarkInput,
    LandmarkProvider,
    as_landmarks,
    detect_landmarks,
    eye_mouth_anchors,
    get_landmark_provider,
)

__all__ = ["AlignedFace", "AlignmentTransform", "align_face", "ffhq_quad", "warp_quad"]

_EYE_SCALE, _MOUTH_SCALE, _CENTRE_SHIFT = 2.0, 1.8, 0.1  # FFHQ's constants
_MIN_DISTANCE = 2.0  # pixels; closer eyes (or mouth on the eyes) cannot define a crop
_MIN_SINE = 0.1  # the eye line and the eye-to-mouth line must not be (nearly) parallel
_MAX_SUPERSAMPLE = 4  # FFHQ renders at 4096 and downsizes to 1024


def ffhq_quad(landmarks: LandmarkInput) -> np.ndarray:
    """The FFHQ crop quad of one face, (4, 2) pixel coordinates in the photo.

    Corners in order: top-left, bottom-left, bottom-right, top-right of the aligned image (the order of
    PIL's ``QUAD`` transform).

    Args:
        landmarks: (68, 2) or (5, 2) ``(x, y)`` pixels (see `interestyle.align.landmarks`).

    Raises:
        ValueError: landmarks of the wrong shape, or a degenerate geometry: eyes on top of each other, the
            mouth on the eye line, or eyes given in mirrored order (the first eye must be on the image's left
            of an upright face).
    """
    lm = as_landmarks(landmarks)
    eye_left, eye_right, mouth_left, mouth_right = eye_mouth_anchors(lm)
    eye_avg = (eye_left + eye_right) / 2
    eye_to_eye = eye_right - eye_left
    eye_to_mouth = (mouth_left + mouth_right) / 2 - eye_avg
    d_eyes, d_mouth = float(np.hypot(*eye_to_eye)), float(np.hypot(*eye_to_mouth))
    if d_eyes < _MIN_DISTANCE or d_mouth < _MIN_DISTANCE:
        raise ValueError(
            f"degenerate landmarks: eye-to-eye distance {d_eyes:.3g} px and eye-to-mouth distance {d_mouth:.3g} px; "
            f"both must be at least {_MIN_DISTANCE:g} px to define a crop"
        )
    sine = float(eye_to_eye[0] * eye_to_mouth[1] - eye_to_eye[1] * eye_to_mouth[0]) / (d_eyes * d_mouth)
    if sine < -_MIN_SINE:
        raise ValueError(
            "mirrored landmarks: seen from the eyes the mouth is on the wrong side; the first eye (68-point: "
            "36-41, 5-point: row 0) must be the one on the image's left of an upright face"
        )
    if sine < _MIN_SINE:
        raise ValueError(
            f"degenerate landmarks: the mouth lies on the eye line (angle {math.degrees(math.asin(sine)):.1f} deg "
            "from it); no face crop can be built"
        )
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    x = x / np.hypot(*x) * max(d_eyes * _EYE_SCALE, d_mouth * _MOUTH_SCALE)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * _CENTRE_SHIFT
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


@dataclass(frozen=True)
class AlignmentTransform:
    """Where an aligned face came from: the crop quad in the photo, serialisable with
    [`to_dict`][interestyle.align.ffhq.AlignmentTransform.to_dict].

    Aligned pixel ``(u, v)`` of an aligned image of side ``n`` (any ``n``: an inversion at 256 of a crop
    made at 1024 maps the same way) lies at ``quad[0] + s * (quad[3] - quad[0]) + t * (quad[1] - quad[0])``
    in the photo, with ``s = (u + 0.5) / n`` and ``t = (v + 0.5) / n``. Pixel coordinates put the centre of
    the top-left pixel at ``(0, 0)``.

    Attributes:
        quad: the four corners, top-left, bottom-left, bottom-right, top-right, as ``(x, y)`` photo pixels.
        size: the side of the aligned image [`align_face`][interestyle.align.ffhq.align_face] made.
        original_size: the photo's ``(H, W)``.
    """

    quad: tuple[tuple[float, float], ...]
    size: int
    original_size: tuple[int, int]

    def __post_init__(self) -> None:
        try:
            quad = np.asarray(self.quad, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"quad must be four (x, y) number pairs, got {self.quad!r}") from None
        if quad.shape != (4, 2) or not np.isfinite(quad).all():
            raise ValueError(f"quad must be four finite (x, y) corners, got shape {quad.shape}")
        side_x, side_y = quad[3] - quad[0], quad[1] - quad[0]
        extent = max(float(np.abs(quad - quad.mean(0)).max()), 1.0)
        if not np.allclose(quad[2], quad[1] + side_x, atol=1e-6 * extent):
            raise ValueError("quad is not a parallelogram: corner 2 must equal corner 1 + corner 3 - corner 0")
        if abs(float(side_x[0] * side_y[1] - side_x[1] * side_y[0])) < 1e-9:
            raise ValueError("degenerate quad: its corners are collinear")
        object.__setattr__(self, "size", check_positive_int(self.size, "size"))
        hw = tuple(self.original_size)
        if len(hw) != 2:
            raise ValueError(f"original_size={self.original_size!r} is invalid: expected (H, W), two integers >= 1")
        hw = tuple(check_positive_int(v, f"original_size[{i}]", note="the photo's (H, W)") for i, v in enumerate(hw))
        object.__setattr__(self, "quad", tuple((float(px), float(py)) for px, py in quad))
        object.__setattr__(self, "original_size", hw)

    @property
    def matrix(self) -> np.ndarray:
        """(3, 3) homogeneous matrix from aligned unit coordinates ``(s, t, 1)`` to photo pixels."""
        q = np.asarray(self.quad)
        out = np.eye(3)
        out[:2, 0], out[:2, 1], out[:2, 2] = q[3] - q[0], q[1] - q[0], q[0]
        return out

    @property
    def scale(self) -> float:
        """Photo pixels per aligned pixel at `size`."""
        q = np.asarray(self.quad)
        return float(np.hypot(*(q[3] - q[0]))) / self.size

    def to_original(self, points: Any, *, size: int | None = None) -> np.ndarray:
        """Aligned pixel coordinates (..., 2) of an image of side ``size`` (default `size`) -> photo pixels."""
        n = self.size if size is None else size
        p = _points(points)
        unit = (p + 0.5) / n
        return unit @ self.matrix[:2, :2].T + self.matrix[:2, 2]

    def to_aligned(self, points: Any, *, size: int | None = None) -> np.ndarray:
        """Photo pixel coordinates (..., 2) -> aligned pixels of an image of side ``size`` (default `size`)."""
        n = self.size if size is None else size
        p = _points(points)
        unit = (p - self.matrix[:2, 2]) @ np.linalg.inv(self.matrix[:2, :2]).T
        return unit * n - 0.5

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form; [`from_dict`][interestyle.align.ffhq.AlignmentTransform.from_dict] reads it back."""
        return {"quad": [list(c) for c in self.quad], "size": self.size, "original_size": list(self.original_size)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a transform from [`to_dict`][interestyle.align.ffhq.AlignmentTransform.to_dict]'s output.

        Raises:
            ValueError: a missing or unknown key, or invalid values.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"expected a mapping with quad, size and original_size, got {type(data).__name__}")
        keys = {"quad", "size", "original_size"}
        if set(data) != keys:
            raise ValueError(f"alignment transform keys {sorted(data)} do not match the expected {sorted(keys)}")
        return cls(quad=tuple(map(tuple, data["quad"])), size=data["size"], original_size=tuple(data["original_size"]))


def _points(points: Any) -> np.ndarray:
    p = points.detach().cpu().double().numpy() if isinstance(points, Tensor) else np.asarray(points, dtype=np.float64)
    if p.ndim == 0 or p.shape[-1] != 2:
        raise ValueError(f"points must be (..., 2) (x, y) coordinates, got shape {p.shape}")
    return p


class AlignedFace(NamedTuple):
    """An aligned crop and the transform back to its photo.

    Attributes:
        image: the aligned face, (1, 3, size, size) float32 in [-1, 1].
        transform: the [`AlignmentTransform`][interestyle.align.ffhq.AlignmentTransform] of the crop.
    """

    image: Tensor
    transform: AlignmentTransform


def warp_quad(image: Tensor, quad: np.ndarray, size: int, *, padding: bool = True) -> Tensor:
    """Resample the parallelogram ``quad`` of ``image`` to a ``size`` x ``size`` image, the FFHQ way.

    Args:
        image: (1, C, H, W) float in [0, 1].
        quad: (4, 2) corners in pixels (top-left, bottom-left, bottom-right, top-right).
        size: output side.
        padding: where the quad leaves the image, pad with blurred reflection fading to the median colour
            (FFHQ's ``enable_padding``); otherwise outside pixels are black.

    Returns:
        (1, C, size, size) float in [0, 1].
    """
    h, w = image.shape[-2:]
    q = np.asarray(quad, dtype=np.float64)
    qsize = float(np.hypot(*(q[3] - q[0])))
    # The working image relates to the photo by photo = work * scale + offset (per axis, in pixels).
    scale, offset = np.ones(2), np.zeros(2)
    work = image
    shrink = int(np.floor(qsize / size * 0.5))
    if shrink > 1:
        new_w, new_h = max(int(np.rint(w / shrink)), 1), max(int(np.rint(h / shrink)), 1)
        work = F.interpolate(work, size=(new_h, new_w), mode="bilinear", antialias=True, align_corners=False)
        scale = np.array([w / new_w, h / new_h])
        offset = 0.5 * scale - 0.5
    qw = (q - offset) / scale
    qs = qsize / float(scale.mean())

    border = max(int(np.rint(qs * 0.1)), 3)
    h, w = work.shape[-2:]
    lo, hi = np.floor(qw.min(0)).astype(int), np.ceil(qw.max(0)).astype(int)
    x0, y0 = max(lo[0] - border, 0), max(lo[1] - border, 0)
    x1, y1 = min(hi[0] + border, w), min(hi[1] + border, h)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(
            f"the face crop {np.round(q.min(0)).tolist()}..{np.round(q.max(0)).tolist()} (x, y) lies outside the "
            f"{image.shape[-1]}x{image.shape[-2]} image: landmarks are not of this image"
        )
    work = work[:, :, y0:y1, x0:x1]
    offset = offset + scale * [x0, y0]
    qw = qw - np.array([x0, y0])

    h, w = work.shape[-2:]
    lo, hi = np.floor(qw.min(0)).astype(int), np.ceil(qw.max(0)).astype(int)
    pads = [max(border - lo[0], 0), max(border - lo[1], 0), max(hi[0] - w + border, 0), max(hi[1] - h + border, 0)]
    if padding and max(pads) > border - 4:
        left, top, right, bottom = (max(p, int(np.rint(qs * 0.3))) for p in pads)
        work = work[:, :, reflect_indices(h, top, bottom)][:, :, :, reflect_indices(w, left, right)]
        work = _fade_padding(work, (left, top, right, bottom), blur=qs * 0.02)
        offset = offset - scale * [left, top]
        qw = qw + np.array([left, top])

    h, w = work.shape[-2:]
    k = min(_MAX_SUPERSAMPLE, max(1, math.ceil(qs / size)))
    base = torch.arange(size, dtype=torch.float64)
    out = torch.zeros(1, work.shape[1], size, size, dtype=work.dtype)
    for i in range(k):
        t = ((base + (i + 0.5) / k) / size)[:, None]
        for j in range(k):
            s = ((base + (j + 0.5) / k) / size)[None, :]
            px = qw[0, 0] + s * (qw[3, 0] - qw[0, 0]) + t * (qw[1, 0] - qw[0, 0])
            py = qw[0, 1] + s * (qw[3, 1] - qw[0, 1]) + t * (qw[1, 1] - qw[0, 1])
            grid = torch.stack([(px + 0.5) / w * 2 - 1, (py + 0.5) / h * 2 - 1], dim=-1)[None].to(work.dtype)
            out += F.grid_sample(work, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (out / (k * k)).clamp(0, 1)


def _fade_padding(work: Tensor, pads: tuple[int, int, int, int], *, blur: float) -> Tensor:
    """FFHQ's treatment of the padded band: blur it, then fade it toward the image's median colour."""
    left, top, right, bottom = pads
    h, w = work.shape[-2:]
    xs, ys = torch.arange(w, dtype=work.dtype), torch.arange(h, dtype=work.dtype)
    mx = 1 - torch.minimum(xs / left, (w - 1 - xs) / right)
    my = 1 - torch.minimum(ys / top, (h - 1 - ys) / bottom)
    mask = torch.maximum(mx[None, :], my[:, None])
    work = work + (scipy_style_blur(work, blur) - work) * (mask * 3 + 1).clamp(0, 1)
    median = work.flatten(2).median(dim=2).values[:, :, None, None]
    return work + (median - work) * mask.clamp(0, 1)


def _check_size(size: object) -> int:
    return check_int(size, "size", minimum=8, note="FFHQ crops are 1024")


def read_photo(image: ImageInput, what: str) -> Tensor:
    items = read_images(image, what=what)
    if len(items) != 1 or items[0].shape[0] != 1:
        n = sum(t.shape[0] for t in items)
        raise ValueError(f"{what} holds {n} images; align_face takes one photo (use align_faces per photo)")
    return items[0]


def _describe(image: ImageInput) -> str:
    """How errors name an image: its path when it has one."""
    return f"image {image}" if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__") else "the image"


@torch.no_grad()
def align_face(
    image: ImageInput,
    landmarks: LandmarkInput | LandmarkProvider | str,
    *,
    size: int = 1024,
    padding: bool = True,
) -> AlignedFace:
    """Crop and align one face the FFHQ way.

    Args:
        image: one photo: PIL image, numpy array, tensor or path (see `interestyle.images`), any size.
        landmarks: the face's (68, 2) or (5, 2) ``(x, y)`` pixel landmarks (numpy, tensor or list; see
            `interestyle.align.landmarks` for the conventions), or a
            [`LandmarkProvider`][interestyle.align.landmarks.LandmarkProvider] or the name of one (e.g. ``"mediapipe"``)
            to detect them; with several faces, the largest (widest eye distance) is taken.
        size: side of the aligned image (FFHQ: 1024; use the generator's resolution).
        padding: fill the parts of the crop outside the photo with blurred reflection (as FFHQ); when False
            they are black.

    Returns:
        [`AlignedFace`][interestyle.align.ffhq.AlignedFace]: ``image`` (1, 3, size, size) float32 in [-1, 1] and its
        ``transform``.

    Raises:
        ValueError: no landmarks or the wrong shape, degenerate landmarks, a crop outside the photo, a
            batch instead of one photo; [`NoFaceError`][interestyle.errors.NoFaceError] when a provider finds none.
        TypeError: inputs of the wrong type.
    """
    size = _check_size(size)
    photo = read_photo(image, "image")
    if isinstance(landmarks, str) or callable(landmarks):
        provider = get_landmark_provider(landmarks)
        found = detect_landmarks(provider, photo[0], what=_describe(image))
        if found.shape[0] == 0:
            raise NoFaceError(f"no face found in {_describe(image)} by landmark provider {type(provider).__name__}")
        widths = [float(np.hypot(*np.subtract(*eye_mouth_anchors(f.double().numpy())[:2]))) for f in found]
        landmarks = found[int(np.argmax(widths))]
    return crop_face(photo, ffhq_quad(landmarks), size, padding=padding)


def crop_face(photo: Tensor, quad: np.ndarray, size: int, *, padding: bool = True) -> AlignedFace:
    """Warp ``quad`` of a (1, 3, H, W) photo in [-1, 1] to an [`AlignedFace`][interestyle.align.ffhq.AlignedFace] of
    side ``size``."""
    h, w = photo.shape[-2:]
    aligned = warp_quad((photo + 1) / 2, quad, size, padding=padding) * 2 - 1
    transform = AlignmentTransform(quad=tuple(map(tuple, quad)), size=size, original_size=(int(h), int(w)))
    return AlignedFace(aligned.float(), transform)
