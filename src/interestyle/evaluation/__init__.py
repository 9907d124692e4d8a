"""``interestyle.evaluate``: the field's reconstruction metrics (L2, LPIPS, SSIM, MS-SSIM, identity), on the whole
image and inside the interest region, for a model or for reconstructions already made.

measures.py holds the metrics and their conventions, samples.py pairs images with masks and
reconstructions, report.py the result (table, JSON), loop.py the loop (evaluate).
"""

from .loop import EMPTY_MASK_NOTE, evaluate
from .measures import EVAL_SIZE, METRIC_INFO, METRIC_NAMES, Metric, MetricInfo, build_metrics, parse_metric_names
from .report import REGIONS, EvaluationReport, ImageScores, MetricSummary, Region

__all__ = [
    "EMPTY_MASK_NOTE",
    "EVAL_SIZE",
    "METRIC_INFO",
    "METRIC_NAMES",
    "REGIONS",
    "EvaluationReport",
    "ImageScores",
    "Metric",
    "MetricInfo",
    "MetricSummary",
    "Region",
    "build_metrics",
    "evaluate",
    "parse_metric_names",
]
