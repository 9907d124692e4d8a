"""The named exceptions users catch.

Each also derives from the builtin a caller would try first (``ValueError``, ``OSError``), so
``except ValueError`` keeps working for code that does not know about ``interestyle``.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DivergenceError", "HubError", "InterestyleError", "NoFaceError", "WeightsError"]


class InterestyleError(Exception):
    """Base class of every error raised on purpose by ``interestyle``."""


class ConfigError(InterestyleError, ValueError):
    """A configuration has an unknown field, a missing field or a value outside what is accepted."""


class WeightsError(InterestyleError, ValueError):
    """A weights file is unreadable, is a pickle, or does not match its configuration."""


class HubError(InterestyleError, OSError):
    """A model could not be fetched from the Hugging Face Hub (unreachable, unknown repo, not cached)."""


class NoFaceError(InterestyleError, ValueError):
    """A landmark provider found no face in a photo that had to be aligned (the message names the photo)."""


class DivergenceError(InterestyleError, ArithmeticError):
    """An optimisation stopped because its loss became NaN or infinite, or rose past its bound.

    Attributes:
        step: the step (counted from 1) at which it was stopped.
        loss: the loss at that step.
    """

    def __init__(self, message: str, *, step: int, loss: float) -> None:
        super().__init__(message)
        self.step = step
        self.loss = loss
