"""FIR resampling with ``upfirdn2d`` semantics, in plain PyTorch.

StyleGAN2 resamples by (1) inserting zeros to upsample, (2) padding, (3) filtering with a small FIR kernel,
(4) keeping every ``down``-th pixel. The upstream code does this in a CUDA extension compiled at import
time; here the same arithmetic is a depthwise convolution, which runs on any device.

[`upfirdn2d`][interestyle.nn.resample.upfirdn2d] spells those four steps out literally (it is the reference formulation
the parity tests and ``benchmarks/speed.py`` compare against). `Blur` and `Upsample` compute the same outputs with fewer
passes over memory: the padding goes into the convolution itself, and zero insertion followed by a filter is a depthwise
transposed convolution, which never multiplies the inserted zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["Blur", "Upsample", "blur2d", "make_kernel", "upfirdn2d", "upsample2d"]


def make_kernel(taps: Sequence[int] | Tensor) -> Tensor:
    """2-D FIR kernel from 1-D taps (outer product), normalised to sum 1; a CPU tensor.

    Always built on the CPU, even under ``with torch.device("meta")`` (how models are loaded): arithmetic on
    meta tensors goes through Python decompositions whose first use imports ``torch._dynamo`` (over a
    second). The buffers holding it are replaced by the stored weights anyway.
    """
    k = torch.as_tensor(taps, dtype=torch.float32, device="cpu")
    if k.ndim == 1:
        k = k[None, :] * k[:, None]
    return k / k.sum()


def upfirdn2d(x: Tensor, kernel: Tensor, up: int = 1, down: int = 1, pad: tuple[int, int] = (0, 0)) -> Tensor:
    """Upsample by zero insertion, pad, convolve with ``kernel``, downsample; (B, C, H, W) -> (B, C, H', W').

    ``pad = (p0, p1)`` applies to both axes (negative values crop), as upstream's ``upfirdn2d(..., pad=)``.
    """
    b, c, h, w = x.shape
    if up > 1:
        x = x.reshape(b, c, h, 1, w, 1)
        x = F.pad(x, (0, up - 1, 0, 0, 0, up - 1))
        x = x.reshape(b, c, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, (max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)))
    if p0 < 0 or p1 < 0:
        x = x[:, :, max(-p0, 0) : x.shape[2] - max(-p1, 0), max(-p0, 0) : x.shape[3] - max(-p1, 0)]
    # Convolution in the signal-processing sense: flip the kernel for conv2d's cross-correlation.
    weight = torch.flip(kernel, (0, 1)).to(x.dtype)[None, None].expand(c, 1, *kernel.shape)
    x = F.conv2d(x, weight, groups=c)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def _depthwise(kernel: Tensor, channels: int, like: Tensor) -> Tensor:
    # (C, 1, kh, kw); made contiguous because oneDNN's depthwise kernels refuse expanded (stride 0) weights.
    return kernel.to(device=like.device, dtype=like.dtype)[None, None].expand(channels, 1, *kernel.shape).contiguous()


def blur2d(x: Tensor, kernel: Tensor, pad: tuple[int, int]) -> Tensor:
    """``upfirdn2d(x, kernel, pad=pad)`` as one padded depthwise convolution; (B, C, H, W) -> (B, C, H', W').

    Keeps ``x``'s memory format (channels-last in the generator's fast path).
    """
    p0, p1 = pad
    if p0 != p1 or p0 < 0:
        return upfirdn2d(x, kernel, pad=pad)
    weight = _depthwise(torch.flip(kernel, (0, 1)), x.shape[1], x)
    return F.conv2d(x, weight, padding=p0, groups=x.shape[1])


def upsample2d(x: Tensor, kernel: Tensor, factor: int, pad: tuple[int, int]) -> Tensor:
    """``upfirdn2d(x, kernel, up=factor, pad=pad)`` as a depthwise transposed convolution with stride ``factor``.

    Zero insertion then correlation with the flipped kernel is a transposed convolution with the kernel itself; cropping
    ``k - 1 - pad[0]`` pixels from each side gives upfirdn2d's window. Falls back to
    [`upfirdn2d`][interestyle.nn.resample.upfirdn2d] for paddings that window cannot express.
    """
    kh, kw = kernel.shape
    p0, p1 = pad
    crop = kh - 1 - p0
    if kh != kw or crop < 0 or p1 - p0 != 1 - factor:
        return upfirdn2d(x, kernel, up=factor, pad=pad)
    weight = _depthwise(kernel, x.shape[1], x)
    return F.conv_transpose2d(x, weight, stride=factor, padding=crop, groups=x.shape[1])


class Blur(nn.Module):
    """FIR low-pass filter; buffer ``kernel`` holds ``make_kernel(taps) * upsample_factor**2``."""

    kernel: Tensor

    def __init__(self, taps: Sequence[int], pad: tuple[int, int], upsample_factor: int = 1) -> None:
        super().__init__()
        self.register_buffer("kernel", make_kernel(taps) * upsample_factor**2)
        self.pad = pad

    def forward(self, x: Tensor) -> Tensor:
        return blur2d(x, self.kernel, self.pad)


class Upsample(nn.Module):
    """2x FIR upsampling; buffer ``kernel`` holds ``make_kernel(taps) * factor**2``."""

    kernel: Tensor

    def __init__(self, taps: Sequence[int], factor: int = 2) -> None:
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", make_kernel(taps) * factor**2)
        p = len(taps) - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: Tensor) -> Tensor:
        return upsample2d(x, self.kernel, self.factor, self.pad)
