"""Opening a pickled PyTorch checkpoint without running arbitrary code.

The one place in the package that reads pickles: ``torch.load(..., weights_only=True)`` only, with an
exact allow-list of extra classes that official checkpoints carry (rosinality's training checkpoints
store their ``argparse.Namespace`` under ``args``). Any other class is refused by name; nothing is ever
fully unpickled.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..errors import WeightsError

__all__ = ["ALLOWED_GLOBALS", "Checkpoint", "load_checkpoint", "sha256_file"]

# The classes besides tensors and plain containers that a checkpoint may hold, by qualified name.
ALLOWED_GLOBALS: dict[str, type] = {"argparse.Namespace": argparse.Namespace}
"""The only non-tensor types a checkpoint may carry (``torch.load(weights_only=True)`` allow-list)."""

_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+) was not an allowed global")
_QUALIFIED_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTOCOL_OPCODE = 0x80


@dataclass
class Checkpoint:
    """A loaded checkpoint: its top-level object and where it came from.

    Attributes:
        path: the file.
        sha256: hex digest of the file's bytes.
        content: the unpickled top-level object (usually a dict).
        allowed: the allow-listed classes the file needed (e.g. ``["argparse.Namespace"]``).
    """

    path: Path
    sha256: str
    content: Any
    allowed: list[str] = field(default_factory=list)

    @property
    def entries(self) -> Mapping[str, Any]:
        """The top-level dict, or an empty mapping when the checkpoint is not a dict."""
        return self.content if isinstance(self.content, Mapping) else {}

    def keys(self) -> list[str]:
        return [str(k) for k in self.entries]

    def tensors(self, key: str | None = None) -> dict[str, Tensor] | None:
        """The mapping of names to tensors at top-level ``key`` (the whole checkpoint when None), or None
        when that is not a non-empty mapping of tensors."""
        value = self.content if key is None else self.entries.get(key)
        if not isinstance(value, Mapping) or not value:
            return None
        if not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in value.items()):
            return None
        return dict(value)

    def plain(self, key: str) -> dict[str, Any]:
        """Top-level ``key`` read as plain data: a dict, or the attributes of an ``argparse.Namespace``;
        empty when absent. Used only for hints (which of two same-shaped kinds), never for the config."""
        value = self.entries.get(key)
        if isinstance(value, argparse.Namespace):
            return dict(vars(value))
        if isinstance(value, Mapping):
            return {str(k): v for k, v in value.items()}
        return {}

    def describe_keys(self, limit: int = 12) -> str:
        """A short listing of the top-level keys (or of the first tensor names of a bare state dict)."""
        keys = self.keys()
        if not keys:
            return f"a {type(self.content).__name__}, not a dict"
        shown = ", ".join(repr(k) for k in keys[:limit])
        return f"{len(keys)} top-level key(s): {shown}" + (", ..." if len(keys) > limit else "")


def sha256_file(path: Path, *, progress: bool = False) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (with a progress bar when ``progress``)."""
    digest = hashlib.sha256()
    size = path.stat().st_size
    with (
        path.open("rb") as f,
        tqdm(total=size, unit="B", unit_scale=True, desc=f"sha256 {path.name}", disable=not progress) as bar,
    ):
        while block := f.read(1 << 20):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def _refused(path: Path, names: list[str]) -> WeightsError:
    allowed = ", ".join(ALLOWED_GLOBALS)
    return WeightsError(
        f"{path} contains pickled object(s) of type {', '.join(names)}, which interestyle does not unpickle "
        f"(only tensors, plain containers and {allowed} are allowed): refusing to load it"
    )


def _unreadable(path: Path, reason: str) -> WeightsError:
    return WeightsError(f"{path} is not a readable PyTorch checkpoint ({reason})")


def _check_magic(path: Path) -> bytes:
    with path.open("rb") as f:
        head = f.read(4)
    if not head:
        raise _unreadable(path, "the file is empty")
    if head != _ZIP_MAGIC and head[0] != _PICKLE_PROTOCOL_OPCODE:
        raise _unreadable(path, "neither a zip archive nor a pickle: it was not written by torch.save")
    return head


def load_checkpoint(path: str | os.PathLike[str], *, progress: bool = False) -> Checkpoint:
    """Load a ``.pt``/``.pth`` checkpoint safely.

    ``torch.load(path, map_location="cpu", weights_only=True)``; when the file holds a class outside the default
    allow-list, it is loaded again with exactly [`ALLOWED_GLOBALS`][interestyle.convert.checkpoint.ALLOWED_GLOBALS]
    allowed, or refused.

    Raises:
        FileNotFoundError: no such file (or it is a folder).
        WeightsError: not a checkpoint, truncated or corrupt, or holding a class that is not allowed
            (the message names it).
    """
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"checkpoint {file} does not exist")
    if not file.is_file():
        raise FileNotFoundError(f"checkpoint {file} is not a file")
    head = _check_magic(file)
    digest = sha256_file(file, progress=progress)

    needed: list[str] = []
    if zipped := head == _ZIP_MAGIC:
        try:
            needed = list(torch.serialization.get_unsafe_globals_in_checkpoint(str(file)))
        except Exception as exc:  # torch raises RuntimeError / ValueError for a damaged archive
            raise _unreadable(file, f"corrupt or truncated: {_first_line(exc)}") from None
        refused = [n for n in needed if n not in ALLOWED_GLOBALS]
        if refused:
            raise _refused(file, refused)
    # Legacy (non-zip) files cannot be listed in advance: each refusal names one class, so retry until
    # the file loads or names a class that is not on the list.
    for _ in range(len(ALLOWED_GLOBALS) + 1):
        try:
            with torch.serialization.safe_globals([ALLOWED_GLOBALS[n] for n in needed]):
                content = torch.load(str(file), map_location="cpu", weights_only=True)
            return Checkpoint(path=file, sha256=digest, content=content, allowed=sorted(needed))
        except pickle.UnpicklingError as exc:
            match = _UNSUPPORTED_GLOBAL.search(str(exc))
            if match is None:
                raise _unreadable(file, f"corrupt or truncated: {_first_line(exc)}") from None
            name = match.group(1)
            if not _QUALIFIED_NAME.match(name):  # garbage read from a damaged file
                raise _unreadable(file, "corrupt or truncated") from None
            if name not in ALLOWED_GLOBALS or name in needed or zipped:
                raise _refused(file, [name]) from None
            needed.append(name)
        except (RuntimeError, EOFError, KeyError, ValueError, OSError, IndexError) as exc:
            raise _unreadable(file, f"corrupt or truncated: {type(exc).__name__}: {_first_line(exc)}") from None
    raise _refused(file, needed)  # pragma: no cover - the loop returns or raises


def _first_line(exc: BaseException) -> str:
    """The first sentence of an exception's message (torch's run on for lines)."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    return lines[0].split(". ")[0].rstrip(".")[:200]
