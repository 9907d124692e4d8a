"""Every face of every photo: detect, align each, and keep going past photos without a face."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..errors import NoFaceError
from ..images import ImageInput, read_images
from .ffhq import AlignedFace, _check_size, crop_face, ffhq_quad, read_photo
from .landmarks import LandmarkProvider, detect_landmarks, get_landmark_provider
from .paste import DEFAULT_FEATHER_FRACTION, paste_back

__all__ = ["PhotoFaces", "align_faces", "align_photos", "face_batch", "paste_photos"]


def _faces_of(photo: Tensor, provider: LandmarkProvider, name: str, size: int, padding: bool) -> list[AlignedFace]:
    found = detect_landmarks(provider, photo[0], what=name)
    faces, skipped = [], []
    for landmarks in found.double().numpy():
        try:
            quad = ffhq_quad(landmarks)
        except ValueError as exc:  # a false or profile detection: skip it, keep the others
            skipped.append(str(exc))
            continue
        faces.append(crop_face(photo, quad, size, padding=padding))
    if not faces:
        why = f" ({len(skipped)} detection(s) with unusable landmarks: {skipped[0]})" if skipped else ""
        raise NoFaceError(f"no face found in {name} by landmark provider {type(provider).__name__}{why}")
    if skipped:
        warnings.warn(f"{name}: skipped {len(skipped)} face(s) with unusable landmarks: {skipped[0]}", stacklevel=4)
    # Left to right by the crop centre, so the order does not depend on the detector's.
    faces.sort(key=lambda face: float(np.mean(np.asarray(face.transform.quad)[:, 0])))
    return faces


def _name(image: ImageInput, fallback: str) -> str:
    return f"image {os.fspath(image)}" if isinstance(image, (str, os.PathLike)) else fallback


@torch.no_grad()
def align_faces(
    image: ImageInput,
    provider: LandmarkProvider | str = "mediapipe",
    *,
    size: int = 1024,
    padding: bool = True,
) -> list[AlignedFace]:
    """Detect every face of one photo and align each the FFHQ way ([`align_face`][interestyle.align.align_face]).

    Args:
        image: one photo (PIL / numpy / tensor / path), any size.
        provider: a [`LandmarkProvider`][interestyle.align.LandmarkProvider] or its name.
        size: side of the aligned crops.
        padding: as in [`align_face`][interestyle.align.align_face].

    Returns:
        One [`AlignedFace`][interestyle.align.AlignedFace] per face, left to right. Detections with degenerate
        landmarks are skipped with a warning.

    Raises:
        NoFaceError: no usable face; the message names the file when ``image`` is a path.
    """
    size = _check_size(size)
    photo = read_photo(image, "image")
    return _faces_of(photo, get_landmark_provider(provider), _name(image, "the image"), size, padding)


@dataclass
class PhotoFaces:
    """The faces of one photo, from [`align_photos`][interestyle.align.faces.align_photos].

    Attributes:
        name: the photo's path, or ``images[i]`` when it was not read from a file.
        photo: the photo, (1, 3, H, W) float32 in [-1, 1].
        faces: its aligned faces, left to right (empty when none was found).
        error: the [`NoFaceError`][interestyle.errors.NoFaceError] when none was found, else None.
    """

    name: str
    photo: Tensor
    faces: list[AlignedFace] = field(default_factory=list)
    error: NoFaceError | None = None


@torch.no_grad()
def align_photos(
    images: ImageInput,
    provider: LandmarkProvider | str = "mediapipe",
    *,
    size: int = 1024,
    padding: bool = True,
    progress: bool | None = None,
) -> list[PhotoFaces]:
    """Align every face of several photos; a photo without a face is reported and skipped, not fatal.

    Args:
        images: one photo or a list (paths, PIL images, arrays, tensors; a (B, 3, H, W) tensor is B photos).
        provider: a [`LandmarkProvider`][interestyle.align.LandmarkProvider] or its name; built once for all photos.
        size: side of the aligned crops.
        padding: as in [`align_face`][interestyle.align.align_face].
        progress: show a progress bar; by default when there is more than one photo.

    Returns:
        One [`PhotoFaces`][interestyle.align.faces.PhotoFaces] per photo, in order. Photos without a face have ``error``
        set (and a warning naming them is issued).
    """
    size = _check_size(size)
    detector = get_landmark_provider(provider)
    entries = list(images) if isinstance(images, Sequence) and not isinstance(images, (str, bytes)) else [images]
    if not entries:
        raise ValueError("images is an empty list")
    photos: list[tuple[str, Tensor]] = []
    for i, entry in enumerate(entries):
        name = _name(entry, f"images[{i}]" if len(entries) > 1 else "the image")
        batch = torch.cat(read_images(entry, what=name))
        photos += [(name if len(batch) == 1 else f"{name}[{b}]", batch[b : b + 1]) for b in range(len(batch))]
    out = []
    show = len(photos) > 1 if progress is None else progress
    for name, photo in tqdm(photos, desc="align", unit="photo", disable=not show):
        try:
            out.append(PhotoFaces(name, photo, _faces_of(photo, detector, name, size, padding)))
        except NoFaceError as exc:
            warnings.warn(str(exc), stacklevel=3)  # the caller of the no_grad-wrapped function
            out.append(PhotoFaces(name, photo, [], exc))
    return out


def face_batch(photos: Sequence[PhotoFaces]) -> Tensor:
    """Every aligned face of ``photos`` as one batch, photo by photo and left to right in each.

    Returns:
        (N, 3, size, size) float32 in [-1, 1]; row ``k`` is the ``k``-th face in that order.

    Raises:
        NoFaceError: no photo has a face (the message names them).
    """
    crops = [face.image for photo in photos for face in photo.faces]
    if not crops:
        raise NoFaceError(f"no face found in any photo: {', '.join(p.name for p in photos) or 'none given'}")
    return torch.cat(crops)


@torch.no_grad()
def paste_photos(
    photos: Sequence[PhotoFaces],
    results: Tensor,
    *,
    masks: Tensor | None = None,
    feather_fraction: float = DEFAULT_FEATHER_FRACTION,
) -> list[Tensor]:
    """Put processed faces back into their photos ([`paste_back`][interestyle.align.paste_back] per photo).

    Args:
        photos: from [`align_photos`][interestyle.align.faces.align_photos].
        results: (N, 3, n, n) in [-1, 1], rows in [`face_batch`][interestyle.align.faces.face_batch] order (e.g.
            ``InversionResult.images``).
        masks: None or (N, 1, n, n) interest masks in aligned coordinates (e.g. ``InversionResult.masks``).
        feather_fraction: as in [`unalign`][interestyle.align.unalign].

    Returns:
        One (1, 3, H, W) float32 photo in [-1, 1] per entry of ``photos``; photos without a face unchanged.

    Raises:
        ValueError: a number of results (or masks) that is not the number of faces.
    """
    counts = [len(p.faces) for p in photos]
    for what, tensor in (("results", results), ("masks", masks)):
        if tensor is not None and (not isinstance(tensor, Tensor) or tensor.ndim != 4 or len(tensor) != sum(counts)):
            shape = tuple(tensor.shape) if isinstance(tensor, Tensor) else type(tensor).__name__
            raise ValueError(f"{what} must be a (N, C, n, n) tensor with one row per face ({sum(counts)}), got {shape}")
    out, start = [], 0
    for photo, count in zip(photos, counts, strict=True):
        rows = slice(start, start + count)
        start += count
        if count == 0:
            out.append(photo.photo)
            continue
        transforms = [face.transform for face in photo.faces]
        out.append(
            paste_back(
                photo.photo,
                results[rows],
                transforms,
                masks=None if masks is None else masks[rows],
                feather_fraction=feather_fraction,
            )
        )
    return out
