"""Crash safety, measured: training runs, model saves and conversions killed with SIGKILL, then checked.

Two ways to kill a forked child process:

* at a kill point: the child counts the lines that the code writing files runs (`WRITERS`, through
  ``sys.settrace``; nothing in the package knows) and sends itself SIGKILL before the K-th. Sweeping K over
  every line kills the child in every gap between two file operations of a checkpoint write, a prune, the
  run log, a model save and a conversion;
* at a random time: the parent sends SIGKILL after a seeded random delay.

What must hold afterwards:

* training (``interestyle train CONFIG --resume``, run again after each kill until it finishes) ends
  bit-identical to an uninterrupted run: the final checkpoint's weights, optimiser, RNG and step (its
  ``training_state.json`` but for ``log.dir``), the last sample sheet, the same checkpoints kept, the
  same log rows (but the ``seconds`` column), and no temporary folder left;
* a model saved over another (``save_pretrained``) or into a new folder, and a conversion
  (``convert_checkpoint``, with ``overwrite`` or into a new folder), killed anywhere in the write, leave
  the old model, the new one, no folder, or a folder that refuses to load because it names itself
  incomplete: never one that loads something else.

Usage::

    python benchmarks/crash_safety.py                  # every kill point of the writes; 20 training tries
    python benchmarks/crash_safety.py --tries 50 --kills 3 --seed 1
    python benchmarks/crash_safety.py --only training

tests/test_crash_safety.py runs the sweeps and a few seeded training tries.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import torch
from machine import describe

import interestyle
from interestyle import EncoderConfig, GeneratorConfig, IntereStyleModel, ModelConfig, WeightsError

WRITERS: dict[str, tuple[str, ...]] = {
    "interestyle/serialization.py": ("atomic_write", "writing_folder", "save_model_folder"),
    "interestyle/training/checkpoints.py": ("write_checkpoint", "prune_checkpoints", "tidy_checkpoints"),
    "interestyle/training/run_log.py": ("__init__", "write"),
    "interestyle/training/trainer.py": ("save_checkpoint", "save_samples", "_open_log"),
    "interestyle/convert/output.py": ("write_folder",),
}
"""The functions whose lines are kill points, by the end of their file's path."""


class KillPoints:
    """Count the lines run in `WRITERS` and send SIGKILL to this process before line ``kill_at``.

    Use as a context manager (it installs a ``sys.settrace`` hook for the current thread); ``count`` is
    then the number of kill points passed, and ``where`` the (function, line) of each.
    """

    def __init__(self, kill_at: int | None = None) -> None:
        self.kill_at = kill_at
        self.count = 0
        self.where: list[tuple[str, int]] = []
        self._watched: dict[str, bool] = {}

    def __enter__(self) -> KillPoints:
        sys.settrace(self._call)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(None)

    def _is_writer(self, filename: str, name: str) -> bool:
        key = f"{filename}:{name}"
        if key not in self._watched:
            path = filename.replace(os.sep, "/")
            self._watched[key] = any(path.endswith(end) and name in names for end, names in WRITERS.items())
        return self._watched[key]

    def _call(self, frame: FrameType, event: str, arg: object) -> Any:
        if event == "call" and self._is_writer(frame.f_code.co_filename, frame.f_code.co_name):
            return self._line
        return None

    def _line(self, frame: FrameType, event: str, arg: object) -> Any:
        if event == "line":
            self.count += 1
            self.where.append((frame.f_code.co_name, frame.f_lineno))
            if self.count == self.kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
        return self._line


@dataclass
class Child:
    """How a forked child ended: killed (and where), or finished after passing ``count`` kill points."""

    killed: bool
    count: int = 0
    seconds: float = 0.0
    where: list[tuple[str, int]] = field(default_factory=list)


def run_forked(
    task: Callable[[], object], *, kill_at: int | None = None, kill_after: float | None = None, quiet: bool = True
) -> Child:
    """Run ``task()`` in a forked child on one thread, killed before kill point ``kill_at`` or after
    ``kill_after`` seconds (None: never).

    Raises:
        RuntimeError: the child failed (its traceback is on stderr).
    """
    read, write = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller
        os.close(read)
        code = 1
        try:
            if quiet:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
            torch.set_num_threads(1)
            with KillPoints(kill_at) as points:
                task()
            os.write(write, json.dumps({"count": points.count, "where": points.where}).encode())
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(write)
    done, status = os.waitpid(pid, os.WNOHANG) if kill_after is not None else os.waitpid(pid, 0)
    while not done and time.perf_counter() < start + (kill_after or 0.0):
        time.sleep(0.005)
        done, status = os.waitpid(pid, os.WNOHANG)
    if not done:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    with os.fdopen(read) as f:
        report = f.read()
    seconds = time.perf_counter() - start
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
        return Child(killed=True, seconds=seconds)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        raise RuntimeError(f"the child process failed (status {status}); its traceback is above")
    data = json.loads(report)
    return Child(killed=False, count=data["count"], seconds=seconds, where=[tuple(w) for w in data["where"]])


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of ``folder`` (not recursive) by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def tiny_model(seed: int, iterations: int = 2) -> IntereStyleModel:
    """A random model of a few hundred thousand parameters (32x32)."""
    torch.manual_seed(seed)
    generator = GeneratorConfig(resolution=32, style_dim=32, n_mlp=2, channels=(32, 32, 16, 16))
    encoder = EncoderConfig(units=(1, 1, 1, 1), widths=(16, 16, 32, 32), input_size=32)
    return IntereStyleModel(ModelConfig(generator=generator, encoder=encoder, iterations=iterations)).eval()


# -- checkpoints -----------------------------------------------------------------------------------------
def checkpoint_sweeps(root: Path, every: int = 1) -> dict[str, Counter[str]]:
    """``write_checkpoint`` + ``prune_checkpoints`` (the newest 2 kept) killed at each kill point: writing
    step 6 beside steps 2 and 4, and writing step 4 again over itself. Judged after
    `interestyle.training.checkpoints.tidy_checkpoints` (what a resumed run does first): every
    ``step-N`` folder must be byte-identical to a whole write of it, and the newest one 4 or 6."""
    from interestyle.training.checkpoints import (
        find_latest_checkpoint,
        prune_checkpoints,
        tidy_checkpoints,
        training_state,
        write_checkpoint,
    )

    model = tiny_model(0)
    optimizer = torch.optim.Adam(model.encoder.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    sum(p.square().sum() for p in model.encoder.parameters()).backward()
    optimizer.step()

    def write(folder: Path, step: int, seed: int = 0) -> None:
        tensors, meta = training_state(step, optimizer, scheduler, None, seed=seed, num_processes=1, training_config={})
        write_checkpoint(folder, step, model, tensors, meta)
        prune_checkpoints(folder, 2)

    expected = {}  # (folder name, seed) -> the files of a whole write
    for step, seed in ((2, 0), (4, 0), (6, 0), (4, 1)):
        whole = root.parent / f"checkpoint-{step}-{seed}"
        write(whole, step, seed)
        expected[(f"step-{step:08d}", seed)] = folder_bytes(whole / f"step-{step:08d}")

    def prepare(folder: Path) -> None:
        write(folder, 2)
        write(folder, 4)

    def judge(folder: Path) -> str:
        tidy_checkpoints(folder)
        names = sorted(p.name for p in folder.iterdir())
        for name in names:
            whole_ones = [v for (n, _), v in expected.items() if n == name]
            if name.startswith(".") or folder_bytes(folder / name) not in whole_ones:
                return f"FAIL {name} is not a whole checkpoint"
        newest = find_latest_checkpoint(folder.parent)  # it reads LOG_DIR/checkpoints
        seed = (
            ""
            if newest is None or newest.name != "step-00000004"
            else " (seed 1)"
            if (folder_bytes(newest) == expected[("step-00000004", 1)])
            else " (seed 0)"
        )
        return f"steps {', '.join(n[-1] for n in names)} kept, newest {newest.name[-1] if newest else None}{seed}"

    write_6, rewrite_4 = (lambda f: write(f, 6)), (lambda f: write(f, 4, seed=1))
    return {
        "checkpoint write + prune": sweep(
            "checkpoints", prepare, write_6, judge, root, "steps 4, 6 kept, newest 6", every
        ),
        "checkpoint rewritten over itself": sweep(
            "checkpoints", prepare, rewrite_4, judge, root, "steps 2, 4 kept, newest 4 (seed 1)", every
        ),
    }


def run_log_sweep(root: Path) -> dict[str, Counter[str]]:
    """A resumed run's `interestyle.training.run_log.RunLog` (from step 3 of a 5-row log) killed at
    each kill point while it starts: the CSV must keep the rows of steps 1-3 (all 5, or those 3)."""
    from interestyle.training.run_log import RunLog

    def prepare(folder: Path) -> None:
        folder.mkdir()
        log = RunLog(folder)
        for step in range(1, 6):
            log.write({"step": float(step), "loss": 1.0 / step}, step)
        log.close()

    def reopen(folder: Path) -> None:
        RunLog(folder, resumed_step=3).close()

    def judge(folder: Path) -> str:
        with (folder / "log.csv").open(newline="") as f:
            steps = [row["step"] for row in csv.DictReader(f)]
        if steps[:3] != ["1", "2", "3"]:
            return f"FAIL the log lost rows: steps {steps}"
        return f"steps {', '.join(steps)}"

    return {"run log reopened on resume": sweep("run", prepare, reopen, judge, root, "steps 1, 2, 3")}


# -- model saves and conversions -------------------------------------------------------------------------
def _same_model(a: IntereStyleModel, b: IntereStyleModel) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return a.config == b.config and sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _what_loads(folder: Path, load: Callable[[Path], Any], old: Any, new: Any, same: Callable[[Any, Any], bool]) -> str:
    """What ``load(folder)`` gives: 'old', 'new', 'absent' (no folder), 'incomplete' (the error naming it
    so), or what else happened (a failure)."""
    if not folder.exists():
        return "absent"
    try:
        loaded = load(folder)
    except WeightsError as exc:
        return "incomplete" if "is incomplete" in str(exc) else f"FAIL WeightsError: {exc}"
    except Exception as exc:
        return f"FAIL {type(exc).__name__}: {exc}"
    if old is not None and same(loaded, old):
        return "old"
    if same(loaded, new):
        return "new"
    return "FAIL loads something else"


def sweep(
    name: str,
    prepare: Callable[[Path], None],
    task: Callable[[Path], object],
    judge: Callable[[Path], str],
    root: Path,
    finished: str,
    every: int = 1,
) -> Counter[str]:
    """Kill ``task(folder)`` before each of its kill points in turn (``prepare(folder)`` first each time)
    and count what ``judge(folder)`` says after each kill; the run that is not killed (past the last kill
    point) must be judged ``finished``. Verdicts starting with ``FAIL`` are failures. With ``every`` > 1
    only kill points 1, 1 + every, ... and the last ``every`` ones are tried."""
    outcomes: Counter[str] = Counter()
    folder = root / name
    kill_at = 1
    while True:
        _clear(root)
        prepare(folder)
        child = run_forked(lambda: task(folder), kill_at=kill_at)
        verdict = judge(folder)
        if not child.killed:
            outcomes[f"finished: {verdict}" if verdict == finished else f"FAIL finished: {verdict}"] += 1
            break
        outcomes[verdict] += 1
        kill_at += every
    for last in range(max(kill_at - every + 1, child.count - every + 1), child.count + 1):
        # with a stride, the last kill points too (a prune, a clean-up) however the stride falls
        _clear(root)
        prepare(folder)
        if run_forked(lambda: task(folder), kill_at=last).killed:
            outcomes[judge(folder)] += 1
    return outcomes


def _clear(root: Path) -> None:
    for p in root.iterdir():
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()


def model_save_sweeps(root: Path, every: int = 1) -> dict[str, Counter[str]]:
    """``save_pretrained`` killed at each kill point, over an older model and into a new folder. The two
    models differ in weights and config but fit each other's files: a mix of old and new files would load."""
    old, new = tiny_model(1, iterations=2), tiny_model(2, iterations=3)

    def judge(folder: Path) -> str:
        return _what_loads(folder, interestyle.load_encoder, old, new, _same_model)

    return {
        "model save over another": sweep("m", old.save_pretrained, new.save_pretrained, judge, root, "new", every),
        "model save, new folder": sweep("m", lambda f: None, new.save_pretrained, judge, root, "new", every),
    }


def generator_checkpoint(path: Path, seed: int) -> Path:
    """A rosinality/stylegan2-pytorch checkpoint (``g_ema`` + ``latent_avg``) of a tiny generator."""
    model = tiny_model(seed)
    torch.save({"g_ema": model.decoder.state_dict(), "latent_avg": model.latent_avg[0].clone()}, path)
    return path


def conversion_sweeps(root: Path, every: int = 1) -> dict[str, Counter[str]]:
    """``convert_checkpoint`` killed at each kill point of its write, over an older conversion
    (``overwrite=True``) and into a new folder; judged with ``load_generator`` (a generator-only folder)."""
    from interestyle.convert import convert_checkpoint
    from interestyle.models.generator import load_generator

    sources = Path(tempfile.mkdtemp(prefix="sources-", dir=root.parent))
    old_source, new_source = generator_checkpoint(sources / "old.pt", 1), generator_checkpoint(sources / "new.pt", 2)
    reference = root.parent / "converted-reference"
    convert_checkpoint(old_source, reference / "old")
    convert_checkpoint(new_source, reference / "new")
    old, new = load_generator(reference / "old"), load_generator(reference / "new")

    def same(a: Any, b: Any) -> bool:
        (ga, la), (gb, lb) = a, b
        sa, sb = ga.state_dict(), gb.state_dict()
        return torch.equal(la, lb) and sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)

    def judge(folder: Path) -> str:
        return _what_loads(folder, load_generator, old, new, same)

    def over_old(folder: Path) -> None:
        convert_checkpoint(old_source, folder)

    def convert_new(folder: Path, overwrite: bool = False) -> None:
        convert_checkpoint(new_source, folder, overwrite=overwrite)

    return {
        "conversion over another": sweep("c", over_old, lambda f: convert_new(f, True), judge, root, "new", every),
        "conversion, new folder": sweep("c", lambda f: None, convert_new, judge, root, "new", every),
    }


# -- training --------------------------------------------------------------------------------------------
def training_config(root: Path, log_dir: Path, steps: int = 6) -> Path:
    """A tiny run of ``steps`` steps (checkpoints every 2 steps, the newest 2 kept, validation and samples
    every 3) as a JSON file beside ``log_dir``."""
    generator = root / "generator"
    if not generator.exists():
        tiny_model(1).save_pretrained(generator)
    config = {
        "model": {"encoder": tiny_model(0).config.encoder.to_dict()},
        "generator": str(generator),
        "iterations": 2,
        "noise_mode": "random",
        "data": {"kind": "synthetic", "count": 6, "val_fraction": 0.34},
        "optim": {"batch_size": 2, "steps": steps, "lr": 1e-3},
        "log": {
            "dir": str(log_dir),
            "every": 1,
            "sample_every": 3,
            "val_every": 3,
            "checkpoint_every": 2,
            "keep_checkpoints": 2,
        },
    }
    path = log_dir.with_suffix(".json")
    path.write_text(json.dumps(config, indent=2))
    return path


def train_cli(config: Path) -> None:
    """``interestyle train CONFIG --resume --no-progress`` in this process; raises unless it exits 0."""
    from interestyle.cli import main

    code = main(["train", str(config), "--resume", "--no-progress"])
    if code != 0:
        raise RuntimeError(f"interestyle train exited {code}")


def run_state(log_dir: Path) -> dict[str, Any]:
    """What an interrupted run must end with, in a comparable form (see the module docstring)."""
    checkpoints = log_dir / "checkpoints"
    kept = sorted(p.name for p in checkpoints.iterdir())
    final = checkpoints / kept[-1]
    files = folder_bytes(final)
    meta = json.loads(files.pop("training_state.json"))
    meta["training_config"]["log"].pop("dir")
    with (log_dir / "log.csv").open(newline="") as f:
        rows = [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]
    samples = sorted((log_dir / "samples").iterdir())
    return {
        "checkpoints": kept,
        "files": files,
        "meta": meta,
        "log": rows,
        "sample": (samples[-1].name, samples[-1].read_bytes()),
    }


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    out = []
    for key in a:
        if key == "files":
            out += [f"{name} differs" for name in a[key] if a[key][name] != b[key].get(name)]
        elif a[key] != b[key]:
            out.append(f"{key} differs")
    return out


@dataclass
class TrainingTries:
    """What the training tries did: kills by kind, runs started, and the tries whose result differed."""

    tries: int = 0
    runs: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    kill_points_total: int = 0
    failures: list[str] = field(default_factory=list)
    seconds_uninterrupted: float = 0.0


CHECKPOINT_WRITERS = ("write_checkpoint", "save_model_folder", "writing_folder", "prune_checkpoints")
"""The functions of a checkpoint write, among `WRITERS`."""


def training_tries(root: Path, tries: int, kills: int, seed: int, steps: int = 6) -> TrainingTries:
    """``tries`` runs of ``steps`` steps, each killed 1 to ``kills`` times and resumed until it finishes,
    compared with one uninterrupted run.

    The first kill of a try lands, by turns, at a random kill point inside a checkpoint write (chosen among
    the uninterrupted run's) or at a random time; later ones at a random kill point or a random time (all
    seeded). A kill after the run finished counts as missed.
    """
    reference_dir = root / "reference"
    reference_config = training_config(root, reference_dir, steps)
    straight = run_forked(functools.partial(train_cli, reference_config))
    reference = run_state(reference_dir)
    out = TrainingTries(kill_points_total=straight.count, seconds_uninterrupted=straight.seconds)
    in_writes = [k + 1 for k, (name, _) in enumerate(straight.where) if name in CHECKPOINT_WRITERS]
    functions = sorted({name for name, _ in straight.where})
    print(
        f"uninterrupted run: {straight.seconds:.1f} s, {straight.count} kill points ({len(in_writes)} in checkpoint "
        f"writes) in {', '.join(functions)}"
    )
    rng = random.Random(seed)
    for index in range(tries):
        log_dir = root / f"try-{index}"
        config = training_config(root, log_dir, steps)
        run = functools.partial(train_cli, config)
        for k in range(rng.randint(1, kills)):
            if k == 0 and index % 2 == 0:
                point = rng.choice(in_writes)
                child = run_forked(run, kill_at=point)
                kind = f"in a checkpoint write ({straight.where[point - 1][0]})"
            elif k == 0 or rng.random() < 0.5:
                child, kind = run_forked(run, kill_after=rng.uniform(0, straight.seconds)), "at a random time"
            else:
                child, kind = run_forked(run, kill_at=rng.randint(1, straight.count)), "at a random kill point"
            out.runs += 1
            out.kills[kind if child.killed else "missed (the run had finished)"] += 1
        run_forked(run)
        out.runs += 1
        out.tries += 1
        leftovers = [p.name for p in (log_dir / "checkpoints").iterdir() if p.name.startswith(".")]
        problems = _differences(reference, run_state(log_dir)) + [f"left behind: {n}" for n in leftovers]
        if problems:
            out.failures.append(f"try {index}: {'; '.join(problems)}")
    return out


# -- the command -----------------------------------------------------------------------------------------
def print_sweeps(sweeps: dict[str, Counter[str]]) -> int:
    """Print each sweep's outcomes; returns the number of failures."""
    failures = 0
    for name, outcomes in sweeps.items():
        killed = sum(n for k, n in outcomes.items() if not k.startswith("finished"))
        print(f"{name}: killed at {killed} kill points")
        for verdict, n in sorted(outcomes.items()):
            print(f"    {n:4d}  {verdict}")
            failures += n if verdict.startswith("FAIL") else 0
    return failures


SWEEPS: dict[str, tuple[Callable[[Path], dict[str, Counter[str]]], ...]] = {
    "checkpoints": (checkpoint_sweeps, run_log_sweep),
    "saves": (model_save_sweeps,),
    "conversions": (conversion_sweeps,),
}
"""The kill-point sweeps of each ``--only`` part (each gets an empty folder)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=20, help="training tries (default 20)")
    parser.add_argument("--kills", type=int, default=3, help="most kills per try (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["checkpoints", "saves", "conversions", "training"], help="one part only")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"machine: {describe()}")
    failures = 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="interestyle-crash-") as tmp:
        root = Path(tmp)
        for part, sweeps in SWEEPS.items():
            for run_sweeps in sweeps if args.only in (None, part) else ():
                folder = root / run_sweeps.__name__
                folder.mkdir()
                failures += print_sweeps(run_sweeps(folder))
        if args.only in (None, "training"):
            (root / "training").mkdir()
            result = training_tries(root / "training", args.tries, args.kills, args.seed)
            print(f"training: {result.tries} tries, {result.runs} runs; kills:")
            for kind, n in sorted(result.kills.items()):
                print(f"    {n:4d}  {kind}")
            same = result.tries - len(result.failures)
            print(f"{same} of {result.tries} tries ended bit-identical to the uninterrupted run")
            for line in result.failures:
                print(f"FAIL {line}")
            failures += len(result.failures)
    print(f"{time.perf_counter() - start:.0f} s, {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
