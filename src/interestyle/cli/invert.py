"""``interestyle invert``: photos to W+ latents (safetensors) and reconstructions (PNG)."""

from __future__ import annotations

import argparse
from typing import Any

from tqdm.auto import tqdm

from ..images import to_pil
from ..inversion import invert
from .inputs import MaskFinder, Reader, expand_inputs
from .options import add_model_options, load_model, positive_int
from .outputs import Grid, output_folder, save_latents, save_png, unique_names

EPILOG = """\
examples:
  interestyle invert photo.png --model org/interestyle-ffhq --out inverted/
  interestyle invert 'photos/*.jpg' --model ./model --mask masks/ --out inverted/ --grid
  interestyle invert photos/ --model ./model --out inverted/ --device cuda --dtype float16 --batch-size 16

written to --out, for each photo NAME:
  NAME.png             the reconstruction
  NAME.composite.png   with --mask: the reconstruction inside the mask, the photo outside it
  NAME.safetensors     tensor "latents": the W+ latents, (n_latent, style_dim) float32
  grid.png             with --grid: photo | reconstruction [| composite], one row per photo

An unreadable image is skipped with a warning; the exit code is then 1. Bad arguments exit with code 2.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "invert",
        help="invert photos into W+ latents and reconstructions",
        description="Invert photos into the model's W+ space: latents as safetensors, reconstructions as PNG.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_io_options(parser, "photo")
    parser.add_argument("--iterations", type=positive_int, help="refinement steps (default: the model's)")
    add_model_options(parser)
    parser.set_defaults(func=run)


def add_io_options(parser: argparse.ArgumentParser, what: str) -> None:
    """INPUT..., --out, --mask and --grid, as invert, edit and mix take them."""
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help=f"{what} files, glob patterns (quote them) or folders of images"
    )
    parser.add_argument("--out", "-o", required=True, help="output folder (created if missing)")
    parser.add_argument(
        "--mask",
        help="interest mask: one image file for every photo, or a folder of masks named like the photos "
        "(same stem, any image suffix); outputs are then pasted into the photo through the mask",
    )
    parser.add_argument("--grid", action="store_true", help="also write grid.png, a contact sheet of the results")


def run(args: argparse.Namespace) -> int:
    paths = expand_inputs(args.inputs)
    masks = MaskFinder(args.mask)
    model = load_model(args)
    out = output_folder(args.out)
    names = unique_names(paths)
    reader = Reader("invert", masks)
    grid = Grid(args.grid)
    written = 0
    with tqdm(total=len(paths), desc="invert", unit="image", disable=args.quiet) as bar:
        for start in range(0, len(paths), args.batch_size):
            batch = []
            for path, name in zip(
                paths[start : start + args.batch_size], names[start : start + args.batch_size], strict=True
            ):
                image = reader.read(path)
                if image is not None:
                    batch.append((path, name, image))
            if batch:
                result = invert(
                    model,
                    [image for _, _, image in batch],
                    mask=masks.masks([path for path, _, _ in batch]),
                    iterations=args.iterations,
                    batch_size=args.batch_size,
                    progress=False,
                )
                recons = result.to_pil()
                composites = to_pil(result.composite()) if result.masks is not None else [None] * len(batch)
                for i, (path, name, _) in enumerate(batch):
                    save_png(recons[i], out / f"{name}.png")
                    composite = composites[i]
                    if composite is not None:
                        save_png(composite, out / f"{name}.composite.png")
                    save_latents(
                        out / f"{name}.safetensors",
                        {"latents": result.latents[i]},
                        {"source": str(path), "model": str(args.model)},
                    )
                    grid.add([to_pil(result.inputs[i])[0], recons[i], *([composite] if composite else [])])
                    written += 1
            bar.update(min(args.batch_size, len(paths) - start))
    sheet = grid.save(out / "grid.png")
    print(f"inverted {written} photo(s) into {out}" + (f"; contact sheet {sheet}" if sheet else ""))
    return reader.exit_code()
