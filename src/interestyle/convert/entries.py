"""The top-level entries of official checkpoints that hold no inference weights, and why they are dropped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from torch import Tensor

from ..errors import WeightsError
from .checkpoint import Checkpoint

__all__ = ["TRAINING_ENTRIES", "drop_entries"]

# Saved by rosinality's train.py, pSp / e4e / ReStyle / IntereStyle coaches; none is needed for inference.
TRAINING_ENTRIES: dict[str, str] = {
    "g": "the non-EMA training generator (g_ema is the one used for inference)",
    "d": "the discriminator",
    "g_optim": "the generator's optimizer state",
    "d_optim": "the discriminator's optimizer state",
    "ada_aug_p": "the ADA augmentation probability",
    "args": "the training arguments",
    "opts": "the training options (read only as a hint of the kind, never for the config)",
    "optimizer": "the encoder's optimizer state",
    "discriminator_state_dict": "the latent discriminator of e4e training",
    "discriminator_optimizer_state_dict": "the latent discriminator's optimizer state",
    "global_step": "the training step",
    "best_val_loss": "the best validation loss",
}


def _holds(value: Any, types: tuple[type, ...] = (Tensor,)) -> bool:
    """True when ``value``, or anything in its mappings, lists and tuples, is an instance of ``types``."""
    if isinstance(value, types):
        return True
    if isinstance(value, Mapping):
        return any(_holds(v, types) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds(v, types) for v in value)
    return False


def drop_entries(
    checkpoint: Checkpoint,
    used: Iterable[str],
    what: str,
    *,
    known: Mapping[str, str] = TRAINING_ENTRIES,
    weights: tuple[type, ...] = (Tensor,),
) -> list[str]:
    """Lines saying which top-level entries besides ``used`` were dropped, and why.

    Args:
        known: entries dropped on purpose, and why (default: the training state of the PyTorch coaches).
        weights: what counts as weights in an unknown entry (default: tensors).

    Raises:
        WeightsError: an unknown entry holds weights (which the conversion would silently lose).
    """
    used = set(used)
    dropped, unknown = [], []
    for key, value in checkpoint.entries.items():
        if key in used:
            continue
        if key in known:
            dropped.append(f"{key}: {known[key]}")
        elif _holds(value, weights):
            unknown.append(str(key))
        else:
            dropped.append(f"{key}: metadata ({type(value).__name__}), not needed for inference")
    if unknown:
        raise WeightsError(
            f"{checkpoint.path} has top-level entr(ies) {unknown} holding tensors that {what} has no place for; "
            f"known entries are {sorted(used)} (converted) and {sorted(known)} (dropped)"
        )
    return dropped
