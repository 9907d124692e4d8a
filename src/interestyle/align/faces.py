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

__all__ = ["PhotoFaces", "align_faces", "align_photos"]


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
        warnings.warn(f"{name}: skipped {len(skipped)} face(s) with unusable landmarks: {skipped[0]}", stacklevel=3)
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
    """Detect every face of one photo and align each the FFHQ way (:func:`~interestyle.align.align_face`).

    Args:
        image: one photo (PIL / numpy / tensor / path), any size.
        provider: a :class:`~interestyle.align.LandmarkProvider` or its name.
        size: side of the aligned crops.
        padding: as in :func:`~interestyle.align.align_face`.

    Returns:
        One :class:`~interestyle.align.AlignedFace` per face, left to right. Detections with degenerate
        landmarks are skipped with a warning.

    Raises:
        NoFaceError: no usable face; the message names the file when ``image`` is a path.
    """
    size = _check_size(size)
    photo = read_photo(image, "image")
    return _faces_of(photo, get_landmark_provider(provider), _name(image, "the image"), size, padding)


@dataclass
class PhotoFaces:
    """The faces of one photo, from :func:`align_photos`.

    Attributes:
        name: the photo's path, or ``images[i]`` when it was not read from a file.
        photo: the photo, (1, 3, H, W) float32 in [-1, 1].
        faces: its aligned faces, left to right (empty when none was found).
        error: the :class:`~interestyle.errors.NoFaceError` when none was found, else None.
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
        provider: a :class:`~interestyle.align.LandmarkProvider` or its name; built once for all photos.
        size: side of the aligned crops.
        padding: as in :func:`~interestyle.align.align_face`.
        progress: show a progress bar; by default when there is more than one photo.

    Returns:
        One :class:`PhotoFaces` per photo, in order. Photos without a face have ``error`` set (and a
        warning naming them is issued).
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
            warnings.warn(str(exc), stacklevel=2)
            out.append(PhotoFaces(name, photo, [], exc))
    return out
