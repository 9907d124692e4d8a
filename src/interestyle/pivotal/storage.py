"""Tuned generators on disk: one safetensors file, the whole generator or a delta against its base.

A *delta* holds only the tensors tuning changed (the synthesis network; the mapping network is never
tuned) and the SHA-256 of the base generator's weights, checked at load: it loads only onto the generator
it was tuned from. A *whole* file holds every tensor and the generator's config, and loads on its own.
Either way a round trip is bit-exact, the file is written atomically, and nothing is ever pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor

from ..config import GeneratorConfig
from ..errors import ConfigError, WeightsError
from ..models.generator import Generator
from ..serialization import PICKLE_SUFFIXES, atomic_write

__all__ = ["FILE_FORMAT", "LAYOUTS", "generator_sha256", "load_tuned_generator", "save_tuned_generator"]

FILE_FORMAT = "interestyle-tuned-generator"
"""The ``format`` entry of a tuned generator file's metadata."""
LAYOUTS: tuple[str, ...] = ("delta", "whole")
"""How a tuned generator file holds its weights: the tuned tensors against a base (checked by its hash),
or every tensor."""
Layout = Literal["delta", "whole"]


def generator_sha256(generator: Generator) -> str:
    """SHA-256 (hex) of a generator's state dict: every tensor's name, dtype, shape and bytes, by name."""
    digest = hashlib.sha256()
    for name, tensor in sorted(generator.state_dict().items()):
        data = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}|{data.dtype}|{tuple(data.shape)}\n".encode())
        digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_tuned_generator(
    tuned: Generator,
    path: str | os.PathLike[str],
    *,
    base: Generator,
    layout: Layout = "delta",
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write a tuned generator to ``path`` (a ``.safetensors`` file; replaced atomically).

    Args:
        tuned: the tuned generator (e.g. ``RefinedResult.generator``).
        path: the file to write; its folder must exist.
        base: the generator it was tuned from (``model.generator``); its hash is recorded.
        layout: ``"delta"`` (the tensors that differ from ``base``; loads only onto ``base``) or ``"whole"``.
        metadata: extra string entries for the file's metadata (e.g. the refinement's settings).

    Returns:
        The path written.

    Raises:
        ValueError: an unknown layout, a path with a pickle suffix, or a ``base`` of another shape.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r} is invalid: expected one of {list(LAYOUTS)}")
    target = Path(path)
    if target.suffix.lower() in PICKLE_SUFFIXES:
        raise ValueError(f"{target} has a pickle suffix; tuned generators are written as .safetensors only")
    if tuned.config != base.config:
        raise ValueError("the tuned generator and its base have different configs; pass the base it was tuned from")
    state, reference = tuned.state_dict(), base.state_dict()
    tensors = {
        name: tensor.detach().to("cpu").contiguous().clone()
        for name, tensor in state.items()
        if layout == "whole"
        or tensor.dtype != reference[name].dtype
        or not torch.equal(tensor.detach().cpu(), reference[name].detach().cpu())
    }
    info = {
        **(metadata or {}),
        "format": "pt",
        "interestyle": FILE_FORMAT,
        "layout": layout,
        "base_sha256": generator_sha256(base),
        "generator": json.dumps(tuned.config.to_dict()),
    }
    atomic_write(target, lambda tmp: save_file(tensors, str(tmp), metadata=info))
    return target


def _read(path: Path) -> tuple[dict[str, str], dict[str, Tensor]]:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise WeightsError(f"{path} is a pickle; tuned generators are read from .safetensors files only")
    if not path.is_file():
        raise FileNotFoundError(f"tuned generator file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = dict(f.metadata() or {})
            if metadata.get("interestyle") != FILE_FORMAT:
                raise WeightsError(
                    f"{path} is not a tuned generator file (its metadata lacks interestyle={FILE_FORMAT!r}); "
                    "write one with RefinedResult.save_generator"
                )
            return metadata, {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    except SafetensorError as exc:
        raise WeightsError(f"{path} is not a readable safetensors file (corrupt or truncated?): {exc}") from None


def load_tuned_generator(
    path: str | os.PathLike[str],
    base: Generator | None = None,
    *,
    device: torch.device | str | None = None,
) -> Generator:
    """Read a file [`save_tuned_generator`][interestyle.pivotal.storage.save_tuned_generator] wrote; the generator comes
    back in eval mode, frozen.

    Args:
        path: the ``.safetensors`` file.
        base: the generator it was tuned from (``model.generator``): required for a delta, whose recorded
            hash it must match; for a whole file it is optional and, when given, must have its config.
        device: where to put the result (default: ``base``'s device, else the CPU).

    Raises:
        FileNotFoundError: no such file.
        WeightsError: not a tuned generator file, corrupt, a pickle, tensors that do not fit, or a delta
            whose base hash differs from ``base``'s (it was tuned from another generator).
        ValueError: a delta without ``base``.
    """
    file = Path(path)
    metadata, tensors = _read(file)
    layout = metadata.get("layout")
    if layout not in LAYOUTS:
        raise WeightsError(f"{file}: unknown layout {layout!r}; expected one of {list(LAYOUTS)}")
    try:
        config = GeneratorConfig.from_dict(json.loads(metadata["generator"]))
    except (KeyError, json.JSONDecodeError, ConfigError) as exc:
        raise WeightsError(f"{file}: its generator config is missing or invalid ({exc})") from None
    if base is None and layout == "delta":
        raise ValueError(
            f"{file} is a delta: pass the generator it was tuned from, load_tuned_generator(path, model.generator)"
        )
    if base is not None and base.config != config:
        raise WeightsError(f"{file} holds a generator of another shape than the base given ({config} vs {base.config})")
    if base is not None and layout == "delta":
        found, recorded = generator_sha256(base), metadata.get("base_sha256", "")
        if found != recorded:
            raise WeightsError(
                f"{file} is a delta against the generator with SHA-256 {recorded[:12]}..., but the base given has "
                f"{found[:12]}...: load it with the model it was tuned from"
            )
    with torch.device("meta"):
        generator = Generator(config)
    expected = {k: (v.shape, v.dtype) for k, v in generator.state_dict().items()}
    start = (
        {}
        if base is None or layout == "whole"
        else {k: v.detach().to("cpu").clone() for k, v in base.state_dict().items()}
    )
    for name, tensor in tensors.items():
        if name not in expected or tuple(tensor.shape) != tuple(expected[name][0]):
            raise WeightsError(f"{file}: tensor {name!r} of shape {tuple(tensor.shape)} does not fit the generator")
    state = {**start, **tensors}
    missing = [k for k in expected if k not in state]
    if missing:
        raise WeightsError(f"{file}: {len(missing)} tensor(s) missing (first: {missing[0]!r})")
    generator.load_state_dict(state, strict=True, assign=True)
    where = device if device is not None else (None if base is None else next(base.parameters()).device)
    if where is not None:
        generator.to(where)
    return generator.eval().requires_grad_(False)
