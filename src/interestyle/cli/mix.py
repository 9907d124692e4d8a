"""``interestyle mix``: style mixing of photos, with other photos or with random styles."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Union

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..align import LandmarkProvider
from ..editing import random_styles, resolve_layers, style_mix
from ..errors import NoFaceError
from ..images import to_pil
from ..inversion import InversionResult, invert
from ..models.model import IntereStyleModel
from ..results import composite_through_mask
from .edit import feather_fraction_of
from .inputs import MaskFinder, Reader, expand_inputs, is_latents_input, model_side, warn
from .invert import add_align_options, add_io_options, landmark_provider
from .mix_inputs import MixInput, check_latents_fit, mix_inputs
from .options import add_model_options, load_model, positive_int
from .outputs import Grid, output_folder, save_latents, save_png

EPILOG = """\
examples:
  interestyle mix face.png --random 4 --out mixed/ --grid                  (the embedded demo model)
  interestyle mix me.png --style painting.png --layers fine --model ./model --out mixed/
  interestyle mix 'faces/*.png' --style ref.png --layers coarse --model ./model --mask masks/ --out mixed/ --grid
  interestyle mix me.png you.png --random 8 --seed 3 --layers middle --model ./model --out mixed/ --grid
  interestyle mix group.jpg --align --style ref.jpg --model you/your-interestyle-model --out mixed/
  interestyle mix inverted/latents.safetensors --style inverted/ref.safetensors --layers fine --model ./model \
      --out mixed/

Content and style inputs are photos, or W+ latents written by `interestyle invert` (mixed without inverting
again; a folder gives its images only): one photo's NAME.safetensors, or a dataset's --latents-file
(latents.safetensors, or the index of its shards, latents.safetensors.index.json), each of whose entries NAME
is one input, in the file's order (an index's: shard by shard). Saved latents of several faces (--align) are
one input per face, NAME-0, NAME-1 ... Saved latents have no photo: --mask pastes only the mixes of content
photos (with a warning naming how many are latents), and --align takes content photos only (a style may be
saved latents).

Content and style inputs pair up in order when there are as many of each; one of either is shared by all
the others. Without --style, each content input gets one random style; --random N gives every content input
the same N random styles. --layers: coarse (pose, face shape), middle (features), fine (colours), all,
START:STOP or i,j,k; the presets are the usual 1024-pixel split (0-3, 4-7, 8-17) scaled to the model's
number of style vectors.

written to --out, for each content NAME and style STYLE (a style input's name, or randomK):
  NAME_STYLE.png           the mix; with --mask, pasted into the content photo through the feathered mask
  NAME_STYLE.safetensors   tensors "latents" and "style", each (n_latent, style_dim)
  grid.png                 with --grid: content | style | mix, one row per pair (saved latents shown as the
                           image they decode to)

with --align (photos that are not FFHQ-aligned crops): NAME_STYLE.png is the content photo with every face
mixed and pasted back, "latents" is (faces, n_latent, style_dim); a style photo gives its first face.

An unreadable image or latents file is skipped (with its pairs) with a warning; the exit code is then 1. Bad
arguments (saved latents of another model's shape among them) exit with code 2.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "mix",
        help="style-mix photos with other photos or random styles",
        description="Replace some style vectors of each content photo's W+ latents with a style's, and decode.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_io_options(parser, "content photo or latents")
    group = parser.add_argument_group("mix")
    source = group.add_mutually_exclusive_group()
    source.add_argument(
        "--style", nargs="+", metavar="STYLE", help="style photos or saved latents: files, globs or folders of images"
    )
    source.add_argument(
        "--random", type=positive_int, metavar="N", help="N random styles for every content input (default: one each)"
    )
    group.add_argument("--layers", default="coarse", help="style vectors taken from the style (default coarse)")
    group.add_argument("--seed", type=int, default=0, help="seed of the random styles (default 0)")
    group.add_argument("--truncation", type=float, default=0.7, help="psi of the random styles (default 0.7)")
    group.add_argument(
        "--feather-px", type=float, help="sigma of the paste's soft edge, in output pixels (default resolution/64)"
    )
    group.add_argument("--iterations", type=positive_int, help="refinement steps (default: the model's)")
    add_align_options(parser, keep_aligned=False)
    add_model_options(parser)
    parser.set_defaults(func=run)


# One inverted input: latents (n_latent, style_dim), the photo (3, R, R) or None (saved latents), its mask
# (1, R, R) or None.
Row = tuple[Tensor, Union[Tensor, None], Union[Tensor, None]]  # noqa: UP007 (runtime alias on Python 3.10)
Pair = tuple[int, int]  # (content index, style index)


def pair_up(n_content: int, n_style: int, *, per_photo: bool) -> list[Pair]:
    """Which content goes with which style: every content with every style (``per_photo``: --random N), or in
    order when there are as many of each, or one of either shared by all the others.

    Raises:
        ValueError: several of each, in different numbers.
    """
    if per_photo:
        return [(c, s) for c in range(n_content) for s in range(n_style)]
    if n_content != n_style and 1 not in (n_content, n_style):
        raise ValueError(
            f"{n_content} content photos and {n_style} styles do not pair up: give as many of each, or one of "
            "either (or --random N for N random styles per photo)"
        )
    n = max(n_content, n_style)
    return [(min(i, n_content - 1), min(i, n_style - 1)) for i in range(n)]


class _Inverted:
    """Photos inverted when first needed, several at a time; a photo that cannot be read is remembered as
    None (warned about once), and each is dropped after the last pair that uses it."""

    def __init__(self, invert_some: Callable[[list[int]], dict[int, Any]], uses: Sequence[int]) -> None:
        self.invert_some = invert_some
        self.last_use = {index: position for position, index in enumerate(uses)}
        self.done: dict[int, Any] = {}

    def get(self, indices: Sequence[int]) -> dict[int, Any]:
        """The inverted photos at ``indices`` that could be read."""
        todo = sorted({i for i in indices if i not in self.done})
        if todo:
            found = self.invert_some(todo)
            self.done.update({i: found.get(i) for i in todo})
        return {i: self.done[i] for i in indices if self.done[i] is not None}

    def release(self, position: int) -> None:
        """Forget the photos no pair after ``position`` needs."""
        for index in [i for i in self.done if self.last_use[i] <= position]:
            del self.done[index]


def _rows(
    model: IntereStyleModel,
    reader: Reader,
    inputs: list[MixInput],
    indices: list[int],
    masks: MaskFinder | None,
    args: argparse.Namespace,
) -> dict[int, Row]:
    """The rows of the inputs at ``indices``: saved latents as they are, photos inverted (the unreadable ones,
    photos or latents files, are left out, already warned about)."""
    # on the model's device, as inverted latents are, so that a batch of both stacks
    rows: dict[int, Row] = {
        i: (t.to(model.device, model.dtype), None, None) for i in indices if (t := inputs[i].latents) is not None
    }
    ok, images = [], []
    for i in indices:
        if inputs[i].is_photo and (image := reader.read(inputs[i].path)) is not None:
            ok.append(i)
            images.append(image)
    if not images:
        return rows
    mask = None if masks is None else masks.masks([inputs[i].path for i in ok])
    result = invert(model, images, mask=mask, iterations=args.iterations, batch_size=args.batch_size, progress=False)
    for k, i in enumerate(ok):
        rows[i] = (result.latents[k], result.inputs[k], None if result.masks is None else result.masks[k])
    return rows


def _invert_aligned(
    model: IntereStyleModel,
    reader: Reader,
    path: Path,
    masks: MaskFinder | None,
    args: argparse.Namespace,
    landmarks: LandmarkProvider,
) -> InversionResult | None:
    """One photo inverted with ``align=True`` (every face), or None when it is unreadable or has no face."""
    image = reader.read(path)
    if image is None:
        return None
    try:
        return invert(
            model, image, mask=None if masks is None else masks.masks([path]), iterations=args.iterations,
            batch_size=args.batch_size, progress=False, align=True, landmarks=landmarks,
        )  # fmt: skip
    except NoFaceError as exc:
        warn("mix", f"skipped {path}: {exc}")
        reader.skipped.append(path)
        return None


class _Job:
    """What every mode of ``mix`` shares: inputs, pairs, names, the model and the outputs."""

    def __init__(self, args: argparse.Namespace, content_paths: list[Path]) -> None:
        self.args = args
        style_paths = expand_inputs(args.style, what="style") if args.style else []
        self.masks = MaskFinder(args.mask)
        self.model = load_model(args)
        self.layers = resolve_layers(args.layers, self.model.n_latent)
        side = None if args.align else model_side(self.model)
        self.reader = Reader("mix", self.masks, side=side)
        self.style_reader = Reader("mix", side=side)
        self.style_reader.skipped = self.reader.skipped  # one count for the exit code
        self.contents = mix_inputs(content_paths, self.reader)
        self.styles = mix_inputs(style_paths, self.style_reader)
        check_latents_fit([*self.contents, *self.styles], self.model, args.model)
        n_saved = sum(1 for c in self.contents if not c.is_photo)
        if args.mask is not None and n_saved:
            warn("mix", f"--mask: {n_saved} content input(s) are saved latents, with no photo to paste into: their "
                 "mixes are written as the generator made them")  # fmt: skip
        n_content = len(self.contents)
        self.n_style = len(self.styles) if self.styles else (args.random or n_content)
        self.pairs = pair_up(n_content, self.n_style, per_photo=args.random is not None)
        self.style_names = [s.name for s in self.styles] if self.styles else [f"random{k}" for k in range(self.n_style)]
        self.randoms = (
            None if self.styles else random_styles(self.model, self.n_style, seed=args.seed, truncation=args.truncation)
        )
        self.out = output_folder(args.out)
        self.grid = Grid(args.grid, ["content", "style", f"mix ({args.layers})"])
        self.written = 0

    def name(self, pair: Pair) -> str:
        return f"{self.contents[pair[0]].name}_{self.style_names[pair[1]]}"

    def picture(self, photo: Tensor | None, latents: Tensor) -> Any:
        """A grid cell: the photo, or for saved latents (no photo) the image they decode to; None without --grid."""
        if not self.grid.enabled:
            return None
        if photo is not None:
            return to_pil(photo)[0]
        with torch.no_grad():
            return to_pil(self.model.decode(latents[None].to(self.model.device, self.model.dtype)))[0]

    def save(self, pair: Pair, image: Any, latents: Tensor, style: Tensor) -> None:
        c, s = pair
        name = self.name(pair)
        save_png(image, self.out / f"{name}.png")
        source = self.styles[s].describe() if self.styles else f"random style {s}, seed {self.args.seed}"
        metadata = {
            "content": self.contents[c].describe(),
            "style": source,
            "layers": ",".join(map(str, self.layers)),
            "model": str(self.args.model),
        }
        save_latents(self.out / f"{name}.safetensors", {"latents": latents, "style": style}, metadata)
        self.written += 1

    def finish(self, what: str) -> int:
        sheet = self.grid.save(self.out / "grid.png")
        print(f"mixed {self.written} {what} into {self.out}" + (f"; contact sheet {sheet}" if sheet else ""))
        return self.reader.exit_code()


def run(args: argparse.Namespace) -> int:
    content_paths = expand_inputs(args.inputs, what="content")
    if args.align and (saved := [p for p in content_paths if is_latents_input(p)]):
        raise ValueError(
            f"--align pastes each face's mix back into its content photo, and {saved[0]} holds saved latents, "
            "which have no photo: give the photos, or leave out --align"
        )
    landmarks = landmark_provider(args) if args.align else None
    job = _Job(args, content_paths)
    if landmarks is not None:
        return _run_aligned(job, landmarks)
    model, reader, args = job.model, job.reader, job.args
    contents = _Inverted(
        lambda todo: _rows(model, reader, job.contents, todo, job.masks, args), [c for c, _ in job.pairs]
    )
    styles = _Inverted(
        lambda todo: _rows(model, job.style_reader, job.styles, todo, None, args), [s for _, s in job.pairs]
    )
    for shared, inputs in ((contents, job.contents), (styles, job.styles)):
        if len(inputs) == 1 and not shared.get([0]):
            raise ValueError(f"{inputs[0].path} cannot be read, and every pair needs it")
    with tqdm(total=len(job.pairs), desc="mix", unit="pair", disable=args.no_progress) as bar:
        for start in range(0, len(job.pairs), args.batch_size):
            batch = job.pairs[start : start + args.batch_size]
            content = contents.get([c for c, _ in batch])
            batch = [p for p in batch if p[0] in content]
            style: dict[int, Row] = {}
            if job.styles and batch:
                style = styles.get([s for _, s in batch])
                batch = [p for p in batch if p[1] in style]
            bar.update(min(args.batch_size, len(job.pairs) - start))
            if batch:
                _mix_batch(job, batch, content, style)
            contents.release(start + args.batch_size - 1)
            styles.release(start + args.batch_size - 1)
    return job.finish("pair(s)")


def _mix_batch(job: _Job, batch: list[Pair], content: dict[int, Row], style: dict[int, Row]) -> None:
    model, args = job.model, job.args
    rows = [content[c] for c, _ in batch]
    latents = torch.stack([r[0] for r in rows])
    if job.randoms is not None:
        styles = job.randoms[[s for _, s in batch]]
        style_images = to_pil(model.decode(styles))
    else:
        styles = torch.stack([style[s][0] for _, s in batch])
        style_images = [job.picture(style[s][1], style[s][0]) for _, s in batch]
    result = style_mix(model, latents, styles, layers=job.layers, batch_size=args.batch_size, progress=False)
    images = result.images
    # the photos with a mask get the mix pasted in; saved latents have no photo, their mixes stay as decoded
    pasted = [(k, photo, mask) for k, (_, photo, mask) in enumerate(rows) if photo is not None and mask is not None]
    if pasted:
        at = [k for k, _, _ in pasted]
        photos = torch.stack([photo for _, photo, _ in pasted]).to(images.device)
        masks = torch.stack([mask for _, _, mask in pasted]).to(images.device)
        images = images.clone()
        images[at] = composite_through_mask(images[at], photos, masks, feather_px=args.feather_px)
    mixed = to_pil(images)
    for k, pair in enumerate(batch):
        job.save(pair, mixed[k], result.latents[k], styles[k])
        job.grid.add([job.picture(rows[k][1], rows[k][0]), style_images[k], mixed[k]], job.name(pair))


def _run_aligned(job: _Job, lm: LandmarkProvider) -> int:
    """``mix --align``: each content photo's faces aligned, inverted, mixed and pasted back; one photo at a time.
    A style is a style photo's first face, or a row of saved latents."""
    model, args = job.model, job.args
    contents = _Inverted(
        lambda todo: {i: _invert_aligned(model, job.reader, job.contents[i].path, job.masks, args, lm) for i in todo},
        [c for c, _ in job.pairs],
    )
    styles = _Inverted(
        lambda todo: {
            i: job.styles[i].latents
            if not job.styles[i].is_photo
            else _invert_aligned(model, job.style_reader, job.styles[i].path, None, args, lm)
            for i in todo
        },
        [s for _, s in job.pairs],
    )
    feather = feather_fraction_of(args.feather_px, model.resolution)
    for position, (c, s) in enumerate(tqdm(job.pairs, desc="mix", unit="pair", disable=args.no_progress)):
        content = contents.get([c]).get(c)
        if content is None:
            continue
        if job.randoms is not None:
            style, style_image = job.randoms[s : s + 1], to_pil(model.decode(job.randoms[s : s + 1]))[0]
        else:
            found = styles.get([s]).get(s)
            if found is None:
                continue
            if isinstance(found, Tensor):
                style, style_image = found[None], job.picture(None, found)
            else:
                style, style_image = found.latents[:1], to_pil(found.inputs[:1])[0]
        result = style_mix(
            model, content, style, layers=job.layers, batch_size=args.batch_size, progress=False, align=True,
            feather_fraction=feather,
        )  # fmt: skip
        assert result.photos is not None and content.photos is not None
        (photo,) = to_pil(result.photos[0])
        job.save((c, s), photo, result.latents, style[0])
        job.grid.add([to_pil(content.photos[0])[0], style_image, photo], job.name((c, s)))
        contents.release(position)
        styles.release(position)
    return job.finish("photo(s)")
