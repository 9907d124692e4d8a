"""Images per second of ``interestyle invert`` on a folder of photos, with decoding read ahead on a thread
(``--prefetch 2``, the default) and without (``--prefetch 0``).

    python benchmarks/invert_prefetch.py                  # 48 PNG photos of 768 px, the demo model
    python benchmarks/invert_prefetch.py --photos 96 --size 1024 --model ./model --repeats 3

Photos are written once into a temporary folder (noise over a gradient, so PNG compresses them little and
decoding costs what a real photo's does); each setting runs ``--repeats`` times, alternating, and the best
run counts. The outputs of both settings are compared byte for byte (they must be equal).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from machine import describe
from PIL import Image

from interestyle.cli import main


def write_photos(folder: Path, count: int, size: int) -> None:
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 200, size, dtype=np.float32)
    for i in range(count):
        base = ramp[None, :, None] + ramp[:, None, None] * 0.2
        pixels = np.clip(base + rng.normal(0, 25, (size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"photo{i:04d}.png")


def run(folder: Path, out: Path, model: str, batch_size: int, prefetch: int) -> float:
    """Seconds of one ``interestyle invert`` over ``folder``."""
    args = ["invert", str(folder), "--out", str(out), "--model", model, "--no-progress"]
    args += ["--batch-size", str(batch_size), "--prefetch", str(prefetch)]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"interestyle invert exited with {code}")
    return seconds


def main_(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--size", type=int, default=768, help="side of the photos in pixels")
    parser.add_argument("--model", default="demo")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"machine: {describe()}")
    print(f"{args.photos} PNG photos of {args.size} px, model {args.model}, batch size {args.batch_size}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "photos").mkdir()
        write_photos(root / "photos", args.photos, args.size)
        best = {0: float("inf"), 2: float("inf")}
        for _ in range(args.repeats):
            for prefetch in best:
                best[prefetch] = min(
                    best[prefetch], run(root / "photos", root / f"out{prefetch}", args.model, args.batch_size, prefetch)
                )
        same = all(
            (root / "out0" / p.name).read_bytes() == p.read_bytes()
            for p in (root / "out2").iterdir()
            if p.suffix == ".png"
        )
    for prefetch, seconds in best.items():
        label = "read ahead (--prefetch 2)" if prefetch else "no overlap (--prefetch 0)"
        print(f"{label:<28}{args.photos / seconds:8.1f} images/s  ({seconds:.2f} s, best of {args.repeats})")
    print(f"speed-up {best[0] / best[2]:.2f}x; reconstructions identical: {same}")


if __name__ == "__main__":
    main_()
