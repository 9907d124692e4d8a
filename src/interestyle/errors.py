"""The named exceptions users catch, and the warning they may filter.

Each also derives from the builtin a caller would try first (``ValueError``, ``OSError``), so
``except ValueError`` keeps working for code that does not know about ``interestyle``.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DivergenceError",
    "HubError",
    "ImageError",
    "ImageTooLargeError",
    "InterestyleError",
    "MissingExtraError",
    "NoFaceError",
    "StretchWarning",
    "UpscaleWarning",
    "WeightsError",
]


class InterestyleError(Exception):
    """Base class of every error raised on purpose by ``interestyle``."""


class ConfigError(InterestyleError, ValueError):
    """A configuration has an unknown field, a missing field or a value outside what is accepted."""


class WeightsError(InterestyleError, ValueError):
    """A weights file is unreadable, is a pickle, or does not match its configuration; or its model folder
    is incomplete (a save into it was interrupted)."""


class ImageError(InterestyleError, ValueError):
    """An image file is not an image, or is damaged: truncated, or failing a checksum (the message names
    the file and what is wrong)."""


class HubError(InterestyleError, OSError):
    """A model could not be fetched from the Hugging Face Hub (unreachable, unknown repo, not cached)."""


class NoFaceError(InterestyleError, ValueError):
    """A landmark provider found no face in a photo that had to be aligned (the message names the photo)."""


class MissingExtraError(InterestyleError, ImportError):
    """An optional dependency is not installed; the message gives the ``pip install 'interestyle[EXTRA]'``
    command that installs it.

    Attributes:
        extra: the extra that provides it: ``"mediapipe"``, ``"app"`` (Gradio) or ``"train"`` (Accelerate,
            PyYAML).
    """

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra

    def __reduce__(self) -> tuple[object, ...]:
        return _rebuild_missing_extra, (str(self), self.extra)


def _rebuild_missing_extra(message: str, extra: str) -> MissingExtraError:
    return MissingExtraError(message, extra=extra)


class ImageTooLargeError(ImageError):
    """An image file has more pixels than [`interestyle.images.MAX_IMAGE_PIXELS`][interestyle.images.MAX_IMAGE_PIXELS]
    allows (a decompression bomb, or a scan far larger than any model needs); the message names the file and its size.
    """


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


class StretchWarning(UserWarning):
    """An image that is not square is resized to the model's square input, so the face is squashed or widened
    (crop it square, or align it; ``warnings.filterwarnings("ignore", category=StretchWarning)`` silences it)."""


class UpscaleWarning(UserWarning):
    """An image is enlarged more than [`MAX_UPSCALE`][interestyle.images.MAX_UPSCALE] times to the model's size, so
    the model sees little of it beyond its colours (``warnings.filterwarnings("ignore", category=UpscaleWarning)``
    silences it)."""
