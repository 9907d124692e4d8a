"""Do the v2 demo model's edits change what they are named for, and nothing else?

Held-out faces of the v2 domain are inverted by the model (or, with ``--generator``, sampled from the
generator, whose own latents stand in for inversions); each shipped direction is applied at its strength;
the attribute read-out (``benchmarks/attribute_readout.py``) reads every attribute of the edited and
the unedited reconstruction, in fractions of each attribute's range. Reported per direction:

* target change, two ways:

  - far: each face is edited toward the end of the range it is farther from (the documented strength for
    a face with room above, its negative for one near the top: an edit is used to give a face what it
    lacks), and counted where the attribute moved by at least ``--amount`` of its range (or 90% of the
    room, for the rare face with less than that either way);
  - one way: every face is edited with the positive strength, and counted where the attribute moved by
    ``--amount`` or by 90% of the room left to that end (a face whose hair is already grey cannot turn
    half a range greyer). Faces already near that end fail here on the read-out's noise.

  The end of the range is where the read-out puts it for that face: its reading of the renderer's image
  of the same face with the attribute at that end (it reads 0.95-0.98 there, not 1, so the room is
  measured with the instrument that measures the move);
* others (far): the mean absolute change of every other attribute, and the attribute that moved most
  (its mean absolute change);
* the perfect edit: the same figure for the renderer's own faces with only the target moved, by the
  edit's mean change toward the same ends (`renderer_reference`). Nothing else changed there, so what the
  read-out reports is its own confusion between attributes: the floor under the edit's figure.

    python benchmarks/demo_edits.py --model DIR [--strength smile=0.7 ...] [-n 200] [--json out.json]
    python benchmarks/demo_edits.py --generator DIR --directions DIR ...
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attribute_readout import DEFAULT_WEIGHTS, NAMES, AttributeReadout, load_readout

from interestyle.directions import DirectionSet
from interestyle.models.generator import Generator, load_generator
from interestyle.synthetic import make_batch, render
from interestyle.synthetic.faces_v2 import ATTRIBUTES_V2, EDIT_ATTRIBUTES, attributes_v2_from_latent

HELD_OUT_SEED = 650_001


class OtherMoves(TypedDict):
    """How far the attributes other than an edit's target moved, in fractions of each one's range."""

    others_mean_abs_change: float
    others_worst_attribute: float
    others_worst_name: str


class EditFigures(OtherMoves):
    """What `edit_figures` measures, in fractions of each attribute's range."""

    target_mean_change: float
    target_success_rate: float


def edit_figures(
    readout: AttributeReadout,
    decode: Callable[[torch.Tensor], torch.Tensor],
    latents: torch.Tensor,
    offset: torch.Tensor,
    target: str,
    sign: float,
    amount: float,
    end: torch.Tensor | None = None,
    flip: torch.Tensor | None = None,
    before: torch.Tensor | None = None,
) -> EditFigures:
    """Figures of one edit: ``latents`` (N, n_latent, style_dim) moved by ``offset`` (n_latent, style_dim).

    ``end`` (N,): the read-out's value of each face at the end of the attribute's range that the edit moves
    toward (`range_end_readings`); None takes 1 (or 0 for a negative sign). ``flip`` (N,) of +1 and -1
    (`far_side`): face i is moved by ``flip[i] * offset``, toward the other end of the range where -1, with
    ``end`` that end's reading; None moves every face by ``offset``. ``before``: `readings` of ``latents``, when
    the caller measures several edits of the same faces; None reads them here.
    """
    flip = torch.ones(len(latents)) if flip is None else flip.to(torch.float32)
    if before is None:
        before = readings(readout, decode, latents)
    after = readings(readout, decode, latents + flip[:, None, None] * offset)
    k = NAMES.index(target)
    way = sign * flip
    moved = way * (after[:, k] - before[:, k])
    if end is None:
        end = (way > 0).float()
    room = (way * (end - before[:, k])).clamp(min=0)
    needed = torch.minimum(torch.full_like(room, amount), 0.9 * room)
    return {
        "target_mean_change": moved.mean().item(),
        "target_success_rate": (moved >= needed).float().mean().item(),
        **other_moves(before, after, target),
    }


def other_moves(before: torch.Tensor, after: torch.Tensor, target: str) -> OtherMoves:
    """The mean absolute change over faces and attributes of every attribute but ``target`` between two
    (N, attributes) readings, and the attribute that moved most (its mean absolute change)."""
    k = NAMES.index(target)
    change = (after - before).abs()
    others = torch.cat([change[:, :k], change[:, k + 1 :]], 1)
    names = NAMES[:k] + NAMES[k + 1 :]
    worst = int(others.mean(0).argmax())
    return {
        "others_mean_abs_change": others.mean().item(),
        "others_worst_attribute": others.mean(0)[worst].item(),
        "others_worst_name": names[worst],
    }


@torch.no_grad()
def renderer_reference(
    readout: AttributeReadout,
    attributes: dict[str, torch.Tensor],
    target: str,
    way: torch.Tensor,
    move: float,
    size: int,
) -> OtherMoves:
    """What the read-out reports for a perfect edit: the renderer's clean image of each face against the same
    face with only ``target`` moved by ``move`` of its range, upward where ``way`` (N,) is +1 and downward
    where it is -1 (clamped to the range). Whatever the other attributes move by here is the read-out's
    own confusion (a blond brow is read thinner than a dark one of the same width), the floor under an
    edit's figures."""
    k = NAMES.index(target)
    low, high = ATTRIBUTES_V2[k][1], ATTRIBUTES_V2[k][2]
    value = attributes[target] + way.to(attributes[target].dtype) * move * (high - low)
    moved = {**attributes, target: value.clamp(low, high)}
    return other_moves(renderer_readings(readout, attributes, size), renderer_readings(readout, moved, size), target)


@torch.no_grad()
def renderer_readings(readout: AttributeReadout, attributes: dict[str, torch.Tensor], size: int) -> torch.Tensor:
    """(N, attributes): the read-out's values, clamped to [0, 1], of the renderer's clean images of
    ``attributes`` (each (N,)), 100 at a time."""
    return torch.cat([readout(chunk) for chunk in render(attributes, size=size).clean.split(100)]).clamp(0, 1)


@torch.no_grad()
def readings(
    readout: AttributeReadout, decode: Callable[[torch.Tensor], torch.Tensor], latents: torch.Tensor
) -> torch.Tensor:
    """(N, attributes): the read-out's values, clamped to [0, 1], of the images of ``latents`` (N, ...)."""
    return readout(decode(latents)).clamp(0, 1)


def far_side(
    before: torch.Tensor, target: str, ends: tuple[torch.Tensor, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each face, the way to edit it with more room: ``(flip, end)``, ``flip`` (N,) +1 where the room
    toward the end a positive strength heads for is at least the room toward the other end, else -1, and
    ``end`` (N,) the reading of the end chosen. ``before`` (N, attributes): the faces' `readings`; ``ends``:
    the read-out's readings of the end a positive strength heads for and of the other one
    (`range_ends`)."""
    k = NAMES.index(target)
    toward, away = ends
    forward = (toward - before[:, k]).abs() >= (away - before[:, k]).abs()
    return torch.where(forward, 1.0, -1.0), torch.where(forward, toward, away)


def decoder(generator: Generator) -> Callable[[torch.Tensor], torch.Tensor]:
    """W+ latents (N, n_latent, style_dim) -> the generator's images (N, 3, H, W) in [-1, 1], 50 at a time."""

    def decode(w: torch.Tensor) -> torch.Tensor:
        return torch.cat([generator(c, input_space="w+", noise_mode="const") for c in w.split(50)]).clamp(-1, 1)

    return decode


@torch.no_grad()
def generator_samples(generator: Generator, n: int, seed: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``n`` samples of ``generator`` standing in for inversions: their W+ latents (each w repeated over the
    style vectors, (n, n_latent, style_dim)) and the attributes their z encode."""
    z = torch.randn(n, generator.config.style_dim, generator=torch.Generator().manual_seed(seed))
    latents = generator.mapping(z)[:, None].expand(-1, generator.n_latent, -1)
    return latents, attributes_v2_from_latent(z)


@torch.no_grad()
def range_end_readings(
    readout: AttributeReadout, attributes: dict[str, torch.Tensor], target: str, sign: float, size: int
) -> torch.Tensor:
    """(N,): the read-out's value of ``target`` on the renderer's clean image of each face (``attributes``,
    as ``sample_attributes_v2`` gives them) with ``target`` set to the end of its range a move of ``sign``
    heads for."""
    k = NAMES.index(target)
    value = ATTRIBUTES_V2[k][2] if sign > 0 else ATTRIBUTES_V2[k][1]
    moved = {**attributes, target: torch.full_like(attributes[target], value)}
    return renderer_readings(readout, moved, size)[:, k]


def range_ends(
    readout: AttributeReadout, attributes: dict[str, torch.Tensor], target: str, sign: float, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """`range_end_readings` of the end a move of ``sign`` heads for and of the other end: the ``ends`` of
    `far_side`."""
    return (
        range_end_readings(readout, attributes, target, sign, size),
        range_end_readings(readout, attributes, target, -sign, size),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="an IntereStyle model folder or embedded name (inverts held-out faces)")
    source.add_argument("--generator", type=Path, help="a generator folder (its own latents stand in for inversions)")
    parser.add_argument("--directions", type=Path, help="a DirectionSet folder (default: the model's shipped one)")
    parser.add_argument(
        "--strength",
        action="append",
        default=[],
        metavar="NAME=STRENGTH",
        help="strength in the direction's units (the demo's: ranges of the attribute; default: the direction's "
        "recommended strength, else 1)",
    )
    parser.add_argument("--amount", type=float, default=0.5, help="target move, fraction of range (default 0.5)")
    parser.add_argument("-n", type=int, default=200, help="held-out faces (default 200)")
    parser.add_argument("--readout", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    strengths = {}
    for spec in args.strength:
        name, sep, value = spec.partition("=")
        if not sep:
            parser.error(f"--strength {spec!r}: expected NAME=STRENGTH")
        strengths[name] = float(value)
    readout = load_readout(args.readout)

    if args.model is not None:
        import interestyle as its

        model = its.load_encoder(args.model)
        generator, n_latent = model.generator, model.n_latent
        directions = DirectionSet.from_pretrained(args.directions or args.model)
        batch = make_batch(args.n, size=model.resolution, seed=HELD_OUT_SEED, condition="clean", domain="v2")
        latents = its.invert(model, batch.image, progress=False).latents.float()
        attributes = batch.attributes
    else:
        if args.directions is None:
            parser.error("--generator needs --directions")
        generator, _ = load_generator(args.generator)
        n_latent = generator.n_latent
        directions = DirectionSet.from_pretrained(args.directions)
        latents, attributes = generator_samples(generator, args.n, HELD_OUT_SEED)
    size = generator.config.resolution
    decode = decoder(generator)
    before = readings(readout, decode, latents)

    results = {}
    print(
        f"| edit | strength | target | far: mean change | far: moved >= {args.amount:g} | "
        f"one way: moved >= {args.amount:g} (or 90% of room) | others | worst other | worst other, perfect edit |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, direction in directions.items():
        if name not in EDIT_ATTRIBUTES:
            continue
        target, sign = EDIT_ATTRIBUTES[name]
        strength = strengths.get(name, direction.strength or 1.0)
        offset = strength * direction.unit * direction.for_model(n_latent, generator.config.style_dim)
        ends = range_ends(readout, attributes, target, sign, size)
        one_way = edit_figures(readout, decode, latents, offset, target, sign, args.amount, ends[0], before=before)
        flip, end = far_side(before, target, ends)
        far = edit_figures(readout, decode, latents, offset, target, sign, args.amount, end, flip, before)
        negative = (flip < 0).float().mean().item()
        perfect = renderer_reference(readout, attributes, target, sign * flip, far["target_mean_change"], size)
        results[name] = {
            "strength": strength,
            "target": target,
            "far": far,
            "one_way": one_way,
            "far_share_negative": negative,
            "perfect_edit": perfect,
        }
        print(
            f"| {name} | {strength:g} | {target} | {far['target_mean_change']:+.3f} | "
            f"{far['target_success_rate']:.1%} ({negative:.0%} edited with -{strength:g}) | "
            f"{one_way['target_success_rate']:.1%} | {far['others_mean_abs_change']:.3f} | "
            f"{far['others_worst_name']} {far['others_worst_attribute']:.3f} | "
            f"{perfect['others_worst_name']} {perfect['others_worst_attribute']:.3f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "amount": args.amount, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
