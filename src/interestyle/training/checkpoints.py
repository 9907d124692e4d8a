"""Training checkpoints: ``LOG_DIR/checkpoints/step-NNNNNNNN``, written whole or not at all, and read back.

A checkpoint is a model folder [`interestyle.load_encoder`][interestyle.load_encoder] reads (``config.json`` +
``model.safetensors``) plus the training state: ``training_state.safetensors`` (the optimiser's tensors and the RNG
states) and ``training_state.json`` (step, seed, world size, scheduler, the optimiser's other values, gradient scaler,
the training config). Nothing is pickled.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor

from .._version import __version__
from ..models.model import IntereStyleModel
from ..serialization import CHECKSUM_KEY, CONFIG_NAME, WEIGHTS_NAME, read_state_dict
from .config import OptimConfig

__all__ = [
    "STATE_JSON",
    "STATE_TENSORS",
    "Stateful",
    "checkpoint_name",
    "find_latest_checkpoint",
    "global_batch",
    "prune_checkpoints",
    "read_checkpoint",
    "resume_warnings",
    "tidy_checkpoints",
    "training_state",
    "write_checkpoint",
]

STATE_JSON = "training_state.json"
STATE_TENSORS = "training_state.safetensors"
_CHECKPOINT = re.compile(r"^step-(\d+)$")
_ASIDE = re.compile(r"^\.(step-\d+)\.(old|deleting)$")  # moved aside by write_checkpoint / prune_checkpoints


class Stateful(Protocol):
    """What a checkpoint saves and restores: an optimiser, a scheduler or a gradient scaler."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: dict[str, Any], /) -> Any: ...


def checkpoint_name(step: int) -> str:
    """The folder name of the checkpoint after optimiser step ``step``: ``step-NNNNNNNN``."""
    return f"step-{step:08d}"


def find_latest_checkpoint(log_dir: str | os.PathLike[str]) -> Path | None:
    """The newest complete checkpoint folder under ``LOG_DIR/checkpoints`` (``step-NNNNNNNN``), or None."""
    root = Path(log_dir) / "checkpoints"
    if not root.is_dir():
        return None
    found = []
    for p in root.iterdir():
        m = _CHECKPOINT.match(p.name)
        if m and (p / STATE_JSON).is_file() and (p / WEIGHTS_NAME).is_file():
            found.append((int(m.group(1)), p))
    return max(found)[1] if found else None


def tidy_checkpoints(root: str | os.PathLike[str]) -> None:
    """Finish what a killed [`write_checkpoint`][interestyle.training.checkpoints.write_checkpoint] or
    [`prune_checkpoints`][interestyle.training.checkpoints.prune_checkpoints] left under ``root``.

    A checkpoint moved aside to be replaced (``.step-N.old``) is put back when its replacement never
    arrived, and dropped otherwise; half-deleted checkpoints (``.step-N.deleting``) and temporary folders
    (``.step-N.*.tmp``, a checkpoint being written) are removed. Only the process that writes checkpoints
    calls it.
    """
    root = Path(root)
    if not root.is_dir():
        return
    for p in sorted(root.iterdir()):
        aside = _ASIDE.match(p.name)
        if aside and aside.group(2) == "old" and not (root / aside.group(1)).exists():
            os.replace(p, root / aside.group(1))
        elif aside or (p.name.startswith(".step-") and p.name.endswith(".tmp")):
            shutil.rmtree(p, ignore_errors=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def training_state(
    step: int,
    optimizer: Stateful,
    scheduler: Stateful,
    scaler: Stateful | None,
    *,
    seed: int,
    num_processes: int,
    training_config: dict[str, Any],
) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The state a resumed run needs, split into tensors (safetensors) and plain values (JSON).

    The tensors are the optimiser's per-parameter tensors (``optimizer.{index}.{name}``, on the CPU) and
    the RNG states (``rng.torch``, ``rng.cuda.{i}``); the JSON holds everything else.
    """
    sd = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for index, state in sd["state"].items():
        for name, value in state.items():
            if isinstance(value, Tensor):
                tensors[f"optimizer.{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                plain.setdefault(str(index), {})[name] = value
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    meta = {
        "step": step,
        "seed": seed,
        "num_processes": num_processes,
        "interestyle_version": __version__,
        "scheduler": _jsonable(scheduler.state_dict()),
        "optimizer": {"param_groups": _jsonable(sd["param_groups"]), "state": _jsonable(plain)},
        "scaler": None if scaler is None else _jsonable(scaler.state_dict()),
        "training_config": training_config,
    }
    return tensors, meta


def write_checkpoint(
    root: str | os.PathLike[str],
    step: int,
    model: IntereStyleModel,
    tensors: dict[str, Tensor],
    meta: dict[str, Any],
) -> Path:
    """Write ``root/step-NNNNNNNN`` (model folder + training state) and return it.

    The folder is written under a temporary name and renamed into place (replacing an existing checkpoint
    of the same step), so an interrupted write leaves the previous checkpoints whole and no partial one;
    what a killed earlier write left behind is tidied first
    ([`tidy_checkpoints`][interestyle.training.checkpoints.tidy_checkpoints]).
    """
    root = Path(root)
    final = root / checkpoint_name(step)
    root.mkdir(parents=True, exist_ok=True)
    tidy_checkpoints(root)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=root))
    try:
        model.save_pretrained(tmp)
        save_file(tensors, str(tmp / STATE_TENSORS), metadata={"format": "pt"})
        (tmp / STATE_JSON).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if final.exists():
            old = final.with_name(f".{final.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def prune_checkpoints(root: str | os.PathLike[str], keep: int) -> None:
    """Delete all but the ``keep`` newest checkpoints under ``root``; ``keep <= 0`` keeps them all.

    Each is renamed aside (``.step-N.deleting``) before its files go, so a killed prune leaves no
    half-deleted ``step-N`` folder.
    """
    if keep <= 0:
        return
    steps = sorted((int(m.group(1)), p) for p in Path(root).iterdir() if (m := _CHECKPOINT.match(p.name)))
    for _, p in steps[:-keep]:
        aside = p.with_name(f".{p.name}.deleting")
        shutil.rmtree(aside, ignore_errors=True)  # one a killed prune left
        os.replace(p, aside)
        shutil.rmtree(aside, ignore_errors=True)


def read_checkpoint(
    folder: str | os.PathLike[str],
    model: IntereStyleModel,
    optimizer: Stateful,
    scheduler: Stateful,
    scaler: Stateful | None = None,
) -> dict[str, Any]:
    """Restore weights, optimiser, scheduler, gradient scaler and RNG state from ``folder``.

    Returns:
        The checkpoint's ``training_state.json`` (``meta["step"]`` is the step to continue from).
    """
    folder = Path(folder)
    meta: dict[str, Any] = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    config = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8")) if (folder / CONFIG_NAME).is_file() else {}
    state = read_state_dict(folder / WEIGHTS_NAME, expected, config.get(CHECKSUM_KEY))
    model.load_state_dict(state, strict=True)
    with safe_open(str(folder / STATE_TENSORS), framework="pt", device="cpu") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a mapping)
    opt_state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            opt_state.setdefault(int(index), {})[name] = value
    for index, extra in meta["optimizer"]["state"].items():
        opt_state.setdefault(int(index), {}).update(extra)
    groups = meta["optimizer"]["param_groups"]
    for g in groups:
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
    scheduler.load_state_dict(meta["scheduler"])
    if meta.get("scaler") is not None and scaler is not None:
        scaler.load_state_dict(meta["scaler"])
    torch.set_rng_state(tensors["rng.torch"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda_states)
    return meta


def global_batch(optim: OptimConfig | dict[str, Any], num_processes: int) -> int:
    """Images per optimiser step: ``batch_size x num_processes x gradient_accumulation_steps`` of ``optim`` (an
    [`OptimConfig`][interestyle.training.config.OptimConfig] or its dict form, as a checkpoint stores it)."""
    if isinstance(optim, OptimConfig):
        return optim.batch_size * num_processes * optim.gradient_accumulation_steps
    return int(optim.get("batch_size", 8)) * num_processes * int(optim.get("gradient_accumulation_steps", 1))


def _batch_split(optim: dict[str, Any], num_processes: int) -> str:
    accumulation = optim.get("gradient_accumulation_steps", 1)
    return (
        f"{global_batch(optim, num_processes)} images ({optim.get('batch_size', 8)} x {num_processes} process(es) "
        f"x {accumulation} accumulation step(s))"
    )


def resume_warnings(
    folder: str | os.PathLike[str], meta: dict[str, Any], *, num_processes: int, training_config: dict[str, Any]
) -> list[str]:
    """What differs between the run that wrote the checkpoint at ``folder`` (its ``meta``) and this one.

    A different process count is named, with what it changes: when the global batch (batch size x processes
    x accumulation steps) is the same, every step from here reads the same images as an uninterrupted run;
    when it is not, the steps read other images and the learning rate is not rescaled.
    """
    out = []
    saved = meta.get("training_config", {})
    old_processes = meta.get("num_processes")
    old_optim, new_optim = saved.get("optim", {}), training_config.get("optim", {})
    old_batch = None if old_processes is None else global_batch(old_optim, int(old_processes))
    new_batch = global_batch(new_optim, num_processes)
    line = ""
    if old_processes != num_processes:
        line = f"{folder} was written by {old_processes} process(es), this run has {num_processes}: "
        if old_batch == new_batch:
            line += (
                f"the global batch stays {_batch_split(new_optim, num_processes)}, so each step from here reads "
                "the images an uninterrupted run would (results equal up to floating-point rounding)"
            )
    if old_processes is not None and old_batch != new_batch:
        line += (
            f"the global batch changes from {_batch_split(old_optim, int(old_processes))} to "
            f"{_batch_split(new_optim, num_processes)}: the data order from here differs from an uninterrupted "
            f"run, and optim.lr={new_optim.get('lr')} is not rescaled; to keep {old_batch} images a step, set "
            "optim.gradient_accumulation_steps (or optim.batch_size) so that batch_size x processes x "
            "accumulation matches"
        )
    if line:
        out.append("warning: " + line)
    changed = sorted(k for k in saved if saved.get(k) != training_config.get(k))
    if changed:
        out.append(f"warning: resuming with a changed training config (sections {changed})")
    return out
