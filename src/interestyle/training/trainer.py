"""The trainer: the IntereStyle objective (and the baseline, by switches) on Hugging Face Accelerate.

One step (METHOD.md): for ``t`` in ``0 .. T-1`` the encoder sees ``[UnF(x, m, r_t), y_{t-1}]`` (``y_{-1}``
the average image), ``w_t = w_{t-1}.detach() + E(...)``, ``y_t = G(w_t)``, and the masked loss of ``y_t``
against the sharp ``x`` is back-propagated (every step, or the last only). Then Interest Disentanglement
encodes ``[x, m * x]`` from the detached ``w_T`` and adds ``0.05 *`` the masked loss of ``G(w_T + D)``.
One optimiser step follows. The generator is frozen; the refinement arithmetic is
:meth:`IntereStyleModel.refine`'s.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor
from tqdm.auto import tqdm

from .._version import __version__
from ..errors import ConfigError, WeightsError
from ..hub import load_encoder
from ..images import to_pil
from ..locate import resolve_model_folder
from ..lossnets.arcface import IdentityLoss, init_encoder_backbone, load_arcface
from ..lossnets.lpips import load_lpips
from ..models.generator import GENERATOR_CLASS_NAME, load_generator
from ..models.model import IntereStyleModel
from ..serialization import WEIGHTS_NAME, atomic_write, read_model_folder, read_state_dict
from .config import TrainingConfig, load_training_config
from .data import (
    Batch,
    ItemDataset,
    MaskProviderFn,
    ProviderMasks,
    StepSampler,
    build_source,
    collate,
    derive_seed,
    resolve_mask_provider,
    split_indices,
)
from .filters import UninterestFilter, step_radii
from .losses import ReconstructionLoss, masked_mse

__all__ = [
    "Objective",
    "Trainer",
    "TrainingResult",
    "build_model",
    "build_objective",
    "find_latest_checkpoint",
    "train",
    "training_step",
]

STATE_JSON = "training_state.json"
STATE_TENSORS = "training_state.safetensors"
CSV_FIELDS = (
    "step",
    "lr",
    "loss",
    "loss_last",
    "l2",
    "lpips",
    "ssim",
    "id",
    "w_norm",
    "ind",
    "val_mse",
    "val_masked_mse",
    "seconds",
)
_CHECKPOINT = re.compile(r"^step-(\d+)$")


# -- the objective and one step ---------------------------------------------------------------------------
@dataclass
class Objective:
    """What one training step optimises (built from a :class:`TrainingConfig` by :func:`build_objective`).

    Attributes:
        loss: the weighted terms.
        iterations: refinement steps T.
        masked: image terms on ``m * image`` (false: whole images, the baseline).
        every_step: loss and backward at every refinement step; false: the last step only.
        uninterest_filter: the Uninterest Filter, or None.
        disentanglement_weight: weight of Interest Disentanglement; 0 switches it off.
        noise_mode: the generator's noise, ``"random"`` or ``"const"``.
    """

    loss: ReconstructionLoss
    iterations: int = 5
    masked: bool = True
    every_step: bool = True
    uninterest_filter: UninterestFilter | None = None
    disentanglement_weight: float = 0.05
    noise_mode: str = "random"

    @property
    def needs_masks(self) -> bool:
        f = self.uninterest_filter
        return self.masked or self.disentanglement_weight > 0 or (f is not None and f.variant == "uninterest")


def training_step(
    model: IntereStyleModel,
    images: Tensor,
    masks: Tensor | None,
    objective: Objective,
    *,
    encoder: Callable[[Tensor], Tensor] | None = None,
    backward: Callable[[Tensor], None] | None = None,
    pass_context: Callable[[bool], AbstractContextManager[Any]] | None = None,
    autocast: Callable[[], AbstractContextManager[Any]] | None = None,
) -> dict[str, float]:
    """Forward and backward passes of one training step; the caller steps the optimiser.

    Args:
        model: encoder + frozen generator.
        images: (B, 3, S, S) in [-1, 1] at the encoder's input size: the sharp input and the target.
        masks: (B, 1, S, S) in [0, 1], 1 = interest; None only when the objective reads no mask.
        objective: the losses and switches.
        encoder: the callable to train (e.g. the DDP-wrapped ``model.encoder``); default ``model.encoder``.
        backward: ``f(loss)`` (e.g. ``accelerator.backward``); default ``loss.backward()``.
        pass_context: ``f(final)`` -> context around each backward-carrying pass; ``final`` is true for the
            last one of the step (the trainer gives ``no_sync`` to the others, so DDP reduces once).
        autocast: context factory for the forward passes (mixed precision).

    Returns:
        Floats: ``loss`` (sum of everything back-propagated), ``loss_last`` (the last refinement step's
        objective), that step's unweighted terms (``l2``, ``lpips``, ``ssim``, ``id``, ``w_norm``) and
        ``ind`` (the unweighted disentanglement objective) when it is on.
    """
    if masks is None and objective.needs_masks:
        raise ValueError("this objective reads interest masks (masked loss, 'uninterest' filter or disentanglement)")
    encode = model.encoder if encoder is None else encoder
    run_backward = backward or (lambda loss: loss.backward())
    context = pass_context or (lambda final: nullcontext())
    amp = autocast or nullcontext
    latent_avg = model.latent_avg if model.config.start_from_latent_avg else None
    loss_mask = masks if objective.masked else None
    step_input = None if objective.uninterest_filter is None else objective.uninterest_filter.step_input(masks)
    noise = objective.noise_mode
    ind = objective.disentanglement_weight > 0
    iterations = objective.iterations
    logs: dict[str, float] = {"loss": 0.0}

    steps = model.refine(images, iterations, step_input=step_input, noise_mode=noise, encoder=encode)  # type: ignore[arg-type]
    latents = images.new_zeros(())
    for t in range(iterations):
        tracked = objective.every_step or t == iterations - 1
        final = t == iterations - 1 and not ind
        with context(final) if tracked else nullcontext():
            with torch.set_grad_enabled(tracked), amp():
                latents, reconstruction = next(steps)
                if tracked:
                    out = objective.loss(model.to_encoder_size(reconstruction), images, loss_mask, latents, latent_avg)
            if tracked:
                run_backward(out.total)
                logs["loss"] += float(out.total.detach())
    logs["loss_last"] = float(out.total.detach())
    logs.update({k: float(v) for k, v in out.terms.items()})

    if ind:
        assert masks is not None
        with context(True):
            with amp():
                offset = encode(torch.cat([images, masks.to(images.dtype) * images], dim=1))
                shifted = latents.detach() + offset
                reconstruction = model.decode(shifted, noise_mode=noise)  # type: ignore[arg-type]
                out = objective.loss(model.to_encoder_size(reconstruction), images, masks, shifted, latent_avg)
            run_backward(objective.disentanglement_weight * out.total)
        logs["ind"] = float(out.total.detach())
        logs["loss"] += objective.disentanglement_weight * logs["ind"]
    return logs


# -- building the parts -----------------------------------------------------------------------------------
def _label(config: TrainingConfig, current: str) -> str:
    # A custom label is kept; the two standard ones follow what this run trains.
    return current if current not in ("interestyle", "restyle") else config.method


def _load_generator_into(model: IntereStyleModel, path: str) -> None:
    """Copy the generator and ``latent_avg`` of ``path`` into ``model``: a generator-only folder (what
    ``interestyle convert --kind stylegan2`` and the demo recipe write) or an inversion model folder."""
    folder = resolve_model_folder(path)
    config_dict, _ = read_model_folder(folder)
    if config_dict.get("_class_name") == GENERATOR_CLASS_NAME:
        generator, latent_avg = load_generator(folder)
        latent_avg = latent_avg.expand(model.n_latent, -1)
    else:
        source = IntereStyleModel.from_pretrained(folder)
        generator, latent_avg = source.decoder, source.latent_avg
    if generator.config != model.config.generator:
        raise ConfigError(
            f"generator={path!r} is {generator.config.to_dict()}, but the model's generator config is "
            f"{model.config.generator.to_dict()}; they must be the same"
        )
    if tuple(latent_avg.shape) != tuple(model.latent_avg.shape):
        raise WeightsError(
            f"generator={path!r}: latent_avg has shape {tuple(latent_avg.shape)}, "
            f"expected {tuple(model.latent_avg.shape)}"
        )
    model.decoder.load_state_dict(generator.state_dict(), strict=True)
    with torch.no_grad():
        model.latent_avg.copy_(latent_avg)


def build_model(config: TrainingConfig) -> IntereStyleModel:
    """The model to train, on the CPU: fresh (seeded) or loaded from ``model.init``, with the generator of
    ``config.generator`` when given, frozen; its config carries the run's iterations and method label."""
    if isinstance(config.model, str):
        model = load_encoder(config.model)
        if not model.config.iterative and config.iterations != 1:
            raise ConfigError(
                f"iterations={config.iterations}: {config.model!r} is a single-pass encoder (1 iteration)"
            )
        if not model.config.iterative and config.disentanglement.enabled:
            raise ConfigError(f"disentanglement.enabled needs an iterative encoder; {config.model!r} is single-pass")
        model.config = dataclasses.replace(
            model.config, iterations=config.iterations, method=_label(config, model.config.method)
        )
    else:
        torch.manual_seed(config.seed)
        model_config = dataclasses.replace(
            config.model, iterations=config.iterations, method=_label(config, config.model.method)
        )
        model = IntereStyleModel(model_config)
        if config.generator is None:
            with torch.no_grad():
                model.latent_avg.copy_(model.decoder.mean_latent(10_000).expand(model.n_latent, -1))
        if config.encoder_backbone is not None:
            try:
                init_encoder_backbone(model.encoder, load_arcface(config.encoder_backbone))
            except ValueError as exc:
                raise ConfigError(f"encoder_backbone={config.encoder_backbone!r}: {exc}") from None
    if config.generator is not None:
        _load_generator_into(model, config.generator)
    model.decoder.requires_grad_(False)
    model.decoder.eval()
    model.encoder.train()
    return model


def build_objective(config: TrainingConfig, device: torch.device | str = "cpu") -> tuple[Objective, list[str]]:
    """The :class:`Objective` of ``config``, with its perceptual networks loaded on ``device``, and the
    lines that say which terms are active and why (printed when a run starts)."""
    lc = config.loss
    lines = []
    lpips_net = identity = None
    if lc.lpips > 0 and lc.lpips_weights is not None:
        lpips_net = load_lpips(lc.lpips_weights, device=device)
    if lc.id > 0 and lc.arcface_weights is not None:
        identity = IdentityLoss(load_arcface(lc.arcface_weights, device=device))
    ssim_weight = lc.ssim if lc.lpips > 0 and lpips_net is None else 0.0
    loss = ReconstructionLoss(
        l2=lc.l2,
        lpips=lc.lpips if lpips_net is not None else 0.0,
        identity=lc.id if identity is not None else 0.0,
        w_norm=lc.w_norm,
        ssim=ssim_weight,
        lpips_net=lpips_net,
        identity_loss=identity,
    )

    def line(name: str, weight: float, state: str) -> None:
        lines.append(f"  {name:<8}{weight:<8g}{state}")

    lines.append("loss terms:")
    line("l2", lc.l2, "active" if lc.l2 > 0 else "off (weight 0)")
    if lc.lpips == 0:
        line("lpips", 0, "off (weight 0)")
    elif lpips_net is not None:
        line("lpips", lc.lpips, f"active (AlexNet weights from {lc.lpips_weights})")
    else:
        line("lpips", lc.lpips, "OFF: no loss.lpips_weights given")
    if ssim_weight > 0:
        line("ssim", ssim_weight, "active, in place of LPIPS (1 - SSIM)")
    elif lc.lpips > 0 and lpips_net is None:
        line("ssim", 0, "off (weight 0): LPIPS has no substitute")
    if lc.id == 0:
        line("id", 0, "off (weight 0)")
    elif identity is not None:
        line("id", lc.id, f"active (ArcFace weights from {lc.arcface_weights})")
    else:
        line("id", lc.id, "OFF: no loss.arcface_weights given")
    line("w_norm", lc.w_norm, "active" if lc.w_norm > 0 else "off (weight 0)")
    if not loss.active:
        raise ConfigError("no loss term is active: give l2, ssim or a perceptual term a positive weight")
    lines.append(f"  masked: {'yes, terms on m * image' if lc.masked else 'no, whole images'}")
    lines.append(f"  backward at {'every refinement step' if lc.every_step else 'the last refinement step only'}")

    unf = None
    if config.filter.enabled:
        f = config.filter
        unf = UninterestFilter(f.radii, f.variant, reference_resolution=f.reference_resolution)
        size = config.model.encoder.input_size if not isinstance(config.model, str) else None
        radii = (
            ""
            if size is None
            else " = "
            + ", ".join(
                f"{r:g}"
                for r in step_radii(f.radii, config.iterations, size, reference_resolution=f.reference_resolution)
            )
            + f" px at {size}x{size}"
        )
        lines.append(f"uninterest filter: {f.variant}, radii {list(f.radii)} at {f.reference_resolution}{radii}")
    else:
        lines.append("uninterest filter: off")
    weight = config.disentanglement.weight if config.disentanglement.enabled else 0.0
    lines.append(f"interest disentanglement: {f'on, weight {weight:g}' if weight > 0 else 'off'}")
    objective = Objective(
        loss=loss,
        iterations=config.iterations,
        masked=lc.masked,
        every_step=lc.every_step,
        uninterest_filter=unf,
        disentanglement_weight=weight,
        noise_mode=config.noise_mode,
    )
    return objective, lines


def _lr_factor(step: int, optim: Any) -> float:
    """Learning-rate multiplier of optimiser step ``step`` (0-based): linear warm-up, then constant or cosine."""
    if optim.warmup_steps and step < optim.warmup_steps:
        return (step + 1) / optim.warmup_steps
    if optim.scheduler == "constant":
        return 1.0
    span = max(1, optim.steps - optim.warmup_steps)
    progress = min(1.0, (step - optim.warmup_steps) / span)
    return 0.5 * (1 + math.cos(math.pi * progress))


# -- checkpoints --------------------------------------------------------------------------------------------
def find_latest_checkpoint(log_dir: str | os.PathLike[str]) -> Path | None:
    """The newest complete checkpoint folder under ``LOG_DIR/checkpoints`` (``step-NNNNNNNN``), or None."""
    root = Path(log_dir) / "checkpoints"
    if not root.is_dir():
        return None
    found = []
    for p in root.iterdir():
        m = _CHECKPOINT.match(p.name)
        if m and (p / STATE_JSON).is_file() and (p / WEIGHTS_NAME).is_file():
            found.append((int(m.group(1)), p))
    return max(found)[1] if found else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


@dataclass
class TrainingResult:
    """What :func:`train` returns.

    Attributes:
        step: optimiser steps done in total (this call and the ones it resumed).
        checkpoint: the newest checkpoint folder (a model folder ``load_encoder`` reads), or None.
        log_dir: the run folder.
        history: one dict of floats per step run in this call (``step``, ``loss``, ``loss_last``, terms).
        validation: the last validation's figures (``val_mse``, ``val_masked_mse``), or empty.
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
    """Builds everything a :class:`TrainingConfig` describes and runs it; most users call :func:`train`.

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
            raise ImportError("training needs Hugging Face Accelerate: pip install 'interestyle[train]'") from None
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

        size = self.model.input_size
        self.source = build_source(config.data, size, needs_masks=config.needs_masks)
        self.train_indices, self.val_indices = split_indices(len(self.source), config.data.val_fraction, config.seed)
        self.provider_masks = None
        if config.data.kind == "provider":
            assert mask_provider is not None
            cache = config.data.mask_cache or self.log_dir / "mask-cache"
            self.provider_masks = ProviderMasks(mask_provider, cache, self.source)

        o = config.optim
        params = [p for p in self.model.encoder.parameters() if p.requires_grad]
        optim_cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
        optimizer = optim_cls(params, lr=o.lr, betas=o.betas, weight_decay=o.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, o))
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

    def _batches(self, start: int, end: int) -> Iterator[Batch]:
        acc, d = self.accelerator, self.config.data
        sampler = StepSampler(
            self.train_indices,
            self.config.optim.batch_size,
            start=start,
            end=end,
            seed=self.config.seed,
            process_index=acc.process_index,
            num_processes=acc.num_processes,
            flip=d.flip,
        )
        loader = torch.utils.data.DataLoader(
            ItemDataset(self.source),
            batch_sampler=sampler,
            num_workers=d.workers,
            collate_fn=collate,
            pin_memory=acc.device.type == "cuda",
        )
        for batch in loader:
            yield self._masks_for(batch).flipped()

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
        """Full-image and interest-region MSE of the final reconstruction on the held-out images."""
        if not self.val_indices:
            return {}
        dev = self.accelerator.device
        bs = self.config.optim.batch_size
        indices = self.val_indices[: self.config.log.val_images]
        full, masked, n = 0.0, 0.0, 0
        has_masks = True
        for start in range(0, len(indices), bs):
            chunk = indices[start : start + bs]
            batch = self._masks_for(collate([(*self.source.load(i), i, False) for i in chunk]))
            x = batch.images.to(dev)
            y = self._reconstruct(x)[-1]
            full += float(((y - x) ** 2).mean()) * len(chunk)
            if batch.masks is None:
                has_masks = False
            else:
                masked += float(masked_mse(y, x, batch.masks.to(dev))) * len(chunk)
            n += len(chunk)
        out = {"val_mse": full / n}
        if has_masks:
            out["val_masked_mse"] = masked / n
        return out

    def save_samples(self, step: int) -> Path:
        """Write ``samples/step-NNNNNNNN.png``: one row per image, input | mask | per-step reconstructions |
        target (``m * x``; ``x`` without masks)."""
        if self._fixed is None:
            self._fixed = self._fixed_images(self.config.log.samples)
        images, masks = self._fixed
        x = images.to(self.accelerator.device)
        m = masks.to(x.device) if masks is not None else torch.ones_like(x[:, :1])
        columns = [x, (m * 2 - 1).expand(-1, 3, -1, -1), *self._reconstruct(x), m * x]
        rows = [torch.cat([c[i].clamp(-1, 1) for c in columns], dim=-1) for i in range(x.shape[0])]
        grid = torch.cat(rows, dim=-2)  # (3, B * S, columns * S)
        path = self.log_dir / "samples" / f"step-{step:08d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        image = to_pil(grid.cpu())[0]
        atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))
        return path

    # -- checkpoints -------------------------------------------------------------------------------------
    def _state_payload(self, step: int) -> tuple[dict[str, Tensor], dict[str, Any]]:
        sd = self.optimizer.state_dict()
        tensors: dict[str, Tensor] = {}
        plain: dict[str, dict[str, Any]] = {}
        for index, state in sd["state"].items():
            for name, value in state.items():
                if isinstance(value, Tensor):
                    tensors[f"optimizer.{index}.{name}"] = value.detach().cpu().contiguous()
                else:
                    plain.setdefault(str(index), {})[name] = value
        tensors["rng.torch"] = torch.get_rng_state()
        if torch.cuda.is_available():
            for i, state in enumerate(torch.cuda.get_rng_state_all()):
                tensors[f"rng.cuda.{i}"] = state
        meta = {
            "step": step,
            "seed": self.config.seed,
            "num_processes": self.accelerator.num_processes,
            "interestyle_version": __version__,
            "scheduler": _jsonable(self.scheduler.state_dict()),
            "optimizer": {"param_groups": _jsonable(sd["param_groups"]), "state": _jsonable(plain)},
            "scaler": None if self.accelerator.scaler is None else _jsonable(self.accelerator.scaler.state_dict()),
            "training_config": self.config.to_dict(),
        }
        return tensors, meta

    def save_checkpoint(self, step: int) -> Path:
        """Write ``checkpoints/step-NNNNNNNN`` (model folder + training state) through a temporary folder
        renamed into place, so an interrupted write leaves no partial checkpoint."""
        acc = self.accelerator
        root = self.log_dir / "checkpoints"
        final = root / f"step-{step:08d}"
        if acc.is_main_process:
            root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=root))
            try:
                self.model.save_pretrained(tmp)
                tensors, meta = self._state_payload(step)
                save_file(tensors, str(tmp / STATE_TENSORS), metadata={"format": "pt"})
                (tmp / STATE_JSON).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
                if final.exists():
                    old = final.with_name(f".{final.name}.old")
                    shutil.rmtree(old, ignore_errors=True)
                    os.replace(final, old)
                    os.replace(tmp, final)
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    os.replace(tmp, final)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self._prune(root)
        acc.wait_for_everyone()
        return final

    def _prune(self, root: Path) -> None:
        keep = self.config.log.keep_checkpoints
        if keep <= 0:
            return
        steps = sorted((int(m.group(1)), p) for p in root.iterdir() if (m := _CHECKPOINT.match(p.name)))
        for _, p in steps[:-keep]:
            shutil.rmtree(p, ignore_errors=True)

    def load_checkpoint(self, folder: str | os.PathLike[str]) -> int:
        """Restore weights, optimiser, scheduler, gradient scaler and RNG state; returns the step."""
        folder = Path(folder)
        meta = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
        expected = {k: tuple(v.shape) for k, v in self.model.state_dict().items()}
        state = read_state_dict(folder / WEIGHTS_NAME, expected)
        self.model.load_state_dict(state, strict=True)
        with safe_open(str(folder / STATE_TENSORS), framework="pt", device="cpu") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a mapping)
        opt_state: dict[int, dict[str, Any]] = {}
        for key, value in tensors.items():
            if key.startswith("optimizer."):
                _, index, name = key.split(".", 2)
                opt_state.setdefault(int(index), {})[name] = value
        for index, extra in meta["optimizer"]["state"].items():
            opt_state.setdefault(int(index), {}).update(extra)
        groups = meta["optimizer"]["param_groups"]
        for g in groups:
            if "betas" in g:
                g["betas"] = tuple(g["betas"])
        self.optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
        self.scheduler.load_state_dict(meta["scheduler"])
        if meta.get("scaler") is not None and self.accelerator.scaler is not None:
            self.accelerator.scaler.load_state_dict(meta["scaler"])
        torch.set_rng_state(tensors["rng.torch"])
        cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
        if cuda_states and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        if meta.get("num_processes") != self.accelerator.num_processes:
            self.accelerator.print(
                f"warning: {folder} was written by {meta.get('num_processes')} process(es), this run has "
                f"{self.accelerator.num_processes}: the data order from here differs from an uninterrupted run"
            )
        saved = meta.get("training_config", {})
        changed = sorted(k for k in saved if saved.get(k) != self.config.to_dict().get(k))
        if changed:
            self.accelerator.print(f"warning: resuming with a changed training config (sections {changed})")
        return int(meta["step"])

    # -- the loop -----------------------------------------------------------------------------------------
    def _log_writer(self, resumed_step: int) -> tuple[Any, Any]:
        path = self.log_dir / "log.csv"
        rows: list[dict[str, str]] = []
        if path.is_file():
            with path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if r.get("step", "").isdigit() and int(r["step"]) <= resumed_step]
        # Rows logged after the checkpoint being resumed belong to steps that are run again.
        handle = path.open("w", newline="")
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        handle.flush()
        return handle, writer

    def _tensorboard(self) -> Any:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return None
        return SummaryWriter(log_dir=str(self.log_dir / "tensorboard"))

    def run(self, *, resume: bool = False, max_steps: int | None = None) -> TrainingResult:
        """Train until ``optim.steps`` (or ``max_steps`` more steps); ``resume`` continues from the newest
        checkpoint in ``log.dir`` (from scratch when there is none)."""
        if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
            raise ValueError(f"max_steps={max_steps!r} is invalid: expected an integer >= 1")
        acc, cfg = self.accelerator, self.config
        start = 0
        if not resume and find_latest_checkpoint(self.log_dir) is not None:
            raise ConfigError(
                f"log.dir={cfg.log.dir!r} already holds checkpoints (newest: {find_latest_checkpoint(self.log_dir)}); "
                "resume that run (--resume / resume=True) or choose another log.dir"
            )
        if resume:
            latest = find_latest_checkpoint(self.log_dir)
            if latest is not None:
                start = self.load_checkpoint(latest)
                self.checkpoint = latest
                acc.print(f"resuming from {latest} (step {start})")
            else:
                acc.print(f"no checkpoint in {self.log_dir / 'checkpoints'}: starting from step 0")
        end = cfg.optim.steps if max_steps is None else min(cfg.optim.steps, start + max_steps)
        self.step = start

        main = acc.is_main_process
        handle = writer = board = None
        if main:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            text = json.dumps(cfg.to_dict(), indent=2) + "\n"
            atomic_write(self.log_dir / "training_config.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))
            handle, writer = self._log_writer(start)
            board = self._tensorboard()
            d = cfg.data
            acc.print(
                f"interestyle train: {cfg.method} objective, {cfg.iterations} refinement steps, "
                f"steps {start} -> {end} of {cfg.optim.steps}, batch {cfg.optim.batch_size} x {acc.num_processes} "
                f"process(es) on {acc.device}, mixed precision {cfg.mixed_precision}"
            )
            acc.print(f"data: {d.kind}, {len(self.train_indices)} training / {len(self.val_indices)} held-out images")
            acc.print("\n".join(self.report))
            acc.print(f"logs: {self.log_dir} (CSV; TensorBoard {'on' if board is not None else 'not installed'})")
        acc.wait_for_everyone()

        bar = tqdm(
            total=cfg.optim.steps, initial=start, desc="train", unit="step", disable=not (main and self.progress)
        )
        t0 = time.perf_counter()
        try:
            for batch in self._batches(start, end):
                step = self.step
                torch.manual_seed(derive_seed("step", cfg.seed, step, acc.process_index))
                x = batch.images.to(acc.device, non_blocking=True)
                m = None if batch.masks is None else batch.masks.to(acc.device, non_blocking=True)
                logs = training_step(
                    self.model,
                    x,
                    m,
                    self.objective,
                    encoder=self.encoder,
                    backward=acc.backward,
                    pass_context=lambda final: nullcontext() if final else acc.no_sync(self.encoder),
                    autocast=acc.autocast,
                )
                if cfg.optim.grad_clip is not None:
                    acc.clip_grad_norm_(self.encoder.parameters(), cfg.optim.grad_clip)
                lr = self.optimizer.param_groups[0]["lr"]
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.step = step + 1
                logs = {"step": float(self.step), "lr": lr, **logs}
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
                    figures = {
                        k: f"{v:.4f}" for k, v in logs.items() if k in ("loss", "l2", "ssim", "lpips", "id", "ind")
                    }
                    bar.set_postfix(figures, refresh=False)
                    if main and writer is not None:
                        row["seconds"] = time.perf_counter() - t0
                        writer.writerow({k: (int(v) if k == "step" else f"{v:.6g}") for k, v in row.items()})
                        handle.flush()  # type: ignore[union-attr]
                        if board is not None:
                            for k, v in row.items():
                                if k not in ("step", "seconds"):
                                    board.add_scalar(f"{'val' if k.startswith('val_') else 'train'}/{k}", v, s)
                if s % cfg.log.checkpoint_every == 0 or s == end:
                    self.checkpoint = self.save_checkpoint(s)
        finally:
            bar.close()
            if handle is not None:
                handle.close()
            if board is not None:
                board.close()
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
        config: a :class:`TrainingConfig`, its dict form, or a ``.json`` / ``.yaml`` file.
        resume: continue from the newest checkpoint in ``log.dir`` (weights, optimiser, scheduler, step,
            RNG state); from scratch when there is none.
        max_steps: stop after this many steps in this call (a checkpoint is written when it stops).
        mask_provider: a callable computing masks for ``data.kind='provider'``: images (B, 3, H, W) in
            [-1, 1] -> masks (B, 1, H, W) in [0, 1].
        progress: show a progress bar.

    Returns:
        A :class:`TrainingResult`; ``result.checkpoint`` is a model folder :func:`interestyle.load_encoder` reads.

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
