"""Opening a source file the one safe way its format allows.

A ``torch.save`` file (zip or legacy) goes through `.checkpoint.load_checkpoint`
(``torch.load(weights_only=True)``); a bare pickle, which is how NVlabs writes its network snapshots,
through `.nvlabs_pickle.load_network_pickle`, which runs none of its code; a ``.npy`` / ``.npz``
(InterFaceGAN boundaries, GANSpace components) through ``numpy.load(allow_pickle=False)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..errors import WeightsError
from .checkpoint import Checkpoint, load_checkpoint, sha256_file
from .nvlabs_pickle import is_plain_pickle, load_network_pickle

__all__ = ["NUMPY_SUFFIXES", "open_source"]

NUMPY_SUFFIXES = (".npy", ".npz")


def open_source(path: str | os.PathLike[str], *, progress: bool = False) -> Checkpoint:
    """The checkpoint at ``path``, read by the reader its format needs (see the module's docstring).

    Raises:
        FileNotFoundError: no such file.
        WeightsError: unreadable, or holding a class, global or numpy object array that is not allowed (named).
    """
    file = Path(path)
    if file.is_file() and file.suffix.lower() in NUMPY_SUFFIXES:
        return _load_numpy(file, progress=progress)
    if file.is_file() and is_plain_pickle(file):
        return load_network_pickle(file, progress=progress)
    return load_checkpoint(file, progress=progress)


def _tensor(array: np.ndarray, where: str) -> torch.Tensor:
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise WeightsError(f"{where} holds a numpy array of dtype {array.dtype}; only numbers are read")
    return torch.from_numpy(np.ascontiguousarray(array))


def _load_numpy(file: Path, *, progress: bool) -> Checkpoint:
    """A ``.npy`` as one tensor, a ``.npz`` as a dict of tensors; object arrays (pickles) are refused."""
    digest = sha256_file(file, progress=progress)
    try:
        loaded = np.load(file, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            content: object = _tensor(loaded, str(file))
        else:
            with loaded:
                content = {key: _tensor(loaded[key], f"{file} ({key})") for key in loaded.files}
    except (ValueError, OSError, EOFError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise WeightsError(f"{file} is not a readable numpy file (object arrays are refused): {reason}") from None
    return Checkpoint(path=file, sha256=digest, content=content)
