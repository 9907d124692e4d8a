"""``interestyle mix``: style mixing of photos, with other photos or with random styles."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any, Union

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..editing import random_styles, resolve_layers, style_mix
from ..images import to_pil
from ..inversion import invert
from ..models.model import IntereStyleModel
from .inputs import MaskFinder, Reader, expand_inputs
from .invert import add_io_options
from .options import add_model_options, load_model, positive_int
from .outputs import Grid, output_folder, save_latents, save_png, unique_names

EPILOG = """\
examples:
  interestyle mix me.png --style painting.png --layers fine --model ./model --out mixed/
  interestyle mix 'faces/*.png' --style ref.png --layers coarse --model ./model --mask masks/ --out mixed/ --grid
  interestyle mix me.png --random 8 --seed 3 --layers middle --model ./model --out mixed/ --grid

Content and style photos pair up in order when there are as many of each; one of either is shared by all
the others. Without --style, each content photo gets a random style (or --random N styles for one photo).
--layers: coarse (pose, face shape), middle (features), fine (colours), all, START:STOP or i,j,k; the
presets are the usual 1024-pixel split (0-3, 4-7, 8-17) scaled to the model's number of style vectors.

written to --out, for each content NAME and style STYLE (a style photo's name, or randomK):
  NAME_STYLE.png           the mix; with --mask, pasted into the content photo through the feathered mask
  NAME_STYLE.safetensors   tensors "latents" and "style", each (n_latent, style_dim)
  grid.png                 with --grid: content | style | mix, one row per pair

An unreadable image is skipped (with its pair) with a warning; the exit code is then 1. Bad arguments exit
with code 2.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "mix",
        help="style-mix photos with other photos or random styles",
        description="Replace some style vectors of each content photo's W+ latents with a style's, and decode.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_io_options(parser, "content photo")
    group = parser.add_argument_group("mix")
    source = group.add_mutually_exclusive_group()
    source.add_argument("--style", nargs="+", metavar="STYLE", help="style photo files, globs or folders")
    source.add_argument("--random", type=positive_int, metavar="N", help="N random styles (default: one per photo)")
    group.add_argument("--layers", default="coarse", help="style vectors taken from the style (default coarse)")
    group.add_argument("--seed", type=int, default=0, help="seed of the random styles (default 0)")
    group.add_argument("--truncation", type=float, default=0.7, help="psi of the random styles (default 0.7)")
    group.add_argument(
        "--feather-px", type=float, help="sigma of the paste's soft edge, in output pixels (default resolution/64)"
    )
    group.add_argument("--iterations", type=positive_int, help="refinement steps (default: the model's)")
    add_model_options(parser)
    parser.set_defaults(func=run)


# One inverted photo: latents (n_latent, style_dim), the photo (3, R, R), its mask (1, R, R) or None.
Row = tuple[Tensor, Tensor, Union[Tensor, None]]  # noqa: UP007 (runtime alias on Python 3.10)


def _invert_rows(
    model: IntereStyleModel,
    reader: Reader,
    paths: list[Path],
    indices: list[int],
    masks: MaskFinder | None,
    args: argparse.Namespace,
) -> dict[int, Row]:
    """Invert the photos at ``indices``; the unreadable ones are left out (with a warning)."""
    ok, images = [], []
    for i in indices:
        image = reader.read(paths[i])
        if image is not None:
            ok.append(i)
            images.append(image)
    if not images:
        return {}
    mask = None if masks is None else masks.masks([paths[i] for i in ok])
    result = invert(model, images, mask=mask, iterations=args.iterations, batch_size=args.batch_size, progress=False)
    return {
        i: (result.latents[k], result.inputs[k], None if result.masks is None else result.masks[k])
        for k, i in enumerate(ok)
    }


def run(args: argparse.Namespace) -> int:
    content_paths = expand_inputs(args.inputs, what="content")
    style_paths = expand_inputs(args.style, what="style") if args.style else []
    masks = MaskFinder(args.mask)
    n_content = len(content_paths)
    n_style = len(style_paths) if style_paths else (args.random or n_content)
    if n_content != n_style and 1 not in (n_content, n_style):
        raise ValueError(
            f"{n_content} content photos and {n_style} styles do not pair up: give as many of each, or one of either"
        )
    model = load_model(args)
    layers = resolve_layers(args.layers, model.n_latent)
    reader = Reader("mix", masks)
    style_reader = Reader("mix")
    style_reader.skipped = reader.skipped  # one count for the exit code
    content_names = unique_names(content_paths)
    style_names = unique_names(style_paths) if style_paths else [f"random{k}" for k in range(n_style)]
    randoms = None if style_paths else random_styles(model, n_style, seed=args.seed, truncation=args.truncation)
    out = output_folder(args.out)

    def content_of(i: int) -> int:
        return i if n_content > 1 else 0

    def style_of(i: int) -> int:
        return i if n_style > 1 else 0

    shared_content = _invert_rows(model, reader, content_paths, [0], masks, args) if n_content == 1 else None
    shared_style = _invert_rows(model, style_reader, style_paths, [0], None, args) if len(style_paths) == 1 else None
    for shared, paths in ((shared_content, content_paths), (shared_style, style_paths)):
        if shared is not None and not shared:
            raise ValueError(f"{paths[0]} cannot be read as an image, and every pair needs it")

    n = max(n_content, n_style)
    grid = Grid(args.grid)
    written = 0
    with tqdm(total=n, desc="mix", unit="pair", disable=args.quiet) as bar:
        for start in range(0, n, args.batch_size):
            pairs = list(range(start, min(n, start + args.batch_size)))
            content = shared_content or _invert_rows(model, reader, content_paths, pairs, masks, args)
            pairs = [i for i in pairs if content_of(i) in content]
            style: dict[int, Row] = {}
            if style_paths:
                style = shared_style or _invert_rows(model, style_reader, style_paths, pairs, None, args)
                pairs = [i for i in pairs if style_of(i) in style]
            bar.update(min(args.batch_size, n - start))
            if not pairs:
                continue
            rows = [content[content_of(i)] for i in pairs]
            latents = torch.stack([r[0] for r in rows])
            photos = torch.stack([r[1] for r in rows])
            photo_masks = None if rows[0][2] is None else torch.stack([r[2] for r in rows if r[2] is not None])
            if randoms is not None:
                styles = randoms[[style_of(i) for i in pairs]]
                style_images = to_pil(model.decode(styles))
            else:
                styles = torch.stack([style[style_of(i)][0] for i in pairs])
                style_images = to_pil(torch.stack([style[style_of(i)][1] for i in pairs]))
            result = style_mix(model, latents, styles, layers=layers, batch_size=args.batch_size, progress=False)
            result = replace(result, inputs=photos, masks=photo_masks)
            mixed = to_pil(result.composite(feather_px=args.feather_px) if photo_masks is not None else result.images)
            for k, i in enumerate(pairs):
                name = f"{content_names[content_of(i)]}_{style_names[style_of(i)]}"
                save_png(mixed[k], out / f"{name}.png")
                source = (
                    str(style_paths[style_of(i)]) if style_paths else f"random style {style_of(i)}, seed {args.seed}"
                )
                metadata = {
                    "content": str(content_paths[content_of(i)]),
                    "style": source,
                    "layers": ",".join(map(str, layers)),
                    "model": str(args.model),
                }
                save_latents(out / f"{name}.safetensors", {"latents": result.latents[k], "style": styles[k]}, metadata)
                grid.add([to_pil(photos[k])[0], style_images[k], mixed[k]])
                written += 1
    sheet = grid.save(out / "grid.png")
    print(f"mixed {written} pair(s) into {out}" + (f"; contact sheet {sheet}" if sheet else ""))
    return reader.exit_code()
