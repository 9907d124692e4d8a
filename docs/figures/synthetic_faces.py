"""Make docs/img/synthetic-faces.png: the procedural face domain under its conditions, with masks.

Run: python docs/figures/synthetic_faces.py
"""

from __future__ import annotations

from pathlib import Path

import torch

import interestyle as its
from interestyle.synthetic import make_batch

OUT = Path(__file__).resolve().parents[1] / "img" / "synthetic-faces.png"


def main() -> None:
    rows = []
    for condition in ("clean", "clutter", "occluded"):
        batch = make_batch(8, size=64, seed=3, condition=condition)
        rows.append(torch.cat(list(batch.image), dim=2))
        if condition == "occluded":
            rows.append(torch.cat(list(batch.interest_mask.expand(-1, 3, -1, -1) * 2 - 1), dim=2))
    its.to_pil(torch.cat(rows, dim=1))[0].save(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
