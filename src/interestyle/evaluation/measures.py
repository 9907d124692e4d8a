"""The reconstruction metrics of the GAN-inversion literature, each on the whole image and on the interest region.

The conventions (pSp's and ReStyle's evaluation scripts): images and reconstructions resized to
``EVAL_SIZE`` x ``EVAL_SIZE``; L2 is the MSE of images in [-1, 1]; LPIPS is v0.1 with AlexNet
(converted weights, kind ``lpips``); SSIM and MS-SSIM are computed on [0, 1]
([`interestyle.metrics`][interestyle.metrics]);
identity similarity is the cosine of ArcFace IR-SE50 embeddings (converted weights, kind ``arcface``) of
pSp's face crop. A metric whose weights are not given is skipped, with the line that says which file to
convert; nothing is ever measured with stand-in weights.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor

from ..lossnets.arcface import ArcFace, face_crop, load_arcface
from ..lossnets.lpips import LPIPS, load_lpips
from ..metrics import masked_mse, ms_ssim, restrict_to_mask, ssim

__all__ = ["EVAL_SIZE", "METRIC_INFO", "METRIC_NAMES", "Metric", "MetricInfo", "build_metrics", "parse_metric_names"]

EVAL_SIZE = 256
"""The side, in pixels, images and reconstructions are resized to before they are measured (the field's)."""
METRIC_NAMES: tuple[str, ...] = ("l2", "lpips", "ssim", "ms-ssim", "id")
"""The metrics [`interestyle.evaluate`][interestyle.evaluate] knows, in the order its tables show them."""

Score = Callable[[Tensor, Tensor, "Tensor | None"], Tensor]
_Net = TypeVar("_Net", LPIPS, ArcFace)

LPIPS_MISSING = (
    "lpips skipped: no LPIPS weights given; convert LPIPS v0.1's alex.pth (richzhang/PerceptualSimilarity) with "
    "torchvision's alexnet-owt-7be5be79.pth once: `interestyle convert alex.pth --kind lpips --backbone "
    "alexnet-owt-7be5be79.pth --out lpips-alex`, then pass --lpips lpips-alex (lpips= in Python)"
)
ARCFACE_MISSING = (
    "id skipped: no ArcFace weights given; convert ArcFace IR-SE50 (model_ir_se50.pth, the network of pSp's "
    "identity loss) once: `interestyle convert model_ir_se50.pth --kind arcface --out arcface-ir-se50`, then pass "
    "--arcface arcface-ir-se50 (arcface= in Python)"
)
FID_OUT_OF_SCOPE = (
    "fid is not measured here: it needs Inception weights, which this package does not convert; measure FID "
    "with pytorch-fid or clean-fid on the reconstructions (`interestyle invert` writes them)"
)


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is, for tables and result files.

    Attributes:
        title: how tables label it.
        higher_is_better: True for similarities (SSIM, MS-SSIM, ID), False for distances (L2, LPIPS).
        definition: what exactly is computed, in one sentence.
    """

    title: str
    higher_is_better: bool
    definition: str


METRIC_INFO: dict[str, MetricInfo] = {
    "l2": MetricInfo(
        "L2 (MSE)",
        False,
        "mean squared error of the images in [-1, 1], channels and pixels averaged (pixels weighted by the mask)",
    ),
    "lpips": MetricInfo(
        "LPIPS (AlexNet)",
        False,
        "LPIPS v0.1 with AlexNet of the images in [-1, 1], each layer's distance map averaged (over the mask)",
    ),
    "ssim": MetricInfo(
        "SSIM",
        True,
        "SSIM on [0, 1] (data range 1, 11-tap Gaussian window of sigma 1.5, K1 0.01, K2 0.03), its map averaged "
        "(over the mask)",
    ),
    "ms-ssim": MetricInfo(
        "MS-SSIM",
        True,
        "MS-SSIM on [0, 1], five scales weighted 0.0448, 0.2856, 0.3001, 0.2363, 0.1333 (torchmetrics' definition), "
        "each scale's map averaged (over the mask at that scale)",
    ),
    "id": MetricInfo(
        "ID (ArcFace cosine)",
        True,
        "cosine of the ArcFace IR-SE50 embeddings of pSp's face crop (rows 35:223, columns 32:220 at 256, pooled "
        "to 112x112)",
    ),
}
"""Metric name -> ``MetricInfo``, for every name of ``METRIC_NAMES``."""


@dataclass(frozen=True)
class Metric:
    """One metric, measured per image on (B, 3, S, S) batches in [-1, 1].

    Attributes:
        name: its name in ``METRIC_NAMES`` (``METRIC_INFO`` says what it is).
        score: ``(prediction, target, mask or None) -> (B,)``, the metric's per-pixel map averaged over all
            pixels, or over the mask's weighted by it (NaN for an empty mask).
        paste_target: the interest-region value measures the prediction pasted into the target through the
            mask (``interestyle.metrics.restrict_to_mask``), so that what a model draws outside the region
            cannot reach the value through a window or a receptive field; L2 has no windows and needs none.
    """

    name: str
    score: Score
    paste_target: bool = True

    def whole(self, prediction: Tensor, target: Tensor) -> Tensor:
        """The metric of each reconstruction against its target over the whole image: (B,)."""
        return self.score(prediction, target, None)

    def interest(self, prediction: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        """The metric inside ``mask`` ((B, 1, S, S) in [0, 1]): (B,); NaN where the mask is empty."""
        if self.paste_target:
            prediction = restrict_to_mask(prediction, target, mask)
        return self.score(prediction, target, mask)


L2 = Metric("l2", masked_mse, paste_target=False)
SSIM = Metric("ssim", ssim)
MS_SSIM = Metric("ms-ssim", ms_ssim)


def _lpips_metric(net: LPIPS) -> Metric:
    def score(prediction: Tensor, target: Tensor, mask: Tensor | None) -> Tensor:
        with torch.no_grad():
            return net(prediction, target, mask)

    return Metric("lpips", score)


def _identity_metric(net: ArcFace) -> Metric:
    def score(prediction: Tensor, target: Tensor, mask: Tensor | None) -> Tensor:
        # ArcFace sees the face crop whole: inside the region, the pasted prediction is what differs
        with torch.no_grad():
            return (net(face_crop(prediction)) * net(face_crop(target))).sum(dim=1)

    return Metric("id", score)


def parse_metric_names(names: str | Sequence[str]) -> tuple[str, ...]:
    """``"l2,ssim"`` or ``["l2", "ssim"]`` -> ``("l2", "ssim")``, in the order of ``METRIC_NAMES``, once each.

    Raises:
        ValueError: no name, or a name that is not a metric (the message lists the known ones; for ``fid``
            it says why it is out of scope).
        TypeError: neither a string nor a sequence of strings.
    """
    if isinstance(names, str):
        items = names.split(",")
    elif isinstance(names, Sequence) and all(isinstance(n, str) for n in names):
        items = list(names)
    else:
        raise TypeError(f"metrics must be a comma-separated string or a list of names, got {names!r}")
    wanted = {n.strip().lower() for n in items if n.strip()}
    if not wanted:
        raise ValueError(f"metrics={names!r} names no metric; known: {', '.join(METRIC_NAMES)}")
    if "fid" in wanted:
        raise ValueError(FID_OUT_OF_SCOPE)
    unknown = sorted(wanted - set(METRIC_NAMES))
    if unknown:
        raise ValueError(f"metric {unknown[0]!r} does not exist; known: {', '.join(METRIC_NAMES)}")
    return tuple(n for n in METRIC_NAMES if n in wanted)


def build_metrics(
    names: str | Sequence[str],
    *,
    lpips: str | os.PathLike[str] | LPIPS | None = None,
    arcface: str | os.PathLike[str] | ArcFace | None = None,
    device: torch.device | str = "cpu",
) -> tuple[list[Metric], dict[str, str]]:
    """The metrics asked for, with their networks loaded on ``device``, and those skipped.

    Args:
        names: as ``parse_metric_names`` takes them.
        lpips: LPIPS weights (a folder or file that
            [`interestyle.lossnets.load_lpips`][interestyle.lossnets.load_lpips] reads, or a loaded
            [`LPIPS`][interestyle.lossnets.LPIPS]); None skips ``lpips``.
        arcface: ArcFace IR-SE50 weights (for
            [`interestyle.lossnets.load_arcface`][interestyle.lossnets.load_arcface], or a loaded
            [`ArcFace`][interestyle.lossnets.ArcFace]); None skips ``id``.
        device: where the networks run.

    Returns:
        The ``Metric`` objects, in the order of ``METRIC_NAMES``, and for each metric skipped the
        one line that says which file to convert and how.

    Raises:
        ValueError / TypeError: as ``parse_metric_names``, or weights of the wrong type.
        FileNotFoundError, WeightsError: weights that are not where given or not what they should be.
    """
    wanted = parse_metric_names(names)
    metrics: list[Metric] = []
    skipped: dict[str, str] = {}
    for name in wanted:
        if name == "l2":
            metrics.append(L2)
        elif name == "ssim":
            metrics.append(SSIM)
        elif name == "ms-ssim":
            metrics.append(MS_SSIM)
        elif name == "lpips":
            if lpips is None:
                skipped[name] = LPIPS_MISSING
            else:
                metrics.append(_lpips_metric(_network(lpips, LPIPS, load_lpips, "lpips", device)))
        elif arcface is None:
            skipped[name] = ARCFACE_MISSING
        else:
            metrics.append(_identity_metric(_network(arcface, ArcFace, load_arcface, "arcface", device)))
    return metrics, skipped


def _network(given: object, kind: type[_Net], load: Callable[..., _Net], what: str, device: torch.device | str) -> _Net:
    if isinstance(given, kind):
        return given.to(device).eval().requires_grad_(False)
    if isinstance(given, (str, os.PathLike)):
        return load(given, device=device)
    raise TypeError(
        f"{what} of type {type(given).__name__} is not accepted; pass a weights folder or file, a {kind.__name__} "
        "or None"
    )
