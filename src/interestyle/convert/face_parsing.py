"""Kind ``face-parsing``: the BiSeNet face-parsing network of zllrunning/face-parsing.PyTorch (``79999_iter.pth``).

The checkpoint is a bare state dict (optionally with a ``module.`` prefix from ``DataParallel``); the result is a folder
that [`interestyle.masks.FaceParser.from_pretrained`][interestyle.masks.FaceParser.from_pretrained] and
``mask="face-parsing"`` read.
"""

from __future__ import annotations

import torch

from ..masks.bisenet import BiSeNet, bisenet_state_dict_from_checkpoint
from ..masks.face_parsing import FaceParser
from .checkpoint import Checkpoint
from .registry import Conversion, ConvertOptions, Kind

__all__ = ["KIND"]

_MARKERS = ("cp.resnet.conv1.weight", "conv_out.conv_out.weight")
USAGE = """from interestyle.masks import FaceParser

parser = FaceParser.from_pretrained("MODEL")
masks = parser(images)  # images (B, 3, H, W) in [-1, 1] -> interest masks (B, 1, H, W) in [0, 1]"""


def _names(checkpoint: Checkpoint) -> set[str]:
    tensors = checkpoint.tensors() or {}
    return {k.removeprefix("module.") for k in tensors}


def _why_not(checkpoint: Checkpoint) -> str | None:
    if checkpoint.tensors() is None:
        return "not a bare state dict of tensors"
    missing = [m for m in _MARKERS if m not in _names(checkpoint)]
    return f"no {missing[0]!r}" if missing else None


def _evidence(checkpoint: Checkpoint) -> str | None:
    return "it holds BiSeNet's 'cp.resnet' and 'conv_out' tensors" if _why_not(checkpoint) is None else None


def _convert(checkpoint: Checkpoint, options: ConvertOptions) -> Conversion:
    state = checkpoint.tensors()
    assert state is not None  # why_not said so
    weights = bisenet_state_dict_from_checkpoint(state)
    n_classes = int(weights["conv_out.conv_out.weight"].shape[0])
    with torch.device("meta"):
        config = FaceParser(BiSeNet(n_classes)).config()
    prefixed = all(k.startswith("module.") for k in state)
    sources = {k: ("module." + k if prefixed else k) if k in _names(checkpoint) else "(filled: 0)" for k in weights}
    notes = [f"{n_classes} classes; BatchNorm counters absent from the file were filled with 0"]
    if not any(v == "(filled: 0)" for v in sources.values()):
        notes = [f"{n_classes} classes"]
    return Conversion(config=config, tensors=weights, notes=notes, usage=USAGE, sources=sources)


KIND = Kind(
    name="face-parsing",
    summary="zllrunning/face-parsing.PyTorch BiSeNet (79999_iter.pth): the face-parsing mask provider",
    why_not=_why_not,
    evidence=_evidence,
    convert=_convert,
)
