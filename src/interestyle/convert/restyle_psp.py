"""Kind ``restyle-psp``: ReStyle over pSp (yuval-alaluf/restyle-encoder), iterative, 6 input channels."""

from __future__ import annotations

from .checkpoint import Checkpoint
from .e4e import e4e_sign
from .interestyle import interestyle_sign
from .psp_family import Variant, make_kind, opts_encoder_type


def _evidence(checkpoint: Checkpoint) -> str | None:
    encoder_type = opts_encoder_type(checkpoint)
    if (
        e4e_sign(checkpoint)
        or interestyle_sign(checkpoint)
        or encoder_type not in ("BackboneEncoder", "GradualStyleEncoder")
    ):
        return None
    return f"opts.encoder_type is {encoder_type!r} and opts has no IntereStyle option"


KIND = make_kind(
    Variant(
        name="restyle-psp",
        summary="ReStyle-pSp (yuval-alaluf/restyle-encoder): BackboneEncoder (or GradualStyleEncoder), iterative",
        method="restyle",
        offsets=False,
        iterative=True,
        structures=("backbone", "pyramid"),
        evidence=_evidence,
    )
)
