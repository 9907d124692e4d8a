"""Modulated convolution (StyleGAN2, Karras et al. 2020, eq. 1-3) and noise injection.

Two formulations of the same equations live here:

* :func:`modulated_conv2d` scales the *activations* by the style, runs one ordinary convolution with the
  shared weight for the whole batch, then scales the output by the demodulation coefficients. Ordinary
  convolutions are what CPU and GPU libraries are fastest at.
* :func:`modulated_conv2d_reference` is the formulation of the community code: a per-sample weight
  ``w * s`` demodulated, and one grouped convolution with ``groups=batch``. It is kept as the twin the
  parity tests and benchmarks compare against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .equalized import EqualLinear
from .resample import Blur

__all__ = ["ModulatedConv2d", "NoiseInjection", "modulated_conv2d", "modulated_conv2d_reference"]

_EPS = 1e-8


def _demodulation(weight: Tensor, styles: Tensor) -> Tensor:
    # sigma_j = sqrt(sum_{i,k} (w_ijk * s_i)^2) = sqrt(sum_i s_i^2 * sum_k w_ijk^2): (B, out).
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
    """Modulated convolution, activation-scaling form.

    Args:
        x: (B, C_in, H, W) activations.
        weight: (C_out, C_in, k, k), already multiplied by the equalized-lr scale.
        styles: (B, C_in) modulation coefficients.
        demodulate: divide each output channel by its weight norm (eq. 3).
        upsample: transposed convolution with stride 2 followed by ``blur``; output (B, C_out, 2H, 2W).

    Returns:
        (B, C_out, H', W').
    """
    x = x * styles[:, :, None, None]
    if upsample:
        assert blur is not None
        out = blur(F.conv_transpose2d(x, weight.transpose(0, 1), stride=2))
    else:
        out = F.conv2d(x, weight, padding=weight.shape[-1] // 2)
    if demodulate:
        out = out * _demodulation(weight, styles)[:, :, None, None]
    return out


def modulated_conv2d_reference(
    x: Tensor,
    weight: Tensor,
    styles: Tensor,
    *,
    demodulate: bool = True,
    upsample: bool = False,
    blur: nn.Module | None = None,
) -> Tensor:
    """The grouped-convolution formulation of the community code; same arguments as :func:`modulated_conv2d`."""
    b, c_in, h, w = x.shape
    c_out, _, k, _ = weight.shape
    wb = weight[None] * styles[:, None, :, None, None]  # (B, C_out, C_in, k, k)
    if demodulate:
        wb = wb * (wb.square().sum((2, 3, 4)) + _EPS).rsqrt()[:, :, None, None, None]
    x = x.reshape(1, b * c_in, h, w)
    if upsample:
        assert blur is not None
        wt = wb.transpose(1, 2).reshape(b * c_in, c_out, k, k)
        out = F.conv_transpose2d(x, wt, stride=2, groups=b)
        return blur(out.reshape(b, c_out, out.shape[-2], out.shape[-1]))
    out = F.conv2d(x, wb.reshape(b * c_out, c_in, k, k), padding=k // 2, groups=b)
    return out.reshape(b, c_out, h, w)


class ModulatedConv2d(nn.Module):
    """StyleGAN2 modulated convolution with the community parameter names.

    Parameters: ``weight`` (1, C_out, C_in, k, k), ``modulation`` (an :class:`EqualLinear` from the style,
    bias initialised to 1) and, when upsampling, the buffer ``blur.kernel``.
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

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        """(B, C_in, H, W), style (B, style_dim) -> (B, C_out, H, W), or (B, C_out, 2H, 2W) when upsampling."""
        conv = modulated_conv2d_reference if self.use_reference else modulated_conv2d
        return conv(
            x,
            self.weight[0] * self.scale,
            self.modulation(style),
            demodulate=self.demodulate,
            upsample=self.upsample,
            blur=self.blur if self.upsample else None,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"upsample={self.upsample}, demodulate={self.demodulate}"
        )


class NoiseInjection(nn.Module):
    """Adds per-pixel noise scaled by a learned scalar ``weight`` (shape (1,))."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor, noise: Tensor | None) -> Tensor:
        if noise is None:
            return x
        return x + self.weight * noise
