"""LPIPS v0.1 with the AlexNet backbone (Zhang et al. 2018), as the perceptual term of the training loss.

Key names follow the public files, so converted weights load one-to-one: torchvision's AlexNet
``features.{0,3,6,8,10}.weight/bias`` and the v0.1 linear heads ``lin{0..4}.model.1.weight`` (1, C, 1, 1).
The input scaling (shift -0.030, -0.088, -0.188; scale 0.458, 0.448, 0.450) is a constant, not a weight.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .weights import load_frozen_weights

__all__ = ["LPIPS", "load_lpips"]

_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
CHANNELS: tuple[int, ...] = (64, 192, 384, 256, 256)


class _LinearHead(nn.Module):
    """``NetLinLayer``: dropout (inactive in eval) and a 1x1 convolution to one channel, no bias."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, 1, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class LPIPS(nn.Module):
    """Learned perceptual distance; build empty, then [`load_lpips`][interestyle.lossnets.lpips.load_lpips] (no
    download, ever).

    ``forward(x, y, mask=None)`` takes two (B, 3, H, W) batches in [-1, 1] (H, W >= 32) and returns the (B,)
    distances: 0 for identical images, about 0.1-0.7 for different ones.
    """

    shift: Tensor
    scale: Tensor

    def __init__(self) -> None:
        super().__init__()
        # torchvision's alexnet().features; LPIPS reads the ReLU outputs after each convolution.
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, 4, 2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
        )
        self.taps = (1, 4, 7, 9, 11)
        for i, c in enumerate(CHANNELS):
            self.add_module(f"lin{i}", _LinearHead(c))
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)

    def _features(self, x: Tensor) -> list[Tensor]:
        x = (x - self.shift.to(x.dtype)) / self.scale.to(x.dtype)
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10))
            if i == self.taps[-1]:
                break
        return out

    def forward(self, x: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
        """The (B,) distances of two (B, 3, H, W) batches in [-1, 1] (H, W >= 32).

        Each layer's distance map is averaged over the pixels (LPIPS' spatial mean), or with ``mask``
        ((B, 1, H, W) in [0, 1]) over the mask's pixels weighted by it, the mask area-resized to the layer's
        resolution; an image whose mask is empty gets NaN. An all-ones mask gives the plain distance.
        """
        if x.shape != y.shape or x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"LPIPS compares two (B, 3, H, W) batches, got {tuple(x.shape)} and {tuple(y.shape)}")
        if min(x.shape[-2:]) < 32:
            raise ValueError(f"LPIPS (AlexNet) needs images of at least 32x32, got {tuple(x.shape[-2:])}")
        if mask is not None and (mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[-2:] != x.shape[-2:]):
            raise ValueError(f"mask must be (B, 1, {x.shape[-2]}, {x.shape[-1]}), got {tuple(mask.shape)}")
        total = x.new_zeros(x.shape[0])
        for i, (fx, fy) in enumerate(zip(self._features(x), self._features(y), strict=True)):
            head = getattr(self, f"lin{i}")
            distance = head((fx - fy) ** 2)  # (B, 1, h, w)
            if mask is None:
                total = total + distance.mean(dim=(1, 2, 3))
            else:
                m = F.adaptive_avg_pool2d(mask.to(distance.dtype), distance.shape[-2:])
                total = total + (distance * m).sum(dim=(1, 2, 3)) / m.sum(dim=(1, 2, 3))
        return total


def load_lpips(path: str | os.PathLike[str], *, device: torch.device | str | None = None) -> LPIPS:
    """LPIPS (AlexNet, v0.1) from a safetensors file or folder; frozen, in eval mode.

    Raises:
        FileNotFoundError: nothing at ``path``.
        WeightsError: a pickle, or keys/shapes other than the public layout (the message names the key).
    """
    module = load_frozen_weights(LPIPS(), path, "LPIPS", "LPIPS")
    return module.to(device) if device is not None else module
