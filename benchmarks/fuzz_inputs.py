"""Seeded, bounded fuzzing of what interestyle reads from disk: model folders and image files.

Each case damages one file and feeds it to the loader a user would call, and must end in one of:

* a named interestyle error (a class of `interestyle.errors`), and for images also the CLI's
  skipped-file warning (``interestyle invert`` reading a folder goes on with the other photos);
* a result equal to what the file says: a config mutation that is still valid loads as written, a damaged
  byte nobody reads changes nothing;
* for JPEG only, a damaged picture decoded without a word: JPEG carries no checksum, so a flipped bit in
  its compressed data cannot be told from a real photo by any reader. Counted apart ("undetectable").

Anything else is a defect: another exception type, a case slower than ``--bound`` seconds (a hang), a
model whose config or weights differ from the file's without an error, or a PNG (whose chunks carry CRCs)
decoded into other pixels. Every case is seeded by (seed, category, index), so the first N cases of a
category are the same whatever ``--cases`` is; tests/test_fuzz_inputs.py runs a few of each.

The categories: ``config-missing`` (a key or a section of config.json removed), ``config-type`` (a value
of the wrong type), ``config-range`` (a number out of range, an unknown name), ``config-bytes`` (bytes of
config.json flipped or cut), ``header-bytes`` (bits flipped in model.safetensors' length field and JSON
header), ``header-length`` (the header length replaced), ``weights-data`` (bits flipped in the tensor data, which
only the checksum written with them can catch), ``weights-truncation`` (model.safetensors cut),
``png-flip`` / ``jpeg-flip`` (1-3 bits flipped anywhere) and ``png-truncation`` / ``jpeg-truncation``.

Usage::

    python benchmarks/fuzz_inputs.py                     # 60 cases per category (720 in all), seed 0
    python benchmarks/fuzz_inputs.py --cases 200 --seed 1 --json fuzz.json
    python benchmarks/fuzz_inputs.py --model demo        # the embedded demo model's folder (slower)

The run prints the machine, then per category the cases tried and how each ended, then any defects;
it exits 1 when there is a defect.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import faulthandler
import io
import json
import math
import random
import resource
import shutil
import struct
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from machine import describe
from PIL import Image

import interestyle
from interestyle import EncoderConfig, GeneratorConfig, InterestyleError, IntereStyleModel, ModelConfig, invert
from interestyle.cli.inputs import Reader
from interestyle.locate import EMBEDDED_MODELS
from interestyle.serialization import CONFIG_NAME, WEIGHTS_NAME

MODEL_CATEGORIES = (
    "config-missing",
    "config-type",
    "config-range",
    "config-bytes",
    "header-bytes",
    "header-length",
    "weights-data",
    "weights-truncation",
)
IMAGE_CATEGORIES = ("png-flip", "png-truncation", "jpeg-flip", "jpeg-truncation")
CATEGORIES = MODEL_CATEGORIES + IMAGE_CATEGORIES
HANDLED = ("named error", "loaded as written", "no effect", "undetectable")
"""How a case may end; anything else is a defect."""

WRONG_TYPES: tuple[Any, ...] = (None, "x", "12", [], [1, 2], {}, {"a": 1}, True, False, 1.5, 2.0)
OUT_OF_RANGE: tuple[Any, ...] = (0, -1, -7, 3, 2**31, 2**40, 10**12, 1e308, -1e-9, math.nan, math.inf, "bogus", "")


@dataclass
class Outcome:
    """How one case ended: ``kind`` is one of `HANDLED` or starts with ``DEFECT``."""

    category: str
    case: str
    kind: str
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    """Every case's outcome, with per-category counts."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def defects(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind not in HANDLED]

    def counts(self) -> dict[str, Counter[str]]:
        table: dict[str, Counter[str]] = {c: Counter() for c in CATEGORIES}
        for o in self.outcomes:
            label = f"{o.kind}: {o.detail}" if o.kind == "named error" else o.kind
            table[o.category][label] += 1
        return {k: v for k, v in table.items() if v}


# -- the originals ---------------------------------------------------------------------------------------
def tiny_model_folder(folder: Path) -> Path:
    """A randomly initialised model of a few hundred thousand parameters (the real layout, 32x32)."""
    torch.manual_seed(0)
    generator = GeneratorConfig(resolution=32, style_dim=32, n_mlp=2, channels=(32, 32, 16, 16))
    encoder = EncoderConfig(units=(1, 1, 1, 1), widths=(16, 16, 32, 32), input_size=32)
    IntereStyleModel(ModelConfig(generator=generator, encoder=encoder, iterations=2)).save_pretrained(folder)
    return folder


def original_images() -> dict[str, bytes]:
    """A smooth 48x40 RGB picture as PNG (with a text chunk) and as JPEG."""
    yy, xx = np.mgrid[0:40, 0:48]
    pixels = np.stack([xx * 5, yy * 6, (xx + yy) * 3], axis=-1).astype(np.uint8)
    out = {}
    for fmt, options in (("png", {"pnginfo": _png_text()}), ("jpeg", {"quality": 90})):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format=fmt.upper(), **options)
        out[fmt] = buffer.getvalue()
    return out


def _png_text() -> Any:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Description", "interestyle fuzzing original")
    return info


# -- mutations -------------------------------------------------------------------------------------------
def _leaves(config: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in config.items():
        if key.startswith("_"):
            continue
        yield (*prefix, key), value
        if isinstance(value, dict):
            yield from _leaves(value, (*prefix, key))


def _set(config: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        config = config[key]
    config[path[-1]] = value


def mutate_config(category: str, config: dict[str, Any], rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A mutated copy of ``config`` and a description; one of the ``config-*`` categories but bytes."""
    out = copy.deepcopy(config)
    paths = [p for p, _ in _leaves(config)]
    path = rng.choice(paths)
    name = ".".join(path)
    if category == "config-missing":
        parent = out
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
        return f"without {name}", out
    current = dict(_leaves(config))[path]
    pool = WRONG_TYPES if category == "config-type" else OUT_OF_RANGE
    if isinstance(current, list) and category == "config-range":
        pool = ([], [0] * len(current), [-1] * len(current), [2**40] * len(current), current * 8, current[:1])
    choices = [v for v in pool if not (type(v) is type(current) and v == current)]
    value = rng.choice(choices)
    if isinstance(current, list) and category == "config-type" and rng.random() < 0.5:
        value = [*current[:-1], rng.choice(WRONG_TYPES)]  # one element of the wrong type
    _set(out, path, value)
    return f"{name}={value!r}", out


def flip_bits(data: bytes, rng: random.Random, stop: int | None = None, start: int = 0) -> tuple[str, bytes]:
    """1-3 random bits of ``data[start:stop]`` flipped."""
    out = bytearray(data)
    where = []
    for _ in range(rng.randint(1, 3)):
        pos = rng.randrange(start, len(out) if stop is None else stop)
        out[pos] ^= 1 << rng.randrange(8)
        where.append(pos)
    return f"bits flipped at bytes {sorted(where)}", bytes(out)


def truncate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """``data`` cut at a random length (0 included), a third of the time within its first 64 bytes."""
    n = rng.randrange(min(64, len(data))) if rng.random() < 1 / 3 else rng.randrange(len(data))
    return f"cut to {n} of {len(data)} bytes", data[:n]


def mutate_weights(category: str, data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """A damaged copy of a safetensors file and a description (``header-*`` and ``weights-*``)."""
    (header_length,) = struct.unpack("<Q", data[:8])
    if category == "header-bytes":
        return flip_bits(data, rng, stop=8 + header_length)
    if category == "weights-data":
        return flip_bits(data, rng, start=8 + header_length)
    if category == "header-length":
        near = [0, 1, 2, header_length - 1, header_length + 1, header_length * 2, len(data), len(data) - 8]
        value = rng.choice([*near, 2**32, 2**63, 2**64 - 1, rng.randrange(2**64)])
        return f"header length {header_length} -> {value}", struct.pack("<Q", value) + data[8:]
    return truncate(data, rng)


# -- the cases -------------------------------------------------------------------------------------------
class Fuzzer:
    """Runs the cases of each category against copies of one model folder and two images in ``workdir``.

    Args:
        workdir: an empty folder for the damaged copies.
        model: the model folder to damage (None: a tiny random model written into ``workdir``).
        bound_seconds: a case slower than this is a defect; one slower than six times this ends the
            process with a traceback (a hang cannot be interrupted any other way).
    """

    def __init__(self, workdir: Path, model: Path | None = None, *, bound_seconds: float = 10.0) -> None:
        self.workdir = workdir
        self.original = model if model is not None else tiny_model_folder(workdir / "original")
        self.bound_seconds = bound_seconds
        self.config = json.loads((self.original / CONFIG_NAME).read_text(encoding="utf-8"))
        self.weights = (self.original / WEIGHTS_NAME).read_bytes()
        self.reference = interestyle.load_encoder(self.original)
        self.images = original_images()
        self.image_inputs = {}
        for fmt, data in self.images.items():
            path = workdir / f"original.{fmt}"
            path.write_bytes(data)
            self.image_inputs[fmt] = invert(self.reference, path, progress=False).inputs

    def run(self, categories: tuple[str, ...] = CATEGORIES, cases: int = 60, seed: int = 0) -> Report:
        """``cases`` cases of each category, seeded by (``seed``, category, index)."""
        report = Report()
        for category in categories:
            for index in range(cases):
                rng = random.Random(f"{seed}/{category}/{index}")
                report.outcomes.append(self._timed(category, rng))
        return report

    def _timed(self, category: str, rng: random.Random) -> Outcome:
        faulthandler.dump_traceback_later(self.bound_seconds * 6, exit=True)
        start = time.perf_counter()
        try:
            if category in MODEL_CATEGORIES:
                outcome = self._model_case(category, rng)
            else:
                outcome = self._image_case(category, rng)
        finally:
            faulthandler.cancel_dump_traceback_later()
        outcome.seconds = time.perf_counter() - start
        if outcome.seconds > self.bound_seconds and outcome.kind in HANDLED:
            outcome.kind, outcome.detail = "DEFECT: slow", f"{outcome.seconds:.1f} s ({outcome.kind})"
        return outcome

    def _model_case(self, category: str, rng: random.Random) -> Outcome:
        folder = self.workdir / "damaged-model"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        written = self.config
        config_text = json.dumps(self.config, indent=2)
        weights = self.weights
        if category == "config-bytes":
            description, raw = (flip_bits if rng.random() < 0.5 else truncate)(config_text.encode(), rng)
            (folder / CONFIG_NAME).write_bytes(raw)
            try:
                written = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                written = None
        else:
            if category.startswith("config-"):
                description, written = mutate_config(category, self.config, rng)
                config_text = json.dumps(written, indent=2)
            else:
                description, weights = mutate_weights(category, self.weights, rng)
            (folder / CONFIG_NAME).write_text(config_text, encoding="utf-8")
        (folder / WEIGHTS_NAME).write_bytes(weights)
        try:
            model = interestyle.load_encoder(folder)
        except InterestyleError as exc:
            return Outcome(category, description, "named error", type(exc).__name__)
        except Exception as exc:  # what the harness is here to find
            return Outcome(category, description, f"DEFECT: {type(exc).__name__}", _first_line(exc))
        return self._judge_model(category, description, model, written)

    def _judge_model(self, category: str, description: str, model: IntereStyleModel, written: Any) -> Outcome:
        expected = {k: v for k, v in written.items() if not k.startswith("_")} if isinstance(written, dict) else None
        if expected is None or model.config.to_dict() != json.loads(json.dumps(expected)):
            return Outcome(category, description, "DEFECT: config differs from the file", _diff(model, expected))
        if model.config.to_dict() != self.reference.config.to_dict():
            return Outcome(category, description, "loaded as written")
        ours, theirs = model.state_dict(), self.reference.state_dict()
        if ours.keys() != theirs.keys() or any(not torch.equal(ours[k], theirs[k]) for k in ours):
            return Outcome(category, description, "DEFECT: weights differ from the original without an error")
        return Outcome(category, description, "no effect")

    def _image_case(self, category: str, rng: random.Random) -> Outcome:
        fmt, kind = category.split("-")
        data = self.images[fmt]
        description, damaged = flip_bits(data, rng) if kind == "flip" else truncate(data, rng)
        path = self.workdir / f"damaged.{fmt}"
        path.write_bytes(damaged)
        try:
            result = invert(self.reference, path, progress=False)
        except InterestyleError as exc:
            return self._skipped_by_cli(category, description, path, type(exc).__name__)
        except Exception as exc:
            return Outcome(category, description, f"DEFECT: {type(exc).__name__}", _first_line(exc))
        if torch.equal(result.inputs, self.image_inputs[fmt]):
            return Outcome(category, description, "no effect")
        if fmt == "jpeg":
            return Outcome(category, description, "undetectable")
        return Outcome(category, description, "DEFECT: decoded into other pixels without an error")

    @staticmethod
    def _skipped_by_cli(category: str, description: str, path: Path, error: str) -> Outcome:
        """The API raised ``error``: the CLI's reader must skip the file with a warning naming it."""
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            reader = Reader("invert")
            try:
                image = reader.read(path)
            except Exception as exc:
                return Outcome(category, description, f"DEFECT: CLI reader raised {type(exc).__name__}")
        if image is not None or f"warning: skipped {path}" not in stderr.getvalue():
            return Outcome(category, description, "DEFECT: the CLI reader did not skip the file with a warning")
        return Outcome(category, description, "named error", error)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


def _diff(model: IntereStyleModel, expected: dict[str, Any] | None) -> str:
    if expected is None:
        return "the file is not a JSON object, yet it loaded"
    loaded = model.config.to_dict()
    for section in loaded:
        if loaded[section] != expected.get(section):
            return f"{section}: file {expected.get(section, '<missing>')!r}, loaded {loaded[section]!r}"
    return "?"


# -- the command -----------------------------------------------------------------------------------------
def _limit_memory(extra_gib: float) -> None:
    """Cap this process's address space ``extra_gib`` above what it uses now: a runaway allocation then
    raises MemoryError (a defect in the report) instead of taking the machine down."""
    with open("/proc/self/status") as f:
        size = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize"))
    limit = size + int(extra_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def print_report(report: Report, seconds: float) -> None:
    for category, counts in report.counts().items():
        total = sum(counts.values())
        handled = sum(n for label, n in counts.items() if label.split(":")[0] in HANDLED)
        print(f"{category:20s} {total:4d} tried, {handled:4d} handled")
        for label, n in sorted(counts.items(), key=lambda kv: -kv[1]):
            print(f"    {n:4d}  {label}")
    total = len(report.outcomes)
    print(f"{total} cases in {seconds:.0f} s, {total - len(report.defects)} handled, {len(report.defects)} defects")
    for o in report.defects:
        print(f"DEFECT {o.category}: {o.case}: {o.kind} {o.detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=60, help="cases per category (default 60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--categories", default=",".join(CATEGORIES), help="comma-separated (default: all)")
    parser.add_argument("--model", help="the model folder to damage: a path or 'demo' (default: a tiny model)")
    parser.add_argument("--bound", type=float, default=10.0, help="seconds a case may take (default 10)")
    parser.add_argument("--memory-gib", type=float, default=4.0, help="address space allowed above the start")
    parser.add_argument("--json", type=Path, help="write every case's outcome here")
    args = parser.parse_args(argv)
    categories = tuple(c for c in args.categories.split(",") if c)
    unknown = sorted(set(categories) - set(CATEGORIES))
    if unknown:
        parser.error(f"unknown categories {unknown}; known: {', '.join(CATEGORIES)}")
    torch.set_num_threads(1)
    print(f"machine: {describe()}")
    model = None
    if args.model:
        model = EMBEDDED_MODELS.get(args.model, Path(args.model))
    _limit_memory(args.memory_gib)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="interestyle-fuzz-") as tmp:
        fuzzer = Fuzzer(Path(tmp), model, bound_seconds=args.bound)
        damaged = fuzzer.original if model else "a tiny random model"
        print(f"model: {damaged}; seed {args.seed}, {args.cases} cases per category")
        report = fuzzer.run(categories, args.cases, args.seed)
    print_report(report, time.perf_counter() - start)
    if args.json:
        rows = [o.__dict__ for o in report.outcomes]
        args.json.write_text(json.dumps({"machine": describe(), "seed": args.seed, "cases": rows}, indent=1) + "\n")
    return 1 if report.defects else 0


if __name__ == "__main__":
    sys.exit(main())
