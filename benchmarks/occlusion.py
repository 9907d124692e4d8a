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
model (the baseline). Models named ``NAME#K`` (several training seeds of one run) are reported together,
as mean +- standard deviation over their seeds, ratios taken between the means.

    python benchmarks/occlusion.py                       # the embedded demo-baseline and demo models
    python benchmarks/occlusion.py --seeds               # three seeds of both v2 main runs, at step 1,000
    python benchmarks/occlusion.py --ablations           # the ablation runs of recipes/ at step 1,000
    python benchmarks/occlusion.py --model baseline=DIR --model interestyle=DIR [-n 500] [--json out.json]
    python benchmarks/occlusion.py --uninterest-filter   # also each model with the Uninterest Filter at inference
    python benchmarks/occlusion.py --write-faces DIR [-n 500]   # the held-out faces as PNGs, for interestyle eval
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch
from machine import describe

import interestyle as its
from interestyle.evaluation import build_metrics
from interestyle.synthetic import DEMO_DOMAIN, DOMAINS, make_batch

CONDITIONS = ("clean", "clutter", "occluded")
HELD_OUT_SEED = 900_001  # far from any training seed (training draws seeds from 0 upward)
METRICS = ("interest_mse", "interest_ssim", "full_mse", "leak_mse")
DEFAULT_MODELS = ("baseline=demo-baseline", "interestyle=demo")
RUNS = Path(__file__).resolve().parents[1] / "recipes" / "runs"
ABLATION_STEP = 1000
# name -> training run (recipes/runs/<run>), per domain; every run's checkpoint at ABLATION_STEP, same data
# and schedule
ABLATIONS = {
    "v1": {
        "baseline": "demo-baseline",
        "interestyle": "demo-interestyle",
        "no-UnF": "ablation-no-unf",
        "no-InD": "ablation-no-ind",
        "UnF-whole": "ablation-unf-whole",
    },
    "v2": {
        "baseline": "v2-baseline-seed0",
        "interestyle": "v2-interestyle-seed0",
        "no-UnF": "v2-no-unf",
        "no-InD": "v2-no-ind",
        "UnF-whole": "v2-unf-whole",
    },
}
FILTERED = " + UnF"  # the name suffix of a model measured with invert(..., uninterest_filter=True)
SEEDS = (0, 1, 2)
SEED_RUNS = {"baseline": "v2-baseline-seed{}", "interestyle": "v2-interestyle-seed{}"}
TRAIN_SCRIPT = {"v1": "recipes/train_demo.sh", "v2": "recipes/train_demo_v2.sh"}


def _checkpoint(runs: Path, run: str, step: int, domain: str) -> Path:
    folder = runs / run / "checkpoints" / f"step-{step:08d}"
    if not folder.is_dir():
        raise SystemExit(
            f"occlusion.py: error: {folder} is missing: train the runs first ({TRAIN_SCRIPT[domain]}), their "
            "checkpoints are not in the repository"
        )
    return folder


def ablation_models(runs: Path = RUNS, step: int = ABLATION_STEP, domain: str = DEMO_DOMAIN) -> list[str]:
    """``NAME=DIR`` of each ablation run's checkpoint at ``step``; exits naming the first one missing."""
    return [f"{name}@{step}={_checkpoint(runs, run, step, domain)}" for name, run in ABLATIONS[domain].items()]


def seed_models(runs: Path = RUNS, step: int = ABLATION_STEP) -> list[str]:
    """``NAME#SEED=DIR`` of every seed of the v2 main runs at ``step``, baseline first."""
    return [
        f"{name}#{seed}={_checkpoint(runs, pattern.format(seed), step, 'v2')}"
        for name, pattern in SEED_RUNS.items()
        for seed in SEEDS
    ]


def _mean(values: torch.Tensor) -> float:
    finite = values[torch.isfinite(values)]
    return float(finite.mean()) if finite.numel() else math.nan


@torch.no_grad()
def evaluate(
    model: its.IntereStyleModel,
    n: int,
    *,
    condition: str,
    seed: int,
    batch_size: int,
    domain: str = DEMO_DOMAIN,
    uninterest_filter: bool = False,
) -> dict[str, float]:
    """Mean metrics of ``model`` over ``n`` synthetic images of ``condition`` from ``domain``; with
    ``uninterest_filter`` it inverts with the Uninterest Filter of the images' true interest masks."""
    batch = make_batch(n, size=model.resolution, seed=seed, condition=condition, domain=domain)
    mask = batch.interest_mask if uninterest_filter else None
    result = its.invert(
        model, batch.image, mask=mask, uninterest_filter=uninterest_filter, batch_size=batch_size, progress=False
    )
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


def write_faces(out: Path, n: int, *, seed: int, size: int = 64, domain: str = DEMO_DOMAIN) -> list[Path]:
    """The held-out faces of every condition as PNGs: ``out/<condition>/images/NNNN.png`` and the interest
    masks beside them in ``out/<condition>/masks/`` (white = interest). Returns the condition folders."""
    folders = []
    for condition in CONDITIONS:
        batch = make_batch(n, size=size, seed=seed, condition=condition, domain=domain)
        for sub, pictures in (("images", batch.image), ("masks", batch.interest_mask * 2 - 1)):
            (out / condition / sub).mkdir(parents=True, exist_ok=True)
            for i, picture in enumerate(its.to_pil(pictures)):
                picture.save(out / condition / sub / f"{i:04d}.png")
        folders.append(out / condition)
    return folders


def group_seeds(results: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Per model name with its ``#SEED`` suffix removed: each condition's metrics as lists, one value per seed."""
    groups: dict[str, dict[str, dict[str, list[float]]]] = {}
    for name, figures in results.items():
        group = groups.setdefault(name.split("#", 1)[0], {})
        for condition, row in figures.items():
            for key, value in row.items():
                group.setdefault(condition, {}).setdefault(key, []).append(value)
    return groups


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value; NaN when no value is finite)."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return math.nan, math.nan
    return statistics.fmean(finite), statistics.stdev(finite) if len(finite) > 1 else 0.0


def format_table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    groups = group_seeds(results)
    names = list(groups)
    base = names[0]
    lines = [f"| condition | model | {' | '.join(METRICS)} | vs {base} (interest MSE, leak MSE) |", "|" + " --- |" * 7]
    for condition in CONDITIONS:
        for name in names:
            stats = {k: mean_std(groups[name][condition][k]) for k in METRICS}
            ref = {k: mean_std(groups[base][condition][k])[0] for k in METRICS}
            ratios = []
            for key in ("interest_mse", "leak_mse"):
                mean = stats[key][0]
                if math.isnan(mean) or math.isnan(ref[key]) or ref[key] == 0:
                    ratios.append("-")
                else:
                    ratios.append(f"{100 * (mean / ref[key] - 1):+.1f}%")
            seeds = len(groups[name][condition][METRICS[0]])
            cells = " | ".join(
                "-" if math.isnan(m) else (f"{m:.4f}" if seeds == 1 else f"{m:.4f} +- {sd:.4f}")
                for m, sd in stats.values()
            )
            label = name if seeds == 1 else f"{name} ({seeds} seeds)"
            lines.append(f"| {condition} | {label} | {cells} | {', '.join(ratios)} |")
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
    parser.add_argument(
        "--seeds",
        action="store_true",
        help=f"measure seeds {', '.join(map(str, SEEDS))} of the v2 baseline and IntereStyle runs at step "
        f"{ABLATION_STEP}, from recipes/runs/ (mean +- std over seeds)",
    )
    parser.add_argument(
        "--domain", choices=DOMAINS, default=DEMO_DOMAIN, help=f"synthetic face domain (default {DEMO_DOMAIN})"
    )
    parser.add_argument("-n", type=int, default=500, help="held-out images per condition (default 500)")
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--uninterest-filter",
        action="store_true",
        help="also measure every model inverting with the Uninterest Filter of the true interest mask "
        f"(invert(..., uninterest_filter=True)), as 'NAME{FILTERED}'",
    )
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
        for folder in write_faces(args.write_faces, args.n, seed=args.seed, domain=args.domain):
            print(f"{folder}: {args.n} faces in images/, their interest masks in masks/")
        return 0
    if sum(map(bool, (args.ablations, args.seeds, args.model))) > 1:
        parser.error("--ablations, --seeds and --model each choose the models; give one of them")
    if args.seeds and args.domain != "v2":
        parser.error("--seeds measures the v2 runs: give it with --domain v2")
    if args.ablations:
        specs = ablation_models(domain=args.domain)
    elif args.seeds:
        specs = seed_models()
    else:
        specs = args.model or list(DEFAULT_MODELS)
    models = {}
    for spec in specs:
        name, sep, where = spec.partition("=")
        if not sep or not name or not where:
            parser.error(f"--model {spec!r}: expected NAME=DIR_OR_REPO")
        models[name] = its.load_encoder(where)
    runs = [(name, model, False) for name, model in models.items()]
    if args.uninterest_filter:
        runs += [(name + FILTERED, model, True) for name, model in models.items()]
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, model, filtered in runs:
        results[name] = {}
        for condition in CONDITIONS:
            t = time.perf_counter()
            results[name][condition] = evaluate(
                model,
                args.n,
                condition=condition,
                seed=args.seed,
                batch_size=args.batch_size,
                domain=args.domain,
                uninterest_filter=filtered,
            )
            print(f"{name:>12} {condition:>9}: {time.perf_counter() - t:6.1f} s", file=sys.stderr)
    print(
        f"Occlusion benchmark: {args.n} held-out synthetic images of domain {args.domain} per condition "
        f"(seed {args.seed}), "
        f"machine: {describe()}"
    )
    print(format_table(results))
    if args.json:
        figures = {"n": args.n, "seed": args.seed, "domain": args.domain, "machine": describe(), "results": results}
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
