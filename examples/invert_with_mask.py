"""Invert a photo with an interest mask and paste the reconstructed face back over the original.

Runs offline on the embedded demo model (64x64 synthetic faces). Without PHOTO and MASK it first writes a
held-out synthetic face with an occluder, and its interest mask, to OUT/photo.png and OUT/mask.png and uses
them as "the photo".

Usage: python examples/invert_with_mask.py [PHOTO MASK] [--model demo] [--out out]
Writes OUT/reconstruction.png, OUT/composite.png and OUT/latents.safetensors.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from safetensors.torch import save_file

import interestyle as its
from interestyle.synthetic import DEMO_DOMAIN, make_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", nargs="?", help="an image file (default: a synthetic face written to OUT)")
    parser.add_argument("mask", nargs="?", help="a mask image: white = interest region (face + hair)")
    parser.add_argument("--model", default="demo", help="a model folder, a Hub repo id, or 'demo'")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    args = parser.parse_args()
    if (args.photo is None) != (args.mask is None):
        parser.error("give both PHOTO and MASK, or neither")
    args.out.mkdir(parents=True, exist_ok=True)

    if args.photo is None:  # a held-out face (seeds >= 900000 were never trained on) with its true mask
        face = make_batch(1, size=64, seed=900_010, condition="occluded", domain=DEMO_DOMAIN)
        args.photo, args.mask = args.out / "photo.png", args.out / "mask.png"
        its.to_pil(face.image)[0].save(args.photo)
        its.to_pil(face.interest_mask * 2 - 1)[0].save(args.mask)

    model = its.load_encoder(args.model)
    result = its.invert(model, args.photo, mask=args.mask)
    result.to_pil()[0].save(args.out / "reconstruction.png")  # the generator's image of the latents
    its.to_pil(result.composite())[0].save(args.out / "composite.png")  # that face, the rest from the photo
    save_file({"latents": result.latents.contiguous()}, args.out / "latents.safetensors")
    print(f"latents {tuple(result.latents.shape)} after {len(result.step_latents)} refinement steps")
    print(f"wrote {args.out / 'reconstruction.png'}, {args.out / 'composite.png'}, {args.out / 'latents.safetensors'}")


if __name__ == "__main__":
    main()
