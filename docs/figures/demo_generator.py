"""Make docs/img/demo-generator-samples.png: the embedded demo generator's samples from z ~ N(0, I).

Top row: what the renderer draws for each z's attributes (the generator's training target); the rows
below: the generator's own samples, the first of them from the same z as the targets above.

Run: python docs/figures/demo_generator.py
"""

from __future__ import annotations

from pathlib import Path

import torch

import interestyle as its
from interestyle.synthetic import DEMO_DOMAIN, attributes_from_latent, render
from interestyle.synthetic.faces_v2 import attributes_v2_from_latent

OUT = Path(__file__).resolve().parents[1] / "img" / "demo-generator-samples.png"


@torch.no_grad()
def main(columns: int = 10, rows: int = 3) -> None:
    model = its.load_encoder()
    z = torch.randn(rows * columns, model.style_dim, generator=torch.Generator().manual_seed(2026))
    samples = model.generator(z, input_space="z", noise_mode="const").clamp(-1, 1)
    to_attributes = attributes_v2_from_latent if DEMO_DOMAIN == "v2" else attributes_from_latent
    targets = render(to_attributes(z[:columns]), size=model.resolution).clean
    grid = [torch.cat(list(targets), dim=2)]
    grid += [torch.cat(list(samples[r * columns : (r + 1) * columns]), dim=2) for r in range(rows)]
    its.to_pil(torch.cat(grid, dim=1))[0].resize((columns * 96, (rows + 1) * 96)).save(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
