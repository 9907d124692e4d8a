"""What ``--generator`` accepts: the generator an encoder checkpoint saved without its ``decoder.*`` weights."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from ..errors import WeightsError
from ..models.generator import load_generator
from .registry import ConvertOptions
from .sources import open_source
from .stylegan2 import rosinality_reason
from .stylegan2_ada import KIND as NVLABS_KIND
from .stylegan2_ada import nvlabs_generator_weights

__all__ = ["generator_weights"]


def generator_weights(path: Path, *, progress: bool = False) -> tuple[dict[str, Tensor], Tensor | None, str]:
    """The generator tensors (rosinality names), ``latent_avg`` (or None) and a label, from a generator
    folder (converted with ``--kind stylegan2`` or ``stylegan2-ada``), a rosinality ``.pt`` with ``g_ema``,
    or an NVlabs network pickle.

    Raises:
        WeightsError: the file is none of these.
    """
    if path.is_dir():
        generator, latent_avg = load_generator(path)
        return dict(generator.state_dict()), latent_avg, f"{path.name} (generator folder)"
    checkpoint = open_source(path, progress=progress)
    if NVLABS_KIND.why_not(checkpoint) is None:
        weights, latent_avg, _, _, _ = nvlabs_generator_weights(checkpoint, ConvertOptions())
        return weights, latent_avg, f"{path.name}/G_ema"
    reason = rosinality_reason(checkpoint)
    if reason is not None:
        raise WeightsError(
            f"--generator {path} is not a StyleGAN2 checkpoint ({reason}; it holds {checkpoint.describe_keys()}); "
            "pass a rosinality .pt with 'g_ema', an NVlabs .pkl, or a folder converted with --kind stylegan2"
        )
    tensors = checkpoint.tensors("g_ema")
    assert tensors is not None
    value = checkpoint.entries.get("latent_avg")
    return tensors, value if isinstance(value, Tensor) else None, f"{path.name}/g_ema"
