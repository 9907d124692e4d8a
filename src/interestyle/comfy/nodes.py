"""The latent nodes: load a model, interest masks, invert, refine, edit and style mix; classic ComfyUI node classes
over the public API, nothing of ComfyUI imported.

Each class declares what ComfyUI reads (``INPUT_TYPES``, ``RETURN_TYPES``, ``RETURN_NAMES``, ``FUNCTION``, ``CATEGORY``,
``DESCRIPTION``) and its function calls [`interestyle.invert`][interestyle.invert],
[`interestyle.refine`][interestyle.refine], [`interestyle.edit`][interestyle.edit] or
[`interestyle.style_mix`][interestyle.style_mix] (see [`interestyle.comfy.running`][interestyle.comfy.running] for how
it runs and fails). The photo nodes, Align and PasteBack, are in [`interestyle.comfy.photos`][interestyle.comfy.photos].
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ..directions import Direction, DirectionSet
from ..editing import LAYER_PRESETS, edit, style_mix
from ..inversion import InversionResult, invert
from ..masks import available_mask_providers, run_provider
from ..pivotal import DEFAULT_LR, DEFAULT_STEPS, refine
from ..results import LatentResult
from .cache import DEVICES, DTYPES, cached_mask_provider, cached_model, folder_stamp
from .running import CATEGORY, InputTypes, choice, node_function
from .tensors import images_from_comfy, images_to_comfy, interest_masks_from_comfy, masks_to_comfy
from .values import LATENTS, MODEL, ComfyModel

__all__ = [
    "MASK_BATCH",
    "InterestyleEdit",
    "InterestyleInvert",
    "InterestyleLoadModel",
    "InterestyleMask",
    "InterestyleRefine",
    "InterestyleStyleMix",
    "find_direction",
]

MASK_BATCH = 8
"""Images per mask-provider call."""


def _model(value: object) -> ComfyModel:
    if not isinstance(value, ComfyModel):
        raise TypeError(f"model must come from an InterestyleLoadModel node, got {type(value).__name__}")
    return value


def _latents(value: object, what: str) -> LatentResult:
    if not isinstance(value, LatentResult):
        raise TypeError(
            f"{what} must come from an InterestyleInvert, Edit or StyleMix node, got {type(value).__name__}"
        )
    return value


def _latent_outputs(result: LatentResult) -> tuple[Tensor, LatentResult, Tensor]:
    """(images, the result, composite) for the outputs of Edit and StyleMix; the composite is the images
    inside the interest mask and the photos outside, or the images alone without a mask."""
    pasted = result.composite() if result.masks is not None and result.inputs is not None else result.images
    return images_to_comfy(result.images), result, images_to_comfy(pasted)


class InterestyleLoadModel:
    """Load an IntereStyle model once: an embedded name, a model folder or a Hugging Face Hub repo id."""

    CATEGORY = CATEGORY
    DESCRIPTION = "Loads an IntereStyle model (cached: the same model in two nodes is loaded once)."
    RETURN_TYPES = (MODEL,)
    RETURN_NAMES = ("model",)
    OUTPUT_TOOLTIPS = ("the encoder, its generator and the directions it ships",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {
            "required": {
                "model": (
                    "STRING",
                    {
                        "default": "demo",
                        "tooltip": "demo (embedded, 64 px synthetic faces), a model folder, or a Hub repo id",
                    },
                ),
            },
            "optional": {
                "device": (list(DEVICES), {"default": "auto", "tooltip": "auto: the device ComfyUI runs on"}),
                "dtype": (list(DTYPES), {"default": "auto", "tooltip": "auto: as stored (float32 for demo)"}),
            },
        }

    @classmethod
    def IS_CHANGED(cls, model: str, device: str = "auto", dtype: str = "auto") -> str:
        # ComfyUI re-runs the node when this changes: a model folder written again is loaded again
        return repr((model, device, dtype, folder_stamp(model)))

    @node_function
    def load(self, model: str, device: str = "auto", dtype: str = "auto") -> tuple[ComfyModel]:
        return (cached_model(model, device, dtype),)


class InterestyleMask:
    """The interest mask (face + hair) of each image, from a registered mask provider."""

    CATEGORY = CATEGORY
    DESCRIPTION = "Interest masks (1 = face and hair) from a mask provider, at each image's size."
    RETURN_TYPES = ("MASK",)
    RETURN_NAMES = ("mask",)
    OUTPUT_TOOLTIPS = ("one mask per image, 1 = interest region",)
    FUNCTION = "mask"

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        names, default = choice(available_mask_providers(), "aligned-face")
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "aligned faces (the providers expect FFHQ-style crops)"}),
                "provider": (names, {**default, "tooltip": "built-ins and installed entry points"}),
            },
            "optional": {
                "options": (
                    "STRING",
                    {"default": "", "tooltip": 'the provider\'s options as JSON, e.g. {"weights": "/models/bisenet"}'},
                ),
            },
        }

    @node_function
    def mask(self, image: Tensor, provider: str, options: str = "") -> tuple[Tensor]:
        images = images_from_comfy(image)
        made = cached_mask_provider(provider, options)
        masks = [
            run_provider(made, images[i : i + MASK_BATCH], name=provider) for i in range(0, len(images), MASK_BATCH)
        ]
        return (masks_to_comfy(torch.cat(masks)),)


class InterestyleInvert:
    """Images to W+ latents; the reconstruction, and the reconstruction pasted into the image through the mask."""

    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Inverts images into the model's W+ space (resized as invert does). composite: the reconstruction inside "
        "the mask, the input outside."
    )
    RETURN_TYPES = ("IMAGE", "IMAGE", LATENTS)
    RETURN_NAMES = ("reconstruction", "composite", "latents")
    OUTPUT_TOOLTIPS = (
        "G(latents), at the generator's resolution",
        "the reconstruction inside the mask, the input outside (the reconstruction without a mask)",
        "the latents, with the images and masks for Edit and StyleMix",
    )
    FUNCTION = "invert"

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {
            "required": {
                "model": (MODEL, {}),
                "image": ("IMAGE", {"tooltip": "any size; aligned faces work best"}),
            },
            "optional": {
                "mask": ("MASK", {"tooltip": "interest masks: one for all images or one per image"}),
                "iterations": ("INT", {"default": 0, "min": 0, "max": 100, "tooltip": "0: the model's own"}),
                "batch_size": ("INT", {"default": 8, "min": 1, "max": 256, "tooltip": "images per forward pass"}),
                "uninterest_filter": (
                    "BOOLEAN",
                    {
                        "default": False,
                        "tooltip": "blur the image outside the mask at the early refinement steps, as IntereStyle "
                        "trains: less of an occluder leaks into the face (needs the mask)",
                    },
                ),
            },
        }

    @node_function
    def invert(
        self,
        model: ComfyModel,
        image: Tensor,
        mask: Tensor | None = None,
        iterations: int = 0,
        batch_size: int = 8,
        uninterest_filter: bool = False,
    ) -> tuple[Tensor, Tensor, LatentResult]:
        loaded = _model(model)
        masks = None if mask is None else interest_masks_from_comfy(mask)
        result = invert(
            loaded.model,
            images_from_comfy(image),
            mask=masks,
            iterations=iterations or None,
            batch_size=batch_size,
            progress=False,
            uninterest_filter=uninterest_filter,
        )
        images, _, composite = _latent_outputs(result)
        return images, composite, result


class InterestyleRefine:
    """Pivotal tuning around an inversion: a copy of the generator tuned to draw the photos inside the mask."""

    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Tunes a copy of the generator around the inverted latents until it draws the photos inside the interest "
        "mask (masked pivotal tuning; off: plain PTI, which also learns occluders). Edit and StyleMix use the "
        "tuned generator. About 7 s of one CPU core per image for the demo model at 100 steps."
    )
    RETURN_TYPES = ("IMAGE", "IMAGE", LATENTS)
    RETURN_NAMES = ("reconstruction", "composite", "latents")
    OUTPUT_TOOLTIPS = (
        "the tuned generator's images of the latents",
        "the refined reconstruction inside the mask, the input outside",
        "the latents with their tuned generator, for Edit and StyleMix",
    )
    FUNCTION = "refine"

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {
            "required": {
                "model": (MODEL, {}),
                "latents": (LATENTS, {"tooltip": "from an InterestyleInvert (or Refine) node"}),
                "steps": ("INT", {"default": DEFAULT_STEPS, "min": 1, "max": 10_000, "tooltip": "optimiser steps"}),
            },
            "optional": {
                "lr": (
                    "FLOAT",
                    {"default": DEFAULT_LR, "min": 1e-6, "max": 1.0, "step": 1e-4, "tooltip": "Adam's learning rate"},
                ),
                "masked": (
                    "BOOLEAN",
                    {"default": True, "tooltip": "fit inside the interest mask only (off: plain PTI, every pixel)"},
                ),
                "regularize": (
                    "BOOLEAN",
                    {"default": True, "tooltip": "PTI's locality regularisation: keeps edits working"},
                ),
            },
        }

    @node_function
    def refine(
        self,
        model: ComfyModel,
        latents: LatentResult,
        steps: int = DEFAULT_STEPS,
        lr: float = DEFAULT_LR,
        masked: bool = True,
        regularize: bool = True,
    ) -> tuple[Tensor, Tensor, LatentResult]:
        loaded = _model(model)
        source = _latents(latents, "latents")
        if not isinstance(source, InversionResult):
            raise TypeError(
                f"latents must come from an InterestyleInvert or InterestyleRefine node (it holds the photos to "
                f"fit), got the output of an edit or mix ({type(source).__name__})"
            )
        result = refine(loaded.model, source, steps=steps, lr=lr, masked=masked, regularize=regularize, progress=False)
        images, _, composite = _latent_outputs(result)
        return images, composite, result


def find_direction(model: ComfyModel, direction: str, directions: str = "") -> Direction:
    """The Edit node's ``direction``: a file, a folder holding one direction, or a name.

    Args:
        model: the loaded model.
        direction: a ``.npy`` / ``.safetensors`` file, a directions folder that holds one direction, or the
            name of a direction in ``directions``.
        directions: where names are looked up: a directions folder or Hub repo; empty for the directions the
            model ships.

    Raises:
        ValueError: an empty ``direction``, or a folder of several directions.
        UnknownDirectionError: a name that is not there (the message lists the names that are).
        FileNotFoundError: a name, and nowhere to look it up.
    """
    spec, where = direction.strip(), directions.strip()
    path = Path(spec)
    if spec and path.is_file():
        return Direction.load(path)
    if spec and path.is_dir():
        found = DirectionSet.from_pretrained(path)
        if len(found) > 1:
            raise ValueError(
                f"direction folder {spec} holds {len(found)} directions ({', '.join(found)}): write the folder "
                "in `directions` and one name in `direction`"
            )
        return next(iter(found.values()))
    named = DirectionSet.from_pretrained(where) if where else model.directions
    if named is None:
        what = f"direction {spec!r} is not a file or folder, and" if spec else "direction is empty, and"
        raise FileNotFoundError(
            f"{what} model {model.source!r} ships no directions to look a name up in; give a .npy / .safetensors "
            "file, a directions folder, or a folder or Hub repo in `directions`"
        )
    if not spec:
        raise ValueError(f"direction is empty; give one of {', '.join(named)}")
    return named[spec]


class InterestyleEdit:
    """Move latents along a direction (``w + strength * d`` on the chosen style vectors) and decode them."""

    CATEGORY = CATEGORY
    DESCRIPTION = "Edits latents along a direction the model ships (or a direction file) and decodes them."
    RETURN_TYPES = ("IMAGE", LATENTS, "IMAGE")
    RETURN_NAMES = ("image", "latents", "composite")
    OUTPUT_TOOLTIPS = (
        "the edited images, at the generator's resolution",
        "the edited latents, to edit further or mix",
        "the edit inside the inversion's mask, the input outside (the image without a mask)",
    )
    FUNCTION = "edit"

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {
            "required": {
                "model": (MODEL, {}),
                "latents": (LATENTS, {}),
                "direction": (
                    "STRING",
                    {"default": "", "tooltip": "a name the model ships, a direction file or folder"},
                ),
                "strength": (
                    "FLOAT",
                    {
                        "default": 1.0,
                        "min": -100.0,
                        "max": 100.0,
                        "step": 0.1,
                        "tooltip": "how far, in the direction's units (the demo model's: ranges of the attribute)",
                    },
                ),
            },
            "optional": {
                "layers": ("STRING", {"default": "all", "tooltip": "all, coarse, middle, fine, START:STOP or i,j,k"}),
                "directions": (
                    "STRING",
                    {"default": "", "tooltip": "where names are looked up (folder or Hub repo); empty: the model's"},
                ),
            },
        }

    @node_function
    def edit(
        self,
        model: ComfyModel,
        latents: LatentResult,
        direction: str,
        strength: float,
        layers: str = "all",
        directions: str = "",
    ) -> tuple[Tensor, LatentResult, Tensor]:
        loaded = _model(model)
        source = _latents(latents, "latents")
        found = find_direction(loaded, direction, directions)
        result = edit(loaded.model, source, found, strength, layers=layers.strip() or None, progress=False)
        return _latent_outputs(result)


class InterestyleStyleMix:
    """The chosen style vectors of ``content`` replaced by those of ``style``, decoded."""

    CATEGORY = CATEGORY
    DESCRIPTION = "Mixes styles: coarse layers carry pose and shape, middle ones features, fine ones colour."
    RETURN_TYPES = ("IMAGE", LATENTS, "IMAGE")
    RETURN_NAMES = ("image", "latents", "composite")
    OUTPUT_TOOLTIPS = (
        "the mixed images, at the generator's resolution",
        "the mixed latents",
        "the mix inside the content's mask, the content's input outside (the image without a mask)",
    )
    FUNCTION = "mix"

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {
            "required": {
                "model": (MODEL, {}),
                "content": (LATENTS, {"tooltip": "the latents whose other layers are kept"}),
                "style": (LATENTS, {"tooltip": "equal batches pair up, a batch of one is shared"}),
                "layers": (list(LAYER_PRESETS), {"default": "coarse", "tooltip": "the layers taken from style"}),
            },
        }

    @node_function
    def mix(
        self, model: ComfyModel, content: LatentResult, style: LatentResult, layers: str = "coarse"
    ) -> tuple[Tensor, LatentResult, Tensor]:
        loaded = _model(model)
        result = style_mix(
            loaded.model, _latents(content, "content"), _latents(style, "style"), layers=layers, progress=False
        )
        return _latent_outputs(result)
