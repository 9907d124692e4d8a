"""Invert a photo with an interest mask and paste the reconstructed face back over the original.

Usage: python examples/invert_with_mask.py MODEL_DIR_OR_REPO PHOTO MASK [--out result.png]
"""

from __future__ import annotations

import argparse

import interestyle as its


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="a model folder or a Hub repo id")
    parser.add_argument("photo", help="an image file")
    parser.add_argument("mask", help="a mask image: white = interest region (face + hair)")
    parser.add_argument("--out", default="result.png")
    args = parser.parse_args()

    model = its.load_encoder(args.model)
    result = its.invert(model, args.photo, mask=args.mask)
    its.to_pil(result.composite())[0].save(args.out)
    print(f"latents {tuple(result.latents.shape)} -> {args.out}")


if __name__ == "__main__":
    main()
