"""Tiny training runs for the training tests: a saved tiny generator and a config dict around it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_config, tiny_model


def save_generator(folder: Path) -> Path:
    """A tiny model folder (32x32 generator with non-trivial noise weights and latent_avg)."""
    tiny_model(seed=1).save_pretrained(folder)
    return folder


def tiny_run(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    """A training config dict: tiny encoder, saved tiny generator, synthetic faces, 2 refinement steps.

    Keyword arguments replace (top-level values) or update (sections) the defaults.
    """
    generator = tmp_path / "generator"
    if not generator.exists():
        save_generator(generator)
    config: dict[str, Any] = {
        "model": {"encoder": tiny_config().encoder.to_dict()},
        "generator": str(generator),
        "iterations": 2,
        "noise_mode": "const",
        "data": {"kind": "synthetic", "count": 6, "val_fraction": 0.34},
        "optim": {"batch_size": 2, "steps": 4, "lr": 1e-3},
        "log": {
            "dir": str(tmp_path / "run"),
            "every": 1,
            "sample_every": 100,
            "val_every": 100,
            "checkpoint_every": 100,
        },
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


def write_image_folder(folder: Path, count: int, *, size: int = 40, masks: Path | None = None) -> None:
    """``count`` random RGB images (``img0.png`` ...) and, when ``masks`` is given, a box mask for each."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    if masks is not None:
        masks.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
        if masks is not None:
            m = np.zeros((size, size), np.uint8)
            m[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 255
            Image.fromarray(m).save(masks / f"img{i}.png")


@pytest.fixture(scope="module")
def single_thread() -> Iterator[None]:
    """One intra-op thread: tiny models gain nothing from more, and a busy machine loses a lot to contention."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
