"""Fit the v2 demo model's edit directions on its generator's W, from the renderer's attribute values.

Each face's attributes are known (``attributes_v2_from_latent(z)``), so the directions come from a least
squares fit of w on the normalised attributes, ``w ~ mean + B a``: row ``B[k]`` is how w moves per full
range of attribute k with the others held fixed. Each direction acts only on the style vectors of its
attribute's layer group (``faces_v2.ATTRIBUTE_GROUPS``; a smile on the middle layers, hair colour on the
fine ones), so an edit cannot move the attributes of the other groups. Its description records the
strength, in W units, that moves the attribute across its whole range, and its recommended strength
(``Direction.strength``, what ``edit`` uses by default) is :data:`EDIT_FRACTION` of that.

    python recipes/demo_directions.py GENERATOR_DIR --out DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from interestyle.directions import Direction, DirectionSet
from interestyle.editing import layer_groups
from interestyle.models.generator import Generator, load_generator
from interestyle.synthetic.faces_v2 import ATTRIBUTES_V2, EDIT_ATTRIBUTES, attribute_group, attributes_v2_from_latent

NAMES = tuple(a[0] for a in ATTRIBUTES_V2)
EDIT_FRACTION = 0.6  # the recommended strength moves an attribute by this share of its range (linear fit)


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
            f"{attribute} ({group} layers {groups[group].start}-{groups[group].stop - 1}); strength "
            f"{row.norm().item():.2f} (W units) moves it across its whole range; least squares of w on the "
            f"attributes over {samples} latents, unexplained variance of w {residual.item():.1%}"
        )
        strength = EDIT_FRACTION * row.norm().item()
        directions.append(Direction(vector, name=name, description=description, strength=strength))
    return DirectionSet(directions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generator", type=Path, help="a generator folder (recipes/demo_generator.py --export)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write directions.safetensors/.json into")
    args = parser.parse_args()
    generator, _ = load_generator(args.generator)
    directions = fit_attribute_directions(generator)
    directions.save_pretrained(args.out)
    for name, d in directions.items():
        print(f"{name}: {d.description}")


if __name__ == "__main__":
    main()
