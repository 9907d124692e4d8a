"""Sweep an edit: invert a face, move it along a shipped direction at several strengths, save one grid.

Runs offline on the embedded demo model, whose folder ships the directions "smile", "grey_hair",
"blond_hair", "skin_tone", "hair_length" and "yaw" (strengths in ranges of the attribute: 1 moves it across
its whole range). Without PHOTO, a held-out synthetic face is written to OUT/photo.png and used.

Usage: python examples/sweep_edit.py [PHOTO] [--direction grey_hair] [--model demo] [--out out]
Writes OUT/sweep.png: one row, the photo then the edit at each strength, each column labelled.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import interestyle as its
from interestyle.grids import image_grid
from interestyle.synthetic import DEMO_DOMAIN, make_batch

STEPS = [-1, -0.5, 0, 0.5, 1]  # times the direction's recommended strength, else 3 standard deviations of W


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", nargs="?", help="an image file (default: a synthetic face written to OUT)")
    parser.add_argument("--direction", default="grey_hair", help="a direction shipped with the model")
    parser.add_argument("--model", default="demo", help="a model folder with directions.safetensors, or 'demo'")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.photo is None:
        args.photo = args.out / "photo.png"
        face = make_batch(1, size=64, seed=900_020, condition="clean", domain=DEMO_DOMAIN)
        its.to_pil(face.image)[0].save(args.photo)

    model = its.load_encoder(args.model)
    direction = its.DirectionSet.from_pretrained(args.model)[args.direction]

    # How far is the end of the sweep? The direction's recommended strength when its maker measured one;
    # else 3 standard deviations of the generator's own W along it (GANSpace's unit), in the direction's units.
    full = direction.strength
    if full is None:
        with torch.no_grad():
            z = torch.randn(4096, model.style_dim, generator=torch.Generator().manual_seed(0))
            w = model.generator.mapping(z)
        vector = direction.vector
        row = vector if vector.ndim == 1 else vector[vector.norm(dim=1).argmax()]
        full = 3 * float((w @ row).std()) / direction.unit
    strengths = [step * full for step in STEPS]

    inversion = its.invert(model, args.photo)
    sweep = its.edit(model, inversion, direction, strengths)
    labels = ["photo", *(f"{args.direction} {s:+.2g}" for s in strengths)]
    grid = image_grid([[its.to_pil(inversion.inputs)[0], *sweep.to_pil()]], cell=128, column_labels=labels)
    grid.save(args.out / "sweep.png")
    rounded = ", ".join(f"{s:.3g}" for s in strengths)
    print(f"{args.direction}: strengths {rounded} (the direction's units) -> {args.out / 'sweep.png'}")


if __name__ == "__main__":
    main()
