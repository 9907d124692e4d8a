"""Kind ``arcface``: the ArcFace IR-SE50 of TreB1eN/InsightFace_Pytorch (``model_ir_se50.pth``), as used for
pSp/ReStyle's identity loss; the result is a folder
[`interestyle.lossnets.load_arcface`][interestyle.lossnets.load_arcface] reads.

The checkpoint is a bare state dict (``input_layer.*``, ``body.*``, ``output_layer.*``); it predates
BatchNorm's ``num_batches_tracked`` counters, which are filled with 0 (they play no part in eval mode).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..lossnets.arcface import ArcFace
from .checkpoint import Checkpoint
from .matching import expected_shapes, match_tensors
from .registry import Conversion, ConvertOptions, Kind

__all__ = ["KIND"]

_MARKERS = ("input_layer.0.weight", "output_layer.3.weight")
USAGE = """from interestyle.lossnets import load_arcface

arcface = load_arcface("MODEL")  # frozen; (B, 3, 112, 112) in [-1, 1] -> (B, 512) unit embeddings"""


def _state(checkpoint: Checkpoint) -> dict[str, Tensor] | None:
    state = checkpoint.tensors()
    if state is not None and all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def _why_not(checkpoint: Checkpoint) -> str | None:
    state = _state(checkpoint)
    if state is None:
        return "not a bare state dict of tensors"
    missing = [m for m in _MARKERS if m not in state]
    if missing:
        return f"no {missing[0]!r}"
    if tuple(state["output_layer.3.weight"].shape) != (512, 512 * 7 * 7):
        return f"'output_layer.3.weight' is {tuple(state['output_layer.3.weight'].shape)}, not (512, 25088)"
    return None


def _evidence(checkpoint: Checkpoint) -> str | None:
    return "it holds an IR-SE50 body with ArcFace's 512-d output layer" if _why_not(checkpoint) is None else None


def _convert(checkpoint: Checkpoint, options: ConvertOptions) -> Conversion:
    state = _state(checkpoint)
    assert state is not None  # why_not said so
    with torch.device("meta"):
        expected = expected_shapes(ArcFace())
    filled = [k for k in expected if k.endswith("num_batches_tracked") and k not in state]
    provided = {**state, **{k: torch.zeros((), dtype=torch.int64) for k in filled}}
    sources = {k: k if k in state else "(filled: 0)" for k in provided}
    weights = match_tensors(expected, provided, sources, what="ArcFace IR-SE50")
    notes = [f"{len(filled)} BatchNorm counters absent from the file were filled with 0"] if filled else []
    return Conversion(config={"_class_name": "ArcFace"}, tensors=weights, notes=notes, usage=USAGE, sources=sources)


KIND = Kind(
    name="arcface",
    summary="ArcFace IR-SE50 (model_ir_se50.pth): the identity-loss network of the trainer",
    why_not=_why_not,
    evidence=_evidence,
    convert=_convert,
)
