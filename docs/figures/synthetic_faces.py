"""Make docs/img/synthetic-faces.png and synthetic-faces-v2.png: both procedural face domains under their
conditions, with masks (128 px cells, nearest-neighbour upscaled from 64 px).

Run: python docs/figures/synthetic_faces.py
"""

from __future__ import annotations

from pathlib import Path

import torch

import interestyle as its
from interestyle.synthetic import make_batch

IMG = Path(__file__).resolve().parents[1] / "img"
OUT = {"v1": IMG / "synthetic-faces.png", "v2": IMG / "synthetic-faces-v2.png"}


def main() -> None:
    for domain, out in OUT.items():
        rows = []
        for condition in ("clean", "clutter", "occluded"):
            batch = make_batch(8, size=64, seed=3, condition=condition, domain=domain)
            rows.append(torch.cat(list(batch.image), dim=2))
            if condition == "occluded":
                rows.append(torch.cat(list(batch.interest_mask.expand(-1, 3, -1, -1) * 2 - 1), dim=2))
        sheet = its.to_pil(torch.cat(rows, dim=1))[0]
        if domain == "v2":
            sheet = sheet.resize((sheet.width * 2, sheet.height * 2), resample=0)
        sheet.save(out)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
