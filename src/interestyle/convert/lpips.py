"""Kind ``lpips``: LPIPS v0.1 (AlexNet). Its linear heads (``alex.pth`` of richzhang/PerceptualSimilarity:
``lin0.model.1.weight`` ... ``lin4.model.1.weight``) and the AlexNet it measures with (torchvision's
``alexnet-owt-7be5be79.pth``: ``features.*``, ``classifier.*``) are separate public files: the heads are
the source and ``--backbone`` names the AlexNet. The classifier is dropped on purpose (LPIPS uses only
the convolutional features). The result is a folder [`interestyle.lossnets.load_lpips`][interestyle.lossnets.load_lpips]
reads.
"""

from __future__ import annotations

import torch

from ..errors import WeightsError
from ..lossnets.lpips import LPIPS
from .checkpoint import Checkpoint, load_checkpoint
from .matching import expected_shapes, match_tensors
from .registry import Conversion, ConvertOptions, Kind

__all__ = ["KIND"]

USAGE = """from interestyle.lossnets import load_lpips

lpips = load_lpips("MODEL")  # frozen; lpips(x, y) for (B, 3, H, W) in [-1, 1] -> (B,) distances"""


def _why_not(checkpoint: Checkpoint) -> str | None:
    state = checkpoint.tensors()
    if state is None:
        return "not a bare state dict of tensors"
    if "lin0.model.1.weight" not in state:
        return "no 'lin0.model.1.weight' (LPIPS linear heads)"
    return None


def _evidence(checkpoint: Checkpoint) -> str | None:
    return "it holds LPIPS linear heads" if _why_not(checkpoint) is None else None


def _convert(checkpoint: Checkpoint, options: ConvertOptions) -> Conversion:
    heads = checkpoint.tensors()
    assert heads is not None  # why_not said so
    if options.backbone is None:
        raise ValueError(
            f"{checkpoint.path.name} holds only LPIPS's linear heads; pass the AlexNet they measure with as "
            "--backbone alexnet-owt-7be5be79.pth (torchvision's ImageNet AlexNet)"
        )
    backbone = load_checkpoint(options.backbone, progress=options.progress)
    alexnet = backbone.tensors()
    if alexnet is None or "features.0.weight" not in alexnet:
        raise WeightsError(
            f"--backbone {options.backbone} is not an AlexNet state dict (it holds {backbone.describe_keys()})"
        )
    features = {k: v for k, v in alexnet.items() if k.startswith("features.")}
    dropped = sorted(k for k in alexnet if not k.startswith("features."))
    with torch.device("meta"):
        expected = expected_shapes(LPIPS())
    sources = {
        **{k: f"{checkpoint.path.name}/{k}" for k in heads},
        **{k: f"{options.backbone.name}/{k}" for k in features},
    }
    weights = match_tensors(expected, {**heads, **features}, sources, what="LPIPS (AlexNet, v0.1)")
    return Conversion(
        config={"_class_name": "LPIPS"},
        tensors=weights,
        dropped=[f"{options.backbone.name}/{', '.join(dropped)}: AlexNet's classifier (LPIPS uses the features)"]
        if dropped
        else [],
        usage=USAGE,
        sources=sources,
    )


KIND = Kind(
    name="lpips",
    summary="LPIPS v0.1 heads (alex.pth) + torchvision AlexNet (--backbone): the trainer's perceptual loss",
    why_not=_why_not,
    evidence=_evidence,
    convert=_convert,
)
