"""What [`evaluate`][interestyle.evaluate] returns: per-image values, their means and standard deviations, a
Markdown table and a JSON file."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .._version import __version__
from ..serialization import atomic_write
from .measures import METRIC_INFO, METRIC_NAMES

__all__ = ["REGIONS", "EvaluationReport", "ImageScores", "MetricSummary", "Region"]

Region = Literal["whole", "interest"]
"""A region of ``REGIONS``."""
REGIONS: tuple[str, ...] = ("whole", "interest")
"""``"whole"``: every pixel; ``"interest"``: inside the interest mask (see ``EvaluationReport``)."""
FORMAT = "interestyle-eval/1"


@dataclass
class ImageScores:
    """One image's values.

    Attributes:
        name: the image's name (its file's stem, or its position).
        whole: metric name -> value over the whole image (None only if it came out undefined).
        interest: metric name -> value inside the interest mask, None where it is undefined (see ``note``);
            None altogether when no mask was given.
        note: why interest-region values are missing (an empty mask), else None.
    """

    name: str
    whole: dict[str, float | None]
    interest: dict[str, float | None] | None = None
    note: str | None = None


@dataclass(frozen=True)
class MetricSummary:
    """A metric over the images where it is defined.

    Attributes:
        mean: the mean, None when no image has a value.
        std: the population standard deviation (numpy's ``np.std``, as the field's scripts report it).
        count: images counted.
    """

    mean: float | None
    std: float | None
    count: int

    def __str__(self) -> str:
        if self.mean is None or self.std is None:
            return "-"
        return f"{self.mean:.4f} ± {self.std:.4f}"


def summarize(values: list[float | None]) -> MetricSummary:
    """``MetricSummary`` of the values that are not None."""
    present = [v for v in values if v is not None]
    if not present:
        return MetricSummary(None, None, 0)
    mean = math.fsum(present) / len(present)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in present) / len(present))
    return MetricSummary(mean, std, len(present))


@dataclass
class EvaluationReport:
    """The table of [`interestyle.evaluate`][interestyle.evaluate]: each metric over the whole image and inside the
    interest mask.

    Attributes:
        metrics: the metrics measured, in the order of [`METRIC_NAMES`][interestyle.evaluation.METRIC_NAMES].
        skipped: metric name -> the line saying why it was not measured (which weights to convert, and how).
        images: per image, its values.
        size: the side, in pixels, images and reconstructions were resized to.
        source: what made the reconstructions (the model, or the reconstructions given).
        masks: where the interest masks came from, or None (no interest-region values).
        device: where the metrics ran.
        seconds_reconstruct: wall time spent inverting (or reading the reconstructions given), in seconds.
        seconds_measure: wall time spent reading the images and masks and measuring, in seconds.
    """

    metrics: tuple[str, ...]
    skipped: dict[str, str]
    images: list[ImageScores]
    size: int
    source: str
    masks: str | None = None
    device: str = "cpu"
    seconds_reconstruct: float = 0.0
    seconds_measure: float = 0.0

    def summary(self, metric: str, region: Region = "whole") -> MetricSummary:
        """Mean and standard deviation of ``metric`` over the images, in ``region``.

        Raises:
            ValueError: a metric that was not measured, or an unknown region (both named).
        """
        if metric not in self.metrics:
            why = self.skipped.get(metric, f"measured: {', '.join(self.metrics)}")
            raise ValueError(f"metric {metric!r} was not measured ({why})")
        if region == "whole":
            return summarize([s.whole[metric] for s in self.images])
        if region == "interest":
            return summarize([None if s.interest is None else s.interest[metric] for s in self.images])
        raise ValueError(f"region={region!r} is invalid: expected one of {list(REGIONS)}")

    @property
    def seconds_per_image(self) -> float:
        """Wall time per image, reconstruction and measurement together, in seconds."""
        return (self.seconds_reconstruct + self.seconds_measure) / max(1, len(self.images))

    def undefined(self) -> list[str]:
        """Names of the images with a note: an empty interest mask, or interest-region values undefined."""
        return [s.name for s in self.images if s.note is not None]

    def to_markdown(self) -> str:
        """The table (metric | whole image | interest region, each mean ± std), then what was skipped and the time."""
        n = len(self.images)
        if self.masks is None:
            region = "no interest masks given (give a mask provider or a folder of masks for the interest region)"
        else:
            noted = self.undefined()
            region = f"interest masks: {self.masks}"
            if noted:
                shown = ", ".join(noted[:5]) + (" ..." if len(noted) > 5 else "")
                region += f"; {len(noted)} left out of the interest region, their notes say why ({shown})"
        lines = [
            f"{self.source}: {n} images at {self.size}x{self.size}; {region}",
            "",
            "| metric | whole image | interest region |",
            "| --- | --- | --- |",
        ]
        for name in self.metrics:
            info = METRIC_INFO[name]
            better = "higher" if info.higher_is_better else "lower"
            interest = str(self.summary(name, "interest")) if self.masks is not None else "-"
            lines.append(f"| {info.title} ({better} is better) | {self.summary(name)} | {interest} |")
        lines.append("")
        lines += [line for name in METRIC_NAMES if (line := self.skipped.get(name))]
        ms = 1000 * self.seconds_per_image
        per = 1000 / max(1, n)
        lines.append(
            f"time: {ms:.1f} ms per image (reconstructions {per * self.seconds_reconstruct:.1f} ms, metrics "
            f"{per * self.seconds_measure:.1f} ms) on {self.device}"
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary: settings, summaries, per-image values (None where undefined, never NaN)."""
        regions = REGIONS if self.masks is not None else ("whole",)
        return {
            "format": FORMAT,
            "interestyle": __version__,
            "source": self.source,
            "masks": self.masks,
            "size": self.size,
            "device": self.device,
            "metrics": list(self.metrics),
            "skipped": self.skipped,
            "definitions": {m: METRIC_INFO[m].definition for m in self.metrics},
            "summary": {
                region: {m: vars(self.summary(m, region)) for m in self.metrics}  # type: ignore[arg-type]
                for region in regions
            },
            "seconds": {
                "reconstruct": self.seconds_reconstruct,
                "measure": self.seconds_measure,
                "per_image": self.seconds_per_image,
            },
            "images": [vars(s) for s in self.images],
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``to_dict`` as JSON to ``path`` (atomically); returns the path."""
        out = Path(path)
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return out
