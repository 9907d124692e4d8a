"""``interestyle eval``: the field's reconstruction metrics of a model on a folder of images, whole and inside
the interest mask; a Markdown table on stdout, per-image values in JSON."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from ..evaluation import EVAL_SIZE, METRIC_NAMES, evaluate
from .options import add_model_options, load_model, positive_int, resolve_device

EPILOG = f"""\
examples:
  interestyle eval --data faces/ --mask masks/ --out results.json
  interestyle eval --model ./model --data faces/ --mask face-parsing --lpips lpips-alex --arcface arcface-ir-se50
  interestyle eval --data faces/ --mask masks/ --reconstructions inverted/ --metrics l2,ssim,ms-ssim

conventions: images and reconstructions resized to {EVAL_SIZE}x{EVAL_SIZE}; L2 is the MSE of images in [-1, 1];
LPIPS v0.1 (AlexNet) and identity (cosine of ArcFace IR-SE50 embeddings of pSp's face crop) need converted
weights (`interestyle convert --kind lpips` / `--kind arcface`) and are skipped, with the line saying which
file to convert, without them; SSIM and MS-SSIM are computed on [0, 1]. Inside the interest mask the
reconstruction is pasted into the image first, so what a model draws outside it cannot count. FID is not
measured (it needs Inception weights). Means are over images; the standard deviation is numpy's np.std.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="measure reconstructions: L2, LPIPS, SSIM, MS-SSIM, identity; whole image and interest region",
        description="Invert a folder of images (or read their reconstructions) and report the field's metrics "
        "over the whole image and inside the interest mask: mean and standard deviation in a Markdown table, "
        "per-image values in the JSON of --out.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", required=True, metavar="FOLDER", help="the images (a folder; its files by name)")
    parser.add_argument(
        "--mask",
        metavar="FOLDER_OR_PROVIDER",
        help="interest masks: a folder of masks named like the images (same stem, any image suffix), a mask "
        "provider name (face-parsing, aligned-face ...) or one mask file for every image; without it, only "
        "whole-image values",
    )
    parser.add_argument(
        "--reconstructions",
        metavar="FOLDER",
        help="measure these reconstructions (named like the images) instead of inverting with --model",
    )
    parser.add_argument(
        "--metrics",
        default=",".join(METRIC_NAMES),
        help=f"comma-separated, from {', '.join(METRIC_NAMES)} (default: all)",
    )
    parser.add_argument(
        "--lpips", metavar="PATH", help="LPIPS (AlexNet) weights from `interestyle convert --kind lpips`"
    )
    parser.add_argument(
        "--arcface", metavar="PATH", help="ArcFace IR-SE50 weights from `interestyle convert --kind arcface`"
    )
    parser.add_argument(
        "--size", type=positive_int, default=EVAL_SIZE, help=f"evaluation side in pixels (default {EVAL_SIZE})"
    )
    parser.add_argument("--out", "-o", metavar="FILE", help="also write the per-image values and summary as JSON")
    parser.add_argument("--iterations", type=positive_int, help="refinement steps (default: the model's)")
    add_model_options(parser)
    parser.set_defaults(model=None)  # demo unless --reconstructions are given, which exclude a model
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.reconstructions is not None and args.model is not None:
        raise ValueError("--reconstructions are measured as they are: give --model or --reconstructions, not both")
    model = None
    if args.reconstructions is None:
        args.model = args.model or "demo"
        model = load_model(args)
    report = evaluate(
        model,
        args.data,
        mask=args.mask,
        reconstructions=args.reconstructions,
        metrics=args.metrics,
        lpips=args.lpips,
        arcface=args.arcface,
        size=args.size,
        batch_size=args.batch_size,
        iterations=args.iterations,
        device=resolve_device(args.device) if model is None else None,
        progress=not args.no_progress,
    )
    source = f"model {args.model}" if model is not None else f"reconstructions {args.reconstructions}"
    report = dataclasses.replace(report, source=source)
    print(report.to_markdown())
    if args.out:
        print(f"per-image values: {report.save(args.out)}")
    return 0
