"""``RefinedResult``: an inversion whose generator was tuned to its photos, and how it was tuned."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from torch import Tensor

from ..inversion import InversionResult
from ..models.generator import Generator
from .storage import Layout, generator_sha256, save_tuned_generator

__all__ = ["RefineSettings", "RefinedResult"]


@dataclass(frozen=True)
class RefineSettings:
    """How a [`RefinedResult`][interestyle.pivotal.result.RefinedResult] was tuned.

    Attributes:
        steps: optimiser steps.
        lr: Adam's learning rate.
        masked: the photo counted inside the interest mask only (False: plain PTI, every pixel).
        regularize: PTI's locality regularisation was on.
        perceptual: the perceptual term, ``"lpips"`` (LPIPS weights were given) or ``"ssim"`` (``1 - SSIM``).
        seed: seed of the locality regularisation's random latents.
    """

    steps: int
    lr: float
    masked: bool
    regularize: bool
    perceptual: str
    seed: int


@dataclass(kw_only=True)
class RefinedResult(InversionResult):
    """What [`interestyle.refine`][interestyle.refine] returns: an [`InversionResult`][interestyle.InversionResult]
    whose images come from a tuned copy of the generator. [`interestyle.edit`][interestyle.edit],
    [`interestyle.style_mix`][interestyle.style_mix], ``composite`` and paste-back use that copy (``generator``) in
    place of the model's.

    Attributes:
        latents: the pivots, unchanged: the inversion's W+ latents, (B, n_latent, style_dim).
        images: the tuned generator's images of the pivots, (B, 3, R, R), roughly in [-1, 1].
        masks: the interest masks the photos were fitted inside, (B, 1, R, R) in [0, 1]; None when plain
            PTI refined a result without masks.
        generator: the tuned generator (eval mode, frozen), on the model's device and dtype.
        encoder_images: the original generator's images of the pivots (the inversion's own images).
        base_sha256: SHA-256 of the generator it was tuned from (see
            [`generator_sha256`][interestyle.pivotal.storage.generator_sha256]).
        settings: how it was tuned, including which perceptual term was used.
        losses: the objective at each step, (steps,) float32 on the CPU.
        photos: with ``align=True``: the photos with their faces replaced by the refined images.
    """

    generator: Generator
    encoder_images: Tensor
    base_sha256: str
    settings: RefineSettings
    losses: Tensor

    def save_generator(self, path: str | os.PathLike[str], base: Generator, *, layout: Layout = "delta") -> Path:
        """Write the tuned generator as safetensors (see
        [`save_tuned_generator`][interestyle.pivotal.storage.save_tuned_generator]).

        Args:
            path: the ``.safetensors`` file to write.
            base: the generator it was tuned from (``model.generator``).
            layout: ``"delta"`` (the tuned tensors and ``base``'s hash; loads only onto ``base``) or ``"whole"``.

        Raises:
            ValueError: ``base`` is not the generator this result was tuned from (its hash differs).
        """
        if generator_sha256(base) != self.base_sha256:
            raise ValueError(
                "base is not the generator this result was tuned from (its SHA-256 differs): pass model.generator "
                "of the model given to refine()"
            )
        settings = {"refine": json.dumps(asdict(self.settings))}
        return save_tuned_generator(self.generator, path, base=base, layout=layout, metadata=settings)
