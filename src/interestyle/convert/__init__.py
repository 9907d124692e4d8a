"""Official PyTorch checkpoints (StyleGAN2, pSp, e4e, ReStyle, IntereStyle) into safetensors model folders.

The only part of the package that opens pickles, and only with ``torch.load(weights_only=True)``; loading
code never imports it. One module per checkpoint kind, listed in `registry.KIND_MODULES`.

    from interestyle.convert import convert_checkpoint

    result = convert_checkpoint("restyle_psp_ffhq_encode.pt", "restyle-psp-ffhq")
    print(result.summary())
"""

from __future__ import annotations

from .checkpoint import ALLOWED_GLOBALS, Checkpoint, load_checkpoint
from .converter import ConversionResult, convert_checkpoint
from .nvlabs_pickle import NVLABS_GLOBALS, load_network_pickle
from .registry import Conversion, ConvertOptions, Kind, detect_kind, get_kind, kind_names, kinds

__all__ = [
    "ALLOWED_GLOBALS",
    "NVLABS_GLOBALS",
    "Checkpoint",
    "Conversion",
    "ConversionResult",
    "ConvertOptions",
    "Kind",
    "convert_checkpoint",
    "detect_kind",
    "get_kind",
    "kind_names",
    "kinds",
    "load_checkpoint",
    "load_network_pickle",
]
