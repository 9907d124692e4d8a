"""Train a tiny IntereStyle encoder on synthetic faces, then invert a held-out occluded face with it.

Usage: python examples/train_tiny.py [--generator MODEL_DIR] [--steps 20] [--out runs/train-tiny] [--baseline]

The encoder learns to invert the generator of ``--generator`` (a model folder; its generator is used frozen).
Without one, a random tiny generator is made on the spot: the run then only shows the machinery (losses,
checkpoints, sample grids), not good reconstructions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import interestyle as its
from interestyle.synthetic import make_batch
from interestyle.training import TrainingConfig, train


def tiny_model_config(resolution: int = 32) -> its.ModelConfig:
    widths = (32, 32) + (16,) * (resolution.bit_length() - 4)  # 4x4 ... resolution
    generator = its.GeneratorConfig(resolution=resolution, style_dim=32, n_mlp=2, channels=widths)
    encoder = its.EncoderConfig(units=(1, 1, 1, 1), widths=(16, 16, 32, 32), input_size=resolution)
    return its.ModelConfig(generator=generator, encoder=encoder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default=None, help="model folder whose generator is inverted")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("runs/train-tiny"))
    parser.add_argument("--baseline", action="store_true", help="train the no-mask baseline instead")
    args = parser.parse_args()

    model_config = tiny_model_config()
    if args.generator is not None:
        model_config = its.load_encoder(args.generator).config
    config = TrainingConfig(
        model=model_config,
        generator=args.generator,
        iterations=3,
        baseline=args.baseline,
        data={"kind": "synthetic", "condition": "mixed", "count": 64, "size": 64},
        optim={"batch_size": 4, "steps": args.steps, "lr": 1e-3},
        log={"dir": str(args.out), "every": 5, "sample_every": 10, "val_every": 10, "checkpoint_every": 10},
    )
    result = train(config, resume=True)
    if result.losses:
        print(f"trained {result.step} steps; loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}")
    print(f"checkpoint: {result.checkpoint}")

    model = its.load_encoder(result.checkpoint)
    face = make_batch(1, size=64, seed=12345, condition="occluded")
    inversion = its.invert(model, face.image, mask=face.interest_mask)
    its.to_pil(inversion.composite())[0].save(args.out / "inversion.png")
    print(f"latents {tuple(inversion.latents.shape)} -> {args.out / 'inversion.png'}")


if __name__ == "__main__":
    main()
