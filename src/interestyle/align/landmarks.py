"""Facial landmarks: the 68- and 5-point conventions, and the providers that detect them.

Coordinates are pixels of the image they were found in, ``(x, y)``, with the centre of the top-left pixel
at ``(0, 0)`` (the dlib convention the FFHQ tool assumes).

* **68 points** (dlib / iBUG 300-W): jaw 0-16, brows 17-26, nose 27-35, eyes 36-41 (the eye on the
  image's left in an upright frontal face, i.e. the subject's right eye) and 42-47, mouth 48-67 (outer
  corners 48 and 54).
* **5 points** (the RetinaFace / InsightFace order): eye centre on the image's left, eye centre on the
  image's right, nose tip, mouth corner on the image's left, mouth corner on the image's right.

A [`LandmarkProvider`][interestyle.align.landmarks.LandmarkProvider] is any callable that takes one image, (3, H, W) in
[-1, 1], and returns the landmarks of every face in it, (F, K, 2) with K in {5, 68} (F may be 0). Providers are found by
name: the ones registered in this process
([`register_landmark_provider`][interestyle.align.landmarks.register_landmark_provider]), then the built-ins
(``"mediapipe"``), then the ``interestyle.landmark_providers`` entry points of installed packages, loaded only when
asked for by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Protocol, Union, runtime_checkable

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "ENTRY_POINT_GROUP",
    "POINT_COUNTS",
    "LandmarkInput",
    "LandmarkProvider",
    "as_landmarks",
    "available_landmark_providers",
    "detect_landmarks",
    "eye_mouth_anchors",
    "get_landmark_provider",
    "register_landmark_provider",
]

ENTRY_POINT_GROUP = "interestyle.landmark_providers"
"""Entry-point group in which installed packages declare landmark-provider factories by name."""
POINT_COUNTS = (5, 68)

LandmarkInput = Union[np.ndarray, Tensor, list, tuple]  # noqa: UP007 (a runtime alias, Python 3.10)


@runtime_checkable
class LandmarkProvider(Protocol):
    """Detects the faces of one image.

    ``provider(image)`` with ``image`` a (3, H, W) float tensor in [-1, 1] returns an (F, K, 2) float
    tensor of pixel coordinates, K in {5, 68}, one row per face found (F = 0 when there is none).
    """

    def __call__(self, image: Tensor) -> Tensor: ...


LandmarkProviderFactory = Callable[..., LandmarkProvider]

# Built-ins are named "module:attribute" and imported on first use, so optional backends cost nothing.
_BUILTINS: dict[str, str] = {"mediapipe": "interestyle.align.mediapipe_backend:MediaPipeLandmarks"}
_REGISTERED: dict[str, LandmarkProviderFactory] = {}


def as_landmarks(landmarks: LandmarkInput, *, what: str = "landmarks") -> np.ndarray:
    """Validate one face's landmarks: (K, 2) or (1, K, 2), K in {5, 68}, finite -> (K, 2) float64.

    Raises:
        ValueError: None, a wrong shape, or NaN / infinite values.
        TypeError: something that is not a numpy array, a tensor or a nested list of numbers.
    """
    if landmarks is None:
        raise ValueError(f"no {what} given: pass a (68, 2) or (5, 2) array of (x, y) pixels, or a landmark provider")
    if isinstance(landmarks, Tensor):
        arr = landmarks.detach().cpu().double().numpy()
    elif isinstance(landmarks, (np.ndarray, list, tuple)):
        try:
            arr = np.asarray(landmarks, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{what} must be numbers: a (68, 2) or (5, 2) array of (x, y) pixels") from None
    else:
        raise TypeError(
            f"{what} of type {type(landmarks).__name__} is not accepted; pass a numpy array, a tensor or a list of "
            "(x, y) pairs, or a landmark provider"
        )
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] not in POINT_COUNTS:
        raise ValueError(
            f"{what} of shape {arr.shape} are not accepted: expected (68, 2) (dlib / iBUG) or (5, 2) (eyes, nose, "
            "mouth corners) (x, y) pixel coordinates, optionally with a leading face axis of 1"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contain NaN or infinite values")
    return arr


def eye_mouth_anchors(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four points the FFHQ crop is built from: left eye, right eye, left and right mouth corners.

    From 68 points the eye centres are the means of points 36-41 and 42-47 and the mouth corners are
    points 48 and 54 (as in the FFHQ dataset tool); 5 points give them directly. "Left" is the image's left
    for an upright face. ``landmarks`` is the (K, 2) array of `as_landmarks`.
    """
    if landmarks.shape[0] == 68:
        return landmarks[36:42].mean(0), landmarks[42:48].mean(0), landmarks[48], landmarks[54]
    return landmarks[0], landmarks[1], landmarks[3], landmarks[4]


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise ValueError(
            f"landmark provider name {name!r} is invalid: expected a non-empty string without surrounding spaces"
        )
    return name


def register_landmark_provider(name: str, factory: LandmarkProviderFactory, *, overwrite: bool = False) -> None:
    """Make ``factory`` available as ``name`` in this process (for
    [`get_landmark_provider`][interestyle.align.landmarks.get_landmark_provider]).

    Args:
        name: the name users pass, e.g. ``"my-detector"``.
        factory: called with the options given to
            [`get_landmark_provider`][interestyle.align.landmarks.get_landmark_provider]; returns a provider. A provider
            class works as its own factory.
        overwrite: replace a provider already registered or built in under this name.

    Raises:
        ValueError: an empty name, or a name already taken without ``overwrite``.
        TypeError: a factory that is not callable.
    """
    _check_name(name)
    if not callable(factory):
        raise TypeError(f"factory for {name!r} must be callable (a provider class or a function returning a provider)")
    if not overwrite and (name in _REGISTERED or name in _BUILTINS):
        raise ValueError(f"a landmark provider named {name!r} exists already; pass overwrite=True to replace it")
    _REGISTERED[name] = factory


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_landmark_providers() -> list[str]:
    """Names [`get_landmark_provider`][interestyle.align.landmarks.get_landmark_provider] accepts: registered, built in,
    and installed entry points.

    Entry points are listed by name only; none is imported. A built-in whose optional dependency is
    missing is still listed (asking for it raises an ImportError that says what to install).
    """
    return sorted({*_REGISTERED, *_BUILTINS, *_entry_points()})


def _load_factory(name: str) -> LandmarkProviderFactory:
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in _BUILTINS:
        module, attribute = _BUILTINS[name].split(":")
        factory: LandmarkProviderFactory = getattr(importlib.import_module(module), attribute)
        return factory
    found = _entry_points()
    if name not in found:
        raise ValueError(
            f"unknown landmark provider {name!r}; available: {available_landmark_providers()} (packages add "
            f"more through the {ENTRY_POINT_GROUP!r} entry-point group)"
        )
    try:
        loaded = found[name].load()
    except Exception as exc:  # a broken plugin must not look like a bug of ours
        raise ValueError(f"landmark provider {name!r} ({found[name].value}) failed to load: {exc}") from exc
    if not callable(loaded):
        raise TypeError(f"entry point {name!r} ({found[name].value}) is not callable; it must name a provider factory")
    return loaded  # type: ignore[no-any-return]


def get_landmark_provider(provider: str | LandmarkProvider, **options: Any) -> LandmarkProvider:
    """A provider from its name (with ``options`` for its factory), or ``provider`` itself if it is one.

    Raises:
        ValueError: an unknown name, a plugin that fails to load, or options given with an instance.
        TypeError: neither a name nor a callable provider instance (a class must be instantiated or
            registered).
        ImportError: a built-in whose optional dependency is not installed (the message says what to install).
    """
    if isinstance(provider, str):
        made = _load_factory(_check_name(provider))(**options)
        if not callable(made):
            raise TypeError(f"landmark provider {provider!r} built a {type(made).__name__}, which is not callable")
        return made
    if isinstance(provider, type):
        raise TypeError(
            f"pass a landmark provider instance, not the class {provider.__name__}; e.g. {provider.__name__}()"
        )
    if not callable(provider):
        raise TypeError(
            f"landmark provider of type {type(provider).__name__} is not accepted; pass a name from "
            f"{available_landmark_providers()} or a callable image (3, H, W) -> landmarks (F, K, 2)"
        )
    if options:
        raise ValueError(f"options {sorted(options)} apply to a provider name, not to an instance")
    return provider


def detect_landmarks(provider: LandmarkProvider, image: Tensor, *, what: str = "image") -> Tensor:
    """Run ``provider`` on one (3, H, W) image in [-1, 1] and check its answer: (F, K, 2) float32, K in {5, 68}.

    Raises:
        ValueError: the provider returned something of the wrong shape or with non-finite values.
    """
    out = provider(image)
    if not isinstance(out, Tensor):
        out = torch.as_tensor(np.asarray(out, dtype=np.float32))
    if out.ndim != 3 or out.shape[-1] != 2 or (out.shape[0] > 0 and out.shape[1] not in POINT_COUNTS):
        raise ValueError(
            f"landmark provider {type(provider).__name__} returned shape {tuple(out.shape)} for {what}; a provider "
            "must return (F, K, 2) with K in (5, 68)"
        )
    if not torch.isfinite(out).all():
        raise ValueError(f"landmark provider {type(provider).__name__} returned NaN or infinite landmarks for {what}")
    return out.float().cpu()
