"""Fit the v2 demo model's edit directions on its generator's W, from the renderer's attribute values.

Each face's attributes are known (``attributes_v2_from_latent(z)``), so the directions come from a least
squares fit of w on the normalised attributes, ``w ~ mean + B a``: row ``B[k]`` is how w moves per full
range of attribute k with the others held fixed. Each direction acts only on the style vectors of its
attribute's layer group (``faces_v2.ATTRIBUTE_GROUPS``; a smile on the middle layers, hair colour on the
fine ones), so an edit cannot move the attributes of the other groups.

Strengths are in attribute ranges: a direction's ``unit`` is the W distance ``|B[k]|``, so strength 1
moves the attribute across its whole range by the linear fit, 0.5 across half of it. The recommended
strength (``Direction.strength``, what ``edit`` uses by default) is calibrated with the attribute
read-out of ``benchmarks/attribute_readout.py`` on generator samples of a validation seed, or
(``recipes/pack_demo.py``, which ships them) on the demo encoder's inversions of validation faces, what
edits are applied to in use (never the benchmark's held-out faces): of the fractions :data:`FRACTIONS`,
applied on the whole layer group or on its finest layers only (the group from one of its layers on), the
one that moves the attribute by half its range on the most samples, each edited toward the end of the
range it is farther from (the benchmark's "far" figure), while the other attributes move by at most
:data:`MAX_SIDE_EFFECT` of their ranges on average. A linear edit saturates, and past the best fraction
it pushes faces already near the end of the range off the generator's manifold; skin tone, for one,
lives in the finest layers of its group.

    python recipes/demo_directions.py GENERATOR_DIR --out DIR [--no-calibrate]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from attribute_readout import DEFAULT_WEIGHTS, AttributeReadout, load_readout
from demo_edits import decoder, edit_figures, far_side, generator_samples, range_ends, readings

from interestyle.directions import Direction, DirectionSet
from interestyle.editing import layer_groups
from interestyle.models.generator import Generator, load_generator
from interestyle.synthetic.faces_v2 import ATTRIBUTES_V2, EDIT_ATTRIBUTES, attribute_group, attributes_v2_from_latent

NAMES = tuple(a[0] for a in ATTRIBUTES_V2)
EDIT_FRACTION = 0.6  # the recommended strength without calibration, in attribute ranges
FRACTIONS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5)
MAX_SIDE_EFFECT = 0.08  # mean absolute move of the other attributes, in their ranges
CALIBRATION_SEED = 640_001  # the benchmark's held-out faces use 650_001


@torch.no_grad()
def fit_attribute_directions(generator: Generator, samples: int = 20_000, seed: int = 7) -> DirectionSet:
    """The :data:`EDIT_ATTRIBUTES` directions for ``generator`` (per layer: (n_latent, style_dim), zero outside
    the attribute's layer group), fitted on ``samples`` latents."""
    z = torch.randn(samples, generator.config.style_dim, generator=torch.Generator().manual_seed(seed))
    w = torch.cat([generator.mapping(chunk) for chunk in z.split(1000)]).double()
    attributes = attributes_v2_from_latent(z)
    low = torch.tensor([a[1] for a in ATTRIBUTES_V2], dtype=torch.float64)
    high = torch.tensor([a[2] for a in ATTRIBUTES_V2], dtype=torch.float64)
    a = (torch.stack([attributes[n].double() for n in NAMES], 1) - low) / (high - low)
    a_c = a - a.mean(0)
    per_range = torch.linalg.lstsq(a_c, w - w.mean(0)).solution  # (attributes, style_dim)
    residual = (w - w.mean(0) - a_c @ per_range).square().sum() / (w - w.mean(0)).square().sum()
    groups = layer_groups(generator.n_latent)
    directions = []
    for name, (attribute, sign) in EDIT_ATTRIBUTES.items():
        row = sign * per_range[NAMES.index(attribute)]
        group = attribute_group(attribute)
        vector = torch.zeros(generator.n_latent, generator.config.style_dim, dtype=torch.float64)
        vector[groups[group]] = row
        description = (
            f"{attribute} ({group} layers {groups[group].start}-{groups[group].stop - 1}); strength in ranges "
            f"of the attribute: 1 moves it across its whole range (W distance {row.norm().item():.2f}); least "
            f"squares of w on the attributes over {samples} latents, unexplained variance of w {residual.item():.1%}"
        )
        directions.append(
            Direction(vector, name=name, description=description, unit=row.norm().item(), strength=EDIT_FRACTION)
        )
    return DirectionSet(directions)


@torch.no_grad()
def calibrate_strengths(
    generator: Generator,
    directions: DirectionSet,
    readout: AttributeReadout,
    samples: int = 200,
    inversions: tuple[torch.Tensor, dict[str, torch.Tensor]] | None = None,
) -> DirectionSet:
    """``directions`` with each recommended strength set to the best of :data:`FRACTIONS` on ``samples``
    generator samples of :data:`CALIBRATION_SEED` (see the module docstring), or on ``inversions``: the
    W+ latents (N, n_latent, style_dim) of an encoder's inversions of renderer faces and those faces'
    attributes (what an edit is applied to in use); the choice and its figures are appended to each
    description."""
    if inversions is None:
        latents, attributes = generator_samples(generator, samples, CALIBRATION_SEED)
        what = "validation samples"
    else:
        latents, attributes = inversions
        samples, what = len(latents), "inversions of validation faces"
    decode = decoder(generator)
    before = readings(readout, decode, latents)

    groups = layer_groups(generator.n_latent)
    calibrated = []
    for name, direction in directions.items():
        target, sign = EDIT_ATTRIBUTES[name]
        flip, end = far_side(before, target, range_ends(readout, attributes, target, sign, generator.config.resolution))
        vector = direction.for_model(generator.n_latent, generator.config.style_dim)
        group = groups[attribute_group(target)]
        trials = {}
        for layers in (range(start, group.stop) for start in group):
            unit = torch.zeros_like(vector)
            unit[layers] = direction.unit * vector[layers]
            for fraction in FRACTIONS:
                trials[layers, fraction] = edit_figures(
                    readout, decode, latents, fraction * unit, target, sign, 0.5, end, flip, before
                )
        allowed = [k for k, f in trials.items() if f["others_mean_abs_change"] <= MAX_SIDE_EFFECT] or [(group, 0.5)]
        layers, best = max(allowed, key=lambda k: (trials[k]["target_success_rate"], len(k[0]), -k[1]))
        figures = trials[layers, best]
        chosen = torch.zeros_like(vector)
        chosen[layers] = vector[layers]
        note = (
            f"; calibrated: acts on layers {layers.start}-{layers.stop - 1}, recommended strength {best:g}, chosen "
            f"on {samples} {what} (edited toward the end each face is farther from, moved half the range on "
            f"{figures['target_success_rate']:.0%}, other attributes {figures['others_mean_abs_change']:.3f} of "
            "their ranges)"
        )
        calibrated.append(
            Direction(chosen, name=name, description=direction.description + note, unit=direction.unit, strength=best)
        )
    return DirectionSet(calibrated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generator", type=Path, help="a generator folder (recipes/demo_generator.py --export)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write directions.safetensors/.json into")
    parser.add_argument("--readout", type=Path, default=DEFAULT_WEIGHTS, help="attribute read-out weights")
    parser.add_argument("--no-calibrate", action="store_true", help=f"recommend {EDIT_FRACTION} for every edit")
    args = parser.parse_args()
    torch.set_num_threads(1)
    generator, _ = load_generator(args.generator)
    directions = fit_attribute_directions(generator)
    if not args.no_calibrate:
        directions = calibrate_strengths(generator, directions, load_readout(args.readout))
    directions.save_pretrained(args.out)
    for name, d in directions.items():
        print(f"{name}: {d.description}")


if __name__ == "__main__":
    main()
