"""Matching source tensors to the tensors a model needs: every one consumed, every one filled, by name."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from ..errors import WeightsError

__all__ = ["expected_shapes", "match_tensors", "require"]

_SHOWN = 8


def expected_shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """Names and shapes of a module's state dict (build the module on the meta device: no memory)."""
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def require(tensors: Mapping[str, Tensor], key: str, where: str, why: str) -> Tensor:
    """``tensors[key]``, or a WeightsError saying the key is missing and what it was needed for."""
    if key not in tensors:
        raise WeightsError(f"{where} has no {key!r}, needed to {why}")
    return tensors[key]


def _listing(names: list[str], sources: Mapping[str, str] | None = None) -> str:
    shown = [repr(sources.get(n, n)) if sources else repr(n) for n in names[:_SHOWN]]
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(shown) + more


def match_tensors(
    expected: Mapping[str, tuple[int, ...]],
    provided: Mapping[str, Tensor],
    sources: Mapping[str, str],
    *,
    what: str,
) -> dict[str, Tensor]:
    """Check that ``provided`` (already under the target names) fills ``expected`` exactly.

    Args:
        expected: target name -> shape (from the model the config builds).
        provided: target name -> tensor taken from the checkpoint.
        sources: target name -> where it came from, for messages.
        what: the model, for messages (``"the pSp model"``).

    Returns:
        The tensors in ``expected`` order, contiguous.

    Raises:
        WeightsError: a source tensor the model has no place for (named by its source key), a model tensor
            no source fills, or a shape mismatch.
    """
    leftovers = [k for k in provided if k not in expected]
    gaps = [k for k in expected if k not in provided]
    problems = []
    if leftovers:
        problems.append(f"{len(leftovers)} source tensor(s) with no place in it: {_listing(leftovers, sources)}")
    if gaps:
        problems.append(f"{len(gaps)} tensor(s) of it that the checkpoint does not fill: {_listing(gaps)}")
    if problems:
        raise WeightsError(f"the checkpoint does not match {what}: " + "; ".join(problems))
    for key, shape in expected.items():
        got = tuple(provided[key].shape)
        if got != tuple(shape):
            raise WeightsError(
                f"the checkpoint does not match {what}: {sources.get(key, key)!r} has shape {got}, "
                f"but the inferred config needs {tuple(shape)} for {key!r}"
            )
    return {k: provided[k].detach().contiguous() for k in expected}
