"""IntereStyle: StyleGAN2 inversion that encodes the interest region and ignores the rest.

The public API::

    import interestyle as its

    model = its.load_encoder("path/or/org-name")
    result = its.invert(model, "photo.png", mask="mask.png")
    result.to_pil()[0].save("reconstruction.png")
"""

from __future__ import annotations

from .config import EncoderConfig, GeneratorConfig, ModelConfig
from .errors import ConfigError, HubError, InterestyleError, WeightsError
from .hub import load_encoder
from .images import to_pil
from .inversion import InversionResult, invert
from .masks import MaskProvider, MaskProviderError, available_mask_providers, get_mask_provider, register_mask_provider
from .models.model import IntereStyleModel

__version__ = "0.1.0.dev0"

__all__ = [
    "ConfigError",
    "EncoderConfig",
    "GeneratorConfig",
    "HubError",
    "IntereStyleModel",
    "InterestyleError",
    "InversionResult",
    "MaskProvider",
    "MaskProviderError",
    "ModelConfig",
    "WeightsError",
    "__version__",
    "available_mask_providers",
    "get_mask_provider",
    "invert",
    "load_encoder",
    "register_mask_provider",
    "to_pil",
]
