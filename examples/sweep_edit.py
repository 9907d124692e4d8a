"""Sweep an edit: invert a face, move it along a shipped direction at several strengths, save one grid.

Runs offline on the embedded demo model, whose folder ships the directions "grey_hair", "blond_hair" and
"skin_tone". Without PHOTO, a held-out synthetic face is written to OUT/photo.png and used.

Usage: python examples/sweep_edit.py [PHOTO] [--direction grey_hair] [--model demo] [--out out]
Writes OUT/sweep.png: one row, the photo then the edit at each strength, each column labelled.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import interestyle as its
from interestyle.grids import image_grid
from interestyle.synthetic import make_batch

STRENGTHS = [-3, -1.5, 0, 1.5, 3]  # in standard deviations of the generator's W along the direction


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
        its.to_pil(make_batch(1, size=64, seed=900_020, condition="clean").image)[0].save(args.photo)

    model = its.load_encoder(args.model)
    direction = its.DirectionSet.from_pretrained(args.model)[args.direction]

    # How far is "one step"? The spread of the generator's own W along the direction (GANSpace's unit).
    with torch.no_grad():
        w = model.generator.mapping(torch.randn(4096, model.style_dim, generator=torch.Generator().manual_seed(0)))
    unit = float((w @ direction.vector).std())

    inversion = its.invert(model, args.photo)
    sweep = its.edit(model, inversion, direction, [s * unit for s in STRENGTHS])
    labels = ["photo", *(f"{args.direction} {s:+g} sd" for s in STRENGTHS)]
    grid = image_grid([[its.to_pil(inversion.inputs)[0], *sweep.to_pil()]], cell=128, column_labels=labels)
    grid.save(args.out / "sweep.png")
    print(f"{args.direction}: strengths {STRENGTHS} x {unit:.3f} (W units) -> {args.out / 'sweep.png'}")


if __name__ == "__main__":
    main()
