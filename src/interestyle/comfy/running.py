"""How a node's function runs: without gradients, and with the errors a user can fix as one line.

ComfyUI shows an exception's message on the node that raised it;
[`node_function`][interestyle.comfy.running.node_function] makes that message one line naming the problem
([`NodeInputError`][interestyle.comfy.running.NodeInputError]) and lets anything else (a bug, out of memory) through as
it was raised.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch

from ..errors import InterestyleError

__all__ = ["CATEGORY", "InputTypes", "NodeInputError", "choice", "node_function"]

CATEGORY = "IntereStyle"
"""The node library folder the nodes are listed in."""

F = TypeVar("F", bound=Callable[..., Any])
InputTypes = dict[str, dict[str, tuple[Any, ...]]]
"""What ``INPUT_TYPES`` returns: ``"required"`` / ``"optional"`` -> input name -> (type or choices, options)."""
# What a user can fix from the graph; anything else (a bug, out of memory) reaches ComfyUI as it was raised.
_USER_ERRORS = (InterestyleError, ValueError, TypeError, OSError, ImportError)


class NodeInputError(InterestyleError, ValueError):
    """A node cannot use its inputs; the message, one line naming the problem, is what ComfyUI shows."""


def node_function(method: F) -> F:
    """Run a node's function without gradients, turning the errors a user can fix into one-line
    [`NodeInputError`][interestyle.comfy.running.NodeInputError] (the original is kept as ``__cause__``)."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            with torch.no_grad():
                return method(*args, **kwargs)
        except NodeInputError:
            raise
        except _USER_ERRORS as exc:
            raise NodeInputError(" ".join(str(exc).split()) or type(exc).__name__) from exc

    return run  # type: ignore[return-value]


def choice(names: list[str], preferred: str) -> tuple[list[str], dict[str, Any]]:
    """A combo input's choices and options: ``preferred`` is the default when it is one of ``names``."""
    return names, {"default": preferred if preferred in names else names[0]} if names else {}
