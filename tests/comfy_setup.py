"""What the ComfyUI tests share: ComfyUI's LoadImage conversion, the example workflows and a small runner
of API-format workflows that calls the nodes the way ComfyUI does (no ComfyUI needed)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from interestyle.comfy import NODE_CLASS_MAPPINGS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "comfyui"
WORKFLOWS = ("interestyle-edit", "interestyle-photo", "interestyle-refine")
TEST_LANDMARKS = "test-fixed-face"


def load_image(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """ComfyUI's LoadImage (nodes.py, 0.3.64): IMAGE (1, H, W, 3) float32 in [0, 1], and MASK = 1 - alpha, or
    a (1, 64, 64) tensor of zeros for an image without alpha."""
    with Image.open(path) as img:
        rgb = torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0)[None]
        if "A" in img.getbands():
            mask = 1.0 - torch.from_numpy(np.asarray(img.getchannel("A"), dtype=np.float32) / 255.0)[None]
        else:
            mask = torch.zeros((1, 64, 64), dtype=torch.float32)
    return rgb, mask


def workflow(name: str) -> dict[str, Any]:
    """An example workflow in ComfyUI's API format: node id -> {class_type, inputs}."""
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.api.json").read_text(encoding="utf-8"))
    return data


def fixed_face(image: torch.Tensor) -> torch.Tensor:
    """A landmark provider that 'finds' one face, filling the middle of any image (5-point convention)."""
    h, w = image.shape[-2:]
    cx, d = 0.5 * w, 0.14 * min(h, w)
    eyes, mouth = 0.42 * h, 0.42 * h + 1.1 * d
    return torch.tensor(
        [[[cx - d, eyes], [cx + d, eyes], [cx, eyes + 0.6 * d], [cx - 0.7 * d, mouth], [cx + 0.7 * d, mouth]]]
    )


def make_photo(face: Path) -> Image.Image:
    """A 'photo': the face of ``face`` in the middle of a wider grey frame."""
    with Image.open(face) as img:
        inner = img.convert("RGB")
    photo = Image.new("RGB", (inner.width + 96, inner.height + 32), (90, 110, 120))
    photo.paste(inner, (48, 16))
    return photo


def run_workflow(
    graph: Mapping[str, Any], inputs: Path, builtins: Mapping[str, Callable[..., tuple[Any, ...]]] | None = None
) -> dict[str, tuple[Any, ...]]:
    """Execute an API-format workflow in dependency order, as ComfyUI does: each node's class is made, its
    FUNCTION called with the widget values and the linked outputs as keyword arguments.

    ``LoadImage`` reads from ``inputs``; ``SaveImage`` returns its images. Returns node id -> outputs.
    """
    stand_ins: dict[str, Callable[..., tuple[Any, ...]]] = {
        "LoadImage": lambda image: load_image(inputs / image),
        "SaveImage": lambda images, filename_prefix: (images,),
        **(builtins or {}),
    }
    done: dict[str, tuple[Any, ...]] = {}

    def run(node_id: str) -> tuple[Any, ...]:
        if node_id not in done:
            node = graph[node_id]
            kwargs = {
                name: run(value[0])[value[1]] if isinstance(value, list) else value
                for name, value in node["inputs"].items()
            }
            kind = node["class_type"]
            if kind in stand_ins:
                done[node_id] = stand_ins[kind](**kwargs)
            else:
                cls = NODE_CLASS_MAPPINGS[kind]
                done[node_id] = getattr(cls(), cls.FUNCTION)(**kwargs)
        return done[node_id]

    for node_id in graph:
        run(node_id)
    return done
