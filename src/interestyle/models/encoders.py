"""Encoders from images to W+ on the IR-SE backbone: ReStyle, pSp and e4e, with the upstream key names.

All four produce (B, n_styles, style_dim) and hold ``input_layer``, ``body`` and ``styles`` (one
``GradualStyleBlock`` per style vector); pSp and e4e add the feature-pyramid ``latlayer1``/``latlayer2``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import EncoderConfig
from ..nn.equalized import EqualLinear
from .irse import make_body, make_input_layer

__all__ = [
    "BackboneEncoder",
    "Encoder4Editing",
    "GradualStyleBlock",
    "GradualStyleEncoder",
    "build_encoder",
    "use_channels_last",
]

# Style vectors [0, 3) read the coarsest map, [3, 7) the middle one, the rest the finest (pSp, e4e).
COARSE_END = 3
MIDDLE_END = 7


class GradualStyleBlock(nn.Module):
    """``map2style``: log2(spatial) stride-2 convs with leaky ReLU down to 1x1, then an EqualLinear.

    (B, C_in, spatial, spatial) -> (B, C_out).
    """

    def __init__(self, in_channels: int, out_channels: int, spatial: int) -> None:
        super().__init__()
        n_down = max(int(math.log2(spatial)), 1)
        layers: list[nn.Module] = []
        for i in range(n_down):
            layers += [
                nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, 2, 1),
                nn.LeakyReLU(),
            ]
        self.convs = nn.Sequential(*layers)
        self.linear = EqualLinear(out_channels, out_channels)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(self.convs(x).reshape(-1, self.out_channels))


def as_offsets(styles: Tensor) -> Tensor:
    """e4e's progressive form: style 0 is a base w for every layer, the others add offsets to it."""
    return styles[:, :1] + F.pad(styles[:, 1:], (0, 0, 1, 0))


class _IRSEEncoder(nn.Module):
    def __init__(self, config: EncoderConfig, n_styles: int, style_dim: int) -> None:
        super().__init__()
        self.config = config
        self.n_styles = n_styles
        se = config.se_reduction if config.mode == "ir_se" else None
        self.input_layer = make_input_layer(config.input_nc, config.widths[0])
        self.body = make_body(config.stage_units, config.widths, se)
        self.styles = nn.ModuleList()


class BackboneEncoder(_IRSEEncoder):
    """ReStyle's ``BackboneEncoder``: every style from the last (input/16) feature map.

    With ``progressive=True`` it is ReStyle-e4e's ``ProgressiveBackboneEncoder``: style 0 gives a base w
    repeated over all layers and the others add offsets to it. Both have the same parameters.

    Input (B, input_nc, S, S) normalised to [-1, 1]; output (B, n_styles, style_dim).
    """

    def __init__(self, config: EncoderConfig, n_styles: int, style_dim: int, *, progressive: bool = False) -> None:
        super().__init__(config, n_styles, style_dim)
        spatial = config.input_size // 16
        self.styles.extend(GradualStyleBlock(config.widths[3], style_dim, spatial) for _ in range(n_styles))
        self.progressive = progressive

    def forward(self, x: Tensor) -> Tensor:
        features = self.body(self.input_layer(x))
        styles = torch.stack([block(features) for block in self.styles], dim=1)
        return as_offsets(styles) if self.progressive else styles


class _PyramidEncoder(_IRSEEncoder):
    """The shared feature pyramid of pSp and e4e: c1 (S/4), c2 (S/8), c3 (S/16) and lateral 1x1 convs."""

    def __init__(self, config: EncoderConfig, n_styles: int, style_dim: int) -> None:
        super().__init__(config, n_styles, style_dim)
        w, s = config.widths, config.input_size
        for i in range(n_styles):
            spatial = s // 16 if i < COARSE_END else s // 8 if i < MIDDLE_END else s // 4
            self.styles.append(GradualStyleBlock(w[3], style_dim, spatial))
        self.latlayer1 = nn.Conv2d(w[2], w[3], 1)
        self.latlayer2 = nn.Conv2d(w[1], w[3], 1)
        units = config.stage_units
        self._taps = (units[0] + units[1] - 1, units[0] + units[1] + units[2] - 1)

    def style_inputs(self, x: Tensor) -> list[Tensor]:
        """The feature map each style block reads: c3 for coarse, c3+c2 for middle, c3+c2+c1 for fine."""
        x = self.input_layer(x)
        c1 = c2 = x
        for i, unit in enumerate(self.body):
            x = unit(x)
            if i == self._taps[0]:
                c1 = x
            elif i == self._taps[1]:
                c2 = x
        p2 = _upsample_add(x, self.latlayer1(c2))
        p1 = _upsample_add(p2, self.latlayer2(c1))
        return [x] * COARSE_END + [p2] * (MIDDLE_END - COARSE_END) + [p1] * max(self.n_styles - MIDDLE_END, 0)


def _upsample_add(x: Tensor, y: Tensor) -> Tensor:
    return F.interpolate(x, size=y.shape[-2:], mode="bilinear", align_corners=True) + y


class GradualStyleEncoder(_PyramidEncoder):
    """pSp's ``GradualStyleEncoder``: coarse styles from c3, middle from c3+c2, fine from c3+c2+c1.

    Input (B, input_nc, S, S) in [-1, 1]; output (B, n_styles, style_dim).
    """

    def forward(self, x: Tensor) -> Tensor:
        maps = self.style_inputs(x)
        return torch.stack([block(maps[i]) for i, block in enumerate(self.styles)], dim=1)


class Encoder4Editing(_PyramidEncoder):
    """e4e's ``Encoder4Editing`` at its inference stage: a base w from style 0 plus per-layer offsets.

    Input (B, input_nc, S, S) in [-1, 1]; output (B, n_styles, style_dim).
    """

    def forward(self, x: Tensor) -> Tensor:
        maps = self.style_inputs(x)
        return as_offsets(torch.stack([block(maps[i]) for i, block in enumerate(self.styles)], dim=1))


def build_encoder(config: EncoderConfig, n_styles: int, style_dim: int) -> nn.Module:
    """The encoder ``config.kind`` names, producing ``n_styles`` vectors of ``style_dim``.

    Its convolution weights are stored channels-last (see `use_channels_last`).
    """
    encoder: nn.Module
    if config.kind == "backbone":
        encoder = BackboneEncoder(config, n_styles, style_dim)
    elif config.kind == "progressive-backbone":
        encoder = BackboneEncoder(config, n_styles, style_dim, progressive=True)
    elif config.kind == "gradual":
        encoder = GradualStyleEncoder(config, n_styles, style_dim)
    else:
        encoder = Encoder4Editing(config, n_styles, style_dim)
    return use_channels_last(encoder)


def use_channels_last(encoder: nn.Module) -> nn.Module:
    """Store the convolution weights channels-last (NHWC), in place; returns ``encoder``.

    With an NHWC weight, oneDNN (CPU) and cuDNN run the convolution in NHWC whatever the input's layout, and
    the output stays NHWC through BatchNorm, PReLU and the residual sums: on the CPU that saves a layout
    conversion per convolution (about 10-20% of the IR-SE encoder's time). Values, names and shapes of the
    state dict do not change; ``save_pretrained`` writes contiguous copies.
    """
    if any(p.is_meta for p in encoder.parameters()):
        return encoder  # shapes only: nothing to lay out (and meta copies are slow)
    # Module.to accepts memory_format (and converts only 4-D tensors), but torch's stubs omit it.
    return encoder.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
