"""A running `interestyle app` on 127.0.0.1 for the app tests: tiny models saved on the spot, a free port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from conftest import tiny_model
from interestyle import DirectionSet


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def model_folders(root: Path, *, directions: bool = False) -> tuple[Path, Path]:
    """A tiny model (with a 'smile' direction set when asked) and a differently seeded baseline."""
    tiny_model(seed=0).save_pretrained(root / "model")
    tiny_model(seed=1).save_pretrained(root / "baseline")
    if directions:
        smile = torch.randn(32, generator=torch.Generator().manual_seed(0))
        DirectionSet({"smile": smile}).save_pretrained(root / "model")
    return root / "model", root / "baseline"


@contextmanager
def running_app(model: Path, baseline: Path | None = None) -> Iterator[str]:
    """Serve the app for ``model`` on a free port (its Refine box runs 3 steps); yields its URL and closes it
    afterwards."""
    from interestyle.app import Editor, launch

    editor = Editor.load(model, baseline=baseline, refine_steps=3)  # the Refine box: a few steps
    port = free_port()
    app = launch(editor, port=port, block=False, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()
