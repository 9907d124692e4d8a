"""Editing directions in W: the [`Direction`][interestyle.directions.direction.Direction] and
[`DirectionSet`][interestyle.directions.direction.DirectionSet] types with their file format
(`.direction`), and the ways of finding directions (`.finding`:
[`fit_direction`][interestyle.directions.finding.fit_direction], InterFaceGAN-style, and
[`principal_directions`][interestyle.directions.finding.principal_directions], GANSpace-style).
"""

from .direction import (
    DIRECTIONS_METADATA,
    DIRECTIONS_WEIGHTS,
    Direction,
    DirectionInput,
    DirectionSet,
    UnknownDirectionError,
    as_direction,
    shipped_directions,
)
from .finding import fit_direction, principal_directions

__all__ = [
    "DIRECTIONS_METADATA",
    "DIRECTIONS_WEIGHTS",
    "Direction",
    "DirectionInput",
    "DirectionSet",
    "UnknownDirectionError",
    "as_direction",
    "fit_direction",
    "principal_directions",
    "shipped_directions",
]
