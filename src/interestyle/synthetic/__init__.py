"""A procedural face domain with exact ground truth, for the demo model and the occlusion benchmark.

Real photos never come with the face hidden under a microphone; these do.
[`make_batch`][interestyle.synthetic.render.make_batch] renders seeded, reproducible faces (shape, skin tone, eyes,
brows, mouth and smile, hair style and colour) on plain backgrounds, and the same faces with out-of-distribution clutter
(textured or text backgrounds) and occluders (microphone, hand, bar, sticker, hair clip), together with the clean image,
the face+hair mask, the occluder mask and the attribute values.
"""

from .render import (
    ATTRIBUTES,
    CONDITIONS,
    DEMO_DOMAIN,
    DOMAINS,
    OCCLUDERS,
    SyntheticBatch,
    attributes_from_latent,
    attributes_from_uniform,
    make_batch,
    render,
    sample_attributes,
)

__all__ = [
    "ATTRIBUTES",
    "CONDITIONS",
    "DEMO_DOMAIN",
    "DOMAINS",
    "OCCLUDERS",
    "SyntheticBatch",
    "attributes_from_latent",
    "attributes_from_uniform",
    "make_batch",
    "render",
    "sample_attributes",
]
