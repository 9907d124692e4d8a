"""Equalized-learning-rate layers (Karras et al. 2018, StyleGAN2 ``EqualLinear``) and the biased leaky ReLU."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["EqualLinear", "FusedLeakyReLU", "biased_leaky_relu"]

_LRELU_GAIN = math.sqrt(2.0)


def biased_leaky_relu(x: Tensor, bias: Tensor, slope: float = 0.2) -> Tensor:
    """``leaky_relu(x + bias) * sqrt(2)``, bias broadcast over dimension 1 (StyleGAN2's ``fused_lrelu``)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return F.leaky_relu(x + bias.view(shape), slope) * _LRELU_GAIN


class FusedLeakyReLU(nn.Module):
    """Per-channel bias then scaled leaky ReLU; parameter ``bias`` of shape (C,).

    The module exists for its parameter name (``...activate.bias`` in the community state-dict layout):
    `StyledConv` reads ``bias`` and folds bias and activation into
    its fused pass ([`interestyle.models.reference`][interestyle.models.reference] reads it too), so `forward` is never
    run by the generator.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        """`biased_leaky_relu` of ``x`` (B, C, ...) with this bias. Unused by the generator, which fuses
        it (see the class docstring); kept so the module stays usable on its own."""
        return biased_leaky_relu(x, self.bias)


class EqualLinear(nn.Module):
    """Linear layer whose weight is stored at unit variance and scaled at run time.

    Parameters ``weight`` (out, in) and ``bias`` (out,), as in the community StyleGAN2 layout. With
    ``activation=True`` the bias goes through `biased_leaky_relu` instead of being added plainly.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        *,
        bias_init: float = 0.0,
        lr_mul: float = 1.0,
        activation: bool = False,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x: Tensor) -> Tensor:
        if self.activation:
            return biased_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}, lr_mul={self.lr_mul}"
