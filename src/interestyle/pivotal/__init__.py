"""Pivotal tuning inside the interest mask: reconstructions as sharp as the photo in the face, with the
occluder never learned.

[`refine`][interestyle.pivotal.tuning.refine] tunes a copy of the generator around an inversion's latents (PTI, Roich et
al. 2021) on the interest region only; the [`RefinedResult`][interestyle.pivotal.result.RefinedResult] it returns
carries the tuned generator, which [`interestyle.edit`][interestyle.edit],
[`interestyle.style_mix`][interestyle.style_mix], ``composite`` and paste-back use. Tuned generators save and load as
safetensors ([`save_tuned_generator`][interestyle.pivotal.storage.save_tuned_generator],
[`load_tuned_generator`][interestyle.pivotal.storage.load_tuned_generator]). See docs/refine.md.
"""

from .objective import PERCEPTUAL_TERMS, PivotalObjective, PivotalTerms, locality_latents, region_mse
from .result import RefinedResult, RefineSettings
from .storage import FILE_FORMAT, LAYOUTS, generator_sha256, load_tuned_generator, save_tuned_generator
from .tuning import DEFAULT_LR, DEFAULT_STEPS, DIVERGENCE_FACTOR, DIVERGENCE_MARGIN, locality_radius, refine

__all__ = [
    "DEFAULT_LR",
    "DEFAULT_STEPS",
    "DIVERGENCE_FACTOR",
    "DIVERGENCE_MARGIN",
    "FILE_FORMAT",
    "LAYOUTS",
    "PERCEPTUAL_TERMS",
    "PivotalObjective",
    "PivotalTerms",
    "RefineSettings",
    "RefinedResult",
    "generator_sha256",
    "load_tuned_generator",
    "locality_latents",
    "locality_radius",
    "refine",
    "region_mse",
    "save_tuned_generator",
]
