"""Kind ``stylegan2``: rosinality/stylegan2-pytorch checkpoints (``g_ema``, ``latent_avg``, training state).

A generator has no encoder, so the result is a generator-only folder (``_class_name: "Generator"``), which
[`interestyle.models.generator.load_generator`][interestyle.models.generator.load_generator] loads and which
``--generator`` accepts when converting an encoder checkpoint saved without its decoder.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import WeightsError
from ..models.generator import GENERATOR_CLASS_NAME, Generator
from .checkpoint import Checkpoint
from .entries import drop_entries
from .generator_shapes import check_kernels, infer_generator_config
from .matching import expected_shapes, match_tensors
from .registry import Conversion, ConvertOptions, Kind

__all__ = [
    "KIND",
    "MEAN_LATENT_SAMPLES",
    "USAGE",
    "latent_avg_vector",
    "lr_mlp_note",
    "mean_latent",
    "rosinality_reason",
]

MEAN_LATENT_SAMPLES = 4096


def lr_mlp_note(options: ConvertOptions, used: float) -> str:
    """The note on the mapping network's learning-rate multiplier, which checkpoints do not store."""
    if options.lr_mlp is not None:
        return f"lr_mlp={used:g}: from --lr-mlp"
    return (
        f"lr_mlp={used:g}: not stored in checkpoints (the mapping network's learning-rate multiplier); upstream "
        "uses 0.01 (pass --lr-mlp for a generator trained with another value)"
    )


USAGE = """from interestyle.models.generator import load_generator

generator, latent_avg = load_generator("MODEL")
image = generator(latent_avg[None], input_space="w")  # (1, 3, R, R) in [-1, 1]"""


def rosinality_reason(checkpoint: Checkpoint) -> str | None:
    """None when ``checkpoint`` is a rosinality training checkpoint (a ``g_ema`` state dict), else why not."""
    if "g_ema" not in checkpoint.entries:
        return "no 'g_ema' entry"
    if checkpoint.tensors("g_ema") is None:
        return "'g_ema' is not a mapping of tensors"
    return None


def _evidence(checkpoint: Checkpoint) -> str | None:
    return "it holds 'g_ema'" if rosinality_reason(checkpoint) is None else None


def latent_avg_vector(value: object, style_dim: int, where: str) -> Tensor:
    """A stored average latent as (style_dim,); accepts (style_dim,) and (1, style_dim)."""
    if not isinstance(value, Tensor) or value.numel() != style_dim or value.ndim > 2:
        shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise WeightsError(f"{where}: 'latent_avg' has shape {shape}; expected ({style_dim},) or (1, {style_dim})")
    return value.reshape(style_dim)


@torch.no_grad()
def mean_latent(tensors: dict[str, Tensor], generator: Generator) -> Tensor:
    """The mean w of `MEAN_LATENT_SAMPLES` z ~ N(0, I) (seed 0) through these weights: (style_dim,)."""
    generator.load_state_dict(tensors, strict=True, assign=True)
    return generator.float().mean_latent(MEAN_LATENT_SAMPLES, seed=0)[0]


def _convert(checkpoint: Checkpoint, options: ConvertOptions) -> Conversion:
    tensors = checkpoint.tensors("g_ema")
    assert tensors is not None  # why_not said so
    where = f"{checkpoint.path.name}/g_ema"
    config = infer_generator_config(tensors, where, options.lr_mlp)
    check_kernels(tensors, config, where)
    with torch.device("meta"):
        expected = expected_shapes(Generator(config))
    weights = match_tensors(expected, tensors, {k: f"g_ema/{k}" for k in tensors}, what="the StyleGAN2 generator")
    notes = [lr_mlp_note(options, config.lr_mlp)]
    if "latent_avg" in checkpoint.entries:
        latent_avg = latent_avg_vector(checkpoint.entries["latent_avg"], config.style_dim, checkpoint.path.name)
    else:
        with torch.device("meta"):
            generator = Generator(config)
        latent_avg = mean_latent(dict(weights), generator)
        notes.append(
            f"latent_avg: not in the checkpoint; computed as the mean w of {MEAN_LATENT_SAMPLES} samples (seed 0)"
        )
    sources = {k: f"g_ema/{k}" for k in weights}
    sources["latent_avg"] = "latent_avg" if "latent_avg" in checkpoint.entries else "(computed)"
    return Conversion(
        config={"_class_name": GENERATOR_CLASS_NAME, "generator": config.to_dict()},
        tensors={**weights, "latent_avg": latent_avg.contiguous()},
        dropped=drop_entries(checkpoint, ("g_ema", "latent_avg"), "a generator"),
        notes=notes,
        usage=USAGE,
        sources=sources,
    )


KIND = Kind(
    name="stylegan2",
    summary="rosinality/stylegan2-pytorch generator (.pt with g_ema): a generator-only folder",
    why_not=rosinality_reason,
    evidence=_evidence,
    convert=_convert,
)
