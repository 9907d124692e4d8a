"""Kind ``stylegan2-ada``: NVlabs network pickles (stylegan2-ada-pytorch, and stylegan3's StyleGAN2 configs).

The pickle is read by `.nvlabs_pickle`, which runs none of its code; this module maps ``G_ema``'s
tensors onto our generator (rosinality layout) and writes a generator-only folder, like kind ``stylegan2``.
Correspondence (``training/networks.py``): ``mapping.fc{i}`` -> ``style.{i+1}``; ``mapping.w_avg`` ->
``latent_avg``; ``b4.const[None]`` -> ``input.input``; ``b4.conv1`` -> ``conv1``; ``b4.torgb`` ->
``to_rgb1``; for R = 8 * 2^j: ``b{R}.conv0`` -> ``convs.{2j}``, ``b{R}.conv1`` -> ``convs.{2j+1}``,
``b{R}.torgb`` -> ``to_rgbs.{j}``. No tensor is rescaled: NVlabs' ``FullyConnectedLayer`` computes
``W * lr / sqrt(in)`` and ``b * lr``, as our ``EqualLinear(lr_mul=lr)`` does, and the multiplier ``lr``
is read from the pickle (the mapping layers' ``bias_gain``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from ..errors import WeightsError
from ..models.generator import GENERATOR_CLASS_NAME, Generator
from .checkpoint import Checkpoint
from .entries import drop_entries
from .generator_shapes import check_kernels, infer_generator_config
from .matching import expected_shapes, match_tensors
from .nvlabs_pickle import PersistentRecord, StoredTensor
from .registry import Conversion, ConvertOptions, Kind
from .stylegan2 import USAGE

__all__ = ["KIND", "NVLABS_ENTRIES", "nvlabs_generator_weights", "rosinality_names", "rosinality_tensors"]

NVLABS_ENTRIES: dict[str, str] = {
    "G": "the non-EMA training generator (G_ema is the one used for inference)",
    "D": "the discriminator",
    "augment_pipe": "ADA's augmentation pipeline",
    "training_set_kwargs": "the dataset options of the training run",
}
"""What a snapshot holds besides ``G_ema``, and why each is dropped."""

# 2x upsampling filters are the FIR taps normalised to sum 1 (NVlabs' setup_filter) times 4, the gain
# that keeps the image's level when three of every four pixels are zeros.
_UPSAMPLE_GAIN = 4.0
_ALIAS_FREE_LAYER = re.compile(r"^L\d+_\d+_\d+$")
_BLOCK = re.compile(r"^b(\d+)$")


def _generator_record(checkpoint: Checkpoint) -> PersistentRecord | None:
    """``G_ema`` of a snapshot, or the network itself when the pickle holds a single network."""
    content = checkpoint.content
    if isinstance(content, PersistentRecord):
        return content
    value = checkpoint.entries.get("G_ema")
    return value if isinstance(value, PersistentRecord) else None


def _why_not(checkpoint: Checkpoint) -> str | None:
    if _generator_record(checkpoint) is None:
        return "no NVlabs 'G_ema' network (a stylegan2-ada-pytorch / stylegan3 pickle)"
    return None


def _evidence(checkpoint: Checkpoint) -> str | None:
    return "it holds an NVlabs 'G_ema' network" if _why_not(checkpoint) is None else None


def _refuse(where: str, found: str, why: str) -> WeightsError:
    return WeightsError(f"{where} is {found}: {why}")


def _check_architecture(g: PersistentRecord, where: str) -> tuple[PersistentRecord, PersistentRecord]:
    """(mapping, synthesis) of a plain StyleGAN2 generator; one-line refusals for anything else."""
    if g.class_name != "Generator":
        raise _refuse(where, f"a {g.class_name}, not a Generator", "pass a pickle whose G_ema is a generator")
    mapping, synthesis = g.child("mapping"), g.child("synthesis")
    if mapping is None or synthesis is None:
        raise _refuse(where, "a Generator without mapping and synthesis networks", "not a StyleGAN generator")
    names = list(synthesis.children())
    if synthesis.child("input") is not None or any(_ALIAS_FREE_LAYER.match(n) for n in names):
        layers = [n for n in names if _ALIAS_FREE_LAYER.match(n)][:3]
        raise _refuse(
            where,
            f"a StyleGAN3 (alias-free) generator (synthesis.input, {', '.join(layers) or 'L* layers'})",
            "interestyle's generator is StyleGAN2; convert a StyleGAN2 pickle (stylegan3's --cfg=stylegan2 writes one)",
        )
    c_dim = g.attribute("c_dim", 0) or mapping.attribute("c_dim", 0)
    if c_dim or mapping.child("embed") is not None:
        raise _refuse(
            where,
            f"a class-conditional generator (c_dim={c_dim}, mapping.embed)",
            "interestyle's generator takes no class label; convert an unconditional one",
        )
    channels = g.attribute("img_channels", 3)
    if channels != 3:
        raise _refuse(where, f"a generator of {channels}-channel images", "interestyle's generator makes RGB images")
    blocks = [(int(m.group(1)), b) for n, b in synthesis.children().items() if (m := _BLOCK.match(n))]
    for res, block in blocks:
        if not isinstance(block, PersistentRecord):
            raise _refuse(where, f"a generator whose synthesis.b{res} is not a network", "unreadable")
        architecture = block.attribute("architecture", "skip")
        if architecture != "skip" and not block.attribute("is_last", False):
            raise _refuse(
                where,
                f"a generator of architecture {architecture!r} (synthesis.b{res})",
                "interestyle's generator is StyleGAN2's 'skip' architecture (config F and ADA's defaults)",
            )
        for layer in ("conv0", "conv1"):
            record = block.child(layer)
            if record is not None and not record.attribute("use_noise", True):
                raise _refuse(
                    where, f"a generator without noise inputs (synthesis.b{res}.{layer})", "not supported yet"
                )
    z_dim, w_dim = g.attribute("z_dim"), g.attribute("w_dim")
    if z_dim != w_dim:
        raise _refuse(where, f"a generator with z_dim={z_dim} and w_dim={w_dim}", "interestyle's needs them equal")
    return mapping, synthesis


def _mapping_lr(mapping: PersistentRecord, where: str) -> float:
    """The mapping layers' learning-rate multiplier, which NVlabs stores as each layer's ``bias_gain``."""
    gains = {
        name: layer.attribute("bias_gain")
        for name, layer in mapping.children().items()
        if isinstance(layer, PersistentRecord) and name.startswith("fc")
    }
    values = set(gains.values())
    if len(values) != 1 or not all(isinstance(v, (int, float)) and v > 0 for v in values):
        raise WeightsError(f"{where}: the mapping layers' learning-rate multipliers (bias_gain) are {gains}")
    return float(values.pop())


def _modulated_names(nv: str, ours: str) -> dict[str, tuple[str, str]]:
    """Our name -> (NVlabs name, how to reshape) for the modulated convolution of a layer or ToRGB."""
    return {
        f"{ours}.conv.weight": (f"{nv}.weight", "lead"),
        f"{ours}.conv.modulation.weight": (f"{nv}.affine.weight", "same"),
        f"{ours}.conv.modulation.bias": (f"{nv}.affine.bias", "same"),
    }


def _layer_names(nv: str, ours: str) -> dict[str, tuple[str, str]]:
    """One SynthesisLayer: the convolution, its bias, its noise strength."""
    return {
        **_modulated_names(nv, ours),
        f"{ours}.activate.bias": (f"{nv}.bias", "same"),
        f"{ours}.noise.weight": (f"{nv}.noise_strength", "one"),
    }


def _torgb_names(nv: str, ours: str) -> dict[str, tuple[str, str]]:
    return {**_modulated_names(nv, ours), f"{ours}.bias": (f"{nv}.bias", "rgb_bias")}


def rosinality_names(nvlabs_keys: Mapping[str, Any], n_mlp: int, resolution: int) -> dict[str, tuple[str, str]]:
    """Our tensor names -> (the ``G_ema`` tensor name, a reshape: same, lead, one, rgb_bias, noise, kernel)."""
    names: dict[str, tuple[str, str]] = {}
    for i in range(n_mlp):
        names[f"style.{i + 1}.weight"] = (f"mapping.fc{i}.weight", "same")
        names[f"style.{i + 1}.bias"] = (f"mapping.fc{i}.bias", "same")
    names["input.input"] = ("synthesis.b4.const", "lead")
    names.update(_layer_names("synthesis.b4.conv1", "conv1"))
    names.update(_torgb_names("synthesis.b4.torgb", "to_rgb1"))
    names["noises.noise_0"] = ("synthesis.b4.conv1.noise_const", "noise")
    j, res = 0, 8
    while res <= resolution:
        block = f"synthesis.b{res}"
        names.update(_layer_names(f"{block}.conv0", f"convs.{2 * j}"))
        names.update(_layer_names(f"{block}.conv1", f"convs.{2 * j + 1}"))
        names.update(_torgb_names(f"{block}.torgb", f"to_rgbs.{j}"))
        names[f"convs.{2 * j}.conv.blur.kernel"] = (f"{block}.conv0.resample_filter", "kernel")
        names[f"to_rgbs.{j}.upsample.kernel"] = (f"{block}.resample_filter", "kernel")
        names[f"noises.noise_{2 * j + 1}"] = (f"{block}.conv0.noise_const", "noise")
        names[f"noises.noise_{2 * j + 2}"] = (f"{block}.conv1.noise_const", "noise")
        j, res = j + 1, res * 2
    return {ours: theirs for ours, theirs in names.items() if theirs[0] in nvlabs_keys}


def rosinality_tensors(stored: Mapping[str, Tensor], names: Mapping[str, tuple[str, str]]) -> dict[str, Tensor]:
    """Our tensors from NVlabs' (``names`` from `rosinality_names`): a leading 1 on weights and the
    constant input, ToRGB biases as (1, 3, 1, 1), noise strengths as (1,), noise maps as (1, 1, R, R), and
    upsampling filters times 4."""
    return {ours: _reshape(stored[theirs], how) for ours, (theirs, how) in names.items()}


def _reshape(tensor: Tensor, how: str) -> Tensor:
    if how == "lead":
        return tensor[None]
    if how == "one":
        return tensor.reshape(1)
    if how == "rgb_bias":
        return tensor.reshape(1, -1, 1, 1)
    if how == "noise":
        return tensor[None, None]
    if how == "kernel":
        return tensor * _UPSAMPLE_GAIN
    return tensor


def _unused_filters(keys: list[str]) -> list[str]:
    """FIR buffers of layers that never resample (b4, and every conv1): NVlabs keeps one per layer."""
    return [k for k in keys if k.endswith("resample_filter") and (k.startswith("synthesis.b4.") or ".conv1." in k)]


def nvlabs_generator_weights(
    checkpoint: Checkpoint, options: ConvertOptions
) -> tuple[dict[str, Tensor], Tensor, Any, list[str], dict[str, str]]:
    """Our generator's tensors, ``latent_avg``, its config, notes and sources, from an NVlabs pickle.

    Raises:
        WeightsError: no ``G_ema``, or a generator interestyle cannot represent (one line naming it).
        ValueError: ``options.lr_mlp`` disagrees with the multiplier stored in the pickle.
    """
    g = _generator_record(checkpoint)
    where = f"{checkpoint.path.name}/G_ema"
    if g is None:
        raise WeightsError(f"{checkpoint.path} holds no NVlabs 'G_ema' network; it holds {checkpoint.describe_keys()}")
    mapping, synthesis = _check_architecture(g, where)
    lr_mlp = _mapping_lr(mapping, where)
    if options.lr_mlp is not None and options.lr_mlp != lr_mlp:
        raise ValueError(
            f"--lr-mlp {options.lr_mlp:g} disagrees with {where}, which stores the mapping's learning-rate "
            f"multiplier {lr_mlp:g}; leave --lr-mlp out"
        )
    stored = g.tensors()
    n_mlp = len([k for k in stored if re.match(r"^mapping\.fc\d+\.weight$", k)])
    resolution = int(g.attribute("img_resolution", 0) or 0)
    names = rosinality_names(stored, n_mlp, resolution)
    tensors = rosinality_tensors({theirs: _load(stored[theirs], where, theirs) for theirs, _ in names.values()}, names)
    sources = {ours: f"G_ema/{theirs}" for ours, (theirs, _) in names.items()}

    config = infer_generator_config(tensors, where, lr_mlp)
    if config.n_latent != g.attribute("num_ws", config.n_latent):
        raise WeightsError(f"{where} has num_ws={g.attribute('num_ws')}; its tensors give {config.n_latent}")
    check_kernels(tensors, config, where)
    used = {theirs for theirs, _ in names.values()}
    unused_filters = _unused_filters([k for k in stored if k not in used])
    leftovers = [k for k in stored if k not in used and k not in unused_filters and k != "mapping.w_avg"]
    provided = dict(tensors)
    for key in leftovers:  # let match_tensors name them
        provided[key] = torch.empty(0)
        sources[key] = f"G_ema/{key}"
    with torch.device("meta"):
        expected = expected_shapes(Generator(config))
    weights = match_tensors(expected, provided, sources, what="the StyleGAN2 generator")
    if "mapping.w_avg" not in stored:
        raise WeightsError(f"{where} has no 'mapping.w_avg' (the truncation average); it is not a trained generator")
    latent_avg = _load(stored["mapping.w_avg"], where, "mapping.w_avg").reshape(-1)
    if latent_avg.numel() != config.style_dim:
        raise WeightsError(f"{where}: 'mapping.w_avg' has {latent_avg.numel()} values; expected {config.style_dim}")
    sources["latent_avg"] = "G_ema/mapping.w_avg"
    notes = [
        f"lr_mlp={lr_mlp:g}: read from the pickle (the mapping layers' learning-rate multiplier)",
        "latent_avg: G_ema's mapping.w_avg (the average w NVlabs tracks for truncation)",
        f"{_repository(synthesis)}: {n_mlp} mapping layers, widths {list(config.widths().values())} "
        f"(4x4 to {config.resolution}x{config.resolution})",
        *_precision_notes(synthesis),
    ]
    if unused_filters:
        sources.update({k: f"G_ema/{k} (unused)" for k in unused_filters})
    return weights, latent_avg.contiguous(), config, notes, sources


def _load(tensor: StoredTensor, where: str, name: str) -> Tensor:
    if not isinstance(tensor, StoredTensor):
        raise WeightsError(f"{where}: {name!r} is not a tensor")
    return tensor.load().float()


def _repository(synthesis: PersistentRecord) -> str:
    """Which NVlabs repository wrote the network: stylegan3's networks_stylegan2.py adds a few attributes."""
    block = synthesis.child("b4")
    if block is not None and "fused_modconv_default" in block.state:
        return "stylegan3 repository (networks_stylegan2.py)"
    return "stylegan2-ada-pytorch (training/networks.py)"


def _precision_notes(synthesis: PersistentRecord) -> list[str]:
    """What NVlabs' code does that the converted generator does not: clamping, float16 layers."""
    blocks = [b for n, b in synthesis.children().items() if _BLOCK.match(n) and isinstance(b, PersistentRecord)]
    clamps = {layer.attribute("conv_clamp") for b in blocks for layer in (b.child("conv1"),) if layer is not None}
    fp16 = sorted(int(b.attribute("resolution", 0)) for b in blocks if b.attribute("use_fp16", False))
    notes = []
    clamp = next((c for c in clamps if c is not None), None)
    if clamp is not None:
        notes.append(
            f"conv_clamp={clamp:g}: NVlabs clamps each layer's output to +-{clamp:g}; the converted generator does "
            "not clamp (outputs differ only where a layer reaches the bound)"
        )
    if fp16:
        notes.append(
            f"NVlabs runs resolutions {fp16} in float16 on a GPU; the converted generator computes in the model's "
            "dtype (float32 by default): it matches NVlabs' force_fp32=True output, and differs from its float16 "
            "output by about 1e-3"
        )
    return notes


def _dropped(checkpoint: Checkpoint, unused_filters: int) -> list[str]:
    weights = (PersistentRecord, StoredTensor, Tensor)
    lines = drop_entries(checkpoint, ("G_ema",), "a generator", known=NVLABS_ENTRIES, weights=weights)
    if unused_filters:
        lines.append(
            f"G_ema: {unused_filters} resample_filter buffer(s) of layers that never resample (b4, each conv1)"
        )
    return lines


def _convert(checkpoint: Checkpoint, options: ConvertOptions) -> Conversion:
    weights, latent_avg, config, notes, sources = nvlabs_generator_weights(checkpoint, options)
    unused = sum(1 for v in sources.values() if v.endswith("(unused)"))
    return Conversion(
        config={"_class_name": GENERATOR_CLASS_NAME, "generator": config.to_dict()},
        tensors={**weights, "latent_avg": latent_avg},
        dropped=_dropped(checkpoint, unused),
        notes=notes,
        usage=USAGE,
        sources={k: v for k, v in sources.items() if not v.endswith("(unused)")},
    )


KIND = Kind(
    name="stylegan2-ada",
    summary="NVlabs stylegan2-ada-pytorch / stylegan3 StyleGAN2 network pickle (.pkl with G_ema): a generator-only "
    "folder, read without running pickled code",
    why_not=_why_not,
    evidence=_evidence,
    convert=_convert,
)
