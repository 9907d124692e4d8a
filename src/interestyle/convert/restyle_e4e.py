"""Kind ``restyle-e4e``: ReStyle over e4e (yuval-alaluf/restyle-encoder), ``ProgressiveBackboneEncoder``."""

from __future__ import annotations

from .e4e import e4e_sign
from .psp_family import Variant, make_kind

KIND = make_kind(
    Variant(
        name="restyle-e4e",
        summary="ReStyle-e4e (yuval-alaluf/restyle-encoder): ProgressiveBackboneEncoder, iterative",
        method="restyle",
        offsets=True,
        iterative=True,
        structures=("backbone",),
        evidence=e4e_sign,
    )
)
