"""Opening a source file the one safe way its format allows.

A ``torch.save`` file (zip or legacy) goes through :func:`.checkpoint.load_checkpoint`
(``torch.load(weights_only=True)``); a bare pickle, which is how NVlabs writes its network snapshots,
through :func:`.nvlabs_pickle.load_network_pickle`, which runs none of its code.
"""

from __future__ import annotations

import os
from pathlib import Path

from .checkpoint import Checkpoint, load_checkpoint
from .nvlabs_pickle import is_plain_pickle, load_network_pickle

__all__ = ["open_source"]


def open_source(path: str | os.PathLike[str], *, progress: bool = False) -> Checkpoint:
    """The checkpoint at ``path``, read by the reader its format needs (see the module's docstring).

    Raises:
        FileNotFoundError: no such file.
        WeightsError: unreadable, or holding a class or global that is not allowed (named).
    """
    file = Path(path)
    if file.is_file() and is_plain_pickle(file):
        return load_network_pickle(file, progress=progress)
    return load_checkpoint(file, progress=progress)
