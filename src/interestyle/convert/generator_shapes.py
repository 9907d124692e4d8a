"""A StyleGAN2 generator's configuration, read from the shapes of its tensors (rosinality layout).

``style.{1..n_mlp}.weight`` (D, D) give the mapping depth and width; the ``convs`` count gives the
resolution; ``input.input`` and ``convs.{2j}.conv.weight`` give the width at each resolution; the FIR
buffers ``*.kernel`` give the blur taps. Only the mapping's learning-rate multiplier is not stored: it is
0.01 in every upstream generator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import Tensor

from ..config import GeneratorConfig, default_generator_channels
from ..errors import WeightsError
from ..nn.resample import Upsample
from .matching import require

__all__ = ["UPSTREAM_LR_MLP", "check_kernels", "infer_generator_config"]

UPSTREAM_LR_MLP = 0.01

_STYLE = re.compile(r"^style\.(\d+)\.weight$")
_CONV = re.compile(r"^convs\.(\d+)\.conv\.weight$")


def infer_generator_config(tensors: Mapping[str, Tensor], where: str, lr_mlp: float | None = None) -> GeneratorConfig:
    """The [`GeneratorConfig`][interestyle.config.GeneratorConfig] whose generator has these tensors (names without a
    ``decoder.`` prefix).

    ``lr_mlp`` is not in the tensors: the given value, else upstream's 0.01.

    Raises:
        WeightsError: a tensor needed to read the config is missing or of an impossible shape.
    """
    mlp = sorted(int(m.group(1)) for k in tensors if (m := _STYLE.match(k)))
    if not mlp:
        raise WeightsError(f"{where} has no mapping network ('style.1.weight', ...): not a StyleGAN2 generator")
    if mlp != list(range(1, len(mlp) + 1)):
        raise WeightsError(f"{where} has mapping layers {mlp}; expected style.1 ... style.{len(mlp)} without gaps")
    style_dim = tuple(tensors["style.1.weight"].shape)
    if len(style_dim) != 2 or style_dim[0] != style_dim[1]:
        raise WeightsError(f"{where}: 'style.1.weight' has shape {style_dim}; expected a square (D, D) matrix")
    dim = style_dim[0]

    convs = sorted(int(m.group(1)) for k in tensors if (m := _CONV.match(k)))
    if not convs or convs != list(range(len(convs))) or len(convs) % 2:
        raise WeightsError(f"{where} has styled convolutions {convs}; expected convs.0 ... convs.(2k-1)")
    log_size = len(convs) // 2 + 2
    resolution = 2**log_size

    const = require(tensors, "input.input", where, "read the width at 4x4").shape
    widths = [int(const[1])]
    for j in range(log_size - 2):
        shape = tensors[f"convs.{2 * j}.conv.weight"].shape
        if len(shape) != 5:
            raise WeightsError(f"{where}: 'convs.{2 * j}.conv.weight' has shape {tuple(shape)}; expected 5 dims")
        widths.append(int(shape[1]))

    taps = _blur_taps(require(tensors, "convs.0.conv.blur.kernel", where, "read the blur filter"), where)
    multiplier = _channel_multiplier(tuple(widths), resolution)
    return GeneratorConfig(
        resolution=resolution,
        style_dim=dim,
        n_mlp=len(mlp),
        channel_multiplier=multiplier or 2,
        channels=None if multiplier else tuple(widths),
        lr_mlp=UPSTREAM_LR_MLP if lr_mlp is None else lr_mlp,
        blur_kernel=taps,
    )


def _channel_multiplier(widths: tuple[int, ...], resolution: int) -> int | None:
    """The multiplier whose config-F table gives ``widths``, or None when no table does."""
    if resolution < 64:
        return 2 if widths == default_generator_channels(resolution, 2) else None
    m = widths[4] // 256  # the width at 64x64 is 256 * m
    if m >= 1 and widths == default_generator_channels(resolution, m):
        return m
    return None


def _blur_taps(kernel: Tensor, where: str) -> tuple[int, ...]:
    """The integer 1-D taps whose normalised outer product is ``kernel`` (up to its scale)."""
    k = kernel.detach().to(torch.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1] or not bool((k > 0).all()):
        raise WeightsError(f"{where}: blur kernel of shape {tuple(k.shape)} is not a positive square filter")
    row = k.sum(dim=1)
    row = row / row.min()
    taps = row.round()
    separable = torch.outer(taps, taps)
    if not torch.allclose(row, taps, atol=1e-4) or not torch.allclose(
        k / k.sum(), separable / separable.sum(), atol=1e-6
    ):
        raise WeightsError(f"{where}: blur kernel {k.tolist()} is not the outer product of integer taps")
    return tuple(int(t) for t in taps.tolist())


def check_kernels(tensors: Mapping[str, Tensor], config: GeneratorConfig, where: str) -> None:
    """Every FIR buffer (``*.kernel``) must be the one ``config`` builds, so that ``config.json`` alone
    rebuilds the same generator."""
    built = Upsample(config.blur_kernel).kernel  # 2x upsampling filters: taps normalised, times 4
    for key, value in tensors.items():
        if key.endswith(".kernel") and (
            value.shape != built.shape or not torch.allclose(value.float(), built, rtol=1e-5, atol=1e-7)
        ):
            raise WeightsError(
                f"{where}: {key!r} is not the 2x upsampling filter of blur_kernel={list(config.blur_kernel)} "
                f"that the other filters give"
            )
