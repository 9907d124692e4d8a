"""Pivotal tuning on the occlusion benchmark's held-out occluded faces: encoder only, plain PTI, masked PTI.

For each model and each of N held-out synthetic faces with an occluder (the occlusion benchmark's faces,
seed 900001: the face under the occluder is known), one photo at a time: invert it with its interest mask,
refine it with plain PTI (``masked=False``) and with masked PTI (the default), each at the default steps,
and measure, against the clean ground truth:

* interest MSE / SSIM: inside the visible face + hair, as benchmarks/occlusion.py measures them;
* leak MSE: inside face x occluder, against the clean face under the occluder: how much of the occluder
  the reconstruction shows (plain PTI learns it; masked PTI never sees it);
* edit response: how much an edit still moves the image after refinement. For each direction the model
  ships (its principal directions when it ships none), ``delta = G(w + s d) - G(w)`` inside the interest
  region with the generator of the condition, projected on the encoder-only ``delta``:
  ``<delta, delta_encoder> / <delta_encoder, delta_encoder>``; 1 for the encoder-only condition, and an edit
  that moves its pixels the same way as before keeps 1.
* attribute move (v2 faces only): what an edit does to the attribute it is named for after refinement. Each
  edit of ``--attribute-directions`` (default: the v2 demo model's, which also fit the demo baseline: both
  invert into the same generator) named in ``faces_v2.EDIT_ATTRIBUTES`` is applied at its recommended
  strength, toward the end of the range the encoder's reconstruction is farther from, and the attribute
  read-out (``benchmarks/attribute_readout.py``) measures how far the target moved, in fractions of its
  range, averaged over the edits; the encoder-only figure is what an edit does without tuning;
* CPU time of ``refine`` per image (``time.process_time``: this process's CPU time, which other processes on
  a shared machine barely disturb; one torch thread unless ``--threads``).

``--cost`` instead times refine steps on randomly initialised generators of the 256 and 1024 px config-F
shapes (the time of a step does not depend on the weights) and sets the FLOPs counted per step beside it.

    python benchmarks/refine.py                          # the embedded demo and demo-baseline, N = 200
    python benchmarks/refine.py --quick                  # 3 faces, 5 steps: end to end in a minute or two
    python benchmarks/refine.py --model a=DIR -n 20 --steps 50 --json out.json --cache rows.jsonl
    python benchmarks/refine.py --cost                   # seconds per step at 256 and 1024 px
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

import interestyle as its
from interestyle.directions import DirectionSet, principal_directions, shipped_directions
from interestyle.metrics import masked_mse, ssim
from interestyle.pivotal import DEFAULT_LR, DEFAULT_STEPS
from interestyle.synthetic import DEMO_DOMAIN, DOMAINS, SyntheticBatch, make_batch
from interestyle.synthetic.faces_v2 import EDIT_ATTRIBUTES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attribute_readout import NAMES, AttributeReadout, load_readout
from machine import describe
from occlusion import HELD_OUT_SEED  # the occlusion benchmark's held-out faces
from speed import generator_flops  # the FLOP count of benchmarks/speed.py

CONDITIONS = ("encoder", "plain PTI", "masked PTI")
METRICS = ("interest_mse", "interest_ssim", "leak_mse", "edit_response", "attribute_move")
RATIO_METRICS = ("edit_response", "attribute_move")  # printed with three decimals
DEFAULT_MODELS = ("interestyle=demo", "baseline=demo-baseline")
EDIT_STRENGTH = 3.0
ATTRIBUTE_DIRECTIONS = "demo"
PRINCIPAL_COUNT = 3
# forward-pass equivalents of one step: the tuned generator forward and backward (about 3 passes) on the
# pivot and on one locality latent, and the original generator forward on the locality latent
PASSES_PER_STEP = 2 * 3 + 1


def edit_directions(model: its.IntereStyleModel, where: str) -> dict[str, torch.Tensor]:
    """The model's shipped directions, or its first principal directions when it ships none."""
    found = shipped_directions(where)
    if found is None:
        found = principal_directions(model, PRINCIPAL_COUNT, progress=False)
    return {name: found[name].for_model(model.n_latent, model.style_dim) for name in found}


class AttributeEdits:
    """The edits whose target attribute the read-out measures: each direction with its target's index in
    the read-out's outputs and the sign of the move a positive strength makes."""

    def __init__(self, readout: AttributeReadout, directions: DirectionSet) -> None:
        self.readout = readout
        self.edits = [
            (directions[name], NAMES.index(target), sign)
            for name, (target, sign) in EDIT_ATTRIBUTES.items()
            if name in directions
        ]
        if not self.edits:
            raise ValueError(f"none of the directions {list(directions)} is one of {list(EDIT_ATTRIBUTES)}")

    def fits(self, model: its.IntereStyleModel) -> bool:
        """Whether every direction fits ``model``'s latents and its images are the read-out's 64 px."""
        if model.resolution != 64:
            return False
        try:
            for direction, _, _ in self.edits:
                direction.for_model(model.n_latent, model.style_dim)
        except ValueError:
            return False
        return True

    def ways(self, result: its.LatentResult) -> list[float]:
        """Per edit, +1 or -1: the strength's sign that moves the reconstruction's attribute toward the end
        of its range it is farther from."""
        reading = self._read(result.images)[0]
        return [1.0 if (reading[k] < 0.5) == (sign > 0) else -1.0 for _, k, sign in self.edits]

    def move(self, model: its.IntereStyleModel, result: its.LatentResult, ways: list[float]) -> float:
        """The mean move of each edit's target attribute toward the end ``ways`` picked, in its ranges."""
        moves = []
        for (direction, k, sign), way in zip(self.edits, ways, strict=True):
            strength = way * (direction.strength or 1.0)
            edited = its.edit(model, result, direction, [0.0, strength], progress=False)
            reading = self._read(edited.images)
            moves.append(float(way * sign * (reading[1, k] - reading[0, k])))
        return statistics.fmean(moves)

    @torch.no_grad()
    def _read(self, images: torch.Tensor) -> torch.Tensor:
        return self.readout(images.float().clamp(-1, 1).cpu()).clamp(0, 1)


def attribute_edits(where: str, domain: str) -> AttributeEdits | None:
    """The read-out and the directions ``DirectionSet.from_pretrained(where)`` finds, on v2 faces (the
    read-out's domain); None on other faces or for ``where="none"``."""
    if domain != "v2" or where == "none":
        return None
    return AttributeEdits(load_readout(), DirectionSet.from_pretrained(where))


def _edit_delta(model: its.IntereStyleModel, result: its.LatentResult, direction: torch.Tensor) -> torch.Tensor:
    edited = its.edit(model, result, direction, [0.0, EDIT_STRENGTH], progress=False)
    return (edited.images[1:] - edited.images[:1]).float().cpu()


def measure_face(
    model: its.IntereStyleModel,
    directions: dict[str, torch.Tensor],
    face: SyntheticBatch,
    *,
    steps: int,
    lr: float,
    attributes: AttributeEdits | None = None,
) -> dict[str, dict[str, float]]:
    """Every condition's metrics for one face (a batch of one); ``attribute_move`` is NaN without
    ``attributes`` (or with edits that do not fit the model)."""
    inverted = its.invert(model, face.image, mask=face.interest_mask, progress=False)
    results: dict[str, its.LatentResult] = {"encoder": inverted}
    seconds = {"encoder": math.nan}
    for name, masked in (("plain PTI", False), ("masked PTI", True)):
        start = time.process_time()
        results[name] = its.refine(model, inverted, steps=steps, lr=lr, masked=masked, progress=False)
        seconds[name] = time.process_time() - start
    m, clean = face.interest_mask, face.clean
    leak = face.face_mask * face.occluder_mask
    base = {name: _edit_delta(model, inverted, d) for name, d in directions.items()}
    edits = attributes if attributes is not None and attributes.fits(model) else None
    ways = edits.ways(inverted) if edits is not None else []
    rows = {}
    for name, result in results.items():
        recon = result.images.float().clamp(-1, 1).cpu()
        responses = []
        for key, d in directions.items():
            delta = base[key] if name == "encoder" else _edit_delta(model, result, d)
            responses.append(float((delta * base[key] * m).sum() / (base[key] * base[key] * m).sum()))
        rows[name] = {
            "interest_mse": float(masked_mse(recon, clean, m)[0]),
            "interest_ssim": float(ssim(torch.lerp(clean, recon, m), clean, m)[0]),
            "leak_mse": float(masked_mse(recon, clean, leak)[0]) if float(leak.sum()) > 0 else math.nan,
            "edit_response": statistics.fmean(responses),
            "attribute_move": edits.move(model, result, ways) if edits is not None else math.nan,
            "cpu_s": seconds[name],
        }
    return rows


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.fmean(finite) if finite else math.nan


def summarise(rows: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Means over faces, per condition (NaN entries, e.g. a face whose occluder misses it, skipped)."""
    out = {}
    for condition in CONDITIONS:
        values = [row[condition] for row in rows]
        # rows cached before the attribute move was measured lack it
        summary = {key: _mean([v.get(key, math.nan) for v in values]) for key in (*METRICS, "cpu_s")}
        summary["n"] = len(values)
        summary["n_leak"] = sum(math.isfinite(v["leak_mse"]) for v in values)
        summary["n_attribute"] = sum(math.isfinite(v.get("attribute_move", math.nan)) for v in values)
        if condition != "encoder":
            summary["cpu_s_median"] = statistics.median(v["cpu_s"] for v in values)
        out[condition] = summary
    return out


def format_table(summaries: dict[str, dict[str, dict[str, float]]]) -> str:
    columns = ["model", "condition", "interest MSE", "interest SSIM", "leak MSE", "edit response", "attribute move"]
    columns.append("CPU s/image")
    columns.append("vs encoder (interest MSE, leak MSE)")
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for model, summary in summaries.items():
        ref = summary["encoder"]
        for condition in CONDITIONS:
            row = summary[condition]
            ratios = ", ".join(
                "-" if condition == "encoder" else f"{100 * (row[k] / ref[k] - 1):+.1f}%"
                for k in ("interest_mse", "leak_mse")
            )
            cpu = "-" if condition == "encoder" else f"{row['cpu_s']:.2f}"
            cells = " | ".join(f"{row[k]:.3f}" if k in RATIO_METRICS else f"{row[k]:.4f}" for k in METRICS)
            lines.append(f"| {model} | {condition} | {cells} | {cpu} | {ratios} |")
    return "\n".join(lines)


def _load_cache(
    path: Path | None, steps: int, lr: float, domain: str
) -> dict[tuple[str, int], dict[str, dict[str, float]]]:
    if path is None or not path.is_file():
        return {}
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        # rows written before the v2 domain carry no domain: they are the first domain's faces
        if row["steps"] == steps and row["lr"] == lr and row.get("domain", "v1") == domain:
            found[(row["model"], row["index"])] = row["conditions"]
    return found


def run_faces(args: argparse.Namespace, specs: list[str]) -> dict[str, object]:
    summaries, per_face = {}, {}
    cache = _load_cache(args.cache, args.steps, args.lr, args.domain)
    attributes = attribute_edits(args.attribute_directions, args.domain)
    faces = make_batch(args.n, size=64, seed=args.seed, condition="occluded", domain=args.domain)
    for spec in specs:
        name, _, where = spec.partition("=")
        model = its.load_encoder(where)
        if model.resolution != faces.image.shape[-1]:
            faces = make_batch(args.n, size=model.resolution, seed=args.seed, condition="occluded", domain=args.domain)
        directions = edit_directions(model, where)
        rows = []
        started = time.perf_counter()
        for i in range(args.n):
            if (name, i) not in cache:
                face = SyntheticBatch(
                    image=faces.image[i : i + 1],
                    clean=faces.clean[i : i + 1],
                    face_mask=faces.face_mask[i : i + 1],
                    occluder_mask=faces.occluder_mask[i : i + 1],
                    interest_mask=faces.interest_mask[i : i + 1],
                )
                cache[(name, i)] = measure_face(
                    model, directions, face, steps=args.steps, lr=args.lr, attributes=attributes
                )
                if args.cache is not None:
                    line = {
                        "model": name,
                        "index": i,
                        "steps": args.steps,
                        "lr": args.lr,
                        "domain": args.domain,
                        "conditions": cache[(name, i)],
                    }
                    with args.cache.open("a", encoding="utf-8") as f:
                        f.write(json.dumps(line) + "\n")
            rows.append(cache[(name, i)])
            if (i + 1) % 10 == 0 or i + 1 == args.n:
                elapsed = time.perf_counter() - started
                print(f"{name:>12}: {i + 1}/{args.n} faces, {elapsed:7.0f} s", file=sys.stderr, flush=True)
        summaries[name] = summarise(rows)
        per_face[name] = rows
    print(
        f"Pivotal tuning benchmark: {args.n} held-out occluded synthetic faces of domain {args.domain} (seed "
        f"{args.seed}), one at a time; "
        f"steps {args.steps}, lr {args.lr:g}; edit response at strength {EDIT_STRENGTH:g}; attribute move: "
        f"{'the edits of ' + args.attribute_directions if attributes is not None else 'not measured'}; CPU time "
        f"of refine (time.process_time); machine: {describe()}"
    )
    print(format_table(summaries))
    return {
        "n": args.n,
        "seed": args.seed,
        "domain": args.domain,
        "steps": args.steps,
        "lr": args.lr,
        "summary": summaries,
        "faces": per_face,
    }


# -- cost at the full-size shapes ------------------------------------------------------------------------
def _shape(resolution: int) -> its.ModelConfig:
    # the encoder is never run by refine: a small one keeps the model cheap to build
    encoder = its.EncoderConfig(units=(1, 1, 1, 1), widths=(16, 16, 32, 32), input_size=32)
    return its.ModelConfig(generator=its.GeneratorConfig(resolution=resolution), encoder=encoder, iterations=1)


def step_seconds(config: its.ModelConfig, steps: int) -> tuple[float, float]:
    """(CPU seconds of one refine step, CPU seconds of refine's set-up) on a random generator of ``config``."""
    torch.manual_seed(0)
    model = its.IntereStyleModel(config).eval()
    r = model.resolution
    with torch.no_grad():
        model.latent_avg.copy_(model.generator.mean_latent(1000).expand(model.n_latent, -1))
        latents = model.latent_avg[None] + 0.3 * torch.randn(1, model.n_latent, model.style_dim)
        images = model.decode(latents)
    mask = torch.zeros(1, 1, r, r)
    mask[..., r // 8 : -r // 8, r // 8 : -r // 8] = 1
    inverted = its.InversionResult(
        latents=latents, step_latents=latents[None], images=images, inputs=images.clamp(-1, 1), masks=mask
    )
    # a random generator's images are far from [-1, 1]: a small lr keeps its loss from rising (a step costs
    # the same at any lr)
    lr = 1e-6
    its.refine(model, inverted, steps=1, lr=lr, progress=False)  # first calls pay for kernels' set-up
    times = []
    for n in (1, 1 + steps):
        start = time.process_time()
        its.refine(model, inverted, steps=n, lr=lr, progress=False)
        times.append(time.process_time() - start)
    per_step = (times[1] - times[0]) / steps
    return per_step, times[0] - per_step


def run_cost(args: argparse.Namespace) -> dict[str, object]:
    out = {}
    columns = ["shape", "GFLOP per step (counted)", "CPU s per step", "GFLOP/s", "CPU s set-up"]
    columns.append("CPU min per image at default steps")
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for resolution in args.cost_resolutions:
        config = _shape(resolution)
        flops = PASSES_PER_STEP * generator_flops(config.generator) / 1e9
        per_step, setup = step_seconds(config, args.cost_steps)
        total = (setup + DEFAULT_STEPS * per_step) / 60
        out[str(resolution)] = {"gflop_per_step": flops, "cpu_s_per_step": per_step, "cpu_s_setup": setup}
        cells = [f"{resolution} px config F", f"{flops:.1f}", f"{per_step:.2f}", f"{flops / per_step:.0f}"]
        lines.append("| " + " | ".join([*cells, f"{setup:.1f}", f"{total:.1f}"]) + " |")
        print(f"{resolution:>5} px: {per_step:.2f} s per step", file=sys.stderr, flush=True)
    print(
        f"Cost of refine at full size: random weights, one photo, {args.cost_steps} timed steps, CPU time "
        f"(time.process_time); FLOPs counted as {PASSES_PER_STEP} generator passes per step (benchmarks/speed.py's "
        f"generator_flops); machine: {describe()}"
    )
    print("\n".join(lines))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        action="append",
        metavar="NAME=DIR_OR_REPO",
        help=f"a model to measure (default: {' '.join(DEFAULT_MODELS)})",
    )
    parser.add_argument("-n", type=int, default=200, help="held-out occluded faces per model (default 200)")
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument(
        "--domain", choices=DOMAINS, default=DEMO_DOMAIN, help=f"synthetic face domain (default {DEMO_DOMAIN})"
    )
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"refine steps (default {DEFAULT_STEPS})")
    parser.add_argument("--lr", type=float, default=DEFAULT_LR, help=f"refine's learning rate (default {DEFAULT_LR:g})")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="3 faces, 5 steps: the whole pipeline, fast")
    parser.add_argument("--cache", type=Path, help="a JSON-lines file of finished faces: appended to, and resumed from")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--attribute-directions",
        default=ATTRIBUTE_DIRECTIONS,
        metavar="DIR_OR_REPO",
        help=f"on v2 faces, the directions whose targets are read out (default {ATTRIBUTE_DIRECTIONS}; none: off)",
    )
    parser.add_argument("--cost", action="store_true", help="time refine steps at 256 and 1024 px instead")
    parser.add_argument("--cost-resolutions", type=int, nargs="+", default=[256, 1024], metavar="PX")
    parser.add_argument("--cost-steps", type=int, default=2, help="timed steps per shape with --cost (default 2)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.n, args.steps = min(args.n, 3), 5
    specs = args.model or list(DEFAULT_MODELS)
    for spec in specs:
        name, sep, where = spec.partition("=")
        if not sep or not name or not where:
            parser.error(f"--model {spec!r}: expected NAME=DIR_OR_REPO")
    figures = run_cost(args) if args.cost else run_faces(args, specs)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
