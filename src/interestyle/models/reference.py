"""The reference formulation: StyleGAN2 synthesis and ReStyle inversion as the community code computes them.

This is the yardstick of the fast path, not a second implementation to use. It is written from the
published equations (StyleGAN2: Karras et al. 2020, eq. 1-3 and its ``upfirdn2d`` resampling; ReStyle:
Alaluf et al. 2021, sec. 3) in the straightforward form of rosinality/stylegan2-pytorch and the ReStyle
repository, and it only *reads* the parameters of a [`Generator`][interestyle.models.generator.Generator] or an
encoder, so optimising their ``forward`` can never change it:

* modulated convolution: one grouped convolution with a demodulated per-sample weight
  ([`modulated_conv2d_reference`][interestyle.nn.modulated.modulated_conv2d_reference]);
* upsampling convolutions: a transposed convolution, then a separate blur by padding and filtering
  ([`upfirdn2d`][interestyle.nn.resample.upfirdn2d]); the ``to_rgb`` skip is upsampled by zero insertion,
  padding and filtering the same way;
* noise: drawn afresh on every call (from ``noise_seed``, so that the fast path can be given the very same
  maps); bias and activation as separate passes; everything in the NCHW layout;
* encoders: layer by layer, with the NCHW weights of the community checkpoints
([`community_layout`][interestyle.models.reference.community_layout]
  makes that copy; the package itself stores encoder weights channels-last);
* inversion: the average image decoded again for every batch.

``tests/test_parity.py`` holds the fast path to these functions within 1e-4 in float32, and
``benchmarks/speed.py`` times both.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import GeneratorConfig
from ..nn.equalized import EqualLinear
from ..nn.modulated import ModulatedConv2d, modulated_conv2d_reference
from ..nn.resample import upfirdn2d
from .encoders import BackboneEncoder, Encoder4Editing, GradualStyleBlock, GradualStyleEncoder, as_offsets
from .generator import Generator, StyledConv, ToRGB
from .model import IntereStyleModel, avg_pool_resize

__all__ = [
    "community_layout",
    "reference_encode",
    "reference_invert",
    "reference_noise",
    "reference_synthesis",
    "use_reference_noise",
]


def reference_noise(config: GeneratorConfig, seed: int = 0) -> list[Tensor]:
    """The noise maps the reference draws on every call: one (1, 1, r, r) standard normal map per layer."""
    gen = torch.Generator().manual_seed(seed)
    sides = [2 ** ((i + 5) // 2) for i in range(config.num_layers)]
    return [torch.randn(1, 1, r, r, generator=gen) for r in sides]


@torch.no_grad()
def use_reference_noise(generator: Generator, seed: int = 0) -> None:
    """Store [`reference_noise`][interestyle.models.reference.reference_noise] in the generator's ``noises.noise_N``
    buffers (its ``"const"`` noise), so that the fast path and the reference see the same maps."""
    for buf, noise in zip(generator.const_noise(), reference_noise(generator.config, seed), strict=True):
        buf.copy_(noise)


def community_layout(model: IntereStyleModel) -> IntereStyleModel:
    """A copy of ``model`` with every weight in the contiguous (NCHW) layout of the community checkpoints.

    The reference functions give the same values on either layout; the layout decides the speed, so
    benchmarks time the reference on this copy.
    """
    twin = copy.deepcopy(model)
    twin.encoder.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    return twin


def _linear(layer: EqualLinear, x: Tensor) -> Tensor:
    out = F.linear(x, layer.weight * layer.scale, layer.bias * layer.lr_mul)
    return F.leaky_relu(out, 0.2) * math.sqrt(2) if layer.activation else out


def _modconv(conv: ModulatedConv2d, x: Tensor, style: Tensor) -> Tensor:
    return modulated_conv2d_reference(
        x,
        conv.weight[0] * conv.scale,
        _linear(conv.modulation, style),
        demodulate=conv.demodulate,
        upsample=conv.upsample,
        blur=conv.blur if conv.upsample else None,
    )


def _styled(layer: StyledConv, x: Tensor, style: Tensor, noise: Tensor) -> Tensor:
    out = _modconv(layer.conv, x, style)
    out = out + layer.noise.weight * noise
    return F.leaky_relu(out + layer.activate.bias.view(1, -1, 1, 1), 0.2) * math.sqrt(2)


def _to_rgb(layer: ToRGB, x: Tensor, style: Tensor, skip: Tensor | None) -> Tensor:
    out = _modconv(layer.conv, x, style) + layer.bias
    if skip is not None:
        up = layer.upsample
        out = out + upfirdn2d(skip, up.kernel, up=up.factor, pad=up.pad)
    return out


def reference_synthesis(
    generator: Generator,
    latents: Tensor,
    *,
    noise_seed: int = 0,
    noise: list[Tensor] | None = None,
) -> Tensor:
    """Images from W+ latents, computed the community way with ``generator``'s weights.

    Args:
        generator: supplies the parameters only; its ``forward`` is not used.
        latents: W+ (B, n_latent, style_dim).
        noise_seed: the noise maps are drawn on every call as
            [`reference_noise`][interestyle.models.reference.reference_noise] ``(config, noise_seed)``.
        noise: explicit maps, one per layer ((1 or B, 1, r, r)), instead of drawing them.

    Returns:
        (B, 3, R, R), roughly in [-1, 1].
    """
    g = generator
    if noise is None:
        noise = reference_noise(g.config, noise_seed)
    noise = [n.to(latents.device, latents.dtype) for n in noise]
    out = g.input.input.repeat(latents.shape[0], 1, 1, 1)
    out = _styled(g.conv1, out, latents[:, 0], noise[0])
    skip = _to_rgb(g.to_rgb1, out, latents[:, 1], None)
    for j, to_rgb in enumerate(g.to_rgbs):
        i = 2 * j + 1
        up, conv = g.convs[2 * j], g.convs[2 * j + 1]
        assert isinstance(up, StyledConv) and isinstance(conv, StyledConv) and isinstance(to_rgb, ToRGB)
        out = _styled(up, out, latents[:, i], noise[i])
        out = _styled(conv, out, latents[:, i + 1], noise[i + 1])
        skip = _to_rgb(to_rgb, out, latents[:, i + 2], skip)
    return skip


def _style_block(block: nn.Module, x: Tensor) -> Tensor:
    assert isinstance(block, GradualStyleBlock)
    return _linear(block.linear, block.convs(x).reshape(-1, block.out_channels))


def reference_encode(encoder: nn.Module, x: Tensor) -> Tensor:
    """The encoder's output computed layer by layer: (B, input_nc, S, S) -> (B, n_styles, style_dim).

    The input is made NCHW; for the community's speed, the weights must be too
    ([`community_layout`][interestyle.models.reference.community_layout]).
    """
    x = x.contiguous()
    if isinstance(encoder, BackboneEncoder):
        features = encoder.body(encoder.input_layer(x))
        styles = torch.stack([_style_block(block, features) for block in encoder.styles], dim=1)
        return as_offsets(styles) if encoder.progressive else styles
    if isinstance(encoder, (GradualStyleEncoder, Encoder4Editing)):
        maps = encoder.style_inputs(x)
        styles = torch.stack([_style_block(block, maps[i]) for i, block in enumerate(encoder.styles)], dim=1)
        return as_offsets(styles) if isinstance(encoder, Encoder4Editing) else styles
    raise TypeError(f"no reference formulation for {type(encoder).__name__}")


@torch.no_grad()
def reference_invert(
    model: IntereStyleModel,
    images: Tensor,
    iterations: int,
    *,
    batch_size: int = 8,
    noise_seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """ReStyle's inference loop with the reference generator and encoder.

    Args:
        images: (N, 3, S, S) in [-1, 1], already at the encoder's input size.
        iterations: refinement steps (1 for single-pass encoders).

    Returns:
        ``(step_latents, reconstructions)``: (T, N, n_latent, style_dim) and (N, 3, R, R).
    """
    steps, recons = [], []
    for start in range(0, images.shape[0], batch_size):
        x = images[start : start + batch_size]
        b = x.shape[0]
        latents = model.latent_avg[None].expand(b, -1, -1) if model.config.start_from_latent_avg else None
        feedback = None
        if model.config.iterative:
            average = reference_synthesis(model.decoder, model.latent_avg[None], noise_seed=noise_seed)
            feedback = avg_pool_resize(average, model.input_size).expand(b, -1, -1, -1)
        per_step = []
        for _ in range(iterations):
            inputs = x if feedback is None else torch.cat([x, feedback], dim=1)
            codes = reference_encode(model.encoder, inputs)
            latents = codes if latents is None else codes + latents
            image = reference_synthesis(model.decoder, latents, noise_seed=noise_seed)
            per_step.append(latents)
            feedback = avg_pool_resize(image, model.input_size)
        steps.append(torch.stack(per_step))
        recons.append(image)
    return torch.cat(steps, dim=1), torch.cat(recons)
