"""Editing directions in W: the :class:`Direction` and :class:`DirectionSet` types with their file format
(:mod:`.direction`), and the ways of finding directions (:mod:`.finding`: :func:`fit_direction`,
InterFaceGAN-style, and :func:`principal_directions`, GANSpace-style).
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
