"""Kind ``psp``: pixel2style2pixel (eladrich/pixel2style2pixel), ``GradualStyleEncoder`` on a 3-channel image."""

from __future__ import annotations

from .checkpoint import Checkpoint
from .e4e import e4e_sign
from .psp_family import Variant, make_kind, opts_encoder_type


def _evidence(checkpoint: Checkpoint) -> str | None:
    if e4e_sign(checkpoint) is None and opts_encoder_type(checkpoint) == "GradualStyleEncoder":
        return "opts.encoder_type is 'GradualStyleEncoder'"
    return None


KIND = make_kind(
    Variant(
        name="psp",
        summary="pSp (eladrich/pixel2style2pixel): GradualStyleEncoder, one pass",
        method="psp",
        offsets=False,
        iterative=False,
        structures=("pyramid",),
        evidence=_evidence,
    )
)
