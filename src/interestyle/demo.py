"""The demonstration behind ``interestyle demo``: held-out occluded synthetic faces through a baseline
encoder and an IntereStyle encoder, one edit and one style mix, in one labelled grid with the errors."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from PIL import Image, ImageDraw

from .directions import Direction, principal_directions
from .editing import edit, style_mix
from .grids import image_grid
from .images import to_pil
from .inversion import invert
from .metrics import masked_mse
from .models.model import IntereStyleModel
from .synthetic import make_batch
from .validation import check_positive_int

__all__ = ["COLUMNS", "HELD_OUT_SEED", "DemoReport", "run_demo"]

COLUMNS = ("input", "interest mask", "baseline", "IntereStyle", "edit", "style mix")
HELD_OUT_SEED = 900_001  # never used for training (training seeds count up from 0)


@dataclass
class DemoReport:
    """What :func:`run_demo` made.

    Attributes:
        grid: the labelled grid, one row per image: input | interest mask | baseline | IntereStyle | edit |
            style mix (the baseline column is empty without a baseline).
        interest_mse: per model name, the mean squared error inside the visible face and hair against the
            clean ground truth.
        leak_mse: per model name, the error inside face x occluder against the clean face under the
            occluder (what leaks from the occluder into the face).
    """

    grid: Image.Image
    interest_mse: dict[str, float] = field(default_factory=dict)
    leak_mse: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        lines = ["interest-region error on held-out occluded faces (lower is better):"]
        for name, value in self.interest_mse.items():
            lines.append(f"  {name:<12} interest MSE {value:.4f}   leak MSE {self.leak_mse[name]:.4f}")
        return "\n".join(lines)


def _spread(model: IntereStyleModel, direction: Direction) -> float:
    """Standard deviation of the mapping network's w along ``direction`` (GANSpace's edit unit)."""
    z = torch.randn(4096, model.style_dim, generator=torch.Generator().manual_seed(1))
    w = model.generator.mapping(z.to(model.device, model.dtype)).float().cpu()
    return float((w @ direction.vector.float().reshape(-1)).std())


def _labelled(rows: list[list[Image.Image | None]], cell: int) -> Image.Image:
    grid = image_grid(rows, cell=cell)
    header = 16
    sheet = Image.new("RGB", (grid.width, grid.height + header), (255, 255, 255))
    sheet.paste(grid, (0, header))
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(COLUMNS):
        draw.text((2 + c * (cell + 2) + 2, 2), label, fill=(0, 0, 0))
    return sheet


@torch.no_grad()
def run_demo(
    model: IntereStyleModel,
    baseline: IntereStyleModel | None = None,
    *,
    n: int = 4,
    seed: int = HELD_OUT_SEED,
    direction: Direction | None = None,
    strength: float = 2.0,
    cell: int = 128,
) -> DemoReport:
    """Invert ``n`` held-out occluded synthetic faces with both models, edit and style-mix IntereStyle's.

    Args:
        model: the IntereStyle encoder (its generator draws every output).
        baseline: a no-mask encoder on the same generator, or None.
        n: images (rows).
        seed: which held-out faces.
        direction: the edit; default the first principal direction of the generator's W.
        strength: the edit's strength, in standard deviations of the generator's W along ``direction``.
        cell: side of each grid cell in pixels.
    """
    n = check_positive_int(n, "n")
    batch = make_batch(n, size=model.resolution, seed=seed, condition="occluded")
    models = {"IntereStyle": model} if baseline is None else {"baseline": baseline, "IntereStyle": model}
    results = {name: invert(m, batch.image, mask=batch.interest_mask, progress=False) for name, m in models.items()}
    report = DemoReport(grid=Image.new("RGB", (1, 1)))
    leak = batch.face_mask * batch.occluder_mask
    for name, result in results.items():
        recon = result.images.float().clamp(-1, 1).cpu()
        report.interest_mse[name] = float(masked_mse(recon, batch.clean, batch.interest_mask).nanmean())
        report.leak_mse[name] = float(masked_mse(recon, batch.clean, leak).nanmean())
    ours = results["IntereStyle"]
    if direction is None:
        direction = principal_directions(model, 1, samples=4096, progress=False)["pc0"]
    edited = edit(model, ours, direction, strength * _spread(model, direction))
    mixed = style_mix(model, ours, ours.latents.roll(1, dims=0), layers="coarse")
    columns = [
        to_pil(batch.image),
        to_pil(batch.interest_mask.expand(-1, 3, -1, -1) * 2 - 1),
        to_pil(results["baseline"].images) if "baseline" in results else [None] * n,
        ours.to_pil(),
        edited.to_pil(),
        mixed.to_pil(),
    ]
    report.grid = _labelled([list(row) for row in zip(*columns, strict=True)], cell)
    return report
