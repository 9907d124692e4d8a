"""Options shared by the commands that run a model: ``--model``, ``--device``, ``--dtype``, ``--batch-size``,
``--no-progress``; and turning them into a loaded model."""

from __future__ import annotations

import argparse
import math

import torch

from ..devices import resolve_device as check_device
from ..hub import load_encoder
from ..models.model import IntereStyleModel

__all__ = [
    "DTYPES",
    "MODEL_HELP",
    "add_device_option",
    "add_model_options",
    "add_progress_option",
    "load_model",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "resolve_device",
]

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _int_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{text} must be >= {minimum}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1, for argparse's ``type=``."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """An integer >= 0, for argparse's ``type=``."""
    return _int_at_least(text, 0)


def positive_float(text: str) -> float:
    """A finite number > 0, for argparse's ``type=``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a finite number > 0")
    return value


MODEL_HELP = (
    "a model folder, a Hugging Face Hub repo id (e.g. you/your-interestyle-model) or demo (default: demo, the "
    "embedded demo model); demo knows only the synthetic faces it was trained on"
)
"""The help of every ``--model`` option."""


def add_progress_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--no-progress``, the one spelling of "no progress bars" on every command."""
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_device_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--device", default="auto", help="'auto' (CUDA, then MPS, then CPU), 'cpu', 'cuda', 'cuda:1', 'mps' ..."
    )


def add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model and runtime")
    group.add_argument("--model", "-m", default="demo", help=MODEL_HELP)
    add_device_option(group)
    group.add_argument("--dtype", choices=sorted(DTYPES), default="float32", help="weights and compute dtype")
    group.add_argument("--batch-size", type=positive_int, default=8, help="images per forward pass (default 8)")
    add_progress_option(group)


def resolve_device(text: str) -> torch.device:
    """``--device``: ``auto`` or a torch device string, checked to be usable here (see
    [`interestyle.devices.resolve_device`][interestyle.devices.resolve_device])."""
    return check_device(text, what="--device")


def load_model(args: argparse.Namespace) -> IntereStyleModel:
    """The model of ``--model`` on ``--device`` in ``--dtype``."""
    return load_encoder(args.model, device=resolve_device(args.device), dtype=DTYPES[args.dtype])
