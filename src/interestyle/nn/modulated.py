"""Modulated convolution (StyleGAN2, Karras et al. 2020, eq. 1-3) and noise injection.

Two formulations of the same equations live here:

* [`modulated_conv2d`][interestyle.nn.modulated.modulated_conv2d] (the fast path) scales the *activations* by the style,
runs one ordinary
  convolution with the shared weight for the whole batch, then multiplies the output by the demodulation
  coefficients (`modulated_conv2d_parts` hands them back unapplied, so the generator folds them into
  its bias, noise and activation pass). Ordinary convolutions are what CPU and GPU libraries are fastest
  at. At batch 1 it modulates the weight instead (no pass over the activations), and a 1x1 convolution to
  a few channels (``to_rgb``) on a channels-last input is a batched matrix product with per-sample weights.
* [`modulated_conv2d_reference`][interestyle.nn.modulated.modulated_conv2d_reference] is the formulation of the
community code: a per-sample weight
  ``w * s`` demodulated, one grouped convolution with ``groups=batch``, and upsampling as a transposed
  convolution followed by [`upfirdn2d`][interestyle.nn.resample.upfirdn2d]. It is the twin the parity tests and
  ``benchmarks/speed.py`` compare against, and must not be optimised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from .equalized import EqualLinear
from .resample import Blur, upfirdn2d

__all__ = [
    "ModulatedConv2d",
    "NoiseInjection",
    "demodulation",
    "modulated_conv2d",
    "modulated_conv2d_parts",
    "modulated_conv2d_reference",
]

_EPS = 1e-8


def demodulation(weight: Tensor, styles: Tensor) -> Tensor:
    """Eq. 3's ``1 / sigma_j`` for every sample and output channel: (B, C_out).

    ``sigma_j = sqrt(sum_{i,k} (w_ijk s_i)^2) = sqrt(sum_i s_i^2 sum_k w_ijk^2)``: one (B, C_in) x
    (C_in, C_out) product instead of a per-sample weight tensor.

    Args:
        weight: (C_out, C_in, k, k).
        styles: (B, C_in).
    """
    return (styles.square() @ weight.square().sum((2, 3)).t() + _EPS).rsqrt()


def modulated_conv2d(
    x: Tensor,
    weight: Tensor,
    styles: Tensor,
    *,
    demodulate: bool = True,
    upsample: bool = False,
    blur: nn.Module | None = None,
) -> Tensor:
    """Modulated convolution, fast form.

    Args:
        x: (B, C_in, H, W) activations, any memory format (channels-last is fastest on CPU).
        weight: (C_out, C_in, k, k), already multiplied by the equalized-lr scale.
        styles: (B, C_in) modulation coefficients.
        demodulate: divide each output channel by its weight norm (eq. 3).
        upsample: transposed convolution with stride 2 followed by ``blur``; output (B, C_out, 2H, 2W).
        blur: the `Blur` applied after upsampling.

    Returns:
        (B, C_out, H', W').
    """
    out, gain = modulated_conv2d_parts(x, weight, styles, demodulate=demodulate, upsample=upsample, blur=blur)
    return out if gain is None else out * gain[:, :, None, None]


def modulated_conv2d_parts(
    x: Tensor,
    weight: Tensor,
    styles: Tensor,
    *,
    demodulate: bool = True,
    upsample: bool = False,
    blur: nn.Module | None = None,
    inplace: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """[`modulated_conv2d`][interestyle.nn.modulated.modulated_conv2d] with the demodulation left for the caller to fuse
    with what follows.

    Args:
        inplace: the caller no longer needs ``x`` and no gradient flows: scale it by the styles in place
            (a fresh tensor costs the CPU more than the multiplication itself).

    Returns:
        ``(out, gain)``: the result is ``out * gain[:, :, None, None]``; ``gain`` is (B, C_out), or None
        when there is nothing left to apply.
    """
    gain: Tensor | None = None
    b, _, height, width = x.shape
    c_out, _, k, _ = weight.shape
    if k == 1 and not upsample and c_out < height * width and x.is_contiguous(memory_format=torch.channels_last):
        # A 1x1 convolution to few channels (to_rgb) is a batched (H*W, C_in) x (C_in, C_out) product in
        # NHWC: per-sample weights are cheaper than a pass over the activations.
        wb = weight[None, :, :, 0, 0] * styles[:, None, :]  # (B, C_out, C_in)
        if demodulate:
            wb = wb * (wb.square().sum(2, keepdim=True) + _EPS).rsqrt()
        pixels = rearrange(x, "b c h w -> b (h w) c")  # a view of a channels-last x
        out = torch.bmm(pixels, wb.transpose(1, 2))
        return rearrange(out, "b (h w) c -> b c h w", h=height), None
    if b == 1:
        # Batch 1: modulating the weight costs C_out * C_in * k^2 multiplications and needs no pass over
        # the activations.
        w = weight * styles.reshape(1, -1, 1, 1)
        if demodulate:
            w = w * (w.square().sum((1, 2, 3), keepdim=True) + _EPS).rsqrt()
    else:
        x = x.mul_(styles[:, :, None, None]) if inplace else x * styles[:, :, None, None]
        w = weight
        if demodulate:
            gain = demodulation(weight, styles)
    if upsample:
        if blur is None:
            raise ValueError("upsample=True needs the blur applied after the transposed convolution")
        out = blur(F.conv_transpose2d(x, w.transpose(0, 1), stride=2))
    else:
        out = F.conv2d(x, w, padding=w.shape[-1] // 2)
    return out, gain


def modulated_conv2d_reference(
    x: Tensor,
    weight: Tensor,
    styles: Tensor,
    *,
    demodulate: bool = True,
    upsample: bool = False,
    blur: nn.Module | None = None,
) -> Tensor:
    """The community formulation; same arguments as [`modulated_conv2d`][interestyle.nn.modulated.modulated_conv2d]
    (``blur`` supplies the ``kernel`` and ``pad`` of the [`upfirdn2d`][interestyle.nn.resample.upfirdn2d] after
    upsampling)."""
    b, c_in, h, w = x.shape
    c_out, _, k, _ = weight.shape
    wb = weight[None] * styles[:, None, :, None, None]  # (B, C_out, C_in, k, k)
    if demodulate:
        wb = wb * (wb.square().sum((2, 3, 4)) + _EPS).rsqrt()[:, :, None, None, None]
    x = x.reshape(1, b * c_in, h, w)
    if upsample:
        if not isinstance(blur, Blur):
            raise ValueError("upsample=True needs the Blur applied after the transposed convolution")
        wt = wb.transpose(1, 2).reshape(b * c_in, c_out, k, k)
        out = F.conv_transpose2d(x, wt, stride=2, groups=b)
        return upfirdn2d(out.reshape(b, c_out, out.shape[-2], out.shape[-1]), blur.kernel, pad=blur.pad)
    out = F.conv2d(x, wb.reshape(b * c_out, c_in, k, k), padding=k // 2, groups=b)
    return out.reshape(b, c_out, h, w)


class ModulatedConv2d(nn.Module):
    """StyleGAN2 modulated convolution with the community parameter names.

    Parameters: ``weight`` (1, C_out, C_in, k, k), ``modulation`` (an `EqualLinear` from the style, bias initialised to
    1) and, when upsampling, the buffer ``blur.kernel``. Set ``use_reference = True`` to run
    [`modulated_conv2d_reference`][interestyle.nn.modulated.modulated_conv2d_reference] instead of the fast path (for
    comparisons only).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        style_dim: int,
        *,
        demodulate: bool = True,
        upsample: bool = False,
        blur_kernel: Sequence[int] = (1, 3, 3, 1),
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.demodulate = demodulate
        self.upsample = upsample
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)
        if upsample:
            factor = 2
            p = (len(blur_kernel) - factor) - (kernel_size - 1)
            self.blur = Blur(blur_kernel, pad=((p + 1) // 2 + factor - 1, p // 2 + 1), upsample_factor=factor)
        self.weight = nn.Parameter(torch.randn(1, out_channels, in_channels, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_channels, bias_init=1.0)
        self.use_reference = False

    def forward_with_gain(self, x: Tensor, style: Tensor, *, inplace: bool = False) -> tuple[Tensor, Tensor | None]:
        """Like `forward`, but the demodulation may come back unapplied: ``(out, gain)``, where the
        result is ``out * gain[:, :, None, None]`` (``gain`` (B, C_out), or None when nothing is left).

        ``inplace=True`` lets it overwrite ``x`` (only without gradients, when the caller is done with it).
        """
        if self.use_reference:
            return self(x, style), None
        # The equalized-lr scale cancels in demodulated layers; folding it into the (B, C_in) styles
        # saves a pass over the weight either way.
        return modulated_conv2d_parts(
            x,
            self.weight[0],
            self.modulation(style) * self.scale,
            demodulate=self.demodulate,
            upsample=self.upsample,
            blur=self.blur if self.upsample else None,
            inplace=inplace,
        )

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        """(B, C_in, H, W), style (B, style_dim) -> (B, C_out, H, W), or (B, C_out, 2H, 2W) when upsampling."""
        if self.use_reference:
            return modulated_conv2d_reference(
                x,
                self.weight[0] * self.scale,
                self.modulation(style),
                demodulate=self.demodulate,
                upsample=self.upsample,
                blur=self.blur if self.upsample else None,
            )
        out, gain = self.forward_with_gain(x, style)
        return out if gain is None else out * gain[:, :, None, None]

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"upsample={self.upsample}, demodulate={self.demodulate}"
        )


class NoiseInjection(nn.Module):
    """Adds per-pixel noise scaled by a learned scalar ``weight`` (shape (1,)).

    The module exists for its parameter name (``...noise.weight`` in the community state-dict layout):
    `StyledConv` reads ``weight`` and folds the noise into its fused
    pass ([`interestyle.models.reference`][interestyle.models.reference] reads it too), so `forward` is never run by the
    generator.
    """

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor, noise: Tensor | None) -> Tensor:
        """``x + weight * noise`` (``x`` when ``noise`` is None). Unused by the generator, which fuses it
        (see the class docstring); kept so the module stays usable on its own."""
        if noise is None:
            return x
        return x + self.weight * noise
