"""Pack the trained demo encoders into the package: ``src/interestyle/weights/{demo,demo-baseline}``.

Takes each run's newest checkpoint (or ``--step``), stores its weights in float16 (the package ships
both models, generator included, in well under 25 MB; ``load_encoder`` upcasts embedded models to
float32), fits the demo's edit directions on the generator's W from the renderer's attribute values
(``directions.safetensors`` next to the IntereStyle model), and writes the reference inversion that
``tests/test_demo_weights.py`` checks the shipped weights against.

    python recipes/pack_demo.py [--step N]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import save_file

import interestyle as its
from interestyle.directions import DirectionSet, fit_direction
from interestyle.locate import EMBEDDED_MODELS
from interestyle.serialization import atomic_write, save_model_folder
from interestyle.synthetic import attributes_from_latent, make_batch
from interestyle.training.checkpoints import find_latest_checkpoint

ROOT = Path(__file__).resolve().parent.parent
RUNS = {"demo": ROOT / "recipes/runs/demo-interestyle", "demo-baseline": ROOT / "recipes/runs/demo-baseline"}
REFERENCE = ROOT / "tests/data/demo-reference.safetensors"
REFERENCE_SEED = 424_242  # a held-out occluded face (training seeds count up from 0)
# Edits fitted on the generator's W: which of the renderer's faces have the attribute.
# No smile: the generator's mouths are too soft for W to carry it (a boundary fits 64% of faces).
EDITS: dict[str, Callable[[dict[str, torch.Tensor]], torch.Tensor]] = {
    "grey_hair": lambda a: a["hair_color"] == 4,
    "blond_hair": lambda a: a["hair_color"] == 2,
    "skin_tone": lambda a: a["skin_tone"] > 0.5,  # darker skin
}


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


@torch.no_grad()
def directions(model: its.IntereStyleModel, samples: int = 8000) -> DirectionSet:
    z = torch.randn(samples, model.style_dim, generator=torch.Generator().manual_seed(7))
    w = model.generator.mapping(z)
    attributes = attributes_from_latent(z)
    fitted = []
    for name, has_it in EDITS.items():
        direction = fit_direction(w, has_it(attributes), name=name)
        print(f"direction {name}: {direction.description}")
        fitted.append(direction)
    return DirectionSet(fitted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, help="pack this step's checkpoints instead of the newest")
    parser.add_argument("--runs", type=Path, nargs=2, metavar=("INTERESTYLE", "BASELINE"), help="other run folders")
    args = parser.parse_args()
    runs = RUNS if args.runs is None else dict(zip(RUNS, args.runs, strict=True))
    for name, run in runs.items():
        pack(checkpoint(run, args.step), name)
    model = its.load_encoder("demo")
    directions(model).save(EMBEDDED_MODELS["demo"] / "directions.safetensors")

    batch = make_batch(1, size=model.resolution, seed=REFERENCE_SEED, condition="occluded")
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
