"""Kind ``interestyle``: the IntereStyle release (seungjun-moon/interestyle), a modified ReStyle-pSp.

Same layout as ``restyle-psp``; its training options add ``apply_mask_loss``, which tells it apart.
"""

from __future__ import annotations

from .checkpoint import Checkpoint
from .psp_family import Variant, make_kind


def interestyle_sign(checkpoint: Checkpoint) -> str | None:
    if "apply_mask_loss" in checkpoint.plain("opts"):
        return "opts has IntereStyle's 'apply_mask_loss' option"
    return None


KIND = make_kind(
    Variant(
        name="interestyle",
        summary="IntereStyle (seungjun-moon/interestyle): ReStyle-pSp BackboneEncoder trained on interest regions",
        method="interestyle",
        offsets=False,
        iterative=True,
        structures=("backbone", "pyramid"),
        evidence=interestyle_sign,
    )
)
