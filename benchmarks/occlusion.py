"""Occlusion benchmark on the synthetic face domain, where the face under every occluder is known.

For each model and each condition (clean faces; cluttered backgrounds; occluded faces) it inverts N
held-out images and measures, against the clean ground truth:

* interest MSE / SSIM: inside the visible face + hair (``interest_mask``), as ``interestyle eval`` measures
  its interest region. For SSIM, whose 11x11 windows reach across the mask's edge, the reconstruction's
  pixels outside the mask are replaced by the ground truth first, so that what a model draws outside the
  interest region does not count;
* full MSE: the whole image against the input (what pSp-style encoders minimise);
* leak MSE: inside face mask x occluder mask, against the clean face under the occluder: how much of the
  occluder leaked into the face (the "microphone becomes a beard" effect).

Every model's figures come from the same images in the same run; ratios are printed against the first
model (the baseline).

    python benchmarks/occlusion.py                       # the embedded demo-baseline and demo models
    python benchmarks/occlusion.py --ablations           # the ablation runs of recipes/ at step 1,000
    python benchmarks/occlusion.py --model baseline=DIR --model interestyle=DIR [-n 500] [--json out.json]
    python benchmarks/occlusion.py --write-faces DIR [-n 500]   # the held-out faces as PNGs, for interestyle eval
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

import interestyle as its
from interestyle.evaluation import build_metrics
from interestyle.synthetic import make_batch

CONDITIONS = ("clean", "clutter", "occluded")
HELD_OUT_SEED = 900_001  # far from any training seed (training draws seeds from 0 upward)
METRICS = ("interest_mse", "interest_ssim", "full_mse", "leak_mse")
DEFAULT_MODELS = ("baseline=demo-baseline", "interestyle=demo")
RUNS = Path(__file__).resolve().parents[1] / "recipes" / "runs"
ABLATION_STEP = 1000
# name -> training run (recipes/<run>.json); every run's checkpoint at ABLATION_STEP, same data and schedule
ABLATIONS = {
    "baseline": "demo-baseline",
    "interestyle": "demo-interestyle",
    "no-UnF": "ablation-no-unf",
    "no-InD": "ablation-no-ind",
    "UnF-whole": "ablation-unf-whole",
}


def ablation_models(runs: Path = RUNS, step: int = ABLATION_STEP) -> list[str]:
    """``NAME=DIR`` of each ablation run's checkpoint at ``step``; exits naming the first one missing."""
    specs = []
    for name, run in ABLATIONS.items():
        folder = runs / run / "checkpoints" / f"step-{step:08d}"
        if not folder.is_dir():
            raise SystemExit(
                f"occlusion.py: error: {folder} is missing: train the runs first (recipes/train_demo.sh; "
                f"recipes/{run}.json), its checkpoints are not in the repository"
            )
        specs.append(f"{name}@{step}={folder}")
    return specs


def _mean(values: torch.Tensor) -> float:
    finite = values[torch.isfinite(values)]
    return float(finite.mean()) if finite.numel() else math.nan


@torch.no_grad()
def evaluate(model: its.IntereStyleModel, n: int, *, condition: str, seed: int, batch_size: int) -> dict[str, float]:
    """Mean metrics of ``model`` over ``n`` synthetic images of ``condition``."""
    batch = make_batch(n, size=model.resolution, seed=seed, condition=condition)
    result = its.invert(model, batch.image, batch_size=batch_size, progress=False)
    recon = result.images.float().clamp(-1, 1).cpu()
    leak_region = batch.face_mask * batch.occluder_mask
    m = batch.interest_mask
    l2, ssim = build_metrics("l2,ssim")[0]  # the metrics of interestyle eval, at the models' resolution
    return {
        "interest_mse": _mean(l2.interest(recon, batch.clean, m)),
        "interest_ssim": _mean(ssim.interest(recon, batch.clean, m)),
        "full_mse": _mean(l2.whole(recon, batch.image)),
        "leak_mse": _mean(l2.interest(recon, batch.clean, leak_region)) if condition == "occluded" else math.nan,
    }


def write_faces(out: Path, n: int, *, seed: int, size: int = 64) -> list[Path]:
    """The held-out faces of every condition as PNGs: ``out/<condition>/images/NNNN.png`` and the interest
    masks beside them in ``out/<condition>/masks/`` (white = interest). Returns the condition folders."""
    folders = []
    for condition in CONDITIONS:
        batch = make_batch(n, size=size, seed=seed, condition=condition)
        for sub, pictures in (("images", batch.image), ("masks", batch.interest_mask * 2 - 1)):
            (out / condition / sub).mkdir(parents=True, exist_ok=True)
            for i, picture in enumerate(its.to_pil(pictures)):
                picture.save(out / condition / sub / f"{i:04d}.png")
        folders.append(out / condition)
    return folders


def format_table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    names = list(results)
    base = names[0]
    lines = [f"| condition | model | {' | '.join(METRICS)} | vs {base} (interest MSE, leak MSE) |", "|" + " --- |" * 7]
    for condition in CONDITIONS:
        for name in names:
            row = results[name][condition]
            ref = results[base][condition]
            ratios = []
            for key in ("interest_mse", "leak_mse"):
                if math.isnan(row[key]) or math.isnan(ref[key]) or ref[key] == 0:
                    ratios.append("-")
                else:
                    ratios.append(f"{100 * (row[key] / ref[key] - 1):+.1f}%")
            cells = " | ".join("-" if math.isnan(row[k]) else f"{row[k]:.4f}" for k in METRICS)
            lines.append(f"| {condition} | {name} | {cells} | {', '.join(ratios)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        action="append",
        metavar="NAME=DIR_OR_REPO",
        help=f"a model to measure; the first is the baseline the ratios refer to (default: {' '.join(DEFAULT_MODELS)})",
    )
    parser.add_argument(
        "--ablations",
        action="store_true",
        help=f"measure the ablation runs (no UnF, no InD, UnF on the whole image) and the two main runs, all at "
        f"step {ABLATION_STEP}, from recipes/runs/",
    )
    parser.add_argument("-n", type=int, default=500, help="held-out images per condition (default 500)")
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--write-faces",
        type=Path,
        metavar="DIR",
        help="write the N held-out faces of each condition and their interest masks as 64x64 PNGs into "
        "DIR/<condition>/images and DIR/<condition>/masks (for `interestyle eval`), and measure nothing",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if args.write_faces is not None:
        for folder in write_faces(args.write_faces, args.n, seed=args.seed):
            print(f"{folder}: {args.n} faces in images/, their interest masks in masks/")
        return 0
    if args.ablations and args.model:
        parser.error("--ablations measures its own set of models; give it without --model")
    specs = ablation_models() if args.ablations else args.model or list(DEFAULT_MODELS)
    models = {}
    for spec in specs:
        name, sep, where = spec.partition("=")
        if not sep or not name or not where:
            parser.error(f"--model {spec!r}: expected NAME=DIR_OR_REPO")
        models[name] = its.load_encoder(where)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, model in models.items():
        results[name] = {}
        for condition in CONDITIONS:
            t = time.perf_counter()
            results[name][condition] = evaluate(
                model, args.n, condition=condition, seed=args.seed, batch_size=args.batch_size
            )
            print(f"{name:>12} {condition:>9}: {time.perf_counter() - t:6.1f} s", file=sys.stderr)
    print(
        f"Occlusion benchmark: {args.n} held-out synthetic images per condition (seed {args.seed}), "
        f"torch {torch.__version__}, torch threads: {torch.get_num_threads()}"
    )
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "seed": args.seed, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
