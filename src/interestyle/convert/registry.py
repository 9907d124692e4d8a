"""The checkpoint kinds the converter knows, and how ``--kind auto`` picks one.

A kind is one small module of this package defining ``KIND = Kind(...)``; `KIND_MODULES` lists
them, so adding a kind (say BiSeNet face parsing) is one module and one name here. Each kind says whether a
checkpoint's layout fits it (``why_not``), whether the checkpoint carries a sign of exactly this kind
among same-shaped ones (``evidence``), and converts it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import Tensor

from ..errors import WeightsError
from .checkpoint import Checkpoint

if TYPE_CHECKING:
    from ..directions import DirectionSet

__all__ = [
    "KIND_MODULES",
    "Conversion",
    "ConvertOptions",
    "Kind",
    "detect_kind",
    "get_kind",
    "kind_names",
    "kinds",
]

KIND_MODULES: tuple[str, ...] = (
    "stylegan2",
    "stylegan2_ada",
    "psp",
    "e4e",
    "restyle_psp",
    "restyle_e4e",
    "interestyle",
    "face_parsing",
    "arcface",
    "lpips",
    "interfacegan",
    "ganspace",
)


@dataclass(frozen=True)
class ConvertOptions:
    """What the user may add to what the tensors say.

    Attributes:
        generator: a StyleGAN2 checkpoint (``.pt`` with ``g_ema``) or a converted generator folder, for
            encoder checkpoints saved without ``decoder.*`` weights.
        backbone: a second checkpoint some kinds need: torchvision's AlexNet for ``lpips``.
        encoder_units: IR-SE units per stage, needed only when adjacent stages have equal widths (the
            stage boundaries are then invisible in the tensors).
        iterations: default refinement steps of the converted model (5 for iterative encoders, else 1).
        lr_mlp: the generator's mapping-network learning-rate multiplier (not stored in checkpoints;
            default upstream's 0.01).
        progress: show progress bars.
    """

    generator: Path | None = None
    backbone: Path | None = None
    encoder_units: tuple[int, int, int, int] | None = None
    iterations: int | None = None
    lr_mlp: float | None = None
    progress: bool = False


@dataclass
class Conversion:
    """What a kind makes of a checkpoint, before anything is written.

    Attributes:
        config: the ``config.json`` content, with ``_class_name`` saying what loads it.
        tensors: the ``model.safetensors`` content; every tensor of the source is in it or in ``dropped``.
        dropped: what was left out on purpose, one line each (``"d: the discriminator"``).
        notes: anything the user should know (values not in the tensors, defaults taken, warnings).
        usage: Python lines that load the result.
        sources: for each output tensor, where it came from (``"state_dict/decoder.style.1.weight"``).
        directions: for a direction file, the directions: the folder then holds ``directions.safetensors``
            and ``directions.json`` (``config`` and ``tensors`` are their content) instead of a model.
    """

    config: dict[str, Any]
    tensors: dict[str, Tensor]
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    usage: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    directions: DirectionSet | None = None


@dataclass(frozen=True)
class Kind:
    """One upstream checkpoint kind.

    Attributes:
        name: what ``--kind`` takes.
        summary: one line saying what produces such checkpoints.
        why_not: ``f(checkpoint) -> None`` when the layout fits this kind, else the reason it does not.
        evidence: ``f(checkpoint) -> str | None``: a sign of exactly this kind, for kinds whose tensors
            have the same shapes (pSp vs e4e); None when there is none.
        convert: ``f(checkpoint, options) -> Conversion``.
    """

    name: str
    summary: str
    why_not: Callable[[Checkpoint], str | None]
    evidence: Callable[[Checkpoint], str | None]
    convert: Callable[[Checkpoint, ConvertOptions], Conversion]


def kinds() -> tuple[Kind, ...]:
    """Every registered kind, in `KIND_MODULES` order."""
    return tuple(importlib.import_module(f"{__package__}.{name}").KIND for name in KIND_MODULES)


def kind_names() -> list[str]:
    """The names of every registered kind (what ``--kind`` accepts besides ``auto``), in
    [`kinds`][interestyle.convert.registry.kinds] order."""
    return [k.name for k in kinds()]


def get_kind(name: str) -> Kind:
    """The kind called ``name``; ValueError listing the kinds otherwise."""
    for kind in kinds():
        if kind.name == name:
            return kind
    raise ValueError(f"unknown kind {name!r}: expected 'auto' or one of {kind_names()}")


def detect_kind(checkpoint: Checkpoint) -> tuple[Kind, str]:
    """Pick the kind of ``checkpoint`` from its keys and shapes; returns the kind and why it was chosen.

    Raises:
        WeightsError: no kind fits (the message lists the kinds and the keys seen).
        ValueError: several kinds fit and nothing in the checkpoint tells them apart.
    """
    reasons: dict[str, str] = {}
    fitting: list[Kind] = []
    for kind in kinds():
        reason = kind.why_not(checkpoint)
        if reason is None:
            fitting.append(kind)
        else:
            reasons[kind.name] = reason
    if not fitting:
        why = "; ".join(f"{name}: {reason}" for name, reason in reasons.items())
        raise WeightsError(
            f"{checkpoint.path} is of no kind interestyle can convert. It holds {checkpoint.describe_keys()}. "
            f"Known kinds: {list(reasons)} ({why})"
        )
    if len(fitting) == 1:
        return fitting[0], f"its layout fits only {fitting[0].name}"
    signs = [(kind, sign) for kind in fitting if (sign := kind.evidence(checkpoint)) is not None]
    if len(signs) == 1:
        kind, sign = signs[0]
        return kind, f"its layout fits {_names(fitting)} and {sign}"
    names = _names(fitting)
    found = "; ".join(f"{k.name}: {s}" for k, s in signs) if signs else "nothing tells them apart"
    raise ValueError(
        f"{checkpoint.path} fits kinds {names}, whose tensors have the same shapes, and {found}. "
        f"Pass --kind with one of {[k.name for k in fitting]}"
    )


def _names(found: Sequence[Kind]) -> str:
    return ", ".join(k.name for k in found)
