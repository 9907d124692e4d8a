"""Make the figures of docs/concepts.md with the embedded demo models (IntereStyle and the no-mask baseline).

- docs/img/concepts-refinement.png: what the encoder sees at each refinement step in training (the
  Uninterest Filter of recipes/v2/interestyle-seed0.json) and what each model reconstructs after each step.
- docs/img/concepts-disentanglement.png: Interest Disentanglement's pair (x, m * x) and the offset it
  produces, for both models.
- docs/img/concepts-background.png: the same faces on a plain and on a cluttered background (they differ
  only outside the interest region), inverted by both models, with the interest-region change.

Run: python docs/figures/concepts.py (rerun it whenever the demo weights change).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torch import Tensor

import interestyle as its
from interestyle.grids import image_grid
from interestyle.metrics import masked_mse
from interestyle.synthetic import DEMO_DOMAIN, make_batch
from interestyle.training import UninterestFilter, load_training_config

ROOT = Path(__file__).resolve().parents[2]
IMG = ROOT / "docs" / "img"
RECIPE = ROOT / "recipes" / "v2" / "interestyle-seed0.json"
SEED = 900_100  # held out: training seeds count up from 0
MANY = 32  # faces behind each figure's mean
CELL, PAD, LABEL_W, LABEL_H = 96, 2, 112, 16


def pil(images: Tensor) -> list[Image.Image]:
    return its.to_pil(images.float().clamp(-1, 1).cpu())


def gray(masks: Tensor) -> list[Image.Image]:
    return pil(masks.expand(-1, 3, -1, -1) * 2 - 1)


def labelled(rows: Sequence[Sequence[Image.Image | None]], columns: Sequence[str], names: Sequence[str]) -> Image.Image:
    """A grid with a label above each column and left of each row."""
    grid = image_grid(rows, cell=CELL, pad=PAD)
    sheet = Image.new("RGB", (grid.width + LABEL_W, grid.height + LABEL_H), (255, 255, 255))
    sheet.paste(grid, (LABEL_W, LABEL_H))
    draw = ImageDraw.Draw(sheet)
    for c, text in enumerate(columns):
        draw.text((LABEL_W + PAD + c * (CELL + PAD) + 2, 2), text, fill=(0, 0, 0))
    for r, text in enumerate(names):
        draw.multiline_text((4, LABEL_H + PAD + r * (CELL + PAD) + CELL // 2 - 12), text, fill=(0, 0, 0))
    return sheet


def steps(model: its.IntereStyleModel, images: Tensor) -> list[Tensor]:
    """The reconstruction after each refinement step (inference: plain inputs, no filter, no mask)."""
    with torch.no_grad():
        return [y for _, y in model.refine(images, model.config.iterations)]


def refinement(model: its.IntereStyleModel, baseline: its.IntereStyleModel) -> Image.Image:
    face = make_batch(1, size=model.resolution, seed=SEED, condition="occluded", domain=DEMO_DOMAIN)
    recipe = load_training_config(RECIPE)
    unf = UninterestFilter(
        recipe.filter.radii, recipe.filter.variant, reference_resolution=recipe.filter.reference_resolution
    )
    t_count = model.config.iterations
    seen = [unf(face.image, face.interest_mask, t) for t in range(t_count)]
    columns = ["input x", "interest mask m"] + [
        f"step {t + 1}: blur {unf.radius(t, model.resolution):g}px" for t in range(t_count)
    ]
    rows = [
        [pil(face.image)[0], gray(face.interest_mask)[0], *[pil(x)[0] for x in seen]],
        [_caption(pil(face.clean)[0], "clean truth"), None, *[pil(y)[0] for y in steps(model, face.image)]],
        [None, None, *[pil(y)[0] for y in steps(baseline, face.image)]],
    ]
    names = ["training input\n(Uninterest Filter)", "IntereStyle", "baseline"]
    return labelled(rows, columns, names)


def ind_pair(net: its.IntereStyleModel, x: Tensor, m: Tensor) -> tuple[Tensor, Tensor]:
    """G(w) after the refinement steps, and G(w + D) with D the encoder's offset for the pair [x, m * x]
    (what Interest Disentanglement's loss looks at in training)."""
    with torch.no_grad():
        w = [w for w, _ in net.refine(x, net.config.iterations)][-1]
        offset = net.encoder(torch.cat([x, m * x], dim=1))
        return net.decode(w).clamp(-1, 1), net.decode(w + offset).clamp(-1, 1)


def two_models(
    inputs: dict[str, Tensor], outputs: dict[str, tuple[str, str, Tensor, Tensor]], m: Tensor, what: str, n: int
) -> Image.Image:
    """Input columns, then for each model a (left, right) pair of columns with the interest-region MSE
    between the two captioned under the right one; the footer gives each model's mean over every face."""
    columns, cells, means = list(inputs), [pil(t[:n]) for t in inputs.values()], []
    for name, (left_label, right_label, left, right) in outputs.items():
        moved = masked_mse(right, left, m)
        columns += [f"{name}: {left_label}", right_label]
        cells += [pil(left[:n]), captioned(right[:n], moved[:n])]
        means.append(f"{name} {float(moved.mean()):.4f}")
    rows = [[column[i] for column in cells] for i in range(n)]
    sheet = labelled(rows, columns, [f"face {i + 1}" for i in range(n)])
    return footer(sheet, f"interest-region MSE between {what}, mean of {MANY} held-out faces: {', '.join(means)}")


def disentanglement(model: its.IntereStyleModel, baseline: its.IntereStyleModel, n: int = 3) -> Image.Image:
    faces = make_batch(MANY, size=model.resolution, seed=SEED + 1, condition="mixed", domain=DEMO_DOMAIN)
    x, m = faces.image, faces.interest_mask
    outputs = {
        name: ("G(w)", "G(w + D)", *ind_pair(net, x, m))
        for name, net in (("IntereStyle", model), ("baseline", baseline))
    }
    return two_models({"x": x, "m * x": m * x}, outputs, m, "G(w + D) and G(w)", n)


def background(model: its.IntereStyleModel, baseline: its.IntereStyleModel, n: int = 3) -> Image.Image:
    plain = make_batch(MANY, size=model.resolution, seed=SEED + 2, condition="clean", domain=DEMO_DOMAIN)
    # the same faces over clutter
    clutter = make_batch(MANY, size=model.resolution, seed=SEED + 2, condition="clutter", domain=DEMO_DOMAIN)

    def reconstruct(net: its.IntereStyleModel, images: Tensor) -> Tensor:
        return its.invert(net, images, progress=False).images.clamp(-1, 1)

    outputs = {
        name: ("plain", "clutter", reconstruct(net, plain.image), reconstruct(net, clutter.image))
        for name, net in (("IntereStyle", model), ("baseline", baseline))
    }
    inputs = {"plain background": plain.image, "clutter": clutter.image}
    return two_models(inputs, outputs, plain.interest_mask, "the two reconstructions", n)


def captioned(images: Tensor, moved: Tensor) -> list[Image.Image]:
    return [_caption(im, f"moved {v:.4f}") for im, v in zip(pil(images), moved.tolist(), strict=True)]


def footer(sheet: Image.Image, text: str) -> Image.Image:
    out = Image.new("RGB", (sheet.width, sheet.height + LABEL_H), (255, 255, 255))
    out.paste(sheet, (0, 0))
    ImageDraw.Draw(out).text((4, sheet.height + 1), text, fill=(0, 0, 0))
    return out


def _caption(image: Image.Image, text: str) -> Image.Image:
    """``image`` at the grid's cell size with ``text`` on a white band at the bottom."""
    image = image.resize((CELL, CELL), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, CELL - 13, CELL, CELL), fill=(255, 255, 255))
    draw.text((2, CELL - 13), text, fill=(0, 0, 0))
    return image


def main() -> None:
    model, baseline = its.load_encoder("demo"), its.load_encoder("demo-baseline")
    figures = {
        "concepts-refinement.png": refinement(model, baseline),
        "concepts-disentanglement.png": disentanglement(model, baseline),
        "concepts-background.png": background(model, baseline),
    }
    for name, figure in figures.items():
        figure.save(IMG / name, optimize=True)
        print(f"wrote {IMG / name}")


if __name__ == "__main__":
    main()
