"""What pSp, e4e, ReStyle (pSp and e4e variants) and IntereStyle checkpoints share, and how they differ.

All five are ``{"state_dict": {"encoder.*", "decoder.*"}, "latent_avg": ..., "opts": {...}}`` plus
training state. The tensors give the encoder's structure (feature pyramid or not, depth, widths, input
channels and size) and the generator's; what they cannot give is whether the style heads are read as
e4e-style offsets from a base w, which is the difference between pSp and e4e (and between ReStyle-pSp and
ReStyle-e4e). Each kind module declares that as a `Variant`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..config import ModelConfig
from ..errors import WeightsError
from ..models.generator import Generator
from ..models.model import IntereStyleModel
from .checkpoint import Checkpoint
from .encoder_shapes import EncoderShape, infer_encoder_shape
from .entries import drop_entries
from .generator_shapes import check_kernels, infer_generator_config
from .generator_source import generator_weights
from .matching import expected_shapes, match_tensors
from .registry import Conversion, ConvertOptions, Kind, kinds
from .stylegan2 import MEAN_LATENT_SAMPLES, latent_avg_vector, lr_mlp_note, mean_latent

__all__ = ["ITERATIVE_STEPS", "Variant", "make_kind", "opts_encoder_type"]

ITERATIVE_STEPS = 5  # ReStyle's and IntereStyle's default refinement steps at inference
USAGE = """import interestyle as its

model = its.load_encoder("MODEL")
result = its.invert(model, "photo.png")"""


@dataclass(frozen=True)
class Variant:
    """How one kind of the family reads the shared layout.

    Attributes:
        name: the kind's name.
        summary: one line for listings.
        method: ``ModelConfig.method`` of the result.
        offsets: e4e-style heads (style 0 is a base w, the others add offsets to it).
        iterative: a ReStyle-style encoder, fed the image and the current reconstruction (6 channels).
        structures: encoder structures the upstream code builds: ``"pyramid"`` (pSp's feature pyramid,
            ``latlayer1/2``) and/or ``"backbone"`` (ReStyle's heads on the last feature map).
        evidence: a sign in the checkpoint (keys, ``opts`` read as plain data) of exactly this kind.
    """

    name: str
    summary: str
    method: str
    offsets: bool
    iterative: bool
    structures: tuple[str, ...]
    evidence: Callable[[Checkpoint], str | None]

    def encoder_kind(self, shape: EncoderShape) -> str:
        if shape.pyramid:
            return "e4e" if self.offsets else "gradual"
        return "progressive-backbone" if self.offsets else "backbone"


def opts_encoder_type(checkpoint: Checkpoint) -> str | None:
    """``opts["encoder_type"]`` when it is a string (a hint only)."""
    value = checkpoint.plain("opts").get("encoder_type")
    return value if isinstance(value, str) else None


def _split(state: dict[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, Tensor], dict[str, Tensor]]:
    encoder = {k[len("encoder.") :]: v for k, v in state.items() if k.startswith("encoder.")}
    decoder = {k[len("decoder.") :]: v for k, v in state.items() if k.startswith("decoder.")}
    other = {k: v for k, v in state.items() if not k.startswith(("encoder.", "decoder."))}
    return encoder, decoder, other


def _why_not(variant: Variant, checkpoint: Checkpoint) -> str | None:
    state = checkpoint.tensors("state_dict")
    if state is None:
        return "no 'state_dict' mapping of tensors"
    stem = state.get("encoder.input_layer.0.weight")
    if stem is None or stem.ndim != 4:
        return "its state_dict has no IR-SE encoder ('encoder.input_layer.0.weight')"
    channels = int(stem.shape[1])
    if variant.iterative and channels != 6:
        return f"its encoder takes {channels} input channels; {variant.name} encoders take 6 (image + reconstruction)"
    if not variant.iterative and channels == 6:
        return f"its encoder takes 6 input channels (an iterative ReStyle-style encoder); {variant.name} takes 3"
    pyramid = "encoder.latlayer1.weight" in state or "encoder.latlayer2.weight" in state
    structure = "pyramid" if pyramid else "backbone"
    if structure not in variant.structures:
        have = "the feature pyramid (latlayer1/2)" if pyramid else "no feature pyramid (no latlayer1/2)"
        return f"its encoder has {have}; {variant.name} encoders are {' or '.join(variant.structures)}-style"
    return None


def _generator_tensors(
    checkpoint: Checkpoint, decoder: dict[str, Tensor], options: ConvertOptions
) -> tuple[dict[str, Tensor], Tensor | None, str]:
    if decoder:
        if options.generator is not None:
            raise ValueError(
                f"{checkpoint.path} already holds its generator (decoder.* weights); --generator is only for "
                "checkpoints saved without them"
            )
        return decoder, None, "state_dict/decoder."
    if options.generator is None:
        raise ValueError(
            f"{checkpoint.path} has no generator weights (no decoder.* in its state_dict): pass --generator "
            "STYLEGAN2.pt (the rosinality checkpoint with g_ema it was trained with), an NVlabs .pkl, or a folder "
            "converted with --kind stylegan2 or stylegan2-ada"
        )
    tensors, latent_avg, label = generator_weights(options.generator, progress=options.progress)
    return tensors, latent_avg, f"{label}/"


def _latent_avg(
    variant: Variant,
    checkpoint: Checkpoint,
    n_latent: int,
    style_dim: int,
    fallback: Callable[[], tuple[Tensor, str]],
) -> tuple[Tensor, bool, str]:
    """``latent_avg`` as (n_latent, style_dim), whether the encoder starts from it, and where it came from."""
    value = checkpoint.entries.get("latent_avg")
    where = checkpoint.path.name
    if value is None:
        if variant.iterative:
            raise WeightsError(
                f"{where} has no 'latent_avg': {variant.name} starts every inversion from it, and it cannot be "
                "inferred from the weights"
            )
        # pSp / e4e save latent_avg exactly when trained with start_from_latent_avg.
        latent, origin = fallback()
        return latent.reshape(1, style_dim).expand(n_latent, -1), False, origin
    if isinstance(value, Tensor) and value.ndim == 2 and value.shape[0] == n_latent and value.shape[1] == style_dim:
        return value, True, "latent_avg"
    vector = latent_avg_vector(value, style_dim, where)
    return vector.reshape(1, style_dim).expand(n_latent, -1), True, f"latent_avg (repeated to {n_latent} rows)"


def _convert(variant: Variant, checkpoint: Checkpoint, options: ConvertOptions) -> Conversion:
    state = checkpoint.tensors("state_dict")
    assert state is not None  # why_not said so
    name = checkpoint.path.name
    encoder, decoder, other = _split(state)
    shape = infer_encoder_shape(encoder, f"{name}/state_dict/encoder", units=options.encoder_units)
    g_tensors, g_latent_avg, g_label = _generator_tensors(checkpoint, decoder, options)
    g_config = infer_generator_config(g_tensors, g_label.rstrip("/."), options.lr_mlp)
    check_kernels(g_tensors, g_config, g_label.rstrip("/."))
    if shape.n_styles != g_config.n_latent:
        raise WeightsError(
            f"{name}: the encoder makes {shape.n_styles} style vectors but the {g_config.resolution}px generator "
            f"({g_label.rstrip('/.')}) takes {g_config.n_latent}: they do not belong together"
        )

    def fallback() -> tuple[Tensor, str]:
        if g_latent_avg is not None:
            return latent_avg_vector(g_latent_avg, g_config.style_dim, g_label), f"{g_label}latent_avg"
        with torch.device("meta"):
            generator = Generator(g_config)
        return mean_latent(dict(g_tensors), generator), "(computed)"

    latent_avg, start_from_avg, avg_origin = _latent_avg(
        variant, checkpoint, g_config.n_latent, g_config.style_dim, fallback
    )
    iterations = options.iterations if options.iterations is not None else (ITERATIVE_STEPS if variant.iterative else 1)
    config = ModelConfig(
        generator=g_config,
        encoder=shape.config(variant.encoder_kind(shape)),
        iterations=iterations,
        method=variant.method,
        start_from_latent_avg=start_from_avg,
    )
    with torch.device("meta"):
        expected = expected_shapes(IntereStyleModel(config))
    provided: dict[str, Tensor] = {**other}
    sources = {k: f"state_dict/{k}" for k in other}
    for k, v in encoder.items():
        provided[f"encoder.{k}"], sources[f"encoder.{k}"] = v, f"state_dict/encoder.{k}"
    for k, v in g_tensors.items():
        provided[f"decoder.{k}"], sources[f"decoder.{k}"] = v, f"{g_label}{k}"
    provided["latent_avg"], sources["latent_avg"] = latent_avg, avg_origin
    tensors = match_tensors(expected, provided, sources, what=f"the {variant.name} model its tensors describe")

    notes = [lr_mlp_note(options, g_config.lr_mlp)]
    if not decoder:
        notes.append(f"generator: taken from --generator {options.generator}")
    if not start_from_avg:
        how = "copied from the generator's" if avg_origin != "(computed)" else f"the mean w of {MEAN_LATENT_SAMPLES}"
        notes.append(
            "start_from_latent_avg=false: the checkpoint has no latent_avg, so it was trained without it; "
            f"latent_avg ({how}) is stored for truncation and editing only"
        )
    if options.iterations is None:
        notes.append(f"iterations={iterations}: {variant.name}'s default number of encoder passes")
    for kind_name, sign in _other_signs(variant, checkpoint):
        notes.append(f"warning: converted as {variant.name}, but {sign}, a sign of {kind_name}")
    used = ("state_dict", "latent_avg")
    return Conversion(
        config=config.to_dict(),
        tensors=tensors,
        dropped=drop_entries(checkpoint, used, f"a {variant.name} model"),
        notes=notes,
        usage=USAGE,
        sources=sources,
    )


def _other_signs(variant: Variant, checkpoint: Checkpoint) -> list[tuple[str, str]]:
    signs = []
    for kind in kinds():
        if kind.name != variant.name and kind.why_not(checkpoint) is None:
            sign = kind.evidence(checkpoint)
            if sign is not None:
                signs.append((kind.name, sign))
    return signs


def make_kind(variant: Variant) -> Kind:
    """The registry entry of one variant."""
    return Kind(
        name=variant.name,
        summary=variant.summary,
        why_not=lambda checkpoint: _why_not(variant, checkpoint),
        evidence=lambda checkpoint: variant.evidence(checkpoint) if _why_not(variant, checkpoint) is None else None,
        convert=lambda checkpoint, options: _convert(variant, checkpoint, options),
    )
