"""Which share of the work this process does when a command runs on several processes (``torchrun``,
``accelerate launch``): item ``i`` of a list (``invert``'s batches) belongs to process ``i % count``. The rank
and count are read from the environment the launchers set, so no process group is needed."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch

__all__ = ["Shard", "process_shard", "shard_device"]

_T = TypeVar("_T")

# (rank variable, count variable), in the order they are read: torchrun and accelerate launch set both pairs
_VARIABLES = (("RANK", "WORLD_SIZE"), ("LOCAL_RANK", "LOCAL_WORLD_SIZE"))


@dataclass(frozen=True)
class Shard:
    """Process ``rank`` of ``count`` (0 <= rank < count)."""

    rank: int = 0
    count: int = 1

    def select(self, items: Sequence[_T]) -> list[_T]:
        """The items of this process: every ``count``-th, from ``rank``."""
        return list(items[self.rank :: self.count])

    def label(self) -> str:
        """``"process 2 of 4: "`` on several processes, ``""`` on one."""
        return "" if self.count == 1 else f"process {self.rank} of {self.count}: "


def _int(environ: Mapping[str, str], name: str) -> int:
    text = environ[name]
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"the environment variable {name}={text!r} is not an integer") from None


def process_shard(environ: Mapping[str, str] | None = None) -> Shard:
    """This process's `Shard`, from ``RANK`` / ``WORLD_SIZE`` (else ``LOCAL_RANK`` / ``LOCAL_WORLD_SIZE``);
    process 0 of 1 when neither pair is set.

    Raises:
        ValueError: a variable that is not an integer, a count below 1 or a rank outside ``[0, count)``.
    """
    env = os.environ if environ is None else environ
    for rank_name, count_name in _VARIABLES:
        if rank_name in env and count_name in env:
            rank, count = _int(env, rank_name), _int(env, count_name)
            if count < 1 or not 0 <= rank < count:
                raise ValueError(
                    f"{rank_name}={rank} and {count_name}={count}: expected {count_name} >= 1 and "
                    f"0 <= {rank_name} < {count_name}"
                )
            return Shard(rank, count)
    return Shard()


def shard_device(device: str, environ: Mapping[str, str] | None = None) -> str:
    """``--device`` for this process: ``auto`` or ``cuda`` (no index) on several processes with CUDA becomes
    ``cuda:LOCAL_RANK`` (modulo the GPUs visible), one GPU a process; anything else is kept."""
    env = os.environ if environ is None else environ
    if device not in ("auto", "cuda") or "LOCAL_RANK" not in env or not torch.cuda.is_available():
        return device
    return f"cuda:{_int(env, 'LOCAL_RANK') % torch.cuda.device_count()}"
