"""Make docs/img/alignment.png: a tilted face in a larger photo, its FFHQ crop, and an edit pasted back.

The face is a synthetic one (no real photo ships with the project), rotated by 25 degrees into a 360x480
photo; its landmarks are the rendered eye centres and mouth corners, so no detector is needed.

Run: python docs/figures/alignment.py
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import interestyle as its
from interestyle.align import align_face, unalign
from interestyle.synthetic import make_batch

OUT = Path(__file__).resolve().parents[1] / "img" / "alignment.png"
SIZE, HEIGHT, WIDTH, ANGLE, OFFSET = 256, 360, 480, 25.0, (150.0, 40.0)


def main() -> None:
    batch = make_batch(1, size=SIZE, seed=3)
    a = {k: float(v[0]) for k, v in batch.attributes.items()}
    eye_y, mouth_y = a["face_y"] - 0.12 * a["face_height"], a["face_y"] + 0.45 * a["face_height"] - 0.01
    eye_dx, mouth_dx = a["eye_spacing"] * a["face_width"] * 1.05, a["mouth_width"] * a["face_width"] * 1.6
    unit = [(-eye_dx, eye_y), (eye_dx, eye_y), (0.0, a["face_y"]), (-mouth_dx, mouth_y), (mouth_dx, mouth_y)]
    five = np.array([[(a["face_x"] + dx + 1) / 2 * SIZE - 0.5, (y + 1) / 2 * SIZE - 0.5] for dx, y in unit])

    # Rotate the rendered face about its centre into a bigger photo: photo = R (face - c) + c + offset.
    t = math.radians(ANGLE)
    rotation = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    centre = np.full(2, SIZE / 2 - 0.5)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    face_xy = (np.stack([xs, ys], -1) - centre - OFFSET) @ rotation + centre
    grid = torch.from_numpy((face_xy + 0.5) / SIZE * 2 - 1).float()[None]
    photo = F.grid_sample(batch.image, grid, padding_mode="border", align_corners=False)
    landmarks = (five - centre) @ rotation.T + centre + OFFSET

    aligned, transform = align_face(photo, landmarks, size=SIZE)
    edited = aligned.clone()
    edited[:, 1:] = edited[:, 1:].flip(1)  # stand-in for an edit: swap the green and blue channels
    pasted = unalign(edited, transform, photo)

    def fit(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=(SIZE, x.shape[-1] * SIZE // x.shape[-2]), mode="bilinear", antialias=True)

    gap = torch.ones(1, 3, SIZE, 6)
    its.to_pil(torch.cat([fit(photo), gap, aligned, gap, edited, gap, fit(pasted)], dim=-1))[0].save(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
