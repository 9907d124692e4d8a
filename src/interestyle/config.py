"""Typed, JSON-serialisable configurations of the generator, the encoder and the whole model.

Every config is a frozen dataclass validated at construction; ``from_dict`` refuses unknown fields so a
typo in a ``config.json`` is an error, not a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from typing_extensions import Self

from .errors import ConfigError
from .validation import check_flag, check_int, check_positive_number

__all__ = [
    "EncoderConfig",
    "GeneratorConfig",
    "ModelConfig",
    "check_complete",
    "default_generator_channels",
    "irse_units",
]

EncoderKind = Literal["backbone", "progressive-backbone", "gradual", "e4e"]
ENCODER_KINDS: tuple[str, ...] = ("backbone", "progressive-backbone", "gradual", "e4e")
IRSE_DEPTHS: dict[int, tuple[int, int, int, int]] = {
    # Units per stage of the IR-SE backbones (ArcFace / pSp `get_blocks`).
    50: (3, 4, 14, 3),
    100: (3, 13, 30, 3),
    152: (3, 8, 36, 3),
}

# Upper bounds far above any published model: a damaged or hand-edited config.json fails here, in a
# line, instead of building millions of layers (minutes, then out of memory) before its weights are read.
MAX_WIDTH = 8192
"""Largest channel width, style dimension and stage width accepted (upstream models use at most 512)."""
MAX_MAPPING_LAYERS = 64
"""Largest ``n_mlp`` accepted (8 upstream)."""
MAX_STAGE_UNITS = 100
"""Largest number of units in one encoder stage (36 in IR-SE-152)."""
MAX_BLUR_TAPS = 16
"""Longest ``blur_kernel`` accepted (4 taps upstream)."""
MAX_INPUT_SIZE = 1024
"""Largest encoder ``input_size`` (256 upstream; the generator makes at most 1024 x 1024)."""

_C = TypeVar("_C")


def _fail(cls: type, name: str, value: Any, accepted: str) -> ConfigError:
    return ConfigError(f"{cls.__name__}.{name}={value!r} is invalid: expected {accepted}")


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _int_field(config: Any, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """Check the integer field ``name`` of a frozen config and store it as a plain ``int``."""
    field_name = f"{type(config).__name__}.{name}"
    value = check_int(getattr(config, name), field_name, minimum=minimum, maximum=maximum, error=ConfigError)
    object.__setattr__(config, name, value)
    return value


def _ints(cls: type, name: str, values: tuple[Any, ...], maximum: int) -> tuple[int, ...]:
    return tuple(check_int(v, f"{cls.__name__}.{name}", minimum=1, maximum=maximum, error=ConfigError) for v in values)


def _from_dict(cls: type[_C], data: Mapping[str, Any]) -> _C:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{cls.__name__} must be built from a mapping, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    # Keys starting with "_" are metadata (class name, library version), as in diffusers' config files.
    unknown = sorted(k for k in data if k not in known and not k.startswith("_"))
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} field(s) {unknown}; known fields are {sorted(known)}")
    kwargs = {k: v for k, v in data.items() if k in known}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise ConfigError(f"{cls.__name__}: {exc}") from None


def check_complete(data: Any, cls: type, where: str, prefix: str = "") -> None:
    """Refuse a configuration read from a file that lacks a field of ``cls`` (nested configs included).

    A model folder's ``config.json`` holds every field (``null`` where a field allows it), as
    ``save_pretrained`` and ``interestyle convert`` write it: a missing one would otherwise fall back to a
    default silently, or show up later as weights that "do not match".

    Raises:
        ConfigError: naming every missing field, dotted (``encoder.kind``), and the file.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: {prefix.rstrip('.') or 'the config'} must be a JSON object, got {data!r}")
    fields = dataclasses.fields(cls)
    missing = [prefix + f.name for f in fields if f.name not in data]
    if missing:
        raise ConfigError(
            f"{where} has no {', '.join(repr(m) for m in missing)}: a model's config.json holds every field "
            "(null where it allows it), as save_pretrained and interestyle convert write it; add "
            f"{'them' if len(missing) > 1 else 'it'}, or convert the checkpoint again"
        )
    for f in fields:
        nested = _NESTED.get((cls.__name__, f.name))
        if nested is not None:
            check_complete(data[f.name], nested, where, f"{prefix}{f.name}.")


def default_generator_channels(resolution: int, channel_multiplier: int = 2) -> tuple[int, ...]:
    """Channel widths of StyleGAN2 config F for resolutions 4, 8, ..., ``resolution``.

    The values of rosinality's ``Generator.channels``: 512 up to 32x32, then ``256 * m, 128 * m, 64 * m,
    32 * m, 16 * m`` for 64 ... 1024, where ``m`` is the channel multiplier.
    """
    table = {
        4: 512,
        8: 512,
        16: 512,
        32: 512,
        64: 256 * channel_multiplier,
        128: 128 * channel_multiplier,
        256: 64 * channel_multiplier,
        512: 32 * channel_multiplier,
        1024: 16 * channel_multiplier,
    }
    return tuple(table[2**i] for i in range(2, int(math.log2(resolution)) + 1))


def irse_units(num_layers: int) -> tuple[int, int, int, int]:
    """Units per stage of the IR-SE backbone of depth 50, 100 or 152."""
    if num_layers not in IRSE_DEPTHS:
        raise ConfigError(f"num_layers={num_layers!r} is invalid: expected one of {sorted(IRSE_DEPTHS)}")
    return IRSE_DEPTHS[num_layers]


@dataclass(frozen=True)
class GeneratorConfig:
    """StyleGAN2 generator (config F) in the community (rosinality) layout.

    Attributes:
        resolution: output size, a power of two from 8 to 1024.
        style_dim: width of z, w and every style vector (512 for official weights), at most 8192.
        n_mlp: layers of the mapping network (8 for official weights), at most 64.
        channel_multiplier: the ``m`` of `default_generator_channels` (2 for config F), at most 32.
        channels: explicit widths (each at most 8192) for resolutions 4, 8, ..., ``resolution`` (overrides
            the multiplier); lets tests and small models be tiny.
        lr_mlp: learning-rate multiplier of the mapping network (0.01 upstream).
        blur_kernel: the separable FIR filter used for upsampling (2 to 16 taps).
    """

    resolution: int = 1024
    style_dim: int = 512
    n_mlp: int = 8
    channel_multiplier: int = 2
    channels: tuple[int, ...] | None = None
    lr_mlp: float = 0.01
    blur_kernel: tuple[int, ...] = (1, 3, 3, 1)

    def __post_init__(self) -> None:
        cls = type(self)
        _int_field(self, "resolution", 8)
        if not _is_power_of_two(self.resolution) or self.resolution > 1024:
            raise _fail(cls, "resolution", self.resolution, "a power of two from 8 to 1024")
        _int_field(self, "style_dim", 1, MAX_WIDTH)
        _int_field(self, "n_mlp", 1, MAX_MAPPING_LAYERS)
        _int_field(self, "channel_multiplier", 1, MAX_WIDTH // 256)
        if self.channels is not None:
            channels = tuple(self.channels) if isinstance(self.channels, (list, tuple)) else None
            expected = int(math.log2(self.resolution)) - 1
            if channels is None or len(channels) != expected:
                raise _fail(cls, "channels", self.channels, f"{expected} widths (for 4x4 ... {self.resolution})")
            object.__setattr__(self, "channels", _ints(cls, "channels", channels, MAX_WIDTH))
        object.__setattr__(
            self, "lr_mlp", check_positive_number(self.lr_mlp, f"{cls.__name__}.lr_mlp", error=ConfigError)
        )
        kernel = tuple(self.blur_kernel) if isinstance(self.blur_kernel, (list, tuple)) else ()
        if len(kernel) < 2 or len(kernel) % 2 or len(kernel) > MAX_BLUR_TAPS:
            raise _fail(
                cls, "blur_kernel", self.blur_kernel, f"an even-length sequence of 2 to {MAX_BLUR_TAPS} integers"
            )
        taps = tuple(check_int(k, f"{cls.__name__}.blur_kernel", error=ConfigError) for k in kernel)
        object.__setattr__(self, "blur_kernel", taps)

    @property
    def log_size(self) -> int:
        return int(math.log2(self.resolution))

    @property
    def n_latent(self) -> int:
        """Number of style vectors of W+: ``2 * log2(resolution) - 2`` (18 at 1024)."""
        return 2 * self.log_size - 2

    @property
    def num_layers(self) -> int:
        """Number of styled convolutions, hence of noise inputs."""
        return 2 * (self.log_size - 2) + 1

    def widths(self) -> dict[int, int]:
        """Channel width per resolution, ``{4: ..., 8: ..., ..., resolution: ...}``."""
        channels = self.channels or default_generator_channels(self.resolution, self.channel_multiplier)
        return {2 ** (i + 2): c for i, c in enumerate(channels)}

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class EncoderConfig:
    """An encoder on the IR-SE backbone (pSp / e4e / ReStyle families).

    Attributes:
        kind: ``"backbone"`` (ReStyle's ``BackboneEncoder``, what IntereStyle uses),
            ``"progressive-backbone"`` (ReStyle-e4e's ``ProgressiveBackboneEncoder``),
            ``"gradual"`` (pSp's ``GradualStyleEncoder``) or ``"e4e"`` (``Encoder4Editing``).
        num_layers: backbone depth, 50, 100 or 152; ``units`` replaces it when given (it is checked anyway).
        units: explicit units per stage (four integers from 1 to 100), for small models.
        widths: channels of the four stages (``(64, 128, 256, 512)`` upstream; each at most 8192); the stem
            has ``widths[0]``.
        mode: ``"ir_se"`` (with squeeze-excitation, upstream) or ``"ir"``.
        input_nc: 3 (pSp, e4e: the image) or 6 (iterative refinement: image + current reconstruction).
        input_size: side of the square images the encoder sees (256 upstream), a power of two from 32 to 1024.
        se_reduction: channel reduction of the squeeze-excitation modules (16 upstream).
    """

    kind: EncoderKind = "backbone"
    num_layers: int = 50
    units: tuple[int, int, int, int] | None = None
    widths: tuple[int, int, int, int] = (64, 128, 256, 512)
    mode: Literal["ir_se", "ir"] = "ir_se"
    input_nc: int = 6
    input_size: int = 256
    se_reduction: int = 16

    def __post_init__(self) -> None:
        cls = type(self)
        if self.kind not in ENCODER_KINDS:
            raise _fail(cls, "kind", self.kind, f"one of {list(ENCODER_KINDS)}")
        irse_units(_int_field(self, "num_layers"))  # checked even when units replace it
        if self.units is not None:
            units = tuple(self.units) if isinstance(self.units, (list, tuple)) else ()
            if len(units) != 4:
                raise _fail(cls, "units", self.units, f"four integers from 1 to {MAX_STAGE_UNITS} (units per stage)")
            object.__setattr__(self, "units", _ints(cls, "units", units, MAX_STAGE_UNITS))
        widths = tuple(self.widths) if isinstance(self.widths, (list, tuple)) else ()
        if len(widths) != 4:
            raise _fail(cls, "widths", self.widths, "four integers (channels of the four stages)")
        widths = _ints(cls, "widths", widths, MAX_WIDTH)
        object.__setattr__(self, "widths", widths)
        if self.mode not in ("ir_se", "ir"):
            raise _fail(cls, "mode", self.mode, "'ir_se' or 'ir'")
        if self.input_nc not in (3, 6):
            raise _fail(cls, "input_nc", self.input_nc, "3 (single pass) or 6 (iterative refinement)")
        _int_field(self, "input_size", 32, MAX_INPUT_SIZE)
        if not _is_power_of_two(self.input_size):
            raise _fail(cls, "input_size", self.input_size, f"a power of two from 32 to {MAX_INPUT_SIZE}")
        _int_field(self, "se_reduction")
        if self.mode == "ir_se" and any(w < self.se_reduction for w in widths):
            raise _fail(cls, "widths", widths, f"widths >= se_reduction={self.se_reduction}")

    @property
    def stage_units(self) -> tuple[int, int, int, int]:
        return self.units if self.units is not None else irse_units(self.num_layers)

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class ModelConfig:
    """An inversion model: encoder + generator + the average latent.

    Attributes:
        generator: the StyleGAN2 generator.
        encoder: the encoder; its ``input_nc`` decides single-pass (3) or iterative (6) inversion.
        iterations: default refinement steps of [`interestyle.invert`][interestyle.invert] (5 for ReStyle and
            IntereStyle, 1 for pSp/e4e).
        method: what trained it: ``"interestyle"``, ``"restyle"``, ``"psp"``, ``"e4e"``, or any label.
        start_from_latent_avg: add the encoder's output to ``latent_avg`` (all upstream models do).
    """

    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    iterations: int = 5
    method: str = "interestyle"
    start_from_latent_avg: bool = True

    def __post_init__(self) -> None:
        cls = type(self)
        if isinstance(self.generator, Mapping):
            object.__setattr__(self, "generator", GeneratorConfig.from_dict(self.generator))
        if isinstance(self.encoder, Mapping):
            object.__setattr__(self, "encoder", EncoderConfig.from_dict(self.encoder))
        if not isinstance(self.generator, GeneratorConfig):
            raise _fail(cls, "generator", self.generator, "a GeneratorConfig or a mapping")
        if not isinstance(self.encoder, EncoderConfig):
            raise _fail(cls, "encoder", self.encoder, "an EncoderConfig or a mapping")
        _int_field(self, "iterations")
        if not self.iterative and self.iterations != 1:
            raise _fail(cls, "iterations", self.iterations, "1 for a single-pass encoder (input_nc=3)")
        if not isinstance(self.method, str) or not self.method:
            raise _fail(cls, "method", self.method, "a non-empty string")
        check_flag(self.start_from_latent_avg, f"{cls.__name__}.start_from_latent_avg", error=ConfigError)

    @property
    def iterative(self) -> bool:
        """True when the encoder refines its own reconstruction (6 input channels)."""
        return self.encoder.input_nc == 6

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return _from_dict(cls, data)


def _to_jsonable(config: Any) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, tuple):
            return [convert(v) for v in value]
        return value

    return convert(config)


# The config fields that hold configs of their own, for check_complete.
_NESTED: dict[tuple[str, str], type] = {
    ("ModelConfig", "generator"): GeneratorConfig,
    ("ModelConfig", "encoder"): EncoderConfig,
}
