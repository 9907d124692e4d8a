"""The demonstration behind ``interestyle demo``: held-out occluded synthetic faces through a baseline
encoder and an IntereStyle encoder (each composited into the input, as a user would paste it), one edit
and one style mix with its style source, in one labelled grid with the errors."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from PIL import Image

from .directions import Direction, principal_directions
from .editing import edit, style_mix
from .grids import image_grid
from .images import to_pil
from .inversion import invert
from .metrics import masked_mse
from .models.model import IntereStyleModel
from .synthetic import DEMO_DOMAIN, make_batch
from .validation import check_positive_int

__all__ = ["COLUMNS", "HELD_OUT_SEED", "DemoReport", "run_demo"]

COLUMNS = ("input", "interest mask", "baseline", "IntereStyle", "edit", "style source", "style mix")
"""The demo grid's columns; the baseline, IntereStyle, edit and style-mix cells are composited into the input
through the interest mask."""
HELD_OUT_SEED = 900_001  # never used for training (training seeds count up from 0)


@dataclass
class DemoReport:
    """What [`run_demo`][interestyle.demo.run_demo] made.

    Attributes:
        grid: the labelled grid, one row per image: input | interest mask | baseline | IntereStyle | edit |
            style source | style mix (the baseline column is empty without a baseline; the edit and mix
            labels name the direction and the preset).
        interest_mse: per model name, the mean squared error inside the visible face and hair against the
            clean ground truth.
        leak_mse: per model name, the error inside face x occluder against the clean face under the
            occluder (what leaks from the occluder into the face).
    """

    grid: Image.Image
    interest_mse: dict[str, float] = field(default_factory=dict)
    leak_mse: dict[str, float] = field(default_factory=dict)

    edit: str = ""

    def summary(self) -> str:
        """The errors, one line each, saying what they measure (lower is better)."""
        names = list(self.interest_mse)
        interest = ", ".join(f"{n} {self.interest_mse[n]:.4f}" for n in names)
        leak = ", ".join(f"{n} {self.leak_mse[n]:.4f}" for n in names)
        lines = [
            f"interest MSE (error inside the visible face and hair against the true clean face): {interest}",
            f"leak MSE (error where the occluder covers the face: how much of it leaks into the face): {leak}",
        ]
        if self.edit:
            lines.append(f"edit column: {self.edit}")
        return "\n".join(lines)


def _spread(model: IntereStyleModel, direction: Direction) -> float:
    """Standard deviation of the mapping network's w along ``direction`` (GANSpace's edit unit); for a
    per-layer direction, along its longest row."""
    z = torch.randn(4096, model.style_dim, generator=torch.Generator().manual_seed(1))
    w = model.generator.mapping(z.to(model.device, model.dtype)).float().cpu()
    vector = direction.vector.float()
    row = vector if vector.ndim == 1 else vector[vector.norm(dim=1).argmax()]
    return float((w @ row).std())


@torch.no_grad()
def run_demo(
    model: IntereStyleModel,
    baseline: IntereStyleModel | None = None,
    *,
    n: int = 4,
    seed: int = HELD_OUT_SEED,
    direction: Direction | None = None,
    strength: float | None = None,
    mix_layers: str = "fine",
    domain: str = DEMO_DOMAIN,
    cell: int = 128,
) -> DemoReport:
    """Invert ``n`` held-out occluded synthetic faces with both models, edit and style-mix IntereStyle's.

    Args:
        model: the IntereStyle encoder (its generator draws every output).
        baseline: a no-mask encoder on the same generator, or None.
        n: images (rows).
        seed: which held-out faces.
        direction: the edit; default the first principal direction of the generator's W.
        strength: the edit's strength in the direction's units (as [`edit`][interestyle.edit]; the embedded
            demo model's directions count ranges of the attribute: 1 moves it across its whole range); default
            the direction's recommended strength (`Direction.strength`), else 2 standard deviations of W
            along it.
        mix_layers: the style vectors the style mix takes from the style source (a preset of
            [`style_mix`][interestyle.style_mix]; default ``"fine"``: the source's colours on this face's
            shape, the mix a glance tells apart from both faces); each row's style source is the next
            row's face.
        domain: the synthetic face domain the models were trained on
            ([`interestyle.synthetic.DOMAINS`][interestyle.synthetic.DOMAINS]).
        cell: side of each grid cell in pixels.
    """
    n = check_positive_int(n, "n")
    batch = make_batch(n, size=model.resolution, seed=seed, condition="occluded", domain=domain)
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
    if strength is None:
        strength = direction.strength or 2.0 * _spread(model, direction) / direction.unit
    unit = "W distance" if direction.unit == 1.0 else f"units of W distance {direction.unit:.2f}"
    report.edit = f"{direction.name}, strength {strength:.2f} ({unit})"
    edited = edit(model, ours, direction, strength)
    style_source = batch.image.roll(-1, dims=0)
    mixed = style_mix(model, ours, ours.latents.roll(-1, dims=0), layers=mix_layers)
    columns = [
        to_pil(batch.image),
        to_pil(batch.interest_mask.expand(-1, 3, -1, -1) * 2 - 1),
        to_pil(results["baseline"].composite()) if "baseline" in results else [None] * n,
        to_pil(ours.composite()),
        to_pil(edited.composite()),
        to_pil(style_source),
        to_pil(mixed.composite()),
    ]
    named = {"edit": f"edit: {direction.name}", "style mix": f"style mix: {mix_layers}"}
    labels = [named.get(column, column) for column in COLUMNS]
    report.grid = image_grid([list(row) for row in zip(*columns, strict=True)], cell=cell, column_labels=labels)
    return report
