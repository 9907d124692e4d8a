"""Do the v2 demo model's edits change what they are named for, and nothing else?

Held-out faces of the v2 domain are inverted by the model (or, with ``--generator``, sampled from the
generator, whose own latents stand in for inversions); each shipped direction is applied at its strength;
the attribute read-out (``benchmarks/attribute_readout.py``) reads every attribute of the edited and
the unedited reconstruction, in fractions of each attribute's range. Reported per direction:

* target change: mean change of the named attribute, and the share of faces where it moved by at least
  ``--amount`` of its range, or by 90% of the room left to the end of its range when less room is left
  (a face whose hair is already grey cannot turn half a range greyer);
* others: the mean absolute change of every other attribute.

    python benchmarks/demo_edits.py --model DIR [--strength smile=8 ...] [-n 200] [--json out.json]
    python benchmarks/demo_edits.py --generator DIR --directions DIR ...
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attribute_readout import DEFAULT_WEIGHTS, NAMES, AttributeReadout, load_readout

from interestyle.directions import DirectionSet
from interestyle.synthetic import make_batch
from interestyle.synthetic.faces_v2 import EDIT_ATTRIBUTES

HELD_OUT_SEED = 650_001


def edit_figures(
    readout: AttributeReadout,
    decode: Callable[[torch.Tensor], torch.Tensor],
    latents: torch.Tensor,
    offset: torch.Tensor,
    target: str,
    sign: float,
    amount: float,
) -> dict[str, float]:
    """Figures of one edit: ``latents`` (N, n_latent, style_dim) moved by ``offset`` (n_latent, style_dim)."""
    with torch.no_grad():
        before = readout(decode(latents)).clamp(0, 1)
        after = readout(decode(latents + offset)).clamp(0, 1)
    k = NAMES.index(target)
    moved = sign * (after[:, k] - before[:, k])
    room = (1 - before[:, k]) if sign > 0 else before[:, k]
    needed = torch.minimum(torch.full_like(room, amount), 0.9 * room)
    others = torch.cat([(after - before)[:, :k], (after - before)[:, k + 1 :]], 1).abs()
    return {
        "target_mean_change": moved.mean().item(),
        "target_success_rate": (moved >= needed).float().mean().item(),
        "others_mean_abs_change": others.mean().item(),
        "others_worst_attribute": others.mean(0).max().item(),
    }


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
        metavar="NAME=W",
        help="strength in W units (default: the direction's recommended strength, else 1)",
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
            parser.error(f"--strength {spec!r}: expected NAME=W")
        strengths[name] = float(value)
    readout = load_readout(args.readout)

    if args.model is not None:
        import interestyle as its

        model = its.load_encoder(args.model)
        generator, n_latent = model.generator, model.n_latent
        directions = DirectionSet.from_pretrained(args.directions or args.model)
        batch = make_batch(args.n, size=model.resolution, seed=HELD_OUT_SEED, condition="clean", domain="v2")
        latents = its.invert(model, batch.image, progress=False).latents.float()
    else:
        from interestyle.models.generator import load_generator

        if args.directions is None:
            parser.error("--generator needs --directions")
        generator, _ = load_generator(args.generator)
        n_latent = generator.n_latent
        directions = DirectionSet.from_pretrained(args.directions)
        z = torch.randn(args.n, generator.config.style_dim, generator=torch.Generator().manual_seed(HELD_OUT_SEED))
        with torch.no_grad():
            latents = generator.mapping(z)[:, None].expand(-1, n_latent, -1)

    def decode(w: torch.Tensor) -> torch.Tensor:
        return torch.cat([generator(c, input_space="w+", noise_mode="const") for c in w.split(50)]).clamp(-1, 1)

    results = {}
    print(f"| edit | strength (W) | target | mean change | moved >= {args.amount:g} (or 90% of room) | others |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, direction in directions.items():
        if name not in EDIT_ATTRIBUTES:
            continue
        target, sign = EDIT_ATTRIBUTES[name]
        strength = strengths.get(name, direction.strength or 1.0)
        offset = strength * direction.for_model(n_latent, generator.config.style_dim)
        figures = edit_figures(readout, decode, latents, offset, target, sign, args.amount)
        results[name] = {"strength": strength, "target": target, **figures}
        print(
            f"| {name} | {strength:g} | {target} | {figures['target_mean_change']:+.3f} | "
            f"{figures['target_success_rate']:.1%} | {figures['others_mean_abs_change']:.3f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "amount": args.amount, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
