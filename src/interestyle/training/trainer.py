"""The training loop: [`Trainer`][interestyle.training.trainer.Trainer] builds what a
[`TrainingConfig`][interestyle.training.config.TrainingConfig] describes (see `.builders`) and runs it on Hugging Face
Accelerate, one `training_step` per batch, with validation, sample sheets, the run log (`.run_log`) and checkpoints
(`.checkpoints`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..errors import ConfigError, MissingExtraError
from ..grids import image_grid
from ..images import to_pil
from ..metrics import masked_mse
from ..serialization import atomic_write
from ..validation import check_positive_int
from .builders import build_data, build_model, build_objective, build_optimizer
from .checkpoints import (
    checkpoint_name,
    find_latest_checkpoint,
    global_batch,
    prune_checkpoints,
    read_checkpoint,
    resume_warnings,
    tidy_checkpoints,
    training_state,
    write_checkpoint,
)
from .config import TrainingConfig, load_training_config
from .data import Batch, ItemDataset, MaskProviderFn, StepSampler, collate, derive_seed, resolve_mask_provider
from .objective import training_step
from .run_log import RunLog

__all__ = ["Trainer", "TrainingResult", "train"]


@dataclass
class TrainingResult:
    """What [`train`][interestyle.training.trainer.train] returns.

    Attributes:
        step: optimiser steps done in total (this call and the ones it resumed).
        checkpoint: the newest checkpoint folder (a model folder ``load_encoder`` reads), or None.
        log_dir: the run folder.
        history: one dict of floats per step run in this call (``step``, ``loss``, ``loss_last``, terms).
        validation: the last validation's figures (``val_full_mse``, ``val_interest_mse``), or empty.
    """

    step: int
    checkpoint: Path | None
    log_dir: Path
    history: list[dict[str, float]] = field(default_factory=list)
    validation: dict[str, float] = field(default_factory=dict)

    @property
    def losses(self) -> list[float]:
        """The training loss (everything back-propagated) of each step of this call."""
        return [h["loss"] for h in self.history]


class Trainer:
    """Builds everything a [`TrainingConfig`][interestyle.training.config.TrainingConfig] describes and runs it; most
    users call [`train`][interestyle.training.trainer.train].

    Args:
        config: the run; files are checked before anything is built.
        mask_provider: masks for ``data.kind='provider'`` (images (B, 3, H, W) in [-1, 1] -> (B, 1, H, W)
            in [0, 1]); overrides ``data.provider``'s registry lookup.
        progress: show a progress bar (main process only).
    """

    def __init__(
        self, config: TrainingConfig, *, mask_provider: MaskProviderFn | None = None, progress: bool = True
    ) -> None:
        config.check_files()
        if config.mixed_precision == "fp16" and not torch.cuda.is_available():
            raise ConfigError("mixed_precision='fp16' needs a CUDA GPU; use 'bf16' or 'no' on the CPU")
        try:
            from accelerate import Accelerator
        except ImportError:
            raise MissingExtraError(
                "training needs Hugging Face Accelerate: pip install 'interestyle[train]'", extra="train"
            ) from None
        if config.data.kind == "provider" and mask_provider is None:
            assert config.data.provider is not None
            mask_provider = resolve_mask_provider(config.data.provider)

        self.config = config
        self.progress = progress
        self.accelerator = Accelerator(
            mixed_precision=config.mixed_precision,
            cpu=not torch.cuda.is_available(),
            step_scheduler_with_optimizer=False,  # the schedule is per optimiser step, whatever the world size
        )
        acc = self.accelerator
        self.log_dir = Path(config.log.dir)
        self.model = build_model(config).to(acc.device)
        self.objective, self.report = build_objective(config, acc.device)
        data = build_data(config, self.model.input_size, mask_provider=mask_provider, log_dir=self.log_dir)
        self.source, self.provider_masks = data.source, data.provider_masks
        self.train_indices, self.val_indices = data.train_indices, data.val_indices
        optimizer, scheduler = build_optimizer(config.optim, self.model.encoder.parameters())
        self.encoder, self.optimizer, self.scheduler = acc.prepare(self.model.encoder, optimizer, scheduler)
        self.step = 0
        self.history: list[dict[str, float]] = []
        self.validation: dict[str, float] = {}
        self.checkpoint: Path | None = None
        self._fixed: tuple[Tensor, Tensor | None] | None = None

    # -- data --------------------------------------------------------------------------------------------
    def _masks_for(self, batch: Batch) -> Batch:
        if self.provider_masks is not None:
            masks = self.provider_masks(batch.images, batch.indices.tolist())
            batch = Batch(batch.images, masks, batch.indices, batch.flips)
        return batch

    def _batches(self, start: int, end: int) -> Iterator[list[Batch]]:
        """The micro-batches of each step ``[start, end)`` on this process, ``gradient_accumulation_steps`` a step."""
        acc, d = self.accelerator, self.config.data
        accumulation = self.config.optim.gradient_accumulation_steps
        sampler = StepSampler(
            self.train_indices,
            self.config.optim.batch_size,
            start=start,
            end=end,
            seed=self.config.seed,
            process_index=acc.process_index,
            num_processes=acc.num_processes,
            flip=d.flip,
            accumulation_steps=accumulation,
        )
        loader = torch.utils.data.DataLoader(
            ItemDataset(self.source),
            batch_sampler=sampler,
            num_workers=d.workers,
            collate_fn=collate,
            pin_memory=acc.device.type == "cuda",
        )
        step: list[Batch] = []
        for batch in loader:
            step.append(self._masks_for(batch).flipped())
            if len(step) == accumulation:
                yield step
                step = []

    def _fixed_images(self, count: int) -> tuple[Tensor, Tensor | None]:
        """The first ``count`` held-out images (training images when there are none), unflipped."""
        indices = (self.val_indices or self.train_indices)[:count]
        items = [(*self.source.load(i), i, False) for i in indices]
        batch = self._masks_for(collate(items))
        return batch.images, batch.masks

    # -- reporting ----------------------------------------------------------------------------------------
    @torch.no_grad()
    def _reconstruct(self, images: Tensor) -> list[Tensor]:
        """Inference as users run it (sharp input, const noise): each step's reconstruction at the encoder size."""
        model = self.model
        model.encoder.eval()
        try:
            with self.accelerator.autocast():
                return [model.to_encoder_size(y).float() for _, y in model.refine(images, self.config.iterations)]
        finally:
            model.encoder.train()

    def validate(self) -> dict[str, float]:
        """The benchmark's figures for the final reconstruction of the held-out images, against the input.

        ``val_full_mse`` and ``val_interest_mse`` (runs with masks) are means over images of
        [`interestyle.metrics.masked_mse`][interestyle.metrics.masked_mse], the per-image MSE over all pixels
        and over the interest mask's pixels (``full_mse`` / ``interest_mse`` of ``benchmarks/occlusion.py``,
        and the ``l2`` of ``interestyle eval``, here at the encoder size rather than 256); an image with an
        empty mask is left out of the interest mean.
        """
        if not self.val_indices:
            return {}
        dev = self.accelerator.device
        bs = self.config.optim.batch_size
        indices = self.val_indices[: self.config.log.val_images]
        full: list[Tensor] = []
        interest: list[Tensor] = []
        has_masks = True
        for start in range(0, len(indices), bs):
            chunk = indices[start : start + bs]
            batch = self._masks_for(collate([(*self.source.load(i), i, False) for i in chunk]))
            x = batch.images.to(dev)
            y = self._reconstruct(x)[-1]
            full.append(masked_mse(y, x))
            if batch.masks is None:
                has_masks = False
            else:
                interest.append(masked_mse(y, x, batch.masks.to(dev)))
        out = {"val_full_mse": float(torch.cat(full).mean())}
        if has_masks:
            out["val_interest_mse"] = float(torch.cat(interest).nanmean())
        return out

    def save_samples(self, step: int) -> Path:
        """Write ``samples/step-NNNNNNNN.png``: one row per image under labelled columns, input | mask |
        step 1 ... step T (each refinement step's reconstruction) | target (``m * x``; ``x`` without masks)."""
        if self._fixed is None:
            self._fixed = self._fixed_images(self.config.log.samples)
        images, masks = self._fixed
        x = images.to(self.accelerator.device)
        m = masks.to(x.device) if masks is not None else torch.ones_like(x[:, :1])
        steps = self._reconstruct(x)
        columns = [x, (m * 2 - 1).expand(-1, 3, -1, -1), *steps, m * x]
        labels = ["input", "mask", *(f"step {k + 1}" for k in range(len(steps))), "target"]
        cells = [to_pil(c.clamp(-1, 1).cpu()) for c in columns]
        image = image_grid([list(row) for row in zip(*cells, strict=True)], cell=x.shape[-1], column_labels=labels)
        path = self.log_dir / "samples" / f"step-{step:08d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))
        return path

    # -- checkpoints -------------------------------------------------------------------------------------
    def save_checkpoint(self, step: int) -> Path:
        """Write ``checkpoints/step-NNNNNNNN`` (model folder + training state) through a temporary folder
        renamed into place, so an interrupted write leaves no partial checkpoint; keeps the newest
        ``log.keep_checkpoints``."""
        acc = self.accelerator
        root = self.log_dir / "checkpoints"
        final = root / checkpoint_name(step)
        if acc.is_main_process:
            tensors, meta = training_state(
                step,
                self.optimizer,
                self.scheduler,
                acc.scaler,
                seed=self.config.seed,
                num_processes=acc.num_processes,
                training_config=self.config.to_dict(),
            )
            write_checkpoint(root, step, self.model, tensors, meta)
            prune_checkpoints(root, self.config.log.keep_checkpoints)
        acc.wait_for_everyone()
        return final

    def load_checkpoint(self, folder: str | os.PathLike[str]) -> int:
        """Restore weights, optimiser, scheduler, gradient scaler and RNG state; returns the step."""
        acc = self.accelerator
        meta = read_checkpoint(folder, self.model, self.optimizer, self.scheduler, acc.scaler)
        for line in resume_warnings(
            Path(folder), meta, num_processes=acc.num_processes, training_config=self.config.to_dict()
        ):
            acc.print(line)
        return int(meta["step"])

    # -- the loop -----------------------------------------------------------------------------------------
    def _step(self, micro_batches: list[Batch]) -> dict[str, float]:
        """One optimiser step over ``micro_batches`` (each loss divided by their count, gradients summed,
        all-reduced once at the last backward pass); returns the figures averaged over them, with ``step``
        (after it) and ``lr``."""
        acc, cfg = self.accelerator, self.config
        step = self.step
        count = len(micro_batches)
        totals: dict[str, float] = {}
        for k, batch in enumerate(micro_batches):
            last = k == count - 1

            def pass_context(final: bool, last: bool = last) -> AbstractContextManager[Any]:
                # DDP all-reduces once a step: at the final pass of the last micro-batch
                return nullcontext() if final and last else acc.no_sync(self.encoder)

            torch.manual_seed(derive_seed("step", cfg.seed, step, acc.process_index * count + k))
            x = batch.images.to(acc.device, non_blocking=True)
            m = None if batch.masks is None else batch.masks.to(acc.device, non_blocking=True)
            logs = training_step(
                self.model,
                x,
                m,
                self.objective,
                encoder=self.encoder,
                backward=lambda loss: acc.backward(loss / count),
                pass_context=pass_context,
                autocast=acc.autocast,
            )
            for name, value in logs.items():
                totals[name] = totals.get(name, 0.0) + value / count
        if cfg.optim.grad_clip is not None:
            acc.clip_grad_norm_(self.encoder.parameters(), cfg.optim.grad_clip)
        lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step = step + 1
        return {"step": float(self.step), "lr": lr, **totals}

    def _log(self, row: dict[str, float], bar: Any, log: RunLog | None, seconds: float) -> None:
        """Show the step's main figures on the progress bar and write ``row`` (plus ``seconds`` since the
        loop started) to the run log (``log`` is None off the main process)."""
        figures = {k: f"{v:.4f}" for k, v in row.items() if k in ("loss", "l2", "ssim", "lpips", "id", "ind")}
        bar.set_postfix(figures, refresh=False)
        if log is not None:
            log.write({**row, "seconds": seconds}, self.step)

    def _start(self, resume: bool) -> int:
        """The step to start from: a fresh run refuses a folder with checkpoints; ``resume`` restores the
        newest (step 0 when there is none), after finishing what a killed run left (tidy, prune)."""
        acc, cfg = self.accelerator, self.config
        root = self.log_dir / "checkpoints"
        if resume and acc.is_main_process and root.is_dir():
            tidy_checkpoints(root)  # what a killed run left half-written
            prune_checkpoints(root, cfg.log.keep_checkpoints)  # a run killed between writing and pruning
        acc.wait_for_everyone()
        latest = find_latest_checkpoint(self.log_dir)
        if not resume and latest is not None:
            raise ConfigError(
                f"log.dir={cfg.log.dir!r} already holds checkpoints (newest: {latest}); "
                "resume that run (--resume / resume=True) or choose another log.dir"
            )
        if not resume:
            return 0
        if latest is None:
            acc.print(f"no checkpoint in {self.log_dir / 'checkpoints'}: starting from step 0")
            return 0
        start = self.load_checkpoint(latest)
        self.checkpoint = latest
        acc.print(f"resuming from {latest} (step {start})")
        return start

    def _open_log(self, start: int, end: int) -> RunLog:
        """Write the resolved config, open the run log and print what the run does (main process)."""
        acc, cfg = self.accelerator, self.config
        self.log_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(cfg.to_dict(), indent=2) + "\n"
        atomic_write(self.log_dir / "training_config.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))
        log = RunLog(self.log_dir, start)
        d, o = cfg.data, cfg.optim
        acc.print(
            f"interestyle train: {cfg.method} objective, {cfg.iterations} refinement steps, "
            f"steps {start} -> {end} of {o.steps}, global batch {global_batch(o, acc.num_processes)} = "
            f"{o.batch_size} x {acc.num_processes} process(es) x {o.gradient_accumulation_steps} accumulation "
            f"step(s) on {acc.device}, mixed precision {cfg.mixed_precision}"
        )
        acc.print(f"data: {d.kind}, {len(self.train_indices)} training / {len(self.val_indices)} held-out images")
        acc.print("\n".join(self.report))
        acc.print(f"logs: {self.log_dir} (CSV; TensorBoard {'on' if log.tensorboard else 'not installed'})")
        return log

    def run(self, *, resume: bool = False, max_steps: int | None = None) -> TrainingResult:
        """Train until ``optim.steps`` (or ``max_steps`` more steps); ``resume`` continues from the newest
        checkpoint in ``log.dir`` (from scratch when there is none)."""
        if max_steps is not None:
            max_steps = check_positive_int(max_steps, "max_steps")
        acc, cfg = self.accelerator, self.config
        start = self._start(resume)
        end = cfg.optim.steps if max_steps is None else min(cfg.optim.steps, start + max_steps)
        self.step = start
        main = acc.is_main_process
        log = self._open_log(start, end) if main else None
        acc.wait_for_everyone()

        bar = tqdm(
            total=cfg.optim.steps, initial=start, desc="train", unit="step", disable=not (main and self.progress)
        )
        t0 = time.perf_counter()
        try:
            for micro_batches in self._batches(start, end):
                logs = self._step(micro_batches)
                self.history.append(logs)
                bar.update(1)
                s = self.step
                row = dict(logs)
                if s % cfg.log.val_every == 0 or s == end:
                    if main:
                        self.validation = self.validate()
                        row.update(self.validation)
                    acc.wait_for_everyone()
                if main and (s % cfg.log.sample_every == 0 or s == end):
                    self.save_samples(s)
                if s % cfg.log.every == 0 or s == end or len(row) > len(logs):
                    self._log(row, bar, log, time.perf_counter() - t0)
                if s % cfg.log.checkpoint_every == 0 or s == end:
                    self.checkpoint = self.save_checkpoint(s)
        finally:
            bar.close()
            if log is not None:
                log.close()
        return TrainingResult(self.step, self.checkpoint, self.log_dir, self.history, self.validation)


def train(
    config: TrainingConfig | Mapping[str, Any] | str | os.PathLike[str],
    *,
    resume: bool = False,
    max_steps: int | None = None,
    mask_provider: MaskProviderFn | None = None,
    progress: bool = True,
) -> TrainingResult:
    """Train an IntereStyle (or, with ``baseline: true``, a ReStyle-style) encoder against a frozen generator.

    Args:
        config: a [`TrainingConfig`][interestyle.training.config.TrainingConfig], its dict form, or a ``.json`` /
            ``.yaml`` file.
        resume: continue from the newest checkpoint in ``log.dir`` (weights, optimiser, scheduler, step,
            RNG state); from scratch when there is none.
        max_steps: stop after this many steps in this call (a checkpoint is written when it stops).
        mask_provider: a callable computing masks for ``data.kind='provider'``: images (B, 3, H, W) in
            [-1, 1] -> masks (B, 1, H, W) in [0, 1].
        progress: show a progress bar.

    Returns:
        A [`TrainingResult`][interestyle.training.trainer.TrainingResult]; ``result.checkpoint`` is a model folder
        [`interestyle.load_encoder`][interestyle.load_encoder] reads.

    Raises:
        ConfigError / FileNotFoundError: an invalid config or a missing file, before anything trains.
    """
    if isinstance(config, (str, os.PathLike)):
        config = load_training_config(config)
    elif isinstance(config, Mapping):
        config = TrainingConfig.from_dict(config)
    elif not isinstance(config, TrainingConfig):
        raise TypeError(f"config must be a TrainingConfig, a mapping or a file path, got {type(config).__name__}")
    return Trainer(config, mask_provider=mask_provider, progress=progress).run(resume=resume, max_steps=max_steps)
