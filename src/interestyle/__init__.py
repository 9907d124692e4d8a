"""IntereStyle: StyleGAN2 inversion that encodes the interest region and ignores the rest.

The public API::

    import interestyle as its

    model = its.load_encoder("path/or/org-name")
    result = its.invert(model, "photo.png", mask="mask.png")
    result.to_pil()[0].save("reconstruction.png")
    smiles = its.edit(model, result, its.DirectionSet.from_pretrained("path/or/org-name")["smile"], [-2, 2])
    sharper = its.refine(model, result)  # pivotal tuning inside the mask; edit(model, sharper, ...) uses it
    table = its.evaluate(model, "faces/", mask="masks/")  # L2, SSIM, MS-SSIM (+ LPIPS, ID): whole and interest

``IntereStylePipeline`` (diffusers) is imported on first access, so ``import interestyle`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .config import EncoderConfig, GeneratorConfig, ModelConfig
from .directions import Direction, DirectionSet, UnknownDirectionError, fit_direction, principal_directions
from .editing import EditResult, edit, random_styles, style_mix
from .errors import (
    ConfigError,
    DivergenceError,
    HubError,
    ImageError,
    ImageTooLargeError,
    InterestyleError,
    MissingExtraError,
    NoFaceError,
    StretchWarning,
    UpscaleWarning,
    WeightsError,
)
from .evaluation import EvaluationReport, evaluate
from .hub import load_encoder
from .images import mask_to_pil, to_pil
from .inversion import InversionResult, invert
from .locate import HubOptions
from .masks import MaskProvider, MaskProviderError, available_mask_providers, get_mask_provider, register_mask_provider
from .models.model import IntereStyleModel
from .pivotal import RefinedResult, refine
from .results import LatentResult
from .uninterest_filter import UninterestFilter

if TYPE_CHECKING:
    from .pipelines import IntereStylePipeline as IntereStylePipeline

__all__ = [
    "ConfigError",
    "Direction",
    "DirectionSet",
    "DivergenceError",
    "EditResult",
    "EncoderConfig",
    "EvaluationReport",
    "GeneratorConfig",
    "HubError",
    "HubOptions",
    "ImageError",
    "ImageTooLargeError",
    "IntereStyleModel",
    "InterestyleError",
    "InversionResult",
    "LatentResult",
    "MaskProvider",
    "MaskProviderError",
    "MissingExtraError",
    "ModelConfig",
    "NoFaceError",
    "RefinedResult",
    "StretchWarning",
    "UninterestFilter",
    "UnknownDirectionError",
    "UpscaleWarning",
    "WeightsError",
    "__version__",
    "available_mask_providers",
    "edit",
    "evaluate",
    "fit_direction",
    "get_mask_provider",
    "invert",
    "load_encoder",
    "mask_to_pil",
    "principal_directions",
    "random_styles",
    "refine",
    "register_mask_provider",
    "style_mix",
    "to_pil",
]


def __dir__() -> list[str]:
    # the public names only, not the helpers this module imports (TYPE_CHECKING, Any, annotations ...)
    return sorted([*__all__, "IntereStylePipeline"])


def __getattr__(name: str) -> Any:
    # diffusers takes seconds to import: load the pipeline only when someone asks for it
    if name == "IntereStylePipeline":
        from .pipelines import IntereStylePipeline

        return IntereStylePipeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
