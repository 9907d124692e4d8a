"""Convert an official IntereStyle / ReStyle-pSp checkpoint (.pt) into a model folder, and load it.

The official checkpoints (seungjun-moon/interestyle, yuval-alaluf/restyle-encoder) are pickled dicts
``{"state_dict": {"encoder.*", "decoder.*"}, "latent_avg": ..., "opts": {...}}``. None can be downloaded
here, so without CHECKPOINT this script first writes the embedded demo model out in exactly that layout
(OUT/interestyle_demo.pt): it stands in for a downloaded official checkpoint. Then it runs
``interestyle convert`` on it, loads the folder with ``load_encoder`` and checks that the converted model
inverts a face exactly as the original does.

Usage: python examples/convert_checkpoint.py [CHECKPOINT] [--out out]
Writes OUT/converted/ (config.json, model.safetensors, README.md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import torch

import interestyle as its
from interestyle.synthetic import make_batch


def write_official_layout(model: its.IntereStyleModel, path: Path) -> None:
    """Save ``model`` as IntereStyle's training code saves it (a ReStyle-pSp ``BackboneEncoder``)."""
    state = {k: v for k, v in model.state_dict().items() if k != "latent_avg"}  # encoder.*, decoder.*
    opts = {"encoder_type": "BackboneEncoder", "output_size": model.resolution, "apply_mask_loss": True}
    torch.save({"state_dict": state, "latent_avg": model.latent_avg, "opts": opts}, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", type=Path, help="an official .pt (default: the demo model as one)")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    original = None
    if args.checkpoint is None:
        original = its.load_encoder("demo")
        args.checkpoint = args.out / "interestyle_demo.pt"
        write_official_layout(original, args.checkpoint)

    # The command line; in Python: interestyle.convert.convert_checkpoint(checkpoint, folder).
    folder = args.out / "converted"
    command = ["interestyle", "convert", str(args.checkpoint), "--out", str(folder), "--overwrite", "--no-progress"]
    if original is not None:
        # what the tensors cannot say: the demo model's refinement steps (official ones use 5) and its
        # generator's mapping-network learning rate (official ones use 0.01; it matters for sampling z)
        g = original.config.generator
        command += ["--lr-mlp", str(g.lr_mlp), "--iterations", str(original.config.iterations)]
    print("$", " ".join(command))
    subprocess.run([sys.executable, "-m", *command], check=True)

    model = its.load_encoder(folder)  # safetensors only: the .pt is never unpickled again
    print(f"loaded {folder}: method {model.config.method}, {model.resolution}px, {model.config.iterations} steps")
    if original is not None:
        face = make_batch(1, size=64, seed=900_040, condition="occluded").image
        a, b = its.invert(original, face), its.invert(model, face)
        print(f"largest difference from the original model's inversion: {(a.images - b.images).abs().max():.2e}")


if __name__ == "__main__":
    main()
