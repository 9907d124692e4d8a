"""``interestyle.evaluate``: invert a set of images (or read their reconstructions) and measure them, whole and
inside the interest mask, batch by batch."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..images import ImageInput, load_masks, stack_resized
from ..inversion import invert
from ..lossnets.arcface import ArcFace
from ..lossnets.lpips import LPIPS
from ..masks.protocol import MaskSpec, provider_name, resize_masks
from ..masks.registry import get_mask_provider, is_provider_name
from ..masks.resolve import masks_for_items
from ..metrics import MS_SSIM_MIN_SIDE
from ..models.model import IntereStyleModel
from ..validation import check_int, check_positive_int
from .measures import EVAL_SIZE, METRIC_NAMES, Metric, build_metrics
from .report import EvaluationReport, ImageScores
from .samples import ImageSet, image_set, paired

__all__ = ["EMPTY_MASK_NOTE", "evaluate"]

EMPTY_MASK_NOTE = "empty interest mask: the interest-region metrics are undefined for this image"
"""The note of an image whose mask is empty, in place of its interest-region values."""
_LPIPS_SIDE = 32  # AlexNet's smallest input


class _Masks:
    """The interest masks of a batch of images, from whatever ``mask=`` was given: at the evaluation size for
    measuring, and at a reconstruction's own size for pasting it into its image."""

    def __init__(self, mask: MaskSpec, images: ImageSet, size: int, batch_size: int) -> None:
        self.size, self.batch_size = size, batch_size
        self.files: ImageSet | None = None
        self.provider: Callable[[Tensor], Tensor] | None = None
        self.given: MaskSpec | None = None
        self.sizes = images.sizes()
        self._fixed: dict[int, Tensor] = {}
        self._indices: list[int] = []
        self._batch = torch.empty(0)
        if isinstance(mask, (str, os.PathLike)) and Path(mask).is_dir():
            self.files = paired(images, image_set(mask, "masks"))
            self.label = f"the folder {os.fspath(mask)}"
        elif isinstance(mask, str) and is_provider_name(mask):
            self.provider = get_mask_provider(mask)
            self.label = f"the {mask} provider"
        elif callable(mask) and not isinstance(mask, (Tensor, type)):
            self.provider = mask
            self.label = f"the {provider_name(mask)} provider"
        else:
            self.given = mask
            self.label = "the masks given"
            self._explicit(size)  # checked now, before anything is inverted

    def _explicit(self, side: int) -> Tensor:
        if side not in self._fixed:
            self._fixed[side] = load_masks(self.given, side, sizes=self.sizes)  # type: ignore[arg-type]
        return self._fixed[side]

    def batch(self, indices: Sequence[int], items: list[Tensor]) -> Tensor:
        """(B, 1, size, size) float32 in [0, 1] on the CPU for the images at ``indices`` (read as ``items``)."""
        self._indices = list(indices)
        if self.provider is not None:
            self._batch = masks_for_items(self.provider, items, self.size, batch_size=self.batch_size, progress=False)
        else:
            self._batch = torch.cat([self.at(j, self.size) for j in range(len(self._indices))])
        return self._batch

    def at(self, j: int, side: int) -> Tensor:
        """The mask of the batch's ``j``-th image at ``side`` x ``side``: (1, 1, side, side)."""
        index = self._indices[j]
        if self.files is not None:
            assert self.files.paths is not None
            hw = self.sizes[index]
            return load_masks(self.files.paths[index], side, sizes=[hw], what=self.files.where(index))
        if self.provider is not None:  # the provider ran once, at the evaluation size
            return resize_masks(self._batch[j : j + 1], (side, side))
        fixed = self._explicit(side)
        return fixed[0:1] if fixed.shape[0] == 1 else fixed[index : index + 1]


def _outside_from_target(prediction: Tensor, image: Tensor, mask: Tensor) -> Tensor:
    """The reconstruction (1, 3, R, R) with every pixel the mask (1, 1, R, R) leaves out taken from the image.

    Done at the reconstruction's own resolution, before anything is resized: resizing to the evaluation
    size blends neighbouring pixels, and would carry what a model drew just outside the interest region
    into its edge. Pixels with any mask weight are kept, so at one resolution no interest value changes.
    """
    side = prediction.shape[-1]
    return torch.where(mask.to(prediction.device) > 0, prediction, stack_resized([image], side).to(prediction.device))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _values(metric_values: dict[str, Tensor], i: int) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, values in metric_values.items():
        v = float(values[i])
        out[name] = v if v == v and abs(v) != float("inf") else None
    return out


@torch.no_grad()
def evaluate(
    model: IntereStyleModel | None,
    images: ImageInput,
    *,
    mask: MaskSpec | None = None,
    reconstructions: ImageInput | None = None,
    metrics: str | Sequence[str] = METRIC_NAMES,
    lpips: str | os.PathLike[str] | LPIPS | None = None,
    arcface: str | os.PathLike[str] | ArcFace | None = None,
    size: int = EVAL_SIZE,
    batch_size: int = 8,
    iterations: int | None = None,
    device: torch.device | str | None = None,
    progress: bool | None = None,
) -> EvaluationReport:
    """Measure how well ``model`` reconstructs ``images``, over the whole image and inside the interest mask.

    Each image and its reconstruction (clipped to [-1, 1]) are resized (antialiased bilinear) to ``size`` x
    ``size`` and compared with the metrics of ``interestyle.evaluation.measures``. The images are the
    targets. For the interest region, what the model drew outside the mask does not count: those pixels
    are replaced by the image's at the reconstruction's own resolution, before resizing could blend them
    into the region's edge, and each metric then pastes the reconstruction into the image through the
    mask ([`Metric.interest`][interestyle.evaluation.Metric.interest]).

    Args:
        model: the encoder that inverts the images ([`interestyle.load_encoder`][interestyle.load_encoder]); None when
            ``reconstructions`` are given.
        images: a folder of images (sorted by name), an image file, a list of files, or images in memory
            (anything [`interestyle.invert`][interestyle.invert] takes: tensors in [-1, 1], arrays, PIL images).
        mask: the interest masks: a folder of mask images paired with the images by name, a mask provider
            or its registered name (``"face-parsing"``, ``"aligned-face"``...), or explicit masks (one for all
            images or one per image, as [`interestyle.invert`][interestyle.invert] takes them). None: whole-image
            values only.
        reconstructions: precomputed reconstructions instead of inverting: a folder (paired with the images
            by name; other files are ignored), files or images in memory (paired by position).
        metrics: names from [`METRIC_NAMES`][interestyle.evaluation.METRIC_NAMES], as a list or ``"l2,ssim"``.
        lpips: LPIPS (AlexNet) weights, converted with ``interestyle convert --kind lpips``; without them
            ``lpips`` is skipped (the report says which file to convert).
        arcface: ArcFace IR-SE50 weights, converted with ``interestyle convert --kind arcface``; without them
            ``id`` is skipped likewise.
        size: the evaluation side in pixels (256, the field's; MS-SSIM needs at least 176, the others 32).
        batch_size: images per batch (inversion and metrics).
        iterations: the model's refinement steps (default its own).
        device: where the metrics run (default the model's device; the CPU without a model).
        progress: show a progress bar; by default only when there is more than one batch.

    Returns:
        An ``EvaluationReport``: per-image values, means and standard deviations,
        ``to_markdown()`` and ``save(path)`` (JSON).

    Raises:
        ValueError: a folder without images, an unreadable image, masks or reconstructions that do not pair
            with the images (a missing name, another aspect ratio), an unknown metric, only skipped metrics,
            a bad ``size`` or ``batch_size``, both or neither of ``model`` and ``reconstructions``.
        TypeError: a ``model`` that is not an [`IntereStyleModel`][interestyle.IntereStyleModel], inputs of
            the wrong type.
        FileNotFoundError, WeightsError, MaskProviderError: missing folders or weights, unknown providers.
    """
    if (model is None) == (reconstructions is None):
        raise ValueError("give a model to invert the images, or their reconstructions, exactly one of the two")
    if model is not None and not isinstance(model, IntereStyleModel):
        raise TypeError(f"model must be an IntereStyleModel (see load_encoder) or None, got {type(model).__name__}")
    size = check_int(size, "size", minimum=_LPIPS_SIDE, note="pixels")
    batch_size = check_positive_int(batch_size, "batch_size")
    run_on = torch.device(device) if device is not None else model.device if model is not None else torch.device("cpu")
    chosen, skipped = build_metrics(metrics, lpips=lpips, arcface=arcface, device=run_on)
    if not chosen:
        raise ValueError("nothing to measure: " + "; ".join(skipped.values()))
    if size < MS_SSIM_MIN_SIDE and any(m.name == "ms-ssim" for m in chosen):
        raise ValueError(
            f"size={size} is too small for ms-ssim: MS-SSIM needs at least {MS_SSIM_MIN_SIDE} pixels (5 scales)"
        )
    targets = image_set(images, "images")
    targets.sizes()  # every file's header read now: an unreadable one fails before anything is inverted
    recons = None if reconstructions is None else paired(targets, image_set(reconstructions, "reconstructions"))
    masks = None if mask is None else _Masks(mask, targets, size, batch_size)
    n = len(targets)
    starts = range(0, n, batch_size)
    show = len(starts) > 1 if progress is None else progress
    scores: list[ImageScores] = []
    seconds_reconstruct = seconds_measure = 0.0
    with tqdm(total=n, desc="eval", unit="image", disable=not show) as bar:
        for start in starts:
            indices = range(start, min(n, start + batch_size))
            clock = time.perf_counter()
            items = targets.read(indices)
            target = stack_resized(items, size).to(run_on)
            region = None if masks is None else masks.batch(indices, items).to(run_on)
            seconds_measure += time.perf_counter() - clock
            clock = time.perf_counter()
            if recons is not None:
                made = [stack_resized([r], max(r.shape[-2:])) for r in recons.read(indices)]  # square, as all
            else:
                assert model is not None
                result = invert(model, items, iterations=iterations, batch_size=batch_size, progress=False)
                made = list(result.images.float().split(1))
            made = [r.float().clamp(-1, 1).to(run_on) for r in made]
            prediction = stack_resized(made, size)
            _sync(run_on)
            seconds_reconstruct += time.perf_counter() - clock
            clock = time.perf_counter()
            inside = None
            if masks is not None:
                pasted = [_outside_from_target(r, items[j], masks.at(j, r.shape[-1])) for j, r in enumerate(made)]
                inside = stack_resized(pasted, size)
            scores += _measure(chosen, prediction, inside, target, region, [targets.names[i] for i in indices])
            _sync(run_on)
            seconds_measure += time.perf_counter() - clock
            bar.update(len(indices))
    return EvaluationReport(
        metrics=tuple(m.name for m in chosen),
        skipped=skipped,
        images=scores,
        size=size,
        source="the reconstructions given" if model is None else f"a model ({model.config.method})",
        masks=None if masks is None else masks.label,
        device=str(run_on),
        seconds_reconstruct=seconds_reconstruct,
        seconds_measure=seconds_measure,
    )


def _measure(
    metrics: list[Metric],
    prediction: Tensor,
    inside_prediction: Tensor | None,
    target: Tensor,
    mask: Tensor | None,
    names: list[str],
) -> list[ImageScores]:
    """Each image's ``ImageScores``; an empty mask gets a note instead of interest-region values.

    ``inside_prediction`` is the prediction with what lies outside the mask replaced by the target before
    resizing (``_outside_from_target``): the interest-region values measure it.
    """
    whole = {m.name: m.whole(prediction, target).float().cpu() for m in metrics}
    out = [ImageScores(name, whole=_values(whole, i)) for i, name in enumerate(names)]
    if mask is None or inside_prediction is None:
        return out
    empty = (mask.flatten(1).sum(1) <= 0).cpu()
    inside = {m.name: m.interest(inside_prediction, target, mask).float().cpu() for m in metrics}
    for i, scores in enumerate(out):
        if empty[i]:
            scores.interest = dict.fromkeys(inside)
            scores.note = EMPTY_MASK_NOTE
        else:
            scores.interest = _values(inside, i)
            undefined = [name for name, v in scores.interest.items() if v is None]
            if undefined:
                scores.note = f"{', '.join(undefined)} undefined inside this mask: too little of it at a coarse scale"
    return out
