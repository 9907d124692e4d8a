"""Models and mask providers kept between the runs of a ComfyUI graph, so each is loaded once.

ComfyUI itself re-runs a node only when its inputs change; these caches make two LoadModel nodes with the same model (or
a model switched away from and back) share one copy. Each holds the most recently used
[`CACHE_SIZE`][interestyle.comfy.cache.CACHE_SIZE] entries. A local model folder is keyed by its files' modification
times too, so a model written again into the same folder (by training) is loaded afresh.
"""

from __future__ import annotations

import json
import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import torch

from ..hub import load_encoder
from ..masks import MaskProvider, get_mask_provider
from .values import ComfyModel

__all__ = [
    "CACHE_SIZE",
    "DEVICES",
    "DTYPES",
    "cached_mask_provider",
    "cached_model",
    "clear_caches",
    "folder_stamp",
    "pick_device",
]

CACHE_SIZE = 4
"""How many models (and, separately, mask providers) stay loaded."""
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
"""The LoadModel node's device choices; ``auto`` is the device ComfyUI runs on (see
[`pick_device`][interestyle.comfy.cache.pick_device])."""
DTYPES: tuple[str, ...] = ("auto", "float32", "float16", "bfloat16")
"""The LoadModel node's dtype choices; ``auto`` keeps the stored dtype (float32 for the embedded models)."""

T = TypeVar("T")
_MODELS: OrderedDict[Hashable, ComfyModel] = OrderedDict()
_PROVIDERS: OrderedDict[Hashable, MaskProvider] = OrderedDict()


def _cached(store: OrderedDict[Hashable, T], key: Hashable, make: Callable[[], T]) -> T:
    if key in store:
        store.move_to_end(key)
        return store[key]
    value = make()
    store[key] = value
    while len(store) > CACHE_SIZE:
        store.popitem(last=False)
    return value


def pick_device(choice: str) -> torch.device:
    """The torch device of a LoadModel ``device`` choice.

    ``auto`` is ComfyUI's own device when ComfyUI is running (its ``--cpu`` flag included), else CUDA when
    there is one, else the CPU. ComfyUI is never imported here: its device is asked of the module it has
    loaded already.

    Raises:
        ValueError: a choice not in [`DEVICES`][interestyle.comfy.cache.DEVICES], or CUDA / MPS where there is none.
    """
    if choice == "auto":
        management = sys.modules.get("comfy.model_management")
        if management is not None:
            return torch.device(management.get_torch_device())
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if choice not in available:
        raise ValueError(f"device {choice!r} is not one of {', '.join(DEVICES)}")
    if not available[choice]:
        raise ValueError(f"device {choice!r} is not available on this machine; choose auto or cpu")
    return torch.device(choice)


def _pick_dtype(choice: str) -> torch.dtype | None:
    if choice not in DTYPES:
        raise ValueError(f"dtype {choice!r} is not one of {', '.join(DTYPES)}")
    return None if choice == "auto" else getattr(torch, choice)


def folder_stamp(source: str) -> tuple[int, ...]:
    """The modification times (ns) of a local model folder's ``.json`` and ``.safetensors`` files; empty for an
    embedded name or a Hub repo id."""
    folder = Path(source)
    if not folder.is_dir():
        return ()
    return tuple(p.stat().st_mtime_ns for p in sorted(folder.iterdir()) if p.suffix in (".json", ".safetensors"))


def cached_model(source: str, device: str = "auto", dtype: str = "auto") -> ComfyModel:
    """The model ``source`` on ``device`` in ``dtype``, loaded once
    ([`interestyle.load_encoder`][interestyle.load_encoder]).

    Args:
        source: an embedded model name (``"demo"``), a model folder or a Hugging Face Hub repo id.
        device: one of [`DEVICES`][interestyle.comfy.cache.DEVICES].
        dtype: one of [`DTYPES`][interestyle.comfy.cache.DTYPES].

    Raises:
        ValueError: an empty ``source``, or a device or dtype that is not accepted.
        FileNotFoundError / WeightsError / ConfigError / HubError: as
            [`interestyle.load_encoder`][interestyle.load_encoder].
    """
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"model {source!r} is empty; give an embedded name (demo), a model folder or a Hub repo id")
    source = source.strip()
    where, kind = pick_device(device), _pick_dtype(dtype)
    key = (source, str(where), str(kind), folder_stamp(source))
    return _cached(_MODELS, key, lambda: ComfyModel(load_encoder(source, device=where, dtype=kind), source))


def cached_mask_provider(name: str, options: str = "") -> MaskProvider:
    """The mask provider registered as ``name``, built once with ``options``.

    Args:
        name: a name from [`interestyle.masks.available_mask_providers`][interestyle.masks.available_mask_providers].
        options: the keyword options of its factory as a JSON object (e.g. ``{"weights": "/models/bisenet"}``
            for ``face-parsing``), or empty for none.

    Raises:
        ValueError: options that are not a JSON object.
        MaskProviderError / TypeError: as [`interestyle.masks.get_mask_provider`][interestyle.masks.get_mask_provider].
    """
    text = options.strip() if isinstance(options, str) else options
    if not isinstance(text, str):
        raise TypeError(f"options must be a JSON object as text, got {type(options).__name__}")
    try:
        parsed: Any = json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        raise ValueError(
            f'options {text!r} are not JSON ({exc.msg}); write an object such as {{"weights": "/path"}}'
        ) from None
    if not isinstance(parsed, dict):
        raise ValueError(f'options {text!r} are not a JSON object; write one such as {{"weights": "/path"}}')
    key = (name, json.dumps(parsed, sort_keys=True))
    return _cached(_PROVIDERS, key, lambda: get_mask_provider(name, **parsed))


def clear_caches() -> None:
    """Forget every cached model and mask provider (their memory is freed once nothing else holds them)."""
    _MODELS.clear()
    _PROVIDERS.clear()
