"""Write your own interest-mask provider, register it by name, compose it, and invert with it.

The provider here is a classic rule-based skin detector (a box in YCbCr colour space): crude, but it needs
no weights. Any segmenter fits the same shape: images (B, 3, H, W) in [-1, 1] -> masks (B, 1, H, W) in [0, 1].

Runs offline on the embedded demo model. Without PHOTO, a held-out synthetic face is written to OUT/photo.png
and used.

Usage: python examples/custom_mask_provider.py [PHOTO] [--model demo] [--out out]
Writes OUT/mask.png and OUT/composite.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import Tensor

import interestyle as its
from interestyle.masks import Dilate, Feather, Intersect
from interestyle.synthetic import DEMO_DOMAIN, make_batch


class SkinTone:
    """Interest = pixels whose chroma falls in a skin-tone box (Cb in [77, 127], Cr in [133, 173] of 255)."""

    name = "skin-tone"
    resolution = 256  # optional: the square side this provider wants its input at
    device = "cpu"  # optional: where it wants its input

    def __init__(self, softness: float = 4.0) -> None:
        self.softness = softness  # width of the soft edge of the box, in chroma levels

    def __call__(self, images: Tensor) -> Tensor:
        r, g, b = ((images + 1) * 127.5).unbind(dim=1)  # [-1, 1] -> [0, 255]
        cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
        cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b

        def inside(x: Tensor, lo: float, hi: float) -> Tensor:
            return torch.sigmoid((x - lo) / self.softness) * torch.sigmoid((hi - x) / self.softness)

        return (inside(cb, 77, 127) * inside(cr, 133, 173))[:, None].clamp(0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", nargs="?", help="an aligned face image (default: a synthetic face written to OUT)")
    parser.add_argument("--model", default="demo", help="a model folder, a Hub repo id, or 'demo'")
    parser.add_argument("--out", default="out", type=Path, help="output folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.photo is None:
        args.photo = args.out / "photo.png"
        face = make_batch(1, size=64, seed=900_060, condition="clutter", domain=DEMO_DOMAIN)
        its.to_pil(face.image)[0].save(args.photo)

    # 1. Register the provider by name (a package would declare an entry point instead; see docs/masks.md).
    its.register_mask_provider("skin-tone", SkinTone)

    # 2. Compose: skin near the face only, grown a little and softened (sizes in pixels at 256 x 256).
    near_face = Intersect("skin-tone", Dilate("aligned-face", radius_px256=8))
    provider = Feather(Dilate(near_face, radius_px256=3), sigma_px256=2)

    # 3. Invert with it: by object, or plainly by name.
    model = its.load_encoder(args.model)
    result = its.invert(model, args.photo, mask=provider)
    by_name = its.invert(model, args.photo, mask="skin-tone")

    its.to_pil(result.masks * 2 - 1)[0].save(args.out / "mask.png")
    its.to_pil(result.composite())[0].save(args.out / "composite.png")
    print(f"interest fraction: composed {float(result.masks.mean()):.3f}, plain {float(by_name.masks.mean()):.3f}")
    print(f"wrote {args.out / 'mask.png'} and {args.out / 'composite.png'}")


if __name__ == "__main__":
    main()
