"""The renderer of the procedural face domain: attributes -> images, clean images and masks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..validation import check_int, check_positive_int
from .faces_v2 import render_person_v2, sample_attributes_v2
from .shapes import PersonCanvas, box_sdf, capsule_sdf, coverage, ellipse_sdf, grid, hue_colour, over, star_sdf

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

CONDITIONS: tuple[str, ...] = ("clean", "clutter", "occluded", "mixed")
"""What [`make_batch`][interestyle.synthetic.render.make_batch] draws: plain or textured backgrounds, an occluder over
the face, or a random mix."""
OCCLUDERS: tuple[str, ...] = ("microphone", "hand", "bar", "sticker", "hair-clip")
"""The objects drawn over faces under the ``"occluded"`` condition."""
BACKGROUNDS: tuple[str, ...] = ("stripes", "checker", "noise", "text")
HAIR_STYLES: tuple[str, ...] = ("short", "long", "bob", "curly", "buzz")

_SKIN_LIGHT = torch.tensor([0.96, 0.82, 0.71])
_SKIN_DARK = torch.tensor([0.35, 0.22, 0.15])
_HAIR_COLORS = torch.tensor(
    [[0.08, 0.06, 0.05], [0.30, 0.18, 0.10], [0.85, 0.70, 0.40], [0.62, 0.25, 0.10], [0.65, 0.65, 0.65]]
)
_EYE_COLORS = torch.tensor([[0.35, 0.20, 0.10], [0.25, 0.45, 0.75], [0.30, 0.55, 0.35], [0.45, 0.50, 0.55]])


@dataclass
class SyntheticBatch:
    """Rendered faces with their ground truth; images in [-1, 1], masks in [0, 1].

    Attributes:
        image: what the encoder sees, (B, 3, H, W): the face with its background and occluders.
        clean: the same image without occluders, (B, 3, H, W): the ground truth under an occluder.
        face_mask: face + hair, including parts hidden by occluders, (B, 1, H, W).
        occluder_mask: the occluders, (B, 1, H, W) (zeros when there are none).
        interest_mask: visible face + hair, ``face_mask * (1 - occluder_mask)``, (B, 1, H, W).
        attributes: the values that generated each face, each a (B,) tensor.
    """

    image: Tensor
    clean: Tensor
    face_mask: Tensor
    occluder_mask: Tensor
    interest_mask: Tensor
    attributes: dict[str, Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.image.shape[0]


def _u(gen: torch.Generator, n: int, lo: float, hi: float) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


# Each attribute: (name, low, high) for a continuous value, or (name, number of choices) for a discrete one.
ATTRIBUTES: tuple[tuple[str, float, float] | tuple[str, int], ...] = (
    ("face_x", -0.04, 0.04),
    ("face_y", 0.02, 0.10),
    ("face_width", 0.34, 0.44),
    ("face_height", 0.46, 0.56),
    ("jaw", 0.0, 0.35),
    ("skin_tone", 0.0, 1.0),
    ("hair_style", len(HAIR_STYLES)),
    ("hair_color", len(_HAIR_COLORS)),
    ("hairline", 0.30, 0.62),
    ("eye_spacing", 0.34, 0.44),
    ("eye_size", 0.12, 0.18),
    ("eye_open", 0.40, 0.75),
    ("eye_color", len(_EYE_COLORS)),
    ("brow_thickness", 0.035, 0.08),
    ("brow_tilt", -0.06, 0.08),
    ("mouth_width", 0.20, 0.34),
    ("smile", -0.4, 1.0),
    ("lip_tone", 0.0, 1.0),
    ("background_hue", 0.0, 1.0),
    ("clothes_hue", 0.0, 1.0),
)
"""The face attributes, in sampling order: ``(name, low, high)`` for a continuous value, ``(name, n)`` for
one of ``n`` choices."""
N_ATTRIBUTES = len(ATTRIBUTES)


def attributes_from_uniform(u: Tensor) -> dict[str, Tensor]:
    """Map (B, N_ATTRIBUTES) values in [0, 1) to attributes, one column each in
    [`ATTRIBUTES`][interestyle.synthetic.render.ATTRIBUTES] order."""
    if u.ndim != 2 or u.shape[1] < N_ATTRIBUTES:
        raise ValueError(f"expected (B, >= {N_ATTRIBUTES}) values in [0, 1), got shape {tuple(u.shape)}")
    out = {}
    for i, spec in enumerate(ATTRIBUTES):
        col = u[:, i].float()
        if len(spec) == 2:
            out[spec[0]] = torch.clamp(torch.floor(col * spec[1]), 0, spec[1] - 1)
        else:
            out[spec[0]] = spec[1] + (spec[2] - spec[1]) * col
    return out


def attributes_from_latent(z: Tensor) -> dict[str, Tensor]:
    """Faces parameterised by Gaussian latents: the first N_ATTRIBUTES dimensions of z (B, D >= 20),
    through the normal CDF, give the attributes. The demo generator learns to draw ``render`` of these."""
    u = 0.5 * (1 + torch.erf(z[:, :N_ATTRIBUTES].float() / 2**0.5))
    return attributes_from_uniform(u.clamp(0, 1 - 1e-6))


def sample_attributes(n: int, *, seed: int = 0) -> dict[str, Tensor]:
    """Draw ``n`` faces' attributes, reproducibly from ``seed``; each value is a (n,) tensor."""
    n = check_positive_int(n, "n")
    return attributes_from_uniform(torch.rand(n, N_ATTRIBUTES, generator=torch.Generator().manual_seed(seed)))


def _person(a: dict[str, Tensor], size: int) -> tuple[Tensor, Tensor, Tensor]:
    """Render the person over a transparent canvas: colour (B,3,H,W), person alpha, face+hair alpha."""
    b = a["face_x"].shape[0]
    x, y = grid(b, size)
    cx, cy, rx, ry = a["face_x"], a["face_y"], a["face_width"], a["face_height"]
    cxb, cyb, rxb, ryb = (t[:, None, None] for t in (cx, cy, rx, ry))
    skin = torch.lerp(_SKIN_LIGHT, _SKIN_DARK, a["skin_tone"][:, None])
    hair = _HAIR_COLORS[a["hair_color"].long()]
    style = a["hair_style"].long()
    canvas = PersonCanvas(b, size)
    paint = canvas.paint

    # Clothes and neck: part of the person, not of the interest region.
    clothes = hue_colour(a["clothes_hue"], 0.55, 0.75)
    paint(clothes, coverage(ellipse_sdf(x, y, cx, cy + ry + 0.55, rx * 2.1, ry * 0.75), size), False)
    neck = box_sdf(x, y, cx, cy + ry * 0.9, rx * 0.42, ry * 0.5, torch.zeros(b))
    paint(skin * 0.85, coverage(neck, size), False)

    # Hair behind the head: long styles fall to the shoulders, a bob to the jaw.
    drop = torch.tensor([0.0, 1.25, 0.75, 0.35, 0.0])[style]
    back = box_sdf(x, y, cx, cy + ry * (drop - 0.4) / 2, rx * 1.18, ry * (drop + 0.4) / 2 + 0.02, torch.zeros(b))
    back = torch.where((drop > 0)[:, None, None], back, torch.full_like(back, 1.0))
    paint(hair * 0.9, coverage(back, size), True)

    # Face: an ellipse narrowing toward the jaw.
    v = (y - cyb) / ryb
    narrowing = 1 - a["jaw"][:, None, None] * v.clamp(min=0) ** 2
    face_sdf = (torch.sqrt(((x - cxb) / (rxb * narrowing)) ** 2 + v**2) - 1) * rxb
    shade = 1 - 0.12 * (((x - cxb) / rxb) ** 2 + v**2).clamp(max=1)
    paint(skin[:, :, None, None] * shade[:, None], coverage(face_sdf, size), True)

    # Hair on top of the head, down to the hairline; curly hair has a wavy outline, buzz cuts are thin.
    theta = torch.atan2(y - cyb, x - cxb)
    wave = torch.where((style == 3)[:, None, None], 0.05 * torch.sin(14 * theta), torch.zeros_like(theta))
    thickness = torch.where(style == 4, 0.03, 0.11)
    cap = ellipse_sdf(x, y, cx, cy - 0.02, rx + thickness, ry + thickness) - wave * rxb
    hairline = cyb - ryb * a["hairline"][:, None, None] + 0.08 * ((x - cxb) / rxb) ** 2
    cap = torch.maximum(cap, y - hairline)
    paint(hair, coverage(cap, size), True)

    # Eyes: sclera, iris, pupil.
    eye_y = cy - 0.12 * ry
    iris_color = _EYE_COLORS[a["eye_color"].long()]
    brow_color = hair * 0.7
    for side in (-1.0, 1.0):
        ex = cx + side * a["eye_spacing"] * rx * 1.05
        ew, eh = a["eye_size"] * rx, a["eye_size"] * rx * a["eye_open"]
        paint(torch.tensor([0.95, 0.95, 0.93]).expand(b, 3), coverage(ellipse_sdf(x, y, ex, eye_y, ew, eh), size), True)
        iris = coverage(
            torch.maximum(ellipse_sdf(x, y, ex, eye_y, eh * 0.95, eh * 0.95), ellipse_sdf(x, y, ex, eye_y, ew, eh)),
            size,
        )
        paint(iris_color, iris, True)
        paint(torch.full((b, 3), 0.05), coverage(ellipse_sdf(x, y, ex, eye_y, eh * 0.4, eh * 0.4), size), True)
        by = eye_y - eh - 0.05 - a["brow_thickness"]
        tilt = a["brow_tilt"] * side
        brow = capsule_sdf(x, y, ex - ew, by + tilt, ex + ew, by - tilt, a["brow_thickness"] / 2)
        paint(brow_color, coverage(brow, size), True)

    # Nose: a soft shadow line.
    nose = capsule_sdf(x, y, cx + 0.02, cy + 0.02 * ry, cx + 0.03, cy + 0.22 * ry, torch.full((b,), 0.018))
    paint(skin * 0.72, coverage(nose, size) * 0.8, True)

    # Mouth: an arc whose corners rise with the smile.
    mw = a["mouth_width"] * rx * 1.6
    my = cy + 0.45 * ry
    u = ((x - cxb) / mw[:, None, None]).clamp(-1, 1)
    curve = my[:, None, None] + a["smile"][:, None, None] * 0.06 * (1 - u**2) - 0.01
    lips = torch.maximum(
        (y - curve).abs() - 0.022 - 0.012 * a["smile"].clamp(min=0)[:, None, None], (x - cxb).abs() - mw[:, None, None]
    )
    lip_color = torch.lerp(torch.tensor([0.80, 0.35, 0.35]), torch.tensor([0.45, 0.15, 0.18]), a["lip_tone"][:, None])
    paint(lip_color, coverage(lips, size), True)
    return canvas.layers()


def _plain_background(a: dict[str, Tensor], size: int) -> Tensor:
    b = a["background_hue"].shape[0]
    _, y = grid(b, size)
    color = hue_colour(a["background_hue"], 0.25, 0.85)[:, :, None, None]
    return color * (1 - 0.08 * y[:, None])


def _clutter_background(n: int, size: int, gen: torch.Generator) -> Tensor:
    """Out-of-distribution backgrounds: stripes, checkerboards, noise textures or rows of text-like glyphs."""
    x, y = grid(n, size)
    kind = torch.randint(0, len(BACKGROUNDS), (n,), generator=gen)
    c1 = torch.rand(n, 3, generator=gen)[:, :, None, None]
    c2 = torch.rand(n, 3, generator=gen)[:, :, None, None]
    angle = _u(gen, n, 0, math.pi)[:, None, None]
    freq = _u(gen, n, 6, 16)[:, None, None]
    stripes = (torch.sin(freq * (x * torch.cos(angle) + y * torch.sin(angle)) * math.pi) > 0).float()
    checker = ((torch.floor((x + 1) * freq / 2) + torch.floor((y + 1) * freq / 2)) % 2).float()
    coarse = torch.rand(n, 1, 8, 8, generator=gen)
    noise = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)[:, 0]
    noise = (noise - noise.amin((1, 2), keepdim=True)) / (
        noise.amax((1, 2), keepdim=True) - noise.amin((1, 2), keepdim=True) + 1e-6
    )
    rows = torch.floor((y + 1) * 6)
    cols = torch.floor((x + 1) * 14)
    glyph = torch.rand(n, 14 * 16, generator=gen)
    index = (rows * 14 + cols).long().clamp(0, glyph.shape[1] - 1).flatten(1)
    text = (torch.gather(glyph, 1, index).view(n, size, size) > 0.45).float()
    text = text * (((y + 1) * 6) % 1 > 0.35).float() * (((x + 1) * 14) % 1 > 0.2).float()
    pattern = torch.stack([stripes, checker, noise, text], dim=1)[torch.arange(n), kind]
    return c1 + (c2 - c1) * pattern[:, None]


def _occluders(a: dict[str, Tensor], size: int, gen: torch.Generator, kinds: Tensor) -> tuple[Tensor, Tensor]:
    """Paint one occluder per image (kind index per image, -1 for none): colour (B,3,H,W) and alpha."""
    b = kinds.shape[0]
    x, y = grid(b, size)
    cx, cy, rx, ry = a["face_x"], a["face_y"], a["face_width"], a["face_height"]
    canvas = torch.zeros(b, 3, size, size)
    alpha = torch.zeros(b, size, size)
    side = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)

    def paint(which: int, color: Tensor, cover: Tensor) -> None:
        nonlocal canvas, alpha
        cover = cover * (kinds == which).float()[:, None, None]
        canvas = over(canvas, color, cover)
        alpha = alpha + cover * (1 - alpha)

    # Microphone: a grilled head over the mouth or chin and a handle to the bottom edge.
    mx, my = cx + side * _u(gen, b, 0.0, 0.15), cy + ry * _u(gen, b, 0.35, 0.75)
    radius = _u(gen, b, 0.12, 0.18)
    paint(
        0,
        torch.full((b, 3), 0.12),
        coverage(capsule_sdf(x, y, mx, my, mx + side * 0.25, torch.full((b,), 1.2), radius * 0.35), size),
    )
    grille = 0.55 + 0.25 * (torch.sin(60 * x) * torch.sin(60 * y) > 0).float()
    paint(0, grille[:, None].expand(-1, 3, -1, -1), coverage(ellipse_sdf(x, y, mx, my, radius, radius), size))
    # Hand: a palm and four fingers of another skin tone, over a cheek or the mouth.
    tone = torch.lerp(_SKIN_LIGHT, _SKIN_DARK, torch.rand(b, 1, generator=gen)) * 0.95
    hx, hy = cx + side * rx * _u(gen, b, 0.3, 0.8), cy + ry * _u(gen, b, 0.2, 0.6)
    palm = ellipse_sdf(x, y, hx, hy + 0.1, torch.full((b,), 0.13), torch.full((b,), 0.16))
    fingers = [
        capsule_sdf(x, y, hx + dx, hy, hx + dx * 1.3, hy - 0.28, torch.full((b,), 0.035))
        for dx in (-0.09, -0.03, 0.03, 0.09)
    ]
    hand = torch.stack([palm, *fingers]).amin(0)
    paint(1, tone, coverage(hand, size))
    # Bar: a band across the eyes or the mouth.
    by = cy + ry * torch.where(torch.rand(b, generator=gen) < 0.5, -0.12, 0.45)
    bar = box_sdf(x, y, cx, by, rx * 1.4, _u(gen, b, 0.05, 0.09), _u(gen, b, -0.3, 0.3))
    paint(2, torch.rand(b, 3, generator=gen) * 0.4, coverage(bar, size))
    # Sticker: a bright star on a cheek or the forehead.
    sx, sy = cx + side * rx * _u(gen, b, 0.2, 0.6), cy + ry * _u(gen, b, -0.5, 0.3)
    paint(
        3,
        hue_colour(torch.rand(b, generator=gen), 0.9, 0.95),
        coverage(star_sdf(x, y, sx, sy, _u(gen, b, 0.12, 0.2)), size),
    )
    # Hair clip: a bright bar where the hair meets the forehead.
    kx, ky = cx + side * rx * _u(gen, b, 0.2, 0.6), cy - ry * a["hairline"] - 0.02
    clip = box_sdf(x, y, kx, ky, _u(gen, b, 0.10, 0.16), torch.full((b,), 0.035), _u(gen, b, -0.6, 0.6))
    paint(4, hue_colour(torch.rand(b, generator=gen), 0.8, 0.9), coverage(clip, size))
    return canvas, alpha


def render(
    attributes: dict[str, Tensor],
    *,
    size: int = 64,
    clutter: bool | Tensor = False,
    occluder: str | Tensor | None = None,
    seed: int = 0,
) -> SyntheticBatch:
    """Render faces from their attributes.

    Args:
        attributes: from [`sample_attributes`][interestyle.synthetic.render.sample_attributes] (the first domain) or
            [`sample_attributes_v2`][interestyle.synthetic.faces_v2.sample_attributes_v2] (the second, told apart by its
            ``yaw``).
        size: side of the images (any size >= 16; the demo domain is 64).
        clutter: replace the plain background with an out-of-distribution one (a bool, or a (B,) bool tensor).
        occluder: None, one of [`OCCLUDERS`][interestyle.synthetic.render.OCCLUDERS], ``"random"``, or a (B,) tensor of
            indices into [`OCCLUDERS`][interestyle.synthetic.render.OCCLUDERS] (-1 for none).
        seed: seeds the clutter and occluder placement (faces come from ``attributes`` alone).
    """
    size = check_int(size, "size", minimum=16)
    b = attributes["face_x"].shape[0]
    gen = torch.Generator().manual_seed(seed + 7919)
    draw = render_person_v2 if "yaw" in attributes else _person
    colour, person, face_hair = draw(attributes, size)
    background = _plain_background(attributes, size)
    clutter_mask = torch.as_tensor(clutter, dtype=torch.bool).expand(b)
    if clutter_mask.any():
        background = torch.where(clutter_mask[:, None, None, None], _clutter_background(b, size, gen), background)
    clean = over(background, colour, person)
    kinds = _occluder_kinds(occluder, b, gen)
    image = clean
    occluded = torch.zeros(b, size, size)
    if (kinds >= 0).any():
        occ_colour, occluded = _occluders(attributes, size, gen, kinds)
        image = over(clean, occ_colour, occluded)
    face_mask = face_hair[:, None].clamp(0, 1)
    occluder_mask = occluded[:, None].clamp(0, 1)
    return SyntheticBatch(
        image=image.clamp(0, 1) * 2 - 1,
        clean=clean.clamp(0, 1) * 2 - 1,
        face_mask=face_mask,
        occluder_mask=occluder_mask,
        interest_mask=face_mask * (1 - occluder_mask),
        attributes={**attributes, "occluder": kinds.float(), "clutter": clutter_mask.float()},
    )


def _occluder_kinds(occluder: str | Tensor | None, b: int, gen: torch.Generator) -> Tensor:
    if occluder is None:
        return torch.full((b,), -1)
    if isinstance(occluder, Tensor):
        if occluder.shape != (b,) or occluder.min() < -1 or occluder.max() >= len(OCCLUDERS):
            raise ValueError(f"occluder indices must be a ({b},) tensor in [-1, {len(OCCLUDERS) - 1}]")
        return occluder.long()
    if occluder == "random":
        return torch.randint(0, len(OCCLUDERS), (b,), generator=gen)
    if occluder not in OCCLUDERS:
        raise ValueError(f"occluder={occluder!r} is invalid: expected None, 'random' or one of {list(OCCLUDERS)}")
    return torch.full((b,), OCCLUDERS.index(occluder))


DOMAINS: tuple[str, ...] = ("v1", "v2")
"""The procedural face domains: ``"v1"`` ([`sample_attributes`][interestyle.synthetic.render.sample_attributes]) and
``"v2"`` (`faces_v2`)."""
DEMO_DOMAIN = "v2"
"""The domain the embedded demo models were trained on: what ``interestyle demo``, the app's examples and
the occlusion benchmark draw by default."""


def make_batch(
    n: int, *, size: int = 64, seed: int = 0, condition: str = "clean", domain: str = "v1"
) -> SyntheticBatch:
    """``n`` faces under one condition; the same ``seed`` gives the same faces under every condition.

    Conditions: ``"clean"`` (plain background, no occluder), ``"clutter"`` (textured or text background), ``"occluded"``
    (plain background, one random occluder over the face), ``"mixed"`` (each image draws clutter with probability 1/2
    and an occluder with probability 1/2). ``domain`` picks the face domain
    ([`DOMAINS`][interestyle.synthetic.render.DOMAINS]).
    """
    if condition not in CONDITIONS:
        raise ValueError(f"condition={condition!r} is invalid: expected one of {list(CONDITIONS)}")
    if domain not in DOMAINS:
        raise ValueError(f"domain={domain!r} is invalid: expected one of {list(DOMAINS)}")
    attributes = sample_attributes(n, seed=seed) if domain == "v1" else sample_attributes_v2(n, seed=seed)
    if condition == "clean":
        return render(attributes, size=size, seed=seed)
    if condition == "clutter":
        return render(attributes, size=size, clutter=True, seed=seed)
    if condition == "occluded":
        return render(attributes, size=size, occluder="random", seed=seed)
    gen = torch.Generator().manual_seed(seed + 104729)
    clutter = torch.rand(n, generator=gen) < 0.5
    kinds = torch.where(torch.rand(n, generator=gen) < 0.5, torch.randint(0, len(OCCLUDERS), (n,), generator=gen), -1)
    return render(attributes, size=size, clutter=clutter, occluder=kinds, seed=seed)
