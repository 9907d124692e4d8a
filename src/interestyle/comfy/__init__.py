"""IntereStyle as ComfyUI nodes: interest mask, inversion, pivotal tuning, edit, style mix, alignment and paste-back.

ComfyUI finds custom nodes only in its ``custom_nodes/`` folders; ``interestyle comfy install PATH`` writes a
small package there ([`interestyle.comfy.shim`][interestyle.comfy.shim]) that re-exports the two mappings below, the
classic way ComfyUI loads nodes. Nothing of ComfyUI is imported here, so this module (and its tests) work without
ComfyUI::

    from interestyle.comfy import NODE_CLASS_MAPPINGS

    (model,) = NODE_CLASS_MAPPINGS["InterestyleLoadModel"]().load("demo")

Types on the wires: ComfyUI's IMAGE (B, H, W, 3) and MASK (B, H, W) in [0, 1] (see
[`interestyle.comfy.tensors`][interestyle.comfy.tensors]), and ours: INTERESTYLE_MODEL, INTERESTYLE_LATENTS,
INTERESTYLE_ALIGNMENT (see [`interestyle.comfy.values`][interestyle.comfy.values]).
"""

from __future__ import annotations

from .cache import clear_caches
from .nodes import (
    InterestyleEdit,
    InterestyleInvert,
    InterestyleLoadModel,
    InterestyleMask,
    InterestyleRefine,
    InterestyleStyleMix,
)
from .photos import InterestyleAlign, InterestylePasteBack
from .running import CATEGORY, NodeInputError
from .values import ALIGNMENT, LATENTS, MODEL, ComfyModel, FaceAlignment

__all__ = [
    "ALIGNMENT",
    "CATEGORY",
    "LATENTS",
    "MODEL",
    "NODE_CLASS_MAPPINGS",
    "NODE_DISPLAY_NAME_MAPPINGS",
    "ComfyModel",
    "FaceAlignment",
    "NodeInputError",
    "clear_caches",
]

NODE_CLASS_MAPPINGS: dict[str, type] = {
    "InterestyleLoadModel": InterestyleLoadModel,
    "InterestyleMask": InterestyleMask,
    "InterestyleInvert": InterestyleInvert,
    "InterestyleRefine": InterestyleRefine,
    "InterestyleEdit": InterestyleEdit,
    "InterestyleStyleMix": InterestyleStyleMix,
    "InterestyleAlign": InterestyleAlign,
    "InterestylePasteBack": InterestylePasteBack,
}
"""Node name -> node class, as ComfyUI reads it from a custom-node module. The names are what workflow
files store: they never change."""

NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {
    "InterestyleLoadModel": "IntereStyle Load Model",
    "InterestyleMask": "IntereStyle Interest Mask",
    "InterestyleInvert": "IntereStyle Invert",
    "InterestyleRefine": "IntereStyle Refine",
    "InterestyleEdit": "IntereStyle Edit",
    "InterestyleStyleMix": "IntereStyle Style Mix",
    "InterestyleAlign": "IntereStyle Align Faces",
    "InterestylePasteBack": "IntereStyle Paste Back",
}
"""Node name -> the title ComfyUI shows."""
