"""Builders: the model, the objective, the optimiser with its schedule, and the data a
[`TrainingConfig`][interestyle.training.config.TrainingConfig] describes. Each is a function of the config alone (and
the seed it holds), so the trainer and the tests build the same parts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ConfigError, WeightsError
from ..hub import load_encoder
from ..locate import resolve_model_folder
from ..lossnets.arcface import IdentityLoss, init_encoder_backbone, load_arcface
from ..lossnets.lpips import load_lpips
from ..models.generator import GENERATOR_CLASS_NAME, load_generator
from ..models.model import IntereStyleModel
from ..serialization import read_model_folder
from ..uninterest_filter import UninterestFilter, step_radii
from .config import OptimConfig, TrainingConfig
from .data import ImageSource, MaskProviderFn, ProviderMasks, build_source, split_indices
from .losses import ReconstructionLoss
from .objective import Objective

__all__ = ["TrainingData", "build_data", "build_model", "build_objective", "build_optimizer"]


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
    ``config.generator`` when given, frozen; its config carries the run's iterations and method label.
    A model loaded from ``model.init`` trains in float32 whatever dtype its weights were saved in (the
    embedded demo models are stored in float16)."""
    if isinstance(config.model, str):
        model = load_encoder(config.model, dtype=torch.float32)
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
    """The [`Objective`][interestyle.training.objective.Objective] of ``config``, with its perceptual networks loaded on
    ``device``, and the lines that say which terms are active and why (printed when a run starts)."""
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

    def perceptual(name: str, weight: float, loaded: bool, network: str, option: str, source: object) -> None:
        if weight == 0:
            line(name, 0, "off (weight 0)")
        elif loaded:
            line(name, weight, f"active ({network} weights from {source})")
        else:
            line(name, weight, f"OFF: no loss.{option} given")

    lines.append("loss terms:")
    line("l2", lc.l2, "active" if lc.l2 > 0 else "off (weight 0)")
    perceptual("lpips", lc.lpips, lpips_net is not None, "AlexNet", "lpips_weights", lc.lpips_weights)
    if ssim_weight > 0:
        line("ssim", ssim_weight, "active, in place of LPIPS (1 - SSIM)")
    elif lc.lpips > 0 and lpips_net is None:
        line("ssim", 0, "off (weight 0): LPIPS has no substitute")
    perceptual("id", lc.id, identity is not None, "ArcFace", "arcface_weights", lc.arcface_weights)
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


def _lr_factor(step: int, optim: OptimConfig) -> float:
    """Learning-rate multiplier of optimiser step ``step`` (0-based): linear warm-up, then constant or cosine."""
    if optim.warmup_steps and step < optim.warmup_steps:
        return (step + 1) / optim.warmup_steps
    if optim.scheduler == "constant":
        return 1.0
    span = max(1, optim.steps - optim.warmup_steps)
    progress = min(1.0, (step - optim.warmup_steps) / span)
    return 0.5 * (1 + math.cos(math.pi * progress))


def build_optimizer(
    optim: OptimConfig, parameters: Iterable[torch.nn.Parameter]
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """The optimiser of ``optim`` over the trainable ``parameters`` and its per-step schedule (linear
    warm-up over ``warmup_steps``, then constant or cosine to 0 at ``steps``)."""
    params = [p for p in parameters if p.requires_grad]
    optim_cls = torch.optim.AdamW if optim.name == "adamw" else torch.optim.Adam
    optimizer = optim_cls(params, lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, optim))
    return optimizer, scheduler


@dataclass
class TrainingData:
    """The images of a run and their seeded split (built by `build_data`).

    Attributes:
        source: the indexed images (and masks) at the encoder's input size.
        train_indices: the images trained on.
        val_indices: the held-out images (validation and samples); may be empty.
        provider_masks: the cached mask provider of ``data.kind='provider'``, else None.
    """

    source: ImageSource
    train_indices: list[int]
    val_indices: list[int]
    provider_masks: ProviderMasks | None = None


def build_data(
    config: TrainingConfig, size: int, *, mask_provider: MaskProviderFn | None = None, log_dir: Path | None = None
) -> TrainingData:
    """The images of ``config.data`` at ``size`` x ``size`` pixels, split by ``config.seed``.

    Args:
        config: the run.
        size: the encoder's input size in pixels.
        mask_provider: the masks of ``data.kind='provider'`` (images (B, 3, H, W) in [-1, 1] -> (B, 1, H, W)
            in [0, 1]); required for that kind, ignored otherwise.
        log_dir: the run folder, whose ``mask-cache`` caches the provider's masks unless ``data.mask_cache``
            names another; default ``config.log.dir``.
    """
    data = config.data
    source = build_source(data, size, needs_masks=config.needs_masks)
    train_indices, val_indices = split_indices(len(source), data.val_fraction, config.seed)
    provider_masks = None
    if data.kind == "provider":
        if mask_provider is None:
            raise ValueError("data.kind='provider' needs a mask_provider")
        cache = data.mask_cache or (Path(config.log.dir) if log_dir is None else log_dir) / "mask-cache"
        provider_masks = ProviderMasks(mask_provider, cache, source)
    return TrainingData(source, train_indices, val_indices, provider_masks)
