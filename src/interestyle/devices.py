"""Devices by name: ``"auto"`` or a torch device, checked to be usable on this machine before anything is
moved there, so that a missing GPU is one clear sentence instead of an error from deep inside PyTorch."""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(device: torch.device | str, *, what: str = "device") -> torch.device:
    """``"auto"`` (CUDA, then MPS, then the CPU) or a torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``,
    ``"mps"``, a ``torch.device``), checked to exist here.

    Args:
        device: the device or its name.
        what: how the messages name it (``"--device"`` on the command line).

    Raises:
        ValueError: an unknown device string, or CUDA / MPS (or a CUDA index) this machine does not have.
        TypeError: neither a string nor a ``torch.device``.
    """
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{what} must be a device name such as 'cpu' or 'cuda', or a torch.device, got {device!r}")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise ValueError(f"{what} {device!r} is not a device; use auto, cpu, cuda, cuda:N or mps") from None
    name = str(device)
    cpu = f"{what} cpu" if what.startswith("--") else "device='cpu'"
    if chosen.type == "cuda" and not torch.cuda.is_available():
        why = "this PyTorch is built without CUDA" if not torch.backends.cuda.is_built() else "no CUDA GPU is visible"
        raise ValueError(f"{what} {name}: CUDA is not available on this machine ({why}); use {cpu}")
    if chosen.type == "cuda" and chosen.index is not None and chosen.index >= torch.cuda.device_count():
        raise ValueError(f"{what} {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if chosen.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{what} {name}: MPS is not available on this machine; use {cpu}")
    return chosen
