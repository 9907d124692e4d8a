"""``interestyle invert``: photos to W+ latents (safetensors) and reconstructions (PNG)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from tqdm.auto import tqdm

from ..align import LandmarkProvider, get_landmark_provider
from ..errors import NoFaceError
from ..images import to_pil
from ..inversion import InversionResult, invert
from ..latents_file import latents_shard_name, save_latents_file, write_latents_index
from ..masks import available_mask_providers
from ..models.model import IntereStyleModel
from ..pivotal import DEFAULT_LR, RefinedResult, refine
from ..serialization import atomic_write
from .inputs import MaskFinder, Reader, expand_inputs, model_side, warn
from .options import add_model_options, load_model, non_negative_int, positive_float, positive_int
from .outputs import Grid, output_folder, save_latents, save_png, unique_names
from .prefetch import prefetched
from .shards import Shard, process_shard, shard_device

EPILOG = """\
examples:
  interestyle invert photo.png --out inverted/                      (the embedded demo model)
  interestyle invert photo.png --model you/your-interestyle-model --mask face-parsing --out inverted/
  interestyle invert 'photos/*.jpg' --model ./model --mask masks/ --out inverted/ --grid
  interestyle invert photos/ --model ./model --out inverted/ --device cuda --dtype float16 --batch-size 16
  torchrun --nproc-per-node 4 -m interestyle invert photos/ --model ./model --out inverted/ \\
      --latents-file latents.safetensors
  accelerate launch -m interestyle invert photos/ --model ./model --out inverted/ --resume

written to --out, for each photo NAME:
  NAME.png             the reconstruction
  NAME.composite.png   with --mask: the reconstruction inside the mask, the photo outside it
  NAME.safetensors     tensor "latents": the W+ latents, (n_latent, style_dim) float32
  grid.png             with --grid: photo | reconstruction [| composite], one row per photo

with --refine STEPS (pivotal tuning inside the mask; needs --mask), for each photo NAME also:
  NAME.png             the tuned generator's reconstruction (NAME.composite.png likewise)
  NAME.generator.safetensors   the generator tuned to this photo: a delta against the model's generator,
                       for interestyle.pivotal.load_tuned_generator(path, model.generator)

with --align (photos that are not FFHQ-aligned crops), for each photo NAME:
  NAME.png             the photo with every face replaced by its reconstruction
  NAME.safetensors     tensor "latents": (faces, n_latent, style_dim), faces left to right
  NAME.faceK.aligned.png  with --keep-aligned: the K-th aligned crop (what the encoder saw)
  NAME.faceK.png       with --keep-aligned: its reconstruction
  NAME.faceK.json      with --keep-aligned: its alignment transform (the crop quad in the photo)

with --latents-file NAME:
  NAME                 one tensor per photo NAME: its latents (a dataset's latents in one file; edit reads it)

on several processes (torchrun, accelerate launch: RANK and WORLD_SIZE are set), the inputs are cut into
batches of --batch-size and batch b is process b % WORLD_SIZE's, so the outputs equal one process's; each
process writes its photos' files as above, grid-R-of-W.png, and with --latents-file its shard NAME-R-of-W
(e.g. latents-00000-of-00004.safetensors) and NAME.index.json, which lists every shard once the last process
ends. --resume skips the photos whose files are all there.

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
    parser.add_argument(
        "--uninterest-filter",
        action="store_true",
        help="blur the input outside --mask at the early refinement steps, as IntereStyle trains (needs --mask)",
    )
    add_refine_options(parser)
    add_align_options(parser)
    add_dataset_options(parser)
    add_model_options(parser)
    parser.set_defaults(func=run)


def add_dataset_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("datasets and several processes")
    group.add_argument(
        "--resume",
        action="store_true",
        help="skip the photos whose outputs are all in --out already (each file is written whole or not at all)",
    )
    group.add_argument(
        "--latents-file",
        metavar="NAME",
        help="also collect every photo's latents into --out/NAME (a .safetensors file, one tensor per photo name; "
        "on several processes one shard each and NAME.index.json)",
    )
    group.add_argument(
        "--prefetch",
        type=non_negative_int,
        default=2,
        metavar="BATCHES",
        help="batches of photos decoded ahead on a thread while the model runs (default 2; 0: none)",
    )


def outputs_of(name: str, args: argparse.Namespace) -> list[str]:
    """The files ``invert`` writes for the photo ``name`` (the latents last but the tuned generator)."""
    files = [f"{name}.png"]
    if args.mask is not None and not args.align:
        files.append(f"{name}.composite.png")
    files.append(f"{name}.safetensors")
    if args.refine is not None:
        files.append(f"{name}.generator.safetensors")
    return files


def this_process_batches(
    paths: list[Path], per_call: int, args: argparse.Namespace, out: Path, shard: Shard
) -> tuple[list[str], list[list[tuple[Path, str]]]]:
    """This process's output names, and its batches of (photo, output name) less the photos ``--resume``
    finds complete.

    The inputs are cut into batches of ``per_call`` first and batch ``b`` is process ``b % count``'s, so
    every process inverts exactly the batches one process would (results equal to the last bit: a batch's
    composition can change the rounding); names come from the whole input list, so no two processes
    write the same file.
    """
    pairs = list(zip(paths, unique_names(paths), strict=True))
    mine = shard.select([pairs[i : i + per_call] for i in range(0, len(pairs), per_call)])
    names = [n for batch in mine for _, n in batch]
    if not args.resume:
        return names, mine
    todo = [[(p, n) for p, n in b if not all((out / f).is_file() for f in outputs_of(n, args))] for b in mine]
    done = len(names) - sum(len(b) for b in todo)
    if done:
        print(f"{shard.label()}--resume: {done} of {len(names)} photo(s) already inverted")
    return names, [b for b in todo if b]


def add_io_options(parser: argparse.ArgumentParser, what: str) -> None:
    """INPUT..., --out, --mask and --grid, as invert, edit and mix take them."""
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help=f"{what} files, glob patterns (quote them) or folders of images"
    )
    parser.add_argument("--out", "-o", required=True, help="output folder (created if missing)")
    parser.add_argument(
        "--mask",
        help="interest mask: a mask provider's name ("
        + ", ".join(available_mask_providers())
        + "; see interestyle masks), one image file for every photo, or a folder of masks named like the photos "
        "(same stem, any image suffix); outputs are then pasted into the photo through the mask",
    )
    parser.add_argument("--grid", action="store_true", help="also write grid.png, a contact sheet of the results")


def add_refine_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pivotal tuning")
    group.add_argument(
        "--refine",
        type=positive_int,
        metavar="STEPS",
        help="tune a copy of the generator to each photo inside its mask for STEPS steps (about 100; seconds per "
        "photo on a CPU for the demo model); the photos are then inverted one at a time",
    )
    group.add_argument(
        "--refine-lr", type=positive_float, default=DEFAULT_LR, metavar="LR", help=f"its learning rate ({DEFAULT_LR:g})"
    )
    group.add_argument("--lpips", metavar="PATH", help="LPIPS weights for its perceptual term (default: 1 - SSIM)")


def refine_if_asked(model: IntereStyleModel, result: InversionResult, args: argparse.Namespace) -> InversionResult:
    """``result`` refined with ``--refine STEPS`` (progress over the steps unless ``--no-progress``), else as it
    is."""
    if args.refine is None:
        return result
    return refine(
        model,
        result,
        steps=args.refine,
        lr=args.refine_lr,
        lpips=args.lpips,
        progress=False if args.no_progress else None,
    )


def save_generator_if_refined(result: InversionResult, model: IntereStyleModel, path: Path) -> None:
    if isinstance(result, RefinedResult):
        result.save_generator(path, model.generator)


def add_align_options(parser: argparse.ArgumentParser, *, keep_aligned: bool = True) -> None:
    """``--align`` and ``--landmarks`` (and ``--keep-aligned``), as invert, edit and mix take them."""
    group = parser.add_argument_group("real photos")
    group.add_argument(
        "--align", action="store_true", help="find and align every face of each photo, and paste the results back"
    )
    group.add_argument("--landmarks", default="mediapipe", help="landmark provider for --align (default mediapipe)")
    if keep_aligned:
        group.add_argument(
            "--keep-aligned",
            action="store_true",
            help="with --align, also write each aligned crop, its reconstruction and its alignment transform",
        )


def landmark_provider(args: argparse.Namespace) -> LandmarkProvider:
    """The ``--landmarks`` provider, made once before any photo is read (a missing extra fails here)."""
    return get_landmark_provider(args.landmarks)


def run(args: argparse.Namespace) -> int:
    if args.keep_aligned and not args.align:
        raise ValueError("--keep-aligned needs --align")
    if args.refine is not None and args.mask is None:
        raise ValueError("--refine fits each photo inside its interest mask: give --mask (a file, folder or provider)")
    if args.uninterest_filter and args.mask is None:
        raise ValueError("--uninterest-filter blurs outside the interest mask: give --mask (a file, folder, provider)")
    if args.latents_file is not None and not args.latents_file.endswith(".safetensors"):
        raise ValueError(f"--latents-file {args.latents_file}: give a file name ending in .safetensors")
    shard = process_shard()
    args.device = shard_device(args.device)
    if args.align:
        return run_aligned(args, shard)
    paths = expand_inputs(args.inputs)
    masks = MaskFinder(args.mask)
    model = load_model(args)
    out = output_folder(args.out)
    # refine tunes one generator per call: photo by photo, so that each gets its own
    per_call = 1 if args.refine is not None else args.batch_size
    names, todo = this_process_batches(paths, per_call, args, out, shard)
    reader = Reader("invert", masks, side=model_side(model))
    grid = Grid(args.grid, ["photo", "reconstruction", *(["composite"] if args.mask is not None else [])])
    written = 0

    def read(chunk: list[tuple[Path, str]]) -> tuple[int, list[tuple[Path, str, Any]]]:
        return len(chunk), [(p, n, image) for p, n in chunk if (image := reader.read(p)) is not None]

    batches = prefetched((read(chunk) for chunk in todo), args.prefetch)
    with tqdm(total=sum(len(b) for b in todo), desc="invert", unit="image", disable=args.no_progress) as bar:
        for size, batch in batches:
            if batch:
                result = invert(
                    model,
                    [image for _, _, image in batch],
                    mask=masks.masks([path for path, _, _ in batch]),
                    iterations=args.iterations,
                    batch_size=args.batch_size,
                    progress=False,
                    uninterest_filter=args.uninterest_filter,
                )
                result = refine_if_asked(model, result, args)
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
                    save_generator_if_refined(result, model, out / f"{name}.generator.safetensors")
                    grid.add([to_pil(result.inputs[i])[0], recons[i], *([composite] if composite else [])], name)
                    written += 1
            bar.update(size)
    return finish(args, out, shard, names, reader, grid, f"inverted {written} photo(s) into {out}")


def finish(
    args: argparse.Namespace, out: Path, shard: Shard, names: list[str], reader: Reader, grid: Grid, done: str
) -> int:
    """The contact sheet (one per process), the dataset latents file (this process's shard and the index on
    several processes), the summary line; returns the exit code."""
    sheet = grid.save(out / ("grid.png" if shard.count == 1 else f"grid-{shard.rank:05d}-of-{shard.count:05d}.png"))
    extra = f"; contact sheet {sheet}" if sheet else ""
    if args.latents_file is not None:
        collected = {n: t for n in names if (t := _saved_latents(out / f"{n}.safetensors")) is not None}
        target = out / args.latents_file
        if shard.count > 1:
            target = out / latents_shard_name(target, shard.rank, shard.count)
        if collected:
            save_latents_file(target, collected, {"model": str(args.model)})
            extra += f"; latents of {len(collected)} photo(s) in {target}"
        if shard.count > 1:
            index = write_latents_index(out / args.latents_file, shard.count)
            extra += f" (index {index})"
    print(shard.label() + done + extra)
    return reader.exit_code()


def _saved_latents(path: Path) -> torch.Tensor | None:
    """The ``latents`` tensor of a photo's latents file, or None when it was not written (unreadable photo)."""
    if not path.is_file():
        return None
    with safe_open(str(path), framework="pt", device="cpu") as f:
        return f.get_tensor("latents")


def save_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def run_aligned(args: argparse.Namespace, shard: Shard) -> int:
    """``invert --align``: photos in, photos out with their faces replaced; one photo at a time."""
    paths = expand_inputs(args.inputs)
    masks = MaskFinder(args.mask)
    landmarks = landmark_provider(args)
    model = load_model(args)
    out = output_folder(args.out)
    names, todo = this_process_batches(paths, 1, args, out, shard)
    reader = Reader("invert", masks)
    grid = Grid(args.grid, ["photo", "faces replaced"])
    written = 0
    photos = prefetched(((p, n, reader.read(p)) for ((p, n),) in todo), args.prefetch)
    for path, name, image in tqdm(photos, total=len(todo), desc="invert", disable=args.no_progress):
        if image is None:
            continue
        try:
            result = invert(
                model,
                image,
                mask=masks.masks([path]),
                iterations=args.iterations,
                batch_size=args.batch_size,
                progress=False,
                align=True,
                landmarks=landmarks,
                uninterest_filter=args.uninterest_filter,
            )
        except NoFaceError as exc:
            warn("invert", f"skipped {path}: {exc}")
            reader.skipped.append(path)
            continue
        result = refine_if_asked(model, result, args)
        assert result.photos is not None and result.alignment is not None
        (photo,) = to_pil(result.photos[0])
        save_png(photo, out / f"{name}.png")
        save_latents(
            out / f"{name}.safetensors", {"latents": result.latents}, {"source": str(path), "model": str(args.model)}
        )
        save_generator_if_refined(result, model, out / f"{name}.generator.safetensors")
        if args.keep_aligned:
            for k, (face, recon) in enumerate(zip(result.alignment[0].faces, result.to_pil(), strict=True)):
                save_png(to_pil(face.image)[0], out / f"{name}.face{k}.aligned.png")
                save_png(recon, out / f"{name}.face{k}.png")
                save_text(out / f"{name}.face{k}.json", json.dumps(face.transform.to_dict(), indent=2) + "\n")
        grid.add([to_pil(image)[0], photo], name)
        written += 1
    return finish(args, out, shard, names, reader, grid, f"inverted the faces of {written} photo(s) into {out}")
