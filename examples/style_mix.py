"""Style-mix two faces: keep one face's code and take the coarse, middle or fine style vectors of another.

Runs offline on the embedded demo model. Without CONTENT and STYLE, two held-out synthetic faces are written
to OUT/content.png and OUT/style.png and used.

Usage: python examples/style_mix.py [CONTENT STYLE] [--model demo] [--out out]
Writes OUT/mix.png: content | style | content with the style's coarse | middle | fine vectors, labelled.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import interestyle as its
from interestyle.grids import image_grid
from interestyle.synthetic import DEMO_DOMAIN, make_batch

PRESETS = ("coarse", "middle", "fine")  # pose and face shape | features and expression | colours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("content", nargs="?", help="the face to keep (default: a synthetic face)")
    parser.add_argument("style", nargs="?", help="the face whose style vectors are taken (default: another)")
    parser.add_argument("--model", default="demo", help="a model folder, a Hub repo id, or 'demo'")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    args = parser.parse_args()
    if (args.content is None) != (args.style is None):
        parser.error("give both CONTENT and STYLE, or neither")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.content is None:
        faces = its.to_pil(make_batch(2, size=64, seed=900_030, condition="clean", domain=DEMO_DOMAIN).image)
        args.content, args.style = args.out / "content.png", args.out / "style.png"
        faces[0].save(args.content)
        faces[1].save(args.style)

    model = its.load_encoder(args.model)
    content = its.invert(model, args.content)
    style = its.invert(model, args.style)
    mixes = [its.style_mix(model, content, style, layers=preset).to_pil()[0] for preset in PRESETS]
    labels = ["content", "style", *(f"{preset} from style" for preset in PRESETS)]
    row = [content.to_pil()[0], style.to_pil()[0], *mixes]
    image_grid([row], cell=128, column_labels=labels).save(args.out / "mix.png")
    print(f"columns: content | style | {' | '.join(PRESETS)} -> {args.out / 'mix.png'}")


if __name__ == "__main__":
    main()
