"""The second procedural face domain: every attribute continuous, features sized for 64 pixels, and each
attribute owned by one of StyleGAN's layer groups.

Compared with the first domain ([`interestyle.synthetic.render`][interestyle.synthetic.render]), faces fill more of the
frame, eyes, brows and mouth are about twice as large, hair style and colour are continuous (length, curl, lightness,
grey) instead of choices, and the head turns (``yaw``). Continuity makes ``z -> image`` a smooth map a generator can
learn by regression, and gives edits a straight line to follow.

Every attribute belongs to one group of [`ATTRIBUTE_GROUPS`][interestyle.synthetic.faces_v2.ATTRIBUTE_GROUPS], the
groups of [`interestyle.editing.layer_groups`][interestyle.editing.layer_groups]: *coarse* (head shape and pose, hair
length and style), *middle* (eyes, brows, mouth and smile), *fine* (colours: skin, hair, eyes, lips, clothes,
background). Mixing two faces' attributes group by group
([`mix_attributes`][interestyle.synthetic.faces_v2.mix_attributes]) gives the image a generator should draw for the
corresponding mixed W+, which is how the demo generator learns those layer semantics.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from ..validation import check_positive_int
from .shapes import PersonCanvas, box_sdf, capsule_sdf, coverage, ellipse_sdf, grid, hue_colour

__all__ = [
    "ATTRIBUTES_V2",
    "ATTRIBUTE_GROUPS",
    "EDIT_ATTRIBUTES",
    "attribute_group",
    "attributes_v2_from_latent",
    "attributes_v2_from_uniform",
    "mix_attributes",
    "render_person_v2",
    "sample_attributes_v2",
]

Group = Literal["coarse", "middle", "fine"]

ATTRIBUTES_V2: tuple[tuple[str, float, float, Group], ...] = (
    # coarse: head shape and pose, hair length and style
    ("yaw", -1.0, 1.0, "coarse"),
    ("face_x", -0.03, 0.03, "coarse"),
    ("face_y", 0.03, 0.08, "coarse"),
    ("face_width", 0.38, 0.47, "coarse"),
    ("face_height", 0.48, 0.58, "coarse"),
    ("jaw", 0.0, 0.35, "coarse"),
    ("hair_length", 0.0, 1.0, "coarse"),
    ("hair_curl", 0.0, 1.0, "coarse"),
    ("hairline", 0.32, 0.62, "coarse"),
    # middle: eyes, brows, mouth and smile
    ("eye_spacing", 0.36, 0.46, "middle"),
    ("eye_size", 0.20, 0.28, "middle"),
    ("eye_open", 0.35, 0.85, "middle"),
    ("brow_thickness", 0.045, 0.085, "middle"),
    ("brow_tilt", -0.08, 0.10, "middle"),
    ("mouth_width", 0.26, 0.42, "middle"),
    ("smile", -0.6, 1.0, "middle"),
    # fine: colours
    ("skin_tone", 0.0, 1.0, "fine"),
    ("hair_lightness", 0.0, 1.0, "fine"),
    ("hair_grey", 0.0, 1.0, "fine"),
    ("eye_hue", 0.0, 1.0, "fine"),
    ("lip_tone", 0.0, 1.0, "fine"),
    ("clothes_hue", 0.0, 1.0, "fine"),
    ("background_hue", 0.0, 1.0, "fine"),
)
"""The attributes of the second domain, in sampling order: ``(name, low, high, group)``, all continuous."""
N_ATTRIBUTES_V2 = len(ATTRIBUTES_V2)
ATTRIBUTE_GROUPS: dict[str, tuple[str, ...]] = {
    group: tuple(name for name, _, _, g in ATTRIBUTES_V2 if g == group) for group in ("coarse", "middle", "fine")
}
"""Attribute names by StyleGAN layer group (``"coarse"``, ``"middle"``, ``"fine"``)."""

EDIT_ATTRIBUTES: dict[str, tuple[str, float]] = {
    "smile": ("smile", 1.0),
    "grey_hair": ("hair_grey", 1.0),
    "blond_hair": ("hair_lightness", 1.0),
    "skin_tone": ("skin_tone", 1.0),
    "hair_length": ("hair_length", 1.0),
    "yaw": ("yaw", 1.0),
}
"""The v2 demo model's edits: name -> (the attribute it moves, +1 or -1: the way a positive strength moves it)."""

_SKIN_LIGHT = torch.tensor([0.96, 0.82, 0.71])
_SKIN_DARK = torch.tensor([0.33, 0.21, 0.14])
_HAIR_DARK = torch.tensor([0.10, 0.07, 0.05])
_HAIR_BLOND = torch.tensor([0.90, 0.76, 0.44])
_HAIR_GREY = torch.tensor([0.74, 0.74, 0.76])
_EYE_BROWN = torch.tensor([0.33, 0.18, 0.08])
_EYE_BLUE = torch.tensor([0.20, 0.45, 0.85])
_SCLERA = torch.tensor([0.96, 0.96, 0.94])


def attribute_group(name: str) -> Group:
    """The layer group (``"coarse"``, ``"middle"`` or ``"fine"``) that owns attribute ``name``."""
    for attribute, _, _, group in ATTRIBUTES_V2:
        if attribute == name:
            return group
    raise ValueError(f"attribute {name!r} is not one of {[a[0] for a in ATTRIBUTES_V2]}")


def attributes_v2_from_uniform(u: Tensor) -> dict[str, Tensor]:
    """Map (B, >= 23) values in [0, 1] to attributes, one column each in
    [`ATTRIBUTES_V2`][interestyle.synthetic.faces_v2.ATTRIBUTES_V2] order."""
    if u.ndim != 2 or u.shape[1] < N_ATTRIBUTES_V2:
        raise ValueError(f"expected (B, >= {N_ATTRIBUTES_V2}) values in [0, 1], got shape {tuple(u.shape)}")
    return {name: lo + (hi - lo) * u[:, i].float() for i, (name, lo, hi, _) in enumerate(ATTRIBUTES_V2)}


def attributes_v2_from_latent(z: Tensor) -> dict[str, Tensor]:
    """Faces parameterised by Gaussian latents: the first 23 dimensions of z (B, D >= 23), through the
    normal CDF, give the attributes; the demo generator v2 learns to draw their faces."""
    if z.ndim != 2 or z.shape[1] < N_ATTRIBUTES_V2:
        raise ValueError(f"expected latents of shape (B, >= {N_ATTRIBUTES_V2}), got {tuple(z.shape)}")
    u = 0.5 * (1 + torch.erf(z[:, :N_ATTRIBUTES_V2].float() / 2**0.5))
    return attributes_v2_from_uniform(u)


def sample_attributes_v2(n: int, *, seed: int = 0) -> dict[str, Tensor]:
    """Draw ``n`` faces' attributes uniformly in their ranges, reproducibly from ``seed``; each a (n,) tensor."""
    n = check_positive_int(n, "n")
    gen = torch.Generator().manual_seed(seed)
    return attributes_v2_from_uniform(torch.rand(n, N_ATTRIBUTES_V2, generator=gen))


def mix_attributes(base: dict[str, Tensor], style: dict[str, Tensor], groups: dict[str, Tensor]) -> dict[str, Tensor]:
    """Take each group's attributes from ``style`` where ``groups[group]`` (a (B,) bool tensor) is true,
    from ``base`` elsewhere: the face a generator draws when those groups' layers come from ``style``."""
    unknown = set(groups) - set(ATTRIBUTE_GROUPS)
    if unknown:
        raise ValueError(f"unknown layer groups {sorted(unknown)}: expected some of {list(ATTRIBUTE_GROUPS)}")
    mixed = dict(base)
    for group, take in groups.items():
        for name in ATTRIBUTE_GROUPS[group]:
            mixed[name] = torch.where(take, style[name], base[name])
    return mixed


def hair_colour(a: dict[str, Tensor]) -> Tensor:
    """(B, 3) hair colour: dark brown to blond by ``hair_lightness``, then toward grey by ``hair_grey``
    (squared, so that most faces have little grey)."""
    base = torch.lerp(_HAIR_DARK, _HAIR_BLOND, a["hair_lightness"][:, None])
    return torch.lerp(base, _HAIR_GREY, a["hair_grey"][:, None] ** 2)


def render_person_v2(a: dict[str, Tensor], size: int) -> tuple[Tensor, Tensor, Tensor]:
    """Render a v2 person over a transparent canvas: colour (B, 3, H, W), person alpha and face+hair alpha
    (B, H, W), coordinates as in `interestyle.synthetic.shapes`."""
    b = a["face_x"].shape[0]
    x, y = grid(b, size)
    cx, cy, rx, ry = a["face_x"], a["face_y"], a["face_width"], a["face_height"]
    cxb, cyb, rxb, ryb = (t[:, None, None] for t in (cx, cy, rx, ry))
    yaw = a["yaw"]
    shift = 0.22 * rx * yaw  # features slide toward the side the head turns to
    skin = torch.lerp(_SKIN_LIGHT, _SKIN_DARK, a["skin_tone"][:, None])
    hair = hair_colour(a)
    canvas = PersonCanvas(b, size)
    paint = canvas.paint

    zero = torch.zeros(b)
    clothes = hue_colour(a["clothes_hue"], 0.55, 0.75)
    paint(clothes, coverage(ellipse_sdf(x, y, cx, cy + ry + 0.55, rx * 2.1, ry * 0.75), size), False)
    paint(skin * 0.85, coverage(box_sdf(x, y, cx, cy + ry * 0.9, rx * 0.42, ry * 0.5, zero), size), False)

    # Hair behind the head, down to the jaw (length 0.5) or the shoulders (length 1).
    drop = 1.3 * a["hair_length"]
    back = box_sdf(x, y, cx - 0.3 * shift, cy + ry * (drop - 0.4) / 2, rx * 1.2, ry * (drop + 0.4) / 2 + 0.02, zero)
    paint(hair * 0.85, coverage(back, size), True)

    # Face: an ellipse narrowing toward the jaw, lit from the side it turns away from.
    v = (y - cyb) / ryb
    narrowing = 1 - a["jaw"][:, None, None] * v.clamp(min=0) ** 2
    u = (x - cxb) / (rxb * narrowing)
    face_sdf = (torch.sqrt(u**2 + v**2) - 1) * rxb
    shade = 1 - 0.10 * ((u - 0.4 * yaw[:, None, None]) ** 2 + v**2).clamp(max=1.5)
    paint(skin[:, :, None, None] * shade[:, None], coverage(face_sdf, size), True)

    # Hair on top down to the hairline; curls make the outline wavy.
    theta = torch.atan2(y - cyb, x - cxb)
    wave = 0.06 * a["hair_curl"][:, None, None] * torch.sin(12 * theta)
    cap = ellipse_sdf(x, y, cx - 0.3 * shift, cy - 0.02, rx + 0.10, ry + 0.10) - wave * rxb
    hairline = cyb - ryb * a["hairline"][:, None, None] + 0.08 * ((x - cxb) / rxb) ** 2
    paint(hair, coverage(torch.maximum(cap, y - hairline), size), True)

    # Eyes (sclera, iris, pupil) and brows; the far eye is a little smaller when the head turns.
    eye_y = cy - 0.08 * ry
    iris_colour = torch.lerp(_EYE_BROWN, _EYE_BLUE, a["eye_hue"][:, None])
    for side in (-1.0, 1.0):
        scale = 1 + 0.12 * side * yaw
        ex = cx + shift + side * a["eye_spacing"] * rx * scale
        ew = a["eye_size"] * rx * scale
        eh = ew * a["eye_open"]
        eye = ellipse_sdf(x, y, ex, eye_y, ew, eh)
        paint(_SCLERA.expand(b, 3), coverage(eye, size), True)
        iris_r = torch.minimum(eh * 1.1, ew * 0.62)
        paint(iris_colour, coverage(torch.maximum(ellipse_sdf(x, y, ex, eye_y, iris_r, iris_r), eye), size), True)
        pupil_r = iris_r * 0.45
        paint(torch.full((b, 3), 0.04), coverage(ellipse_sdf(x, y, ex, eye_y, pupil_r, pupil_r), size), True)
        by = eye_y - eh - 0.045 - a["brow_thickness"]
        tilt = a["brow_tilt"] * side
        brow = capsule_sdf(x, y, ex - ew * 1.1, by + tilt, ex + ew * 1.1, by - tilt, a["brow_thickness"] / 2)
        paint(hair * 0.6, coverage(brow, size), True)

    # Nose: a shadow line that turns with the head.
    nx = cx + 1.3 * shift
    nose = capsule_sdf(x, y, nx, cy + 0.04 * ry, nx + 0.02, cy + 0.24 * ry, torch.full((b,), 0.022))
    paint(skin * 0.70, coverage(nose, size) * 0.85, True)

    # Mouth: lips along an arc whose corners rise with the smile; a dark opening on broad smiles.
    mx = cx + 1.1 * shift
    mw = (a["mouth_width"] * rx * 1.6)[:, None, None]
    my = (cy + 0.46 * ry)[:, None, None]
    smile = a["smile"][:, None, None]
    t = ((x - mx[:, None, None]) / mw).clamp(-1, 1)
    curve = my + smile * 0.07 * (1 - t**2) - 0.012
    half = 0.028 + 0.018 * smile.clamp(min=0)
    lips = torch.maximum((y - curve).abs() - half, (x - mx[:, None, None]).abs() - mw)
    lip_colour = torch.lerp(torch.tensor([0.82, 0.34, 0.34]), torch.tensor([0.45, 0.13, 0.16]), a["lip_tone"][:, None])
    paint(lip_colour, coverage(lips, size), True)
    opening = torch.maximum((y - curve).abs() - half * 0.45, (x - mx[:, None, None]).abs() - mw * 0.75)
    paint(torch.full((b, 3), 0.18), coverage(opening, size) * ((smile - 0.3) / 0.4).clamp(0, 1), True)
    return canvas.layers()
