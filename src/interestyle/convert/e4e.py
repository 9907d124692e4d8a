"""Kind ``e4e``: encoder4editing (omertov/encoder4editing), ``Encoder4Editing`` on a 3-channel image.

Its tensors have exactly the shapes of pSp's; what tells it apart is what e4e training saves beside them.
"""

from __future__ import annotations

from .checkpoint import Checkpoint
from .psp_family import Variant, make_kind, opts_encoder_type

# Options only e4e-style training defines (progressive training of the offsets, latent discriminator).
_E4E_OPTIONS = ("progressive_steps", "w_discriminator_lambda", "delta_norm_lambda")


def e4e_sign(checkpoint: Checkpoint) -> str | None:
    """A sign of e4e-style training (e4e or ReStyle-e4e): the latent discriminator or e4e-only options."""
    if "discriminator_state_dict" in checkpoint.entries:
        return "it holds 'discriminator_state_dict' (the latent discriminator of e4e training)"
    encoder_type = opts_encoder_type(checkpoint)
    if encoder_type in ("Encoder4Editing", "ProgressiveBackboneEncoder"):
        return f"opts.encoder_type is {encoder_type!r}"
    opts = checkpoint.plain("opts")
    found = [name for name in _E4E_OPTIONS if name in opts]
    if found:
        return f"opts has e4e training option(s) {found}"
    return None


KIND = make_kind(
    Variant(
        name="e4e",
        summary="e4e (omertov/encoder4editing): Encoder4Editing, one pass",
        method="e4e",
        offsets=True,
        iterative=False,
        structures=("pyramid",),
        evidence=e4e_sign,
    )
)
