"""Mask providers by name: the built-ins, those registered in-process, and third-party entry points.

A name maps to a *factory*: a callable taking keyword options and returning a provider. Third-party
packages declare theirs in the ``interestyle.mask_providers`` entry-point group, e.g. in pyproject.toml::

    [project.entry-points."interestyle.mask_providers"]
    my-segmenter = "my_package.masks:make_provider"

after which ``invert(model, images, mask="my-segmenter")`` works. Entry points are looked up only when a
name is not a built-in or registered one, and the factory's module is imported only when used.

Names are lowercase letters, digits, ``-`` and ``_`` (no dots, no slashes), which is how a string ``mask=`` argument is
told apart from a file path: see [`is_provider_name`][interestyle.masks.registry.is_provider_name].
"""

from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .face_parsing import face_parsing_provider
from .prior import AlignedFacePrior
from .protocol import MaskProvider, MaskProviderError

__all__ = [
    "ENTRY_POINT_GROUP",
    "available_mask_providers",
    "get_mask_provider",
    "is_provider_name",
    "register_mask_provider",
    "unregister_mask_provider",
]

ENTRY_POINT_GROUP = "interestyle.mask_providers"
"""Entry-point group in which installed packages declare mask-provider factories by name."""
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

Factory = Callable[..., MaskProvider]


def _mediapipe_face(**options: Any) -> MaskProvider:
    """The face-hull mask of the optional MediaPipe backend (``pip install interestyle[mediapipe]``); imported
    only when asked for, so this leaf package never depends on the alignment package at import time."""
    from ..align.mediapipe_backend import MediaPipeFaceMask

    return MediaPipeFaceMask(**options)


_BUILTINS: dict[str, Factory] = {
    "aligned-face": AlignedFacePrior,
    "face-parsing": face_parsing_provider,
    "mediapipe-face": _mediapipe_face,
}
_REGISTERED: dict[str, Factory] = {}


def is_provider_name(text: str) -> bool:
    """Whether a string has the form of a provider name (and so is never read as a file path).

    The rule: lowercase ASCII letters, digits, ``-`` and ``_``, starting with a letter or digit. Anything
    with a dot, a slash, a space or an uppercase letter is a path. To load a mask file whose name has the
    form of a provider name (``mask`` with no suffix), pass a ``pathlib.Path`` or ``"./mask"``.
    """
    return bool(_NAME.match(text))


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not is_provider_name(name):
        raise ValueError(
            f"mask provider name {name!r} is invalid: use lowercase letters, digits, '-' and '_' (no dots or "
            "slashes, so that names never look like file paths)"
        )
    return name


def register_mask_provider(name: str, factory: Factory, *, overwrite: bool = False) -> None:
    """Make ``mask=name`` build a provider with ``factory(**options)``, in this process.

    Args:
        name: lowercase letters, digits, ``-`` and ``_``.
        factory: a callable taking keyword options and returning a provider (a provider class works).
        overwrite: replace an existing registration of that name (built-ins can never be replaced).

    Raises:
        ValueError: an invalid name, a built-in name, or a name already registered without ``overwrite``.
        TypeError: ``factory`` is not callable.
    """
    _check_name(name)
    if not callable(factory):
        raise TypeError(f"factory for mask provider {name!r} must be callable, got {type(factory).__name__}")
    if name in _BUILTINS:
        raise ValueError(f"{name!r} is a built-in mask provider and cannot be replaced; choose another name")
    if name in _REGISTERED and not overwrite:
        raise ValueError(f"mask provider {name!r} is already registered; pass overwrite=True to replace it")
    _REGISTERED[name] = factory


def unregister_mask_provider(name: str) -> None:
    """Remove an in-process registration.

    Raises:
        KeyError: ``name`` was not registered with
            [`register_mask_provider`][interestyle.masks.registry.register_mask_provider].
    """
    if name not in _REGISTERED:
        raise KeyError(f"mask provider {name!r} is not registered in this process")
    del _REGISTERED[name]


def _entry_points() -> dict[str, list[EntryPoint]]:
    found: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, []).append(ep)
    return found


def _distribution(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"


def available_mask_providers() -> list[str]:
    """Every name ``mask=`` accepts now: built-ins, in-process registrations and installed entry points.

    Entry points whose names are invalid or clash with a built-in are left out (with a warning).
    """
    names = set(_BUILTINS) | set(_REGISTERED)
    for name, eps in _entry_points().items():
        if name in _BUILTINS or not is_provider_name(name):
            why = "shadows a built-in" if name in _BUILTINS else "is not a valid provider name"
            warnings.warn(
                f"ignoring mask-provider entry point {name!r} from {_distribution(eps[0])}: the name {why}",
                stacklevel=2,
            )
            continue
        names.add(name)
    return sorted(names)


def _factory(name: str) -> Factory:
    if name in _BUILTINS:
        return _BUILTINS[name]
    if name in _REGISTERED:
        return _REGISTERED[name]
    eps = _entry_points().get(name, [])
    if not eps:
        raise MaskProviderError(
            f"unknown mask provider {name!r}; known: {', '.join(available_mask_providers())}. Third-party "
            f"providers register under the {ENTRY_POINT_GROUP!r} entry-point group or with "
            "interestyle.masks.register_mask_provider."
        )
    if len({ep.value for ep in eps}) > 1:
        sources = "; ".join(f"{ep.value} from {_distribution(ep)}" for ep in eps)
        raise MaskProviderError(f"mask provider {name!r} is declared by several installed packages: {sources}")
    try:
        factory = eps[0].load()
    except Exception as exc:  # any import-time failure of a third-party module
        raise MaskProviderError(
            f"mask provider {name!r} ({eps[0].value} from {_distribution(eps[0])}) failed to load: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not callable(factory):
        raise MaskProviderError(
            f"mask provider {name!r} ({eps[0].value}) is a {type(factory).__name__}, not a factory (a callable "
            "returning a provider)"
        )
    return factory


def _check_options(name: str, factory: Factory, options: dict[str, Any]) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # some builtins and C callables have none: let the call decide
        return
    try:
        signature.bind(**options)
    except TypeError as exc:
        accepted = [
            p.name for p in signature.parameters.values() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        raise TypeError(
            f"mask provider {name!r} does not accept options {sorted(options)} ({exc}); it accepts: "
            f"{', '.join(accepted) or 'no options'}"
        ) from None


def get_mask_provider(name: str, **options: Any) -> MaskProvider:
    """Build the provider registered as ``name``, passing it ``options``.

    Raises:
        MaskProviderError: an unknown name (the message lists the known ones), an entry point that fails to
            load, or a factory that returns something not callable.
        TypeError: an option the provider's factory does not take (the message lists those it takes).
    """
    if not isinstance(name, str):
        raise TypeError(f"mask provider name must be a str, got {type(name).__name__}")
    if not is_provider_name(name):
        raise MaskProviderError(
            f"{name!r} is not a mask provider name (lowercase letters, digits, '-' and '_'); "
            f"known: {', '.join(available_mask_providers())}"
        )
    factory = _factory(name)
    _check_options(name, factory, options)
    provider = factory(**options)
    if not callable(provider):
        raise MaskProviderError(
            f"the factory of mask provider {name!r} returned {type(provider).__name__}, which is not callable; a "
            "factory must return a provider (images (B, 3, H, W) -> masks (B, 1, H, W))"
        )
    return provider
