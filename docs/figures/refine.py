"""Make the before/after figure of docs/refine.md with the embedded demo model.

docs/img/refine-before-after.png: held-out occluded synthetic faces, their clean truth, and the
reconstructions of the encoder alone, of plain PTI and of masked PTI (``interestyle.refine`` at its
defaults), each captioned with its interest-region MSE and its leak MSE (face x occluder, against the
clean truth); the last two columns edit the encoder's and the masked-PTI result with the model's first
shipped direction, at its recommended strength: the edit moves both alike.

Run: python docs/figures/refine.py (about a minute of CPU; rerun it whenever the demo weights change).
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torch import Tensor

import interestyle as its
from interestyle.directions import shipped_directions
from interestyle.grids import image_grid
from interestyle.metrics import masked_mse
from interestyle.pivotal import DEFAULT_STEPS
from interestyle.synthetic import DEMO_DOMAIN, make_batch

ROOT = Path(__file__).resolve().parents[2]
IMG = ROOT / "docs" / "img"
SEED = 900_300  # held out: training seeds count up from 0, the benchmarks use 900_001
FACES = 3
CELL, PAD, LABEL_W, LABEL_H = 96, 2, 56, 16


def _cell(image: Tensor, text: str | None = None) -> Image.Image:
    out = its.to_pil(image.float().clamp(-1, 1).cpu())[0].resize((CELL, CELL), Image.Resampling.NEAREST)
    if text:
        draw = ImageDraw.Draw(out)
        draw.rectangle((0, CELL - 13, CELL, CELL), fill=(255, 255, 255))
        draw.text((2, CELL - 13), text, fill=(0, 0, 0))
    return out


def before_after(
    model: its.IntereStyleModel, direction: its.Direction, *, steps: int = DEFAULT_STEPS, faces: int = FACES
) -> Image.Image:
    """The figure for ``model``: one row per face; the edits move along ``direction`` at its recommended
    strength (else 1)."""
    strength = direction.strength or 1.0
    batch = make_batch(faces, size=model.resolution, seed=SEED, condition="occluded", domain=DEMO_DOMAIN)
    columns = ["photo", "truth", "encoder", "plain PTI", "masked PTI", "encoder, edit", "masked, edit"]
    rows = []
    for i in range(faces):
        photo, clean, m = batch.image[i : i + 1], batch.clean[i : i + 1], batch.interest_mask[i : i + 1]
        leak = (batch.face_mask * batch.occluder_mask)[i : i + 1]
        inverted = its.invert(model, photo, mask=m, progress=False)
        plain = its.refine(model, inverted, steps=steps, masked=False, progress=False)
        masked = its.refine(model, inverted, steps=steps, progress=False)
        edits = [its.edit(model, r, direction, strength, progress=False).images for r in (inverted, masked)]
        row = [_cell(photo), _cell(clean)]
        for result in (inverted, plain, masked):
            y = result.images.float().clamp(-1, 1).cpu()
            inside, leaked = float(masked_mse(y, clean, m)[0]), float(masked_mse(y, clean, leak)[0])
            row.append(_cell(y, f"{inside:.3f} / {leaked:.3f}"))
        rows.append([*row, *(_cell(e) for e in edits)])
    grid = image_grid(rows, cell=CELL, pad=PAD)
    sheet = Image.new("RGB", (grid.width + LABEL_W, grid.height + 2 * LABEL_H), (255, 255, 255))
    sheet.paste(grid, (LABEL_W, LABEL_H))
    draw = ImageDraw.Draw(sheet)
    for c, text in enumerate(columns):
        draw.text((LABEL_W + PAD + c * (CELL + PAD) + 2, 2), text, fill=(0, 0, 0))
    for r in range(faces):
        draw.text((4, LABEL_H + PAD + r * (CELL + PAD) + CELL // 2 - 6), f"face {r + 1}", fill=(0, 0, 0))
    note = f"captions: interest MSE / leak MSE vs the truth; refine: {steps} steps; "
    note += f"edit: {direction.name} {strength:+g}"
    draw.text((4, LABEL_H + grid.height + 1), note, fill=(0, 0, 0))
    return sheet


def main() -> None:
    torch.set_num_threads(1)
    model = its.load_encoder("demo")
    directions = shipped_directions("demo")
    assert directions is not None
    name = next(iter(directions))
    figure = before_after(model, directions[name])
    figure.save(IMG / "refine-before-after.png", optimize=True)
    print(f"wrote {IMG / 'refine-before-after.png'} (edit: {name})")


if __name__ == "__main__":
    main()
