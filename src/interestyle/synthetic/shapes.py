"""Soft 2-D shapes as coverage maps in [0, 1], batched: every parameter is a (B,) tensor.

Coordinates are (B, H, W) grids with x to the right and y down, both in [-1, 1] over the image. Edges are
smoothed over about one pixel, so shapes are antialiased at any resolution.
"""

from __future__ import annotations

import torch
from torch import Tensor


def grid(batch: int, size: int, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """Pixel-centre coordinates ``(x, y)``, each (batch, size, size) in [-1, 1]."""
    t = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size * 2 - 1
    y, x = torch.meshgrid(t, t, indexing="ij")
    return x.expand(batch, -1, -1), y.expand(batch, -1, -1)


def _b(v: Tensor) -> Tensor:
    return v[:, None, None]


def coverage(sdf: Tensor, size: int) -> Tensor:
    """Signed distance (negative inside, in image units) -> soft coverage with a one-pixel edge."""
    pixel = 2.0 / size
    return (0.5 - sdf / pixel).clamp(0, 1)


def ellipse_sdf(x: Tensor, y: Tensor, cx: Tensor, cy: Tensor, rx: Tensor, ry: Tensor) -> Tensor:
    """Approximate signed distance to an axis-aligned ellipse (exact on circles)."""
    u, v = (x - _b(cx)) / _b(rx), (y - _b(cy)) / _b(ry)
    r = torch.sqrt(u * u + v * v)
    return (r - 1) * torch.minimum(_b(rx), _b(ry))


def capsule_sdf(x: Tensor, y: Tensor, x0: Tensor, y0: Tensor, x1: Tensor, y1: Tensor, radius: Tensor) -> Tensor:
    """Signed distance to a segment thickened by ``radius``."""
    dx, dy = _b(x1 - x0), _b(y1 - y0)
    px, py = x - _b(x0), y - _b(y0)
    t = ((px * dx + py * dy) / (dx * dx + dy * dy + 1e-9)).clamp(0, 1)
    return torch.sqrt((px - t * dx) ** 2 + (py - t * dy) ** 2) - _b(radius)


def box_sdf(x: Tensor, y: Tensor, cx: Tensor, cy: Tensor, hw: Tensor, hh: Tensor, angle: Tensor) -> Tensor:
    """Signed distance to a rectangle of half sizes ``hw``, ``hh`` rotated by ``angle`` (radians)."""
    c, s = torch.cos(_b(angle)), torch.sin(_b(angle))
    px, py = x - _b(cx), y - _b(cy)
    u, v = (c * px + s * py).abs() - _b(hw), (-s * px + c * py).abs() - _b(hh)
    outside = torch.sqrt(u.clamp(min=0) ** 2 + v.clamp(min=0) ** 2)
    return outside + torch.maximum(u, v).clamp(max=0)


def star_sdf(x: Tensor, y: Tensor, cx: Tensor, cy: Tensor, radius: Tensor, points: int = 5) -> Tensor:
    """A rounded star: a circle whose radius oscillates with the polar angle (approximate distance)."""
    px, py = x - _b(cx), y - _b(cy)
    theta = torch.atan2(py, px)
    r = torch.sqrt(px * px + py * py)
    return r - _b(radius) * (0.72 + 0.28 * torch.cos(points * theta))


def over(canvas: Tensor, color: Tensor, alpha: Tensor) -> Tensor:
    """Paint ``color`` (B, 3) or (B, 3, H, W) over ``canvas`` (B, 3, H, W) with coverage ``alpha`` (B, H, W)."""
    if color.ndim == 2:
        color = color[:, :, None, None]
    a = alpha[:, None]
    return canvas * (1 - a) + color * a


def hue_colour(h: Tensor, saturation: float, value: float) -> Tensor:
    """(B,) hues in [0, 1) -> (B, 3) RGB colours of the given saturation and value."""
    k = (torch.stack([h * 6 + 5, h * 6 + 3, h * 6 + 1], dim=1)) % 6
    return value - value * saturation * torch.clamp(torch.minimum(k, 4 - k), 0, 1)


class PersonCanvas:
    """A person painted over a transparent canvas, keeping the colour (B, 3, H, W), the person's alpha and
    the face+hair (interest) alpha (B, H, W): clothes and neck belong to the person, not to the interest."""

    def __init__(self, batch: int, size: int) -> None:
        self.colour = torch.zeros(batch, 3, size, size)
        self.person = torch.zeros(batch, size, size)
        self.face_hair = torch.zeros(batch, size, size)

    def paint(self, color: Tensor, alpha: Tensor, interest: bool) -> None:
        """Paint ``color`` with coverage ``alpha``; ``interest`` says whether it is face or hair."""
        self.colour = over(self.colour, color, alpha)
        self.person = self.person + alpha * (1 - self.person)
        self.face_hair = self.face_hair + alpha * (1 - self.face_hair) if interest else self.face_hair * (1 - alpha)

    def layers(self) -> tuple[Tensor, Tensor, Tensor]:
        """(colour, person alpha, face+hair alpha)."""
        return self.colour, self.person, self.face_hair
