"""Pack the trained demo encoders into the package: ``src/interestyle/weights/{demo,demo-baseline}``.

Takes each run's newest checkpoint (or ``--step``) of the v2 domain's seed-0 runs, stores its weights in
float16 (the package ships both models, generator included, within 25 MB; ``load_encoder`` upcasts
embedded models to float32), fits the demo's edit directions on the generator's W from the renderer's
attribute values and calibrates their strengths (``recipes/demo_directions.py``;
``directions.safetensors`` next to the IntereStyle model), and writes the reference inversion that
``tests/test_demo_weights.py`` checks the shipped weights against.

    python recipes/pack_demo.py [--step N]
    python recipes/pack_demo.py --directions-only   # refit and recalibrate the directions on the shipped models
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_directions import CALIBRATION_SEED, calibrate_strengths, fit_attribute_directions, load_readout

import interestyle as its
from interestyle.directions import DirectionSet
from interestyle.locate import EMBEDDED_MODELS
from interestyle.serialization import atomic_write, save_model_folder
from interestyle.synthetic import DEMO_DOMAIN, make_batch
from interestyle.training.checkpoints import find_latest_checkpoint

ROOT = Path(__file__).resolve().parent.parent
RUNS = {
    "demo": ROOT / "recipes/runs/v2-interestyle-seed0",
    "demo-baseline": ROOT / "recipes/runs/v2-baseline-seed0",
}
REFERENCE = ROOT / "tests/data/demo-reference.safetensors"
REFERENCE_SEED = 424_242  # a held-out occluded face (training seeds count up from 0)


def checkpoint(run: Path, step: int | None) -> Path:
    if step is None:
        found = find_latest_checkpoint(run)
        if found is None:
            raise SystemExit(f"no checkpoint in {run}: train it first (recipes/README.md)")
        return found
    return run / "checkpoints" / f"step-{step:08d}"


def pack(source: Path, name: str) -> Path:
    model = its.IntereStyleModel.from_pretrained(source)
    state = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    folder = save_model_folder(model.config.to_dict(), state, EMBEDDED_MODELS[name])
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"{name}: {source} -> {folder} ({size / 1e6:.1f} MB)")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, help="pack this step's checkpoints instead of the newest")
    parser.add_argument(
        "--directions", type=Path, help="a folder of directions already fitted on the runs' generator (default: fit)"
    )
    parser.add_argument("--runs", type=Path, nargs=2, metavar=("INTERESTYLE", "BASELINE"), help="other run folders")
    parser.add_argument(
        "--directions-only",
        action="store_true",
        help="keep the packed weights and the reference inversion; write the directions only",
    )
    args = parser.parse_args()
    if not args.directions_only:
        runs = RUNS if args.runs is None else dict(zip(RUNS, args.runs, strict=True))
        for name, run in runs.items():
            pack(checkpoint(run, args.step), name)
    torch.set_num_threads(1)
    model = its.load_encoder("demo")
    if args.directions is not None:  # fitted on the same generator (recipes/demo_directions.py)
        directions = DirectionSet.from_pretrained(args.directions)
    else:  # calibrated on inversions of validation faces: what an edit is applied to in use
        faces = make_batch(200, size=model.resolution, seed=CALIBRATION_SEED, condition="clean", domain=DEMO_DOMAIN)
        inversions = (its.invert(model, faces.image, progress=False).latents, faces.attributes)
        fitted = fit_attribute_directions(model.generator)
        directions = calibrate_strengths(model.generator, fitted, load_readout(), inversions=inversions)
    for name, direction in directions.items():
        print(f"direction {name}: {direction.description}")
    directions.save(EMBEDDED_MODELS["demo"] / "directions.safetensors")
    if args.directions_only:
        return

    batch = make_batch(1, size=model.resolution, seed=REFERENCE_SEED, condition="occluded", domain=DEMO_DOMAIN)
    result = its.invert(model, batch.image, mask=batch.interest_mask, progress=False)
    tensors = {
        "image": batch.image.contiguous(),
        "mask": batch.interest_mask.contiguous(),
        "latents": result.latents.contiguous(),
        "images": result.images.contiguous(),
    }
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(REFERENCE, lambda tmp: save_file(tensors, str(tmp), metadata={"seed": str(REFERENCE_SEED)}))
    print(f"reference inversion -> {REFERENCE}")


if __name__ == "__main__":
    main()
