"""The W+ latents of a whole dataset in one safetensors file (one tensor per input name), or in shards with an
index, as the Hub shards large weights (``model.safetensors.index.json``).

One file, ``latents.safetensors``: tensor ``NAME`` is input ``NAME``'s latents, (n_latent, style_dim) float32 (or
(faces, n_latent, style_dim) for photos inverted with ``--align``); its metadata says it is a latents file
(`LATENTS_FILE_FORMAT`). Shards, ``latents-00000-of-00002.safetensors`` ... (one per process of a sharded
``interestyle invert``), each a latents file, and the index ``latents.safetensors.index.json``:
``{"metadata": {"format": ..., "shards": 2, "complete": true}, "weight_map": {NAME: shard file name}}``.
Every file is written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .serialization import atomic_write

__all__ = [
    "INDEX_SUFFIX",
    "LATENTS_FILE_FORMAT",
    "is_latents_file",
    "latents_shard_name",
    "read_latents_file",
    "save_latents_file",
    "write_latents_index",
]

LATENTS_FILE_FORMAT = "interestyle-latents"
"""The ``interestyle`` metadata value of a latents file, and the index's ``metadata.format``."""

INDEX_SUFFIX = ".index.json"
"""What a latents file's name takes for the index of its shards: ``latents.safetensors.index.json``."""


def latents_shard_name(path: str | os.PathLike[str], rank: int, count: int) -> str:
    """The file name of shard ``rank`` of ``count`` of the latents file ``path``:
    ``latents.safetensors`` -> ``latents-00001-of-00004.safetensors``."""
    if count < 1 or not 0 <= rank < count:
        raise ValueError(f"shard rank={rank} of count={count}: expected 0 <= rank < count")
    p = Path(path)
    return f"{p.stem}-{rank:05d}-of-{count:05d}{p.suffix}"


def save_latents_file(
    path: str | os.PathLike[str], latents: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None
) -> Path:
    """Write ``{name: latents}`` (each moved to the CPU as float32) into one safetensors file, atomically.

    Args:
        path: the file (a ``.safetensors`` name).
        latents: W+ latents by input name, each (n_latent, style_dim) or (faces, n_latent, style_dim).
        metadata: extra string metadata (``format`` and ``interestyle`` are set here).

    Raises:
        ValueError: no latents, a name that is empty, or a tensor that is not 2-D or 3-D floating point.
    """
    target = Path(path)
    if not latents:
        raise ValueError(f"{target}: no latents to write")
    data = {}
    for name, value in latents.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"{target}: latents names must be non-empty strings, got {name!r}")
        if not isinstance(value, torch.Tensor) or value.ndim not in (2, 3) or not value.is_floating_point():
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(f"{target}: latents {name!r} is {shape}, expected (n_latent, style_dim) floats")
        data[name] = value.detach().float().cpu().contiguous()
    meta = {**(metadata or {}), "format": "pt", "interestyle": LATENTS_FILE_FORMAT}
    atomic_write(target, lambda tmp: save_file(data, str(tmp), metadata=meta))
    return target


def is_latents_file(path: str | os.PathLike[str]) -> bool:
    """True for a latents index (``*.safetensors.index.json``) or a safetensors file written by
    `save_latents_file` (not a single image's ``NAME.safetensors`` of ``interestyle invert``)."""
    p = Path(path)
    if p.name.endswith(".safetensors" + INDEX_SUFFIX):
        return True
    if p.suffix.lower() != ".safetensors" or not p.is_file():
        return False
    try:
        with safe_open(str(p), framework="pt", device="cpu") as f:
            return (f.metadata() or {}).get("interestyle") == LATENTS_FILE_FORMAT
    except (SafetensorError, OSError):
        return False


def _read_one(path: Path) -> dict[str, torch.Tensor]:
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            if (f.metadata() or {}).get("interestyle") != LATENTS_FILE_FORMAT:
                raise ValueError(f"{path} is not a latents file (write it with save_latents_file / --latents-file)")
            return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a mapping)
    except SafetensorError as exc:
        raise ValueError(f"{path} is not a readable safetensors file: {exc}") from None


def read_latents_file(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The ``{name: latents}`` of a latents file, or of every shard an index names (in the index's order).

    Raises:
        FileNotFoundError: no such file, or a shard the index names is missing.
        ValueError: a file that is not a latents file or an index, or an index naming a tensor its shard lacks.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no latents file at {p}")
    if not p.name.endswith(INDEX_SUFFIX):
        return _read_one(p)
    try:
        index = json.loads(p.read_text(encoding="utf-8"))
        weight_map = index["weight_map"]
        if index["metadata"]["format"] != LATENTS_FILE_FORMAT:
            raise ValueError(f"metadata.format is {index['metadata']['format']!r}")
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{p} is not a latents index ({exc})") from None
    shards: dict[str, dict[str, torch.Tensor]] = {}
    out = {}
    for name, shard in weight_map.items():
        if shard not in shards:
            file = p.parent / shard
            if not file.is_file():
                raise FileNotFoundError(f"{p} names the shard {shard}, which is not in {p.parent}")
            shards[shard] = _read_one(file)
        if name not in shards[shard]:
            raise ValueError(f"{p} puts {name!r} in {shard}, which does not hold it")
        out[name] = shards[shard][name]
    return out


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created) where the platform has ``fcntl``; none elsewhere."""
    try:
        import fcntl
    except ImportError:  # Windows: the last writer wins; rerun write_latents_index after the processes end
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_latents_index(path: str | os.PathLike[str], count: int) -> Path:
    """Write ``PATH.index.json`` for the shards of latents file ``path`` that exist (out of ``count``).

    Each process of a sharded run calls it after writing its shard, under an exclusive lock on
    ``PATH.index.json.lock`` (POSIX): the last to finish therefore sees every shard, and its index says
    ``"complete": true``. An index written while shards were still missing lists them in
    ``metadata.missing``; calling this again once they exist completes it.

    Returns:
        The index file.

    Raises:
        ValueError: two shards hold the same name.
    """
    p = Path(path)
    index = p.with_name(p.name + INDEX_SUFFIX)
    pattern = re.compile(rf"^{re.escape(p.stem)}-(\d{{5}})-of-{count:05d}{re.escape(p.suffix)}$")
    with _locked(index.with_name(index.name + ".lock")):
        weight_map: dict[str, str] = {}
        present = []
        for file in sorted(p.parent.iterdir()):
            if not pattern.match(file.name):
                continue
            present.append(int(pattern.match(file.name).group(1)))  # type: ignore[union-attr]
            with safe_open(str(file), framework="pt", device="cpu") as f:
                for name in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
                    if name in weight_map:
                        raise ValueError(f"{name!r} is in both {weight_map[name]} and {file.name}")
                    weight_map[name] = file.name
        missing = [latents_shard_name(p, r, count) for r in range(count) if r not in present]
        meta = {"format": LATENTS_FILE_FORMAT, "shards": count, "complete": not missing, "missing": missing}
        text = json.dumps({"metadata": meta, "weight_map": weight_map}, indent=2) + "\n"
        atomic_write(index, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return index
