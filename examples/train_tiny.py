"""Train a tiny IntereStyle encoder on synthetic faces, then invert a held-out occluded face with it.

A small IR-SE encoder learns to invert the frozen generator of ``--generator``: by
default the embedded demo model's 64x64 generator. A few steps only show the machinery (losses,
checkpoints, sample grids, resuming); good reconstructions take thousands (see recipes/ for the demo's).

Usage: python examples/train_tiny.py [--generator demo] [--steps 20] [--out runs/train-tiny] [--baseline]
Writes OUT/checkpoints/step-*/ (model folders), OUT/log.csv, sample grids every 10 steps, OUT/inversion.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import interestyle as its
from interestyle.synthetic import make_batch
from interestyle.training import TrainingConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default="demo", help="model folder whose generator is inverted")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("runs/train-tiny"), help="output folder")
    parser.add_argument("--baseline", action="store_true", help="train the no-mask baseline instead")
    args = parser.parse_args()

    generator = its.load_encoder(args.generator).config.generator
    encoder = its.EncoderConfig(units=(1, 1, 1, 1), widths=(16, 16, 32, 32), input_size=generator.resolution)
    config = TrainingConfig(
        model=its.ModelConfig(generator=generator, encoder=encoder),
        generator=args.generator,  # its weights are copied in and frozen
        iterations=3,
        baseline=args.baseline,  # True: plain loss on the whole image, no filter, no disentanglement
        data={"kind": "synthetic", "condition": "mixed", "count": 64, "size": generator.resolution},
        optim={"batch_size": 4, "steps": args.steps, "lr": 1e-3},
        log={"dir": str(args.out), "every": 5, "sample_every": 10, "val_every": 10, "checkpoint_every": 10},
    )
    result = train(config, resume=True)  # a second run with more --steps continues from the last checkpoint
    if result.losses:
        print(f"trained {result.step} steps; loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}")
    print(f"checkpoint: {result.checkpoint}")

    model = its.load_encoder(result.checkpoint)
    face = make_batch(1, size=generator.resolution, seed=900_050, condition="occluded")
    inversion = its.invert(model, face.image, mask=face.interest_mask)
    its.to_pil(inversion.composite())[0].save(args.out / "inversion.png")
    print(f"latents {tuple(inversion.latents.shape)} -> {args.out / 'inversion.png'}")


if __name__ == "__main__":
    main()
