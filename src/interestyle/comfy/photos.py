"""The photo nodes: every face of a photo aligned the FFHQ way, and the processed faces pasted back."""

from __future__ import annotations

import torch
from torch import Tensor

from ..align import DEFAULT_FEATHER_FRACTION, align_photos, available_landmark_providers, face_batch, paste_photos
from ..images import load_masks
from .running import CATEGORY, InputTypes, choice, node_function
from .tensors import images_from_comfy, images_to_comfy, interest_masks_from_comfy
from .values import ALIGNMENT, FaceAlignment

__all__ = ["InterestyleAlign", "InterestylePasteBack"]


class InterestyleAlign:
    """Every face of every photo, aligned the FFHQ way, with the transforms to paste them back."""

    CATEGORY = CATEGORY
    DESCRIPTION = "Finds every face of each photo, left to right, and crops it the way the models were trained."
    RETURN_TYPES = ("IMAGE", ALIGNMENT)
    RETURN_NAMES = ("faces", "alignment")
    OUTPUT_TOOLTIPS = (
        "the aligned faces, photo by photo and left to right",
        "the photos and each face's transform, for PasteBack",
    )
    FUNCTION = "align"

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        names, default = choice(available_landmark_providers(), "mediapipe")
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "photos of any size"}),
                "landmarks": (names, {**default, "tooltip": "mediapipe: pip install 'interestyle[mediapipe]'"}),
                "size": ("INT", {"default": 1024, "min": 8, "max": 4096, "tooltip": "side of the crops, pixels"}),
            },
        }

    @node_function
    def align(self, image: Tensor, landmarks: str, size: int = 1024) -> tuple[Tensor, FaceAlignment]:
        photos = align_photos(images_from_comfy(image), landmarks, size=size, progress=False)
        return images_to_comfy(face_batch(photos)), FaceAlignment(tuple(photos), size)


class InterestylePasteBack:
    """Processed face crops warped back into their photos, blended through a mask."""

    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Pastes edited face crops back into the photos they were aligned from; outside the faces the photos are "
        "unchanged."
    )
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("the photos, one per photo and group of faces",)
    FUNCTION = "paste"

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {
            "required": {
                "alignment": (ALIGNMENT, {}),
                "faces": ("IMAGE", {"tooltip": "one crop per face, in Align's order (or several such groups)"}),
            },
            "optional": {
                "mask": ("MASK", {"tooltip": "interest masks of the crops; default: the face region"}),
                "feather_fraction": (
                    "FLOAT",
                    {
                        "default": DEFAULT_FEATHER_FRACTION,
                        "min": 0.0,
                        "max": 0.5,
                        "step": 0.01,
                        "tooltip": "the blend band, as a fraction of the crop side",
                    },
                ),
            },
        }

    @node_function
    def paste(
        self,
        alignment: FaceAlignment,
        faces: Tensor,
        mask: Tensor | None = None,
        feather_fraction: float = DEFAULT_FEATHER_FRACTION,
    ) -> tuple[Tensor]:
        if not isinstance(alignment, FaceAlignment):
            raise TypeError(f"alignment must come from an InterestyleAlign node, got {type(alignment).__name__}")
        crops = images_from_comfy(faces, what="faces")
        count, total = alignment.face_count, crops.shape[0]
        if count == 0 or total % count:
            raise ValueError(
                f"faces holds {total} image(s) for the {count} face(s) of the alignment; give one per face, in "
                "Align's order (or whole groups of them)"
            )
        masks = None
        if mask is not None:
            given = interest_masks_from_comfy(mask)
            if given.shape[0] == count and total > count:
                given = given.repeat(total // count, 1, 1)
            side = crops.shape[-1]
            masks = load_masks(given, side, sizes=[(crops.shape[-2], side)] * total, what="mask")
        photos: list[Tensor] = []
        for start in range(0, total, count):
            group = slice(start, start + count)
            photos += paste_photos(
                list(alignment.photos),
                crops[group],
                masks=None if masks is None else masks[group],
                feather_fraction=feather_fraction,
            )
        return (images_to_comfy(torch.cat(photos)),)
