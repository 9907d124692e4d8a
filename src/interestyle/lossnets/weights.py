"""Weights of the frozen loss networks (LPIPS, ArcFace): a safetensors file, or a folder holding one.

Layout: ``FOLDER/model.safetensors`` (or the folder's only ``*.safetensors``), optionally beside a
``config.json`` whose ``_class_name`` names the network. Pickled checkpoints are refused with a pointer to
``interestyle convert``; nothing here unpickles.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TypeVar

import torch
from safetensors import SafetensorError, safe_open
from torch import nn

from ..errors import ConfigError, WeightsError
from ..serialization import CONFIG_NAME, PICKLE_SUFFIXES, WEIGHTS_NAME, key_mismatch

__all__ = ["find_weights_file", "load_frozen_weights"]

# BatchNorm's step counter is absent from checkpoints older than PyTorch 0.4.1 (the public ArcFace one).
_OPTIONAL_SUFFIXES = ("num_batches_tracked",)
_M = TypeVar("_M", bound=nn.Module)


def _refuse_pickle(path: Path, what: str) -> WeightsError:
    return WeightsError(
        f"{path} is a pickled checkpoint; {what} weights are read only from safetensors. "
        f"Convert it once with `interestyle convert {path} --out FOLDER`, then pass FOLDER."
    )


def find_weights_file(path: str | os.PathLike[str], what: str, class_name: str) -> Path:
    """The safetensors file of ``path`` (a ``.safetensors`` file or a folder holding one).

    Raises:
        FileNotFoundError: nothing at ``path``, or a folder without a safetensors file.
        WeightsError: a pickled checkpoint, or a ``config.json`` naming another network.
    """
    p = Path(path)
    if p.is_file():
        if p.suffix.lower() in PICKLE_SUFFIXES:
            raise _refuse_pickle(p, what)
        return p
    if not p.is_dir():
        raise FileNotFoundError(f"{what} weights: no file or folder at {p.resolve()}")
    config = p / CONFIG_NAME
    if config.is_file():
        try:
            name = json.loads(config.read_text(encoding="utf-8")).get("_class_name")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
            raise ConfigError(f"{config} is not a JSON object: {exc}") from None
        if name is not None and name != class_name:
            raise WeightsError(f"{p} holds a {name!r}, not {what} weights ({class_name!r})")
    if (p / WEIGHTS_NAME).is_file():
        return p / WEIGHTS_NAME
    candidates = sorted(p.glob("*.safetensors"))
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise FileNotFoundError(
            f"{p} holds several safetensors files and no {WEIGHTS_NAME}: {[c.name for c in candidates]}"
        )
    pickles = sorted(q for q in p.iterdir() if q.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise _refuse_pickle(pickles[0], what)
    raise FileNotFoundError(f"{what} weights: {p} holds no {WEIGHTS_NAME}")


def load_frozen_weights(module: _M, path: str | os.PathLike[str], what: str, class_name: str) -> _M:
    """Load ``module``'s state dict from ``path`` (key names and shapes checked), freeze it, set eval mode.

    Raises:
        WeightsError: a missing, unexpected or misshapen key (named), a corrupt file, a pickle.
    """
    file = find_weights_file(path, what, class_name)
    expected = module.state_dict()
    try:
        with safe_open(str(file), framework="pt", device="cpu") as f:
            keys = set(f.keys())
            missing = [k for k in expected if k not in keys and not k.endswith(_OPTIONAL_SUFFIXES)]
            unexpected = sorted(k for k in keys if k not in expected)
            if missing or unexpected:
                raise WeightsError(f"{file} does not hold {what} weights: keys {key_mismatch(missing, unexpected)}")
            state = {}
            for key in keys:
                shape = tuple(f.get_slice(key).get_shape())
                if shape != tuple(expected[key].shape):
                    raise WeightsError(
                        f"{file}: {what} key {key!r} has shape {shape}, expected {tuple(expected[key].shape)}"
                    )
                state[key] = f.get_tensor(key)
    except SafetensorError as exc:
        raise WeightsError(f"{file} is not a readable safetensors file: {exc}") from None
    with torch.no_grad():
        for key, value in expected.items():
            if key in state:
                value.copy_(state[key].to(value.dtype))
    module.requires_grad_(False)
    return module.eval()
