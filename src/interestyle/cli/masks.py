"""``interestyle masks IMAGES... --provider NAME --out DIR``: interest masks as PNGs, plus an overlay grid."""

from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from tqdm.auto import tqdm

from ..images import IMAGE_SUFFIXES, image_sizes, read_images
from ..masks import Dilate, Feather, Invert, get_mask_provider, resolve_mask
from ..masks.overlay import overlay_grid, overlay_picture
from ..masks.protocol import MaskProvider, provider_resolution, resize_masks
from ..serialization import atomic_write
from ..validation import check_positive_int
from .options import add_device_option, add_progress_option, resolve_device

GRID_NAME = "overlay.png"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "masks",
        help="write interest masks of images with a mask provider",
        description="Write one mask PNG per image (white = interest region: face + hair) and an overlay grid "
        f"({GRID_NAME}: each image with its mask's outline) into OUT. IMAGES are files, folders (their images) or "
        "glob patterns.",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGES", help="image files, folders or glob patterns")
    parser.add_argument("--provider", required=True, help="a mask provider name, e.g. face-parsing or aligned-face")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option for the provider's factory (VALUE read as JSON when it parses, else as text), e.g. "
        "--option weights=path/to/face-parser --option interest_classes=[1,17]; repeatable",
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder (created)")
    parser.add_argument("--size", type=int, default=512, help="side of the square the provider works at (default 512)")
    parser.add_argument(
        "--dilate-px256", type=float, default=0.0, help="grow masks by this many pixels at 256x256 (scaled to the size)"
    )
    parser.add_argument(
        "--feather-px256", type=float, default=0.0, help="soften mask edges: Gaussian sigma in pixels at 256x256"
    )
    parser.add_argument("--invert", action="store_true", help="swap interest and uninterest")
    parser.add_argument("--batch-size", type=int, default=8, help="images per provider call (default 8)")
    parser.add_argument(
        "--thumb", type=int, default=256, help="side of each overlay-grid cell, the mask outlined on it (default 256)"
    )
    parser.add_argument("--columns", type=int, default=8, help="overlay-grid columns (default 8)")
    parser.add_argument("--grid-max", type=int, default=64, help="images shown in the overlay grid (default 64)")
    add_device_option(parser)
    add_progress_option(parser)
    parser.set_defaults(func=run)


def expand_images(patterns: list[str]) -> list[Path]:
    """Files, folders (their image files, sorted) and glob patterns -> image paths, in order, without repeats.

    Raises:
        FileNotFoundError: a path that does not exist, or a pattern or folder that matches no image.
    """
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            matches = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not matches:
                raise FileNotFoundError(f"folder {path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        elif path.is_file():
            matches = [path]
        elif glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
            if not matches:
                raise FileNotFoundError(f"pattern {pattern!r} matches no files")
        else:
            raise FileNotFoundError(f"image {path} does not exist")
        found.extend(matches)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique


def parse_options(items: list[str]) -> dict[str, Any]:
    """``["key=value", ...]`` -> keyword options; values are JSON when they parse, else strings."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--option {item!r} is invalid: expected KEY=VALUE with KEY a Python identifier")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def _output_names(paths: list[Path]) -> list[str]:
    names, seen = [], set()
    for path in paths:
        name, k = f"{path.stem}_mask.png", 1
        while name in seen:
            name, k = f"{path.stem}-{k}_mask.png", k + 1
        seen.add(name)
        names.append(name)
    return names


def _save_png(image: Image.Image, path: Path) -> None:
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))


def build_provider(
    name: str,
    options: dict[str, Any],
    *,
    dilate_px256: float,
    feather_px256: float,
    invert: bool,
    device: torch.device | None = None,
) -> MaskProvider:
    """The provider ``name`` built with ``options``, moved to ``device`` when it is a torch module (the
    face parser), then wrapped in the dilation, feathering and inversion asked for."""
    provider: MaskProvider = get_mask_provider(name, **options)
    if device is not None and isinstance(provider, torch.nn.Module):
        provider = provider.to(device)
    if dilate_px256:
        provider = Dilate(provider, dilate_px256)
    if feather_px256:
        provider = Feather(provider, feather_px256)
    if invert:
        provider = Invert(provider)
    return provider


def run(args: argparse.Namespace) -> int:
    for flag in ("size", "batch_size", "thumb", "columns", "grid_max"):
        check_positive_int(getattr(args, flag), "--" + flag.replace("_", "-"))
    paths = expand_images(args.images)
    provider = build_provider(
        args.provider,
        parse_options(args.option),
        dilate_px256=args.dilate_px256,
        feather_px256=args.feather_px256,
        invert=args.invert,
        device=resolve_device(args.device),
    )
    size = provider_resolution(provider) or args.size
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    names = _output_names(paths)
    cells: list[Image.Image] = []
    starts = range(0, len(paths), args.batch_size)
    with tqdm(total=len(paths), desc=f"masks ({args.provider})", unit="image", disable=args.no_progress) as bar:
        for start in starts:
            batch = paths[start : start + args.batch_size]
            items = read_images([str(p) for p in batch])
            masks = resolve_mask(provider, items, size, batch_size=args.batch_size)
            assert masks is not None
            for i, ((h, w), item) in enumerate(zip(image_sizes(items), items, strict=True)):
                mask = resize_masks(masks[i : i + 1], (h, w))[0, 0]
                mask_u8 = (mask * 255).round().to(torch.uint8).numpy()
                _save_png(Image.fromarray(mask_u8), out / names[start + i])
                if len(cells) < args.grid_max:
                    cells.append(overlay_picture(item[:1], mask[None, None], cell=args.thumb))
            bar.update(len(batch))
    _save_png(overlay_grid(cells, columns=args.columns, cell=args.thumb), out / GRID_NAME)
    print(f"wrote {len(paths)} masks and {GRID_NAME} to {out}")
    return 0
