"""ArcFace IR-SE50 (the face-recognition network of pSp's identity loss), and that loss.

Key names follow the public ``model_ir_se50.pth`` (TreB1eN's InsightFace_Pytorch ``Backbone``, as used by
pSp, e4e and ReStyle): ``input_layer.*``, ``body.*`` (the same IR-SE units as the encoders) and
``output_layer.{0,3,4}.*`` (BatchNorm2d, Linear(512 * 7 * 7, 512), BatchNorm1d).
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import irse_units
from ..models.irse import make_body, make_input_layer
from .weights import load_frozen_weights

__all__ = ["ArcFace", "IdentityLoss", "face_crop", "init_encoder_backbone", "load_arcface"]

WIDTHS = (64, 128, 256, 512)
INPUT_SIZE = 112


class ArcFace(nn.Module):
    """IR-SE50 face embedder: (B, 3, 112, 112) in [-1, 1] -> (B, 512) unit vectors.

    Build empty, then [`load_arcface`][interestyle.lossnets.arcface.load_arcface] (no download, ever).
    """

    def __init__(self, dropout: float = 0.6) -> None:
        super().__init__()
        self.input_layer = make_input_layer(3, WIDTHS[0])
        self.body = make_body(irse_units(50), WIDTHS, 16)
        self.output_layer = nn.Sequential(
            nn.BatchNorm2d(512),
            nn.Dropout(dropout),
            nn.Flatten(),
            nn.Linear(512 * 7 * 7, 512),
            nn.BatchNorm1d(512),
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or tuple(x.shape[1:]) != (3, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"ArcFace takes (B, 3, 112, 112) images, got {tuple(x.shape)}")
        return F.normalize(self.output_layer(self.body(self.input_layer(x))), dim=1)


def face_crop(images: Tensor) -> Tensor:
    """pSp's identity crop: rows 35:223 and columns 32:220 at 256x256 (scaled to the images' size),
    resized to 112x112. (B, 3, S, S) -> (B, 3, 112, 112)."""
    s = images.shape[-1]
    top, bottom = round(35 * s / 256), round(223 * s / 256)
    left, right = round(32 * s / 256), round(220 * s / 256)
    crop = images[:, :, top:bottom, left:right]
    if min(crop.shape[-2:]) >= INPUT_SIZE:
        return F.adaptive_avg_pool2d(crop, INPUT_SIZE)  # pSp's face_pool
    return F.interpolate(crop, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)


class IdentityLoss(nn.Module):
    """``1 - cos(ArcFace(crop(y_hat)), ArcFace(crop(y)))`` per image, (B,) in [0, 2]; the target is detached.

    Args:
        arcface: a loaded [`ArcFace`][interestyle.lossnets.arcface.ArcFace] (frozen, eval mode).
    """

    def __init__(self, arcface: ArcFace) -> None:
        super().__init__()
        self.arcface = arcface

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        """``prediction``, ``target``: (B, 3, S, S) in [-1, 1], faces aligned as FFHQ."""
        with torch.no_grad():
            target_features = self.arcface(face_crop(target))
        features = self.arcface(face_crop(prediction))
        return 1 - (features * target_features).sum(dim=1)


def load_arcface(path: str | os.PathLike[str], *, device: torch.device | str | None = None) -> ArcFace:
    """ArcFace IR-SE50 from a safetensors file or folder; frozen, in eval mode.

    Raises:
        FileNotFoundError: nothing at ``path``.
        WeightsError: a pickle, or keys/shapes other than the public layout (the message names the key).
    """
    module = load_frozen_weights(ArcFace(), path, "ArcFace", "ArcFace")
    return module.to(device) if device is not None else module


@torch.no_grad()
def init_encoder_backbone(encoder: nn.Module, arcface: ArcFace) -> None:
    """ReStyle's initialisation of a fresh encoder: ``input_layer`` and ``body`` copied from ArcFace IR-SE50.

    The input convolution's channels beyond the first three (the reconstruction fed back by iterative
    encoders) are drawn from N(0, 1), as upstream does.

    Raises:
        ValueError: the encoder's backbone is not IR-SE50 (a key or shape differs; named).
    """
    target = encoder.state_dict()
    updates = {}
    for key, value in arcface.state_dict().items():
        if not key.startswith(("input_layer.", "body.")):
            continue
        if key not in target:
            raise ValueError(f"the encoder has no {key!r}; ArcFace initialises IR-SE50 backbones (units 3, 4, 14, 3)")
        have = target[key]
        if key == "input_layer.0.weight" and have.shape[1] > value.shape[1] and have.shape[0] == value.shape[0]:
            widened = torch.randn(have.shape, dtype=have.dtype)
            widened[:, : value.shape[1]] = value
            value = widened
        if have.shape != value.shape:
            raise ValueError(f"{key!r} is {tuple(value.shape)} in ArcFace but {tuple(have.shape)} in the encoder")
        updates[key] = value
    encoder.load_state_dict(updates, strict=False)
