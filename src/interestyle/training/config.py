"""The training configuration: frozen dataclasses read from JSON or YAML and validated before anything runs.

Every part of the method (Moon & Park, "IntereStyle", WACV 2023; docs/training.md) is a field with the
documented default. ``baseline: true`` is the ReStyle/pSp-style comparison run on the same code path: no
mask in the loss, no Uninterest Filter, no Interest Disentanglement.

Values are checked when a config is built ([`ConfigError`][interestyle.errors.ConfigError] naming ``section.field``);
files (image and mask folders, weights, model folders) are checked by
[`TrainingConfig.check_files`][interestyle.training.config.TrainingConfig.check_files], which
[`interestyle.training.train`][interestyle.training.train] calls before it builds anything.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from typing_extensions import Self

from ..config import ModelConfig
from ..errors import ConfigError
from ..images import IMAGE_SUFFIXES
from ..serialization import CONFIG_NAME
from ..uninterest_filter import FILTER_VARIANTS
from ..validation import (
    check_flag,
    check_int,
    check_non_negative_int,
    check_non_negative_number,
    check_number,
    check_positive_int,
    check_positive_number,
)

__all__ = [
    "DataConfig",
    "DisentanglementConfig",
    "FilterConfig",
    "LogConfig",
    "LossConfig",
    "OptimConfig",
    "TrainingConfig",
    "load_training_config",
]

DATA_KINDS: tuple[str, ...] = ("folder", "provider", "synthetic")
SYNTHETIC_CONDITIONS: tuple[str, ...] = ("clean", "clutter", "occluded", "mixed")
SYNTHETIC_DOMAINS: tuple[str, ...] = ("v1", "v2")
OPTIMIZERS: tuple[str, ...] = ("adam", "adamw")
SCHEDULERS: tuple[str, ...] = ("constant", "cosine")
PRECISIONS: tuple[str, ...] = ("no", "fp16", "bf16")
NOISE_MODES: tuple[str, ...] = ("random", "const")

_C = TypeVar("_C")


# -- value checks; ``where`` is the dotted name of the field ---------------------------------------------
def _bad(where: str, value: Any, accepted: str) -> ConfigError:
    return ConfigError(f"{where}={value!r} is invalid: expected {accepted}")


def _field(config: Any, where: str, check: Callable[..., Any], **bounds: Any) -> None:
    """Check the field ``where`` (its last dotted part is the attribute) and store the checked value."""
    name = where.rpartition(".")[2]
    object.__setattr__(config, name, check(getattr(config, name), where, error=ConfigError, **bounds))


def _choice(where: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _bad(where, value, f"one of {list(choices)}")
    return str(value)


def _path(where: str, value: Any, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise _bad(where, value, "a path (a non-empty string)" + (" or null" if optional else ""))
    return value


def _section(cls: type[_C], name: str, data: Any) -> _C:
    """Build section ``cls`` from a mapping, refusing unknown keys (named with the section)."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{name} must be a mapping of settings, got {type(data).__name__}")
    known = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        raise ConfigError(f"unknown key(s) {[f'{name}.{k}' for k in unknown]}; {name} accepts {known}")
    return cls(**data)


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, ModelConfig):
            return value.to_dict()
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_to_plain(v) for v in value]
    return value


# -- sections --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataConfig:
    """Where the training images and their interest masks come from.

    Attributes:
        kind: ``"folder"`` (``images`` + ``masks`` folders, masks matched by file stem), ``"provider"``
            (``images`` + a mask provider computing masks on the fly, cached) or ``"synthetic"``
            (`interestyle.synthetic` faces with their exact interest masks).
        images: folder of training images (``folder``, ``provider``).
        masks: folder of masks, one per image with the same stem (``folder``; not needed by the baseline).
        provider: name of the mask provider (``provider``); a callable may instead be passed to ``train``.
        mask_cache: folder for the provider's masks (default: ``LOG_DIR/mask-cache``).
        condition: synthetic condition, ``"clean"``, ``"clutter"``, ``"occluded"`` or ``"mixed"``.
        domain: synthetic face domain, ``"v1"`` or ``"v2"``
            ([`interestyle.synthetic.DOMAINS`][interestyle.synthetic.DOMAINS]).
        count: number of synthetic faces (face ``i`` is rendered from seed ``seed * 1_000_003 + i``).
        size: side the synthetic faces are rendered at (default: the encoder's input size).
        seed: seed of the synthetic faces (independent of the training seed).
        val_fraction: held-out share of the images for validation, in [0, 1).
        flip: random horizontal flips, applied to the image and its mask together.
        workers: data-loading worker processes (0: load in the training process).
    """

    kind: Literal["folder", "provider", "synthetic"] = "synthetic"
    images: str | None = None
    masks: str | None = None
    provider: str | None = None
    mask_cache: str | None = None
    condition: Literal["clean", "clutter", "occluded", "mixed"] = "mixed"
    domain: Literal["v1", "v2"] = "v1"
    count: int = 10_000
    size: int | None = None
    seed: int = 0
    val_fraction: float = 0.05
    flip: bool = True
    workers: int = 0

    def __post_init__(self) -> None:
        _choice("data.kind", self.kind, DATA_KINDS)
        for name in ("images", "masks", "mask_cache", "provider"):
            _path(f"data.{name}", getattr(self, name))
        if self.kind in ("folder", "provider") and self.images is None:
            raise ConfigError(f"data.images is required with data.kind={self.kind!r}: a folder of images")
        if self.kind == "provider" and self.provider is None:
            raise ConfigError("data.provider is required with data.kind='provider': the name of a mask provider")
        _choice("data.condition", self.condition, SYNTHETIC_CONDITIONS)
        _choice("data.domain", self.domain, SYNTHETIC_DOMAINS)
        _field(self, "data.count", check_positive_int)
        if self.size is not None:
            _field(self, "data.size", check_int, minimum=16)
        _field(self, "data.seed", check_non_negative_int)
        _field(self, "data.val_fraction", check_number, minimum=0, maximum=1, open_maximum=True)
        _field(self, "data.flip", check_flag)
        _field(self, "data.workers", check_non_negative_int)


@dataclass(frozen=True)
class LossConfig:
    """Weights of the objective and where the perceptual networks' weights are.

    Attributes:
        l2, lpips, id, w_norm: weights of the terms (ReStyle FFHQ: 1.0, 0.8, 0.1, 0).
        ssim: weight of ``1 - SSIM``, used only in place of an LPIPS term whose weights are not given.
        lpips_weights: safetensors file or folder of LPIPS (AlexNet + v0.1 heads); None: no LPIPS.
        arcface_weights: safetensors file or folder of ArcFace IR-SE50; None: no identity term.
        masked: compare ``m * y_hat`` with ``m * x`` (IntereStyle); false: whole images (baseline).
        every_step: loss and backward at every refinement step (ReStyle); false: the last step only
            (IntereStyle's released code), earlier steps run without gradients.
    """

    l2: float = 1.0
    lpips: float = 0.8
    id: float = 0.1
    w_norm: float = 0.0
    ssim: float = 0.5
    lpips_weights: str | None = None
    arcface_weights: str | None = None
    masked: bool = True
    every_step: bool = True

    def __post_init__(self) -> None:
        for name in ("l2", "lpips", "id", "w_norm", "ssim"):
            _field(self, f"loss.{name}", check_non_negative_number)
        _path("loss.lpips_weights", self.lpips_weights)
        _path("loss.arcface_weights", self.arcface_weights)
        _field(self, "loss.masked", check_flag)
        _field(self, "loss.every_step", check_flag)


@dataclass(frozen=True)
class FilterConfig:
    """The Uninterest Filter.

    Attributes:
        enabled: low-pass the encoder's input at early steps.
        variant: ``"uninterest"`` (blur outside the mask; the paper) or ``"whole"`` (the released code).
        radii: Gaussian standard deviation per step, in pixels at ``reference_resolution``; steps beyond the
            list get 0.
        reference_resolution: the image side the radii are expressed at (scaled to the encoder's size).
    """

    enabled: bool = True
    variant: Literal["uninterest", "whole"] = "uninterest"
    radii: tuple[float, ...] = (16, 9, 4, 1, 0)
    reference_resolution: int = 256

    def __post_init__(self) -> None:
        _field(self, "filter.enabled", check_flag)
        _choice("filter.variant", self.variant, FILTER_VARIANTS)
        if not isinstance(self.radii, (list, tuple)):
            raise _bad("filter.radii", self.radii, "a list of numbers >= 0")
        radii = tuple(check_non_negative_number(r, "filter.radii", error=ConfigError) for r in self.radii)
        object.__setattr__(self, "radii", radii)
        _field(self, "filter.reference_resolution", check_positive_int)


@dataclass(frozen=True)
class DisentanglementConfig:
    """Interest Disentanglement: encode ``[x, m * x]`` from the detached final latent; weighted masked loss.

    Attributes:
        enabled: add the term (needs a 6-channel, iterative encoder).
        weight: its weight (0.05 upstream).
    """

    enabled: bool = True
    weight: float = 0.05

    def __post_init__(self) -> None:
        _field(self, "disentanglement.enabled", check_flag)
        _field(self, "disentanglement.weight", check_non_negative_number)


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser and schedule of the encoder (the generator is frozen).

    Attributes:
        name: ``"adam"`` or ``"adamw"`` (upstream used Ranger, which torch does not ship).
        lr: peak learning rate.
        betas: Adam's betas.
        weight_decay: decoupled for ``adamw``, L2 for ``adam``.
        batch_size: images per process in one forward pass (a micro-batch; BatchNorm normalises over it).
        gradient_accumulation_steps: micro-batches whose gradients are summed (each loss divided by this)
            before one optimiser step. The global batch of a step is ``batch_size x processes x
            gradient_accumulation_steps`` images; the learning rate is not rescaled with it.
        steps: total optimiser steps of the run.
        scheduler: ``"constant"`` or ``"cosine"`` (to 0 at ``steps``), after ``warmup_steps`` of linear warm-up.
        warmup_steps: linear warm-up length.
        grad_clip: clip the gradient norm to this value; None: no clipping.
    """

    name: Literal["adam", "adamw"] = "adam"
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    steps: int = 10_000
    scheduler: Literal["constant", "cosine"] = "constant"
    warmup_steps: int = 0
    grad_clip: float | None = None

    def __post_init__(self) -> None:
        _choice("optim.name", self.name, OPTIMIZERS)
        _field(self, "optim.lr", check_positive_number)
        betas = tuple(self.betas) if isinstance(self.betas, (list, tuple)) else ()
        if len(betas) != 2:
            raise _bad("optim.betas", self.betas, "two numbers in [0, 1)")
        betas = tuple(
            check_number(b, "optim.betas", minimum=0, maximum=1, open_maximum=True, error=ConfigError) for b in betas
        )
        object.__setattr__(self, "betas", betas)
        _field(self, "optim.weight_decay", check_non_negative_number)
        _field(self, "optim.batch_size", check_positive_int)
        _field(self, "optim.gradient_accumulation_steps", check_positive_int)
        _field(self, "optim.steps", check_positive_int)
        _choice("optim.scheduler", self.scheduler, SCHEDULERS)
        _field(self, "optim.warmup_steps", check_non_negative_int)
        if self.grad_clip is not None:
            _field(self, "optim.grad_clip", check_positive_number)


@dataclass(frozen=True)
class LogConfig:
    """Where and how often the run reports.

    Attributes:
        dir: run folder: ``log.csv``, ``samples/``, ``checkpoints/``, TensorBoard events when installed.
        every: steps between log rows (and progress-bar updates of the loss figures).
        sample_every: steps between sample grids (input | mask | per-step reconstructions | target).
        val_every: steps between validations on the held-out split (masked and full MSE).
        checkpoint_every: steps between checkpoints (one is also written when a run stops).
        samples: images in a sample grid.
        val_images: at most this many held-out images per validation.
        keep_checkpoints: keep only the newest N checkpoints; 0 keeps all.
    """

    dir: str = "runs/train"
    every: int = 10
    sample_every: int = 500
    val_every: int = 500
    checkpoint_every: int = 1000
    samples: int = 4
    val_images: int = 64
    keep_checkpoints: int = 0

    def __post_init__(self) -> None:
        _path("log.dir", self.dir, optional=False)
        for name in ("every", "sample_every", "val_every", "checkpoint_every", "samples", "val_images"):
            _field(self, f"log.{name}", check_positive_int)
        _field(self, "log.keep_checkpoints", check_non_negative_int)


@dataclass(frozen=True)
class TrainingConfig:
    """A whole training run.

    Attributes:
        model: a [`ModelConfig`][interestyle.config.ModelConfig] for a fresh encoder, or a model folder / Hub repo
            id to fine-tune (JSON: ``{"init": "..."}``).
        generator: a model folder whose ``decoder.*`` and ``latent_avg`` are used, frozen; None: the
            model's own (``init``) or, for a fresh model, a random generator (tests only).
        encoder_backbone: an ArcFace IR-SE50 safetensors folder whose ``input_layer``/``body`` initialise a
            fresh IR-SE50 encoder (ReStyle's initialisation); None: random initialisation.
        data, loss, filter, disentanglement, optim, log: the sections above.
        iterations: refinement steps per training image (5 upstream); also written into saved models.
        noise_mode: the generator's noise during training, ``"random"`` (upstream) or ``"const"``.
        mixed_precision: Accelerate's autocast of the forward passes: ``"no"`` (float32), ``"bf16"`` (CPUs and
            recent GPUs) or ``"fp16"`` (CUDA only, with a gradient scaler; refused on a machine without CUDA
            when the trainer starts). The weights and the optimiser stay float32.
        seed: seed of the initialisation and of every step's sampling, flips and noise.
        baseline: train the no-mask comparison: forces ``loss.masked``, ``filter.enabled`` and
            ``disentanglement.enabled`` off (a file that also switches one of them on is an error).
    """

    model: ModelConfig | str
    generator: str | None = None
    encoder_backbone: str | None = None
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    disentanglement: DisentanglementConfig = field(default_factory=DisentanglementConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    log: LogConfig = field(default_factory=LogConfig)
    iterations: int = 5
    noise_mode: Literal["random", "const"] = "random"
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    seed: int = 0
    baseline: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.model, os.PathLike):
            object.__setattr__(self, "model", os.fspath(self.model))
        if not isinstance(self.model, (ModelConfig, str)) or self.model == "":
            raise _bad("model", self.model, "a ModelConfig or the path / Hub id of a model to fine-tune")
        _path("generator", self.generator)
        _path("encoder_backbone", self.encoder_backbone)
        for name, cls in _SECTIONS.items():
            object.__setattr__(self, name, _section(cls, name, getattr(self, name)))
        _field(self, "iterations", check_positive_int)
        _choice("noise_mode", self.noise_mode, NOISE_MODES)
        _choice("mixed_precision", self.mixed_precision, PRECISIONS)
        _field(self, "seed", check_non_negative_int)
        _field(self, "baseline", check_flag)
        if self.baseline:
            object.__setattr__(self, "loss", dataclasses.replace(self.loss, masked=False))
            object.__setattr__(self, "filter", dataclasses.replace(self.filter, enabled=False))
            object.__setattr__(self, "disentanglement", dataclasses.replace(self.disentanglement, enabled=False))
        if isinstance(self.model, ModelConfig):
            if not self.model.iterative and self.iterations != 1:
                raise _bad("iterations", self.iterations, "1 for a single-pass encoder (model.encoder.input_nc=3)")
            if not self.model.iterative and self.disentanglement.enabled:
                raise ConfigError(
                    "disentanglement.enabled needs an iterative encoder (model.encoder.input_nc=6): it encodes "
                    "the pair [x, m * x]; switch it off for single-pass encoders"
                )
        elif self.encoder_backbone is not None:
            raise ConfigError("encoder_backbone initialises a fresh encoder; it cannot be combined with model.init")

    # -- what the run needs --------------------------------------------------------------------------------
    @property
    def needs_masks(self) -> bool:
        """True when some part of the objective reads the interest mask."""
        uses_filter_mask = self.filter.enabled and self.filter.variant == "uninterest"
        return self.loss.masked or uses_filter_mask or self.disentanglement.enabled

    @property
    def method(self) -> str:
        """The label written into saved models: ``"restyle"`` for the baseline, else ``"interestyle"``."""
        return "restyle" if self.baseline else "interestyle"

    # -- (de)serialisation ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict that [`from_dict`][interestyle.training.config.TrainingConfig.from_dict] turns back
        into this config."""
        out = _to_plain(self)
        out["model"] = {"init": self.model} if isinstance(self.model, str) else self.model.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a mapping (a parsed JSON/YAML file), refusing unknown keys and conflicting switches.

        ``model`` is a [`ModelConfig`][interestyle.config.ModelConfig] mapping or ``{"init": "folder-or-hub-id"}``. When
        ``model`` has no ``generator`` section and ``generator`` is a local model folder, the generator's configuration
        is read from that folder's ``config.json``.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"a training config must be a mapping, got {type(data).__name__}")
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(k for k in data if k not in known)
        if unknown:
            raise ConfigError(f"unknown key(s) {unknown} in the training config; accepted: {known}")
        if "model" not in data:
            raise ConfigError("the training config needs a 'model' section (a model config, or {'init': PATH})")
        kwargs = dict(data)
        if kwargs.get("baseline") is True:
            for section, key in (("loss", "masked"), ("filter", "enabled"), ("disentanglement", "enabled")):
                value = kwargs.get(section)
                if isinstance(value, Mapping) and value.get(key) is True:
                    raise ConfigError(f"baseline=true switches {section}.{key} off; remove {section}.{key}=true")
        kwargs["model"] = _model_from_dict(data["model"], data.get("generator"), data.get("iterations", 5))
        return cls(**kwargs)

    def check_files(self) -> None:
        """Check that every file and folder the run reads exists, before anything is built.

        Raises:
            FileNotFoundError: a missing folder or weights path (named).
            ConfigError: an image folder without images, or images without a mask of the same stem.
        """
        d = self.data
        if d.kind in ("folder", "provider"):
            assert d.images is not None
            stems = image_stems(d.images, "data.images")
            if d.kind == "folder" and self.needs_masks:
                if d.masks is None:
                    raise ConfigError(
                        "data.masks is required: this run reads interest masks (loss.masked, the 'uninterest' "
                        "filter or disentanglement); give a mask folder, use data.kind='provider', or baseline"
                    )
                masks = image_stems(d.masks, "data.masks")
                missing = sorted(set(stems) - set(masks))
                if missing:
                    shown = ", ".join(stems[s] for s in missing[:5])
                    raise ConfigError(
                        f"data.masks={d.masks!r} lacks masks for {len(missing)} of {len(stems)} images "
                        f"(first: {shown}); each image needs a mask file of the same stem"
                    )
            if d.val_fraction > 0 and len(stems) < 2:
                raise ConfigError(f"data.images={d.images!r} holds 1 image: validation needs 2 (or val_fraction 0)")
        for where, value in (
            ("loss.lpips_weights", self.loss.lpips_weights),
            ("loss.arcface_weights", self.loss.arcface_weights),
            ("encoder_backbone", self.encoder_backbone),
        ):
            if value is not None and not Path(value).exists():
                raise FileNotFoundError(f"{where}: no file or folder at {Path(value).resolve()}")
        for where, value in (
            ("generator", self.generator),
            ("model.init", self.model if isinstance(self.model, str) else None),
        ):
            if value is not None and _looks_local(value) and not Path(value).exists():
                raise FileNotFoundError(f"{where}: no model folder at {Path(value).resolve()}")


_SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "loss": LossConfig,
    "filter": FilterConfig,
    "disentanglement": DisentanglementConfig,
    "optim": OptimConfig,
    "log": LogConfig,
}


def _looks_local(value: str) -> bool:
    """A path rather than a Hub id (``org/name``): it exists, starts like a path, or has several slashes."""
    return Path(value).exists() or value.startswith((".", "/", "~")) or value.count("/") > 1


def _model_from_dict(value: Any, generator: Any, iterations: Any) -> ModelConfig | str:
    if isinstance(value, (ModelConfig, str, os.PathLike)):
        return value if not isinstance(value, os.PathLike) else os.fspath(value)
    if not isinstance(value, Mapping):
        raise _bad("model", value, "a model config mapping or {'init': PATH}")
    if "init" in value:
        extra = sorted(k for k in value if k != "init")
        if extra:
            raise ConfigError(f"model.init fine-tunes an existing model; remove {[f'model.{k}' for k in extra]}")
        return str(_path("model.init", value["init"], optional=False))
    spec = dict(value)
    if "generator" not in spec:
        folder = Path(generator) if isinstance(generator, (str, os.PathLike)) and generator else None
        if folder is None or not (folder / CONFIG_NAME).is_file():
            raise ConfigError(
                "model.generator is missing: give the generator's config, or a local `generator` model folder "
                "to read it from"
            )
        try:
            spec["generator"] = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))["generator"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"{folder / CONFIG_NAME} has no readable 'generator' section ({exc})") from None
    if "iterations" in spec and spec["iterations"] != iterations:
        raise ConfigError(
            f"model.iterations={spec['iterations']!r} differs from iterations={iterations!r}; the top-level "
            "iterations is the one trained and saved: drop model.iterations"
        )
    spec["iterations"] = iterations
    try:
        return ModelConfig.from_dict(spec)
    except ConfigError as exc:
        raise ConfigError(f"model: {exc}") from None


def image_stems(folder: str | os.PathLike[str], where: str) -> dict[str, str]:
    """``{stem: file name}`` of the images in ``folder`` (sorted by name).

    Raises:
        FileNotFoundError: no such folder.
        ConfigError: no image files, or two images with the same stem.
    """
    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(f"{where}: no folder at {path.resolve()}")
    stems: dict[str, str] = {}
    for p in sorted(path.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            if p.stem in stems:
                raise ConfigError(f"{where}={os.fspath(folder)!r} holds two images with stem {p.stem!r}")
            stems[p.stem] = p.name
    if not stems:
        raise ConfigError(f"{where}={os.fspath(folder)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return stems


def load_training_config(path: str | os.PathLike[str]) -> TrainingConfig:
    """Read a training config from a ``.json`` or ``.yaml``/``.yml`` file (YAML needs ``pyyaml``).

    Relative paths inside are relative to the current directory.

    Raises:
        FileNotFoundError: no such file.
        ConfigError: unparsable text, an unknown key, or an invalid value (named).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no training config at {p.resolve()}")
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ConfigError(f"{p} is YAML: install pyyaml (pip install 'interestyle[train]') or use JSON") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p} is not valid YAML: {exc}") from None
    elif p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{p} is not valid JSON: {exc}") from None
    else:
        raise ConfigError(f"{p}: a training config is a .json, .yaml or .yml file")
    try:
        return TrainingConfig.from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
