"""BiSeNet for face parsing, in the state-dict layout of zllrunning/face-parsing.PyTorch (``79999_iter.pth``).

A ResNet-18 context path (``cp.resnet.*``) with attention refinement at 1/16 and 1/32 (``cp.arm16``,
``cp.arm32``), a global-context branch (``cp.conv_avg``) and two heads (``cp.conv_head32``,
``cp.conv_head16``); the 1/8 ResNet feature stands in for the spatial path (upstream removed ``sp``),
a feature-fusion module (``ffm``) and three classifiers (``conv_out``, plus the auxiliary ``conv_out16``
and ``conv_out32`` used in training). Logits come out at the input's resolution; the public weights were
trained on 512 x 512 ImageNet-normalised images.

The network is built empty: unlike upstream, nothing downloads ResNet-18 weights; load a converted checkpoint instead
([`bisenet_state_dict_from_checkpoint`][interestyle.masks.bisenet.bisenet_state_dict_from_checkpoint],
[`FaceParser`][interestyle.masks.FaceParser]).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import WeightsError
from ..serialization import key_mismatch
from ..validation import check_int

__all__ = ["BiSeNet", "bisenet_layout", "bisenet_state_dict_from_checkpoint"]


class ConvBNReLU(nn.Module):
    """Conv (no bias) -> BatchNorm -> ReLU; keys ``conv.weight``, ``bn.*``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


class BasicBlock(nn.Module):
    """ResNet basic block; ``downsample`` (1x1 conv + BN) when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample: nn.Sequential | None = None
        if in_channels != out_channels or stride != 1:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: Tensor) -> Tensor:
        residual = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(shortcut + residual)


def _stage(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(in_channels, out_channels, stride), BasicBlock(out_channels, out_channels))


class ResNet18(nn.Module):
    """ResNet-18 trunk without its classifier; returns the 1/8, 1/16 and 1/32 features (128, 256, 512 ch)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = _stage(64, 64, 1)
        self.layer2 = _stage(64, 128, 2)
        self.layer3 = _stage(128, 256, 2)
        self.layer4 = _stage(256, 512, 2)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        feat8 = self.layer2(self.layer1(x))
        feat16 = self.layer3(feat8)
        feat32 = self.layer4(feat16)
        return feat8, feat16, feat32


def _global_average(x: Tensor) -> Tensor:
    return x.mean(dim=(2, 3), keepdim=True)


class AttentionRefinement(nn.Module):
    """ConvBNReLU, then channel attention from the globally pooled feature (``conv_atten``, ``bn_atten``)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = ConvBNReLU(in_channels, out_channels)
        self.conv_atten = nn.Conv2d(out_channels, out_channels, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        feat = self.conv(x)
        return feat * torch.sigmoid(self.bn_atten(self.conv_atten(_global_average(feat))))


class ContextPath(nn.Module):
    """ResNet-18 + attention refinement; returns the 1/8 trunk feature and the 1/8 and 1/16 context features."""

    def __init__(self) -> None:
        super().__init__()
        self.resnet = ResNet18()
        self.arm16 = AttentionRefinement(256, 128)
        self.arm32 = AttentionRefinement(512, 128)
        self.conv_head32 = ConvBNReLU(128, 128)
        self.conv_head16 = ConvBNReLU(128, 128)
        self.conv_avg = ConvBNReLU(512, 128, kernel_size=1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        feat8, feat16, feat32 = self.resnet(x)
        context = self.conv_avg(_global_average(feat32))  # broadcast = upstream's nearest upsampling of 1x1
        up32 = self.conv_head32(F.interpolate(self.arm32(feat32) + context, feat16.shape[-2:], mode="nearest"))
        up16 = self.conv_head16(F.interpolate(self.arm16(feat16) + up32, feat8.shape[-2:], mode="nearest"))
        return feat8, up16, up32


class FeatureFusion(nn.Module):
    """Concatenate, ConvBNReLU, and add a squeeze-excitation-weighted copy (``conv1``, ``conv2``)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.convblk = ConvBNReLU(in_channels, out_channels, kernel_size=1)
        self.conv1 = nn.Conv2d(out_channels, out_channels // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(out_channels // 4, out_channels, 1, bias=False)

    def forward(self, spatial: Tensor, context: Tensor) -> Tensor:
        feat = self.convblk(torch.cat([spatial, context], dim=1))
        attention = torch.sigmoid(self.conv2(F.relu(self.conv1(_global_average(feat)))))
        return feat * attention + feat


class OutputHead(nn.Module):
    """ConvBNReLU then a 1x1 classifier (``conv``, ``conv_out``); upstream's ``BiSeNetOutput``."""

    def __init__(self, in_channels: int, mid_channels: int, n_classes: int) -> None:
        super().__init__()
        self.conv = ConvBNReLU(in_channels, mid_channels)
        self.conv_out = nn.Conv2d(mid_channels, n_classes, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_out(self.conv(x))


class BiSeNet(nn.Module):
    """The face-parsing network; (B, 3, H, W) ImageNet-normalised -> (B, n_classes, H, W) logits.

    Args:
        n_classes: 19 for the CelebAMask-HQ face-parsing checkpoint.
    """

    def __init__(self, n_classes: int = 19) -> None:
        super().__init__()
        self.n_classes = check_int(n_classes, "n_classes", minimum=2)
        self.cp = ContextPath()
        self.ffm = FeatureFusion(256, 256)
        self.conv_out = OutputHead(256, 256, n_classes)
        self.conv_out16 = OutputHead(128, 64, n_classes)
        self.conv_out32 = OutputHead(128, 64, n_classes)

    def forward(self, x: Tensor, *, auxiliary: bool = False) -> Tensor | tuple[Tensor, Tensor, Tensor]:
        """Logits at the input's resolution.

        Args:
            x: (B, 3, H, W), ImageNet-normalised RGB; H and W multiples of 32 work best.
            auxiliary: also return the logits of the two training heads.

        Returns:
            (B, n_classes, H, W) logits, or a tuple (main, from 1/8 context, from 1/16 context).
        """
        size = x.shape[-2:]
        feat8, context8, context16 = self.cp(x)
        logits = self._upsample(self.conv_out(self.ffm(feat8, context8)), size)
        if not auxiliary:
            return logits
        return logits, self._upsample(self.conv_out16(context8), size), self._upsample(self.conv_out32(context16), size)

    @staticmethod
    def _upsample(x: Tensor, size: torch.Size) -> Tensor:
        return F.interpolate(x, size, mode="bilinear", align_corners=True)


def bisenet_layout(n_classes: int = 19) -> dict[str, tuple[int, ...]]:
    """Every state-dict key of [`BiSeNet`][interestyle.masks.bisenet.BiSeNet] and its shape (built on the meta device,
    no memory)."""
    with torch.device("meta"):
        net = BiSeNet(n_classes)
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def bisenet_state_dict_from_checkpoint(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Check an upstream face-parsing state dict (e.g. ``79999_iter.pth``, already loaded) against our layout.

    Accepted differences: a ``module.`` prefix on every key (a ``DataParallel`` save) and missing
    BatchNorm ``num_batches_tracked`` counters (filled with 0; they do not affect inference). The number
    of classes is read from ``conv_out.conv_out.weight``. Floating tensors are returned as float32.

    A converter would be::

        state = torch.load(path, map_location="cpu", weights_only=True)
        weights = bisenet_state_dict_from_checkpoint(state)
        net = BiSeNet(weights["conv_out.conv_out.weight"].shape[0])
        net.load_state_dict(weights)
        FaceParser(net).save_pretrained(out_dir)

    Returns:
        A new dict with exactly the keys of [`bisenet_layout`][interestyle.masks.bisenet.bisenet_layout], in its order.

    Raises:
        TypeError: ``state`` is not a mapping of string keys to tensors.
        WeightsError: missing or unexpected keys, or a shape that differs from the layout (the message
            names the key).
    """
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a mapping of parameter names to tensors, got {type(state).__name__}")
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, Tensor):
            raise TypeError(
                f"state must map str to tensors; entry {key!r} holds {type(value).__name__}: is this the network's "
                "state dict (not a training checkpoint holding one)?"
            )
    items = dict(state)
    if items and all(k.startswith("module.") for k in items):
        items = {k[len("module.") :]: v for k, v in items.items()}
    head = items.get("conv_out.conv_out.weight")
    if head is None:
        raise WeightsError(
            "state has no 'conv_out.conv_out.weight': not a zllrunning/face-parsing.PyTorch BiSeNet state dict "
            f"(first keys: {list(items)[:3]})"
        )
    layout = bisenet_layout(int(head.shape[0]))
    missing = [k for k in layout if k not in items and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in items if k not in layout]
    if missing or unexpected:
        raise WeightsError(
            f"state does not match the BiSeNet face-parsing layout: keys {key_mismatch(missing, unexpected)}"
        )
    out: dict[str, Tensor] = {}
    for key, shape in layout.items():
        if key.endswith("num_batches_tracked"):
            value = items.get(key, torch.zeros((), dtype=torch.int64))
            out[key] = value.detach().to("cpu", torch.int64).reshape(())
            continue
        value = items[key]
        if tuple(value.shape) != shape:
            raise WeightsError(
                f"state does not match the BiSeNet face-parsing layout: {key!r} has shape {tuple(value.shape)}, "
                f"expected {shape}"
            )
        if not value.dtype.is_floating_point:
            raise WeightsError(f"{key!r} has dtype {value.dtype}; expected a floating-point tensor")
        out[key] = value.detach().to("cpu", torch.float32).contiguous().clone()
    return out
