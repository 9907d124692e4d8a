"""IR-SE backbone (the ArcFace ResNet-IR with squeeze-excitation used by pSp, e4e and ReStyle).

Module names follow the upstream ``helpers.py``: each unit has ``shortcut_layer`` (a 1x1 max-pool when the
width is unchanged, else ``Conv2d(1x1, stride) + BatchNorm``) and ``res_layer`` (BatchNorm, 3x3 conv,
PReLU, 3x3 conv with the stride, BatchNorm, SE module with ``fc1``/``fc2``).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

__all__ = ["BottleneckIR", "SEModule", "make_body", "make_input_layer"]


class SEModule(nn.Module):
    """Squeeze-excitation: channel gates from globally pooled features (``fc1``, ``fc2`` 1x1 convs)."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        return x * self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))


class BottleneckIR(nn.Module):
    """One IR (``se_reduction=None``) or IR-SE unit; (B, C_in, H, W) -> (B, C_out, H/stride, W/stride)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, se_reduction: int | None) -> None:
        super().__init__()
        self.shortcut_layer: nn.Module
        if in_channels == out_channels:
            self.shortcut_layer = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )
        layers: list[nn.Module] = [
            nn.BatchNorm2d(in_channels),
            nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=False),
            nn.PReLU(out_channels),
            nn.Conv2d(out_channels, out_channels, 3, stride, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        if se_reduction is not None:
            layers.append(SEModule(out_channels, se_reduction))
        self.res_layer = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


def make_input_layer(in_channels: int, width: int) -> nn.Sequential:
    """The stem: 3x3 conv (no bias), BatchNorm, PReLU; keys ``0.weight``, ``1.*``, ``2.weight``."""
    return nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.PReLU(width))


def make_body(units: Sequence[int], widths: Sequence[int], se_reduction: int | None) -> nn.Sequential:
    """Four stages; the first unit of each halves the resolution. Input has ``widths[0]`` channels."""
    modules: list[nn.Module] = []
    in_ch = widths[0]
    for n, width in zip(units, widths, strict=True):
        for i in range(n):
            modules.append(BottleneckIR(in_ch, width, 2 if i == 0 else 1, se_reduction))
            in_ch = width
    return nn.Sequential(*modules)
