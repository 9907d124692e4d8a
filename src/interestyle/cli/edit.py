"""``interestyle edit``: invert photos (or read saved latents) and move them along a direction."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from tqdm.auto import tqdm

from ..align import DEFAULT_FEATHER_FRACTION
from ..directions import DIRECTIONS_WEIGHTS, Direction, DirectionSet
from ..editing import EditResult, edit, resolve_layers, resolve_strengths
from ..errors import NoFaceError
from ..images import to_pil
from ..inversion import invert
from ..latents_file import is_latents_file
from ..models.model import IntereStyleModel
from .inputs import MaskFinder, Reader, expand_inputs, is_latents_input, model_side, warn
from .invert import add_align_options, add_io_options, landmark_provider
from .options import add_model_options, load_model, positive_int
from .outputs import Grid, output_folder, save_latents, save_png, unique_names

EPILOG = """\
examples:
  interestyle edit face.png --direction grey_hair --strength -2 0 2 --out edited/ --grid   (the demo model)
  interestyle edit photo.png --model ./model --direction smile --strength -2 0 2 --out edited/ --grid
  interestyle edit 'photos/*.jpg' --model ./model --mask masks/ --direction age.npy --strength 3 --out edited/
  interestyle edit inverted/*.safetensors --model ./model --direction pose --directions you/your-directions \\
      --strength 1.5 --layers coarse --out edited/
  interestyle edit photo.jpg --align --mask face-parsing --model ./model --directions e4e-ganspace \\
      --direction pc46 --layers 4:5 --strength -6 --out edited/

--direction is a .npy or .safetensors file, or the name of a direction in --directions (a folder or Hub
repo holding directions.safetensors; default: the model's own folder). INPUTs are images, or .safetensors
latents written by `interestyle invert` (those are edited without inverting; a folder gives its images only):
one photo's NAME.safetensors, or a dataset's --latents-file (latents.safetensors, or the index of its shards,
latents.safetensors.index.json), each of whose entries NAME is edited as one input.

written to --out, for each input NAME and direction DIR:
  NAME_DIR_S.png         the edit at strength S (e.g. photo_smile_+2.png); with --mask, pasted into the
                         photo through the feathered mask
  NAME_DIR.safetensors   tensors "latents" (S, n_latent, style_dim) and "strengths" (S,)
  grid.png               with --grid: photo | one image per strength, one row per input

with --align (photos that are not FFHQ-aligned crops): NAME_DIR_S.png is the photo with every face edited
and pasted back, and NAME_DIR.safetensors holds "latents" (S, faces, n_latent, style_dim).

An unreadable input is skipped with a warning; the exit code is then 1. Bad arguments exit with code 2.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "edit",
        help="edit photos along a latent direction",
        description="Invert photos and move their W+ latents along a direction, at one or more strengths.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_io_options(parser, "photo or latents")
    group = parser.add_argument_group("edit")
    group.add_argument("--direction", "-d", required=True, metavar="FILE_OR_NAME", help="the direction (see below)")
    group.add_argument("--directions", metavar="FOLDER_OR_REPO", help="where named directions live (default: --model)")
    group.add_argument(
        "--strength",
        "-s",
        nargs="+",
        type=float,
        metavar="S",
        help="one or more strengths, in the direction's units (the demo model's: ranges of the attribute, 1 = its "
        "whole range; default: the direction's recommended strength, else 1)",
    )
    group.add_argument(
        "--layers",
        help="style vectors to edit: coarse, middle, fine, all, START:STOP or i,j,k (default: the direction's own "
        "range, else all)",
    )
    group.add_argument(
        "--feather-px", type=float, help="sigma of the paste's soft edge, in output pixels (default resolution/64)"
    )
    group.add_argument("--iterations", type=positive_int, help="refinement steps (default: the model's)")
    add_align_options(parser, keep_aligned=False)
    add_model_options(parser)
    parser.set_defaults(func=run)


def find_direction(spec: str, where: str) -> Direction:
    """``spec`` as a direction file, or a name looked up in the directions of ``where``."""
    if Path(spec).is_file():
        return Direction.load(spec)
    folder = Path(where)
    if folder.is_dir() and not (folder / DIRECTIONS_WEIGHTS).is_file():
        raise FileNotFoundError(
            f"--direction {spec!r} is not a file, and {where} holds no {DIRECTIONS_WEIGHTS} to look the name up "
            "in; give a .npy / .safetensors file, or --directions FOLDER_OR_REPO"
        )
    return DirectionSet.from_pretrained(where)[spec]


def _strength_label(s: float) -> str:
    return f"{s:+g}"


def _write(
    out: Path,
    result: EditResult,
    items: Sequence[tuple[Path, str, Image.Image | None]],
    direction: Direction,
    model_spec: str,
    paste: bool,
    feather_px: float | None,
    grid: Grid,
) -> None:
    assert result.strengths is not None
    strengths = result.strengths.tolist()
    b = len(items)
    pixels = result.composite(feather_px=feather_px) if paste else result.images
    images = to_pil(pixels)
    for i, (path, name, photo) in enumerate(items):
        row = [images[s * b + i] for s in range(len(strengths))]
        for s, image in zip(strengths, row, strict=True):
            save_png(image, out / f"{name}_{direction.name}_{_strength_label(s)}.png")
        save_latents(
            out / f"{name}_{direction.name}.safetensors",
            {"latents": result.latents[i::b], "strengths": result.strengths},
            {"source": str(path), "model": model_spec, "direction": direction.name},
        )
        grid.add([photo, *row], name)


def run(args: argparse.Namespace) -> int:
    paths = expand_inputs(args.inputs)
    image_paths = [p for p in paths if not is_latents_input(p)]
    latent_paths = [p for p in paths if is_latents_input(p)]
    if args.align and latent_paths:
        raise ValueError(
            f"--align pastes each face's edit back into its photo, and {latent_paths[0]} holds saved latents, "
            "which have no photo: give the photos, or leave out --align"
        )
    if args.mask is not None and latent_paths:
        warn("edit", f"--mask: {len(latent_paths)} input(s) are saved latents, with no photo to paste into: their "
             "edits are written as the generator made them")  # fmt: skip
    masks = MaskFinder(args.mask)
    direction = find_direction(args.direction, args.directions or args.model)
    strengths = resolve_strengths(args.strength or [direction.strength or 1.0]).tolist()
    model = load_model(args)
    direction.for_model(model.n_latent, model.style_dim)  # a size mismatch fails before any work
    layers = None if args.layers is None else resolve_layers(args.layers, model.n_latent)
    out = output_folder(args.out)
    reader = Reader("edit", masks, side=None if args.align else model_side(model))
    # (file, output stem, latents (1, n_latent, style_dim) of a dataset's latents file, else None: read later)
    latent_items: list[tuple[Path, str, torch.Tensor | None]] = []
    for path in latent_paths:
        if is_latents_file(path):
            entries = reader.read_latents_file(path) or {}
            latent_items.extend((path, name, t if t.ndim == 3 else t[None]) for name, t in entries.items())
        else:
            latent_items.append((path, path.stem, None))
    names = unique_names([*image_paths, *(stem for _, stem, _ in latent_items)])
    grid = Grid(args.grid, ["photo", *(f"{direction.name} {_strength_label(s)}" for s in strengths)])
    paste = args.mask is not None
    common = {"layers": layers, "batch_size": args.batch_size, "progress": False}
    if args.align:
        return _run_aligned(args, model, image_paths, names, direction, strengths, common, out, reader, grid)
    written = 0
    bs = args.batch_size
    with tqdm(total=len(image_paths) + len(latent_items), desc="edit", unit="input", disable=args.no_progress) as bar:
        for start in range(0, len(image_paths), bs):
            chunk = list(
                zip(image_paths[start : start + bs], names[: len(image_paths)][start : start + bs], strict=True)
            )
            batch = [(p, n, t) for p, n in chunk if (t := reader.read(p)) is not None]
            if batch:
                inversion = invert(
                    model,
                    [t for _, _, t in batch],
                    mask=masks.masks([p for p, _, _ in batch]),
                    iterations=args.iterations,
                    batch_size=bs,
                    progress=False,
                )
                result = edit(model, inversion, direction, strengths, **common)
                items = [(p, n, to_pil(inversion.inputs[i])[0]) for i, (p, n, _) in enumerate(batch)]
                _write(out, result, items, direction, args.model, paste, args.feather_px, grid)
                written += len(batch)
            bar.update(len(chunk))
        for (path, _, latents), name in zip(latent_items, names[len(image_paths) :], strict=True):
            if latents is None:
                latents = reader.read_latents(path)
            bar.update(1)
            if latents is None:
                continue
            written += _edit_latents(model, path, name, latents, direction, strengths, common, out, args, grid)
    sheet = grid.save(out / "grid.png")
    print(f"edited {written} input(s) into {out}" + (f"; contact sheet {sheet}" if sheet else ""))
    return reader.exit_code()


def _edit_latents(
    model: IntereStyleModel,
    path: Path,
    name: str,
    latents: torch.Tensor,
    direction: Direction,
    strengths: list[float],
    common: dict[str, Any],
    out: Path,
    args: argparse.Namespace,
    grid: Grid,
) -> int:
    """Edit the rows of one latents file (no photo, so no paste); returns how many were edited."""
    rows = len(latents)
    names = [name] if rows == 1 else [f"{name}-{k}" for k in range(rows)]
    result = edit(model, latents, direction, strengths, **common)
    _write(out, result, [(path, n, None) for n in names], direction, args.model, False, None, grid)
    return rows


def _run_aligned(
    args: argparse.Namespace,
    model: IntereStyleModel,
    paths: list[Path],
    names: list[str],
    direction: Direction,
    strengths: list[float],
    common: dict[str, Any],
    out: Path,
    reader: Reader,
    grid: Grid,
) -> int:
    """``edit --align``: each photo's faces found, aligned, inverted, edited and pasted back into it."""
    if len(paths) != len(names):
        raise ValueError("--align takes photos, not saved latents")
    masks = MaskFinder(args.mask)
    landmarks = landmark_provider(args)
    written = 0
    for path, name in tqdm(list(zip(paths, names, strict=True)), desc="edit", disable=args.no_progress):
        image = reader.read(path)
        if image is None:
            continue
        try:
            inversion = invert(
                model, image, mask=masks.masks([path]), iterations=args.iterations, progress=False, align=True,
                landmarks=landmarks, batch_size=args.batch_size,
            )  # fmt: skip
        except NoFaceError as exc:
            warn("edit", f"skipped {path}: {exc}")
            reader.skipped.append(path)
            continue
        result = edit(
            model,
            inversion,
            direction,
            strengths,
            align=True,
            feather_fraction=feather_fraction_of(args.feather_px, model.resolution),
            **common,
        )
        assert result.photos is not None and result.strengths is not None
        photos = [to_pil(photo)[0] for photo in result.photos]
        for s, photo in zip(strengths, photos, strict=True):
            save_png(photo, out / f"{name}_{direction.name}_{_strength_label(s)}.png")
        latents = result.latents.reshape(len(strengths), -1, model.n_latent, model.style_dim)
        save_latents(
            out / f"{name}_{direction.name}.safetensors",
            {"latents": latents, "strengths": result.strengths},
            {"source": str(path), "model": args.model, "direction": direction.name},
        )
        grid.add([to_pil(image)[0], *photos], name)
        written += 1
    sheet = grid.save(out / "grid.png")
    print(f"edited the faces of {written} photo(s) into {out}" + (f"; contact sheet {sheet}" if sheet else ""))
    return reader.exit_code()


def feather_fraction_of(feather_px: float | None, resolution: int) -> float:
    """--feather-px (pixels of the generator's crop) as paste-back takes it: a fraction of the crop's side."""
    return DEFAULT_FEATHER_FRACTION if feather_px is None else feather_px / resolution
