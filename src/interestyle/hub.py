"""``load_encoder``: an inversion model from a local folder or a Hugging Face Hub repository."""

from __future__ import annotations

import os

import torch

from .locate import EMBEDDED_MODELS, HubOptions, resolve_model_folder
from .models.model import IntereStyleModel

__all__ = ["load_encoder"]


def load_encoder(
    repo_id_or_path: str | os.PathLike[str] = "demo",
    *,
    revision: str | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> IntereStyleModel:
    """Load an inversion model from a local folder or a Hugging Face Hub repository.

    A model is ``config.json`` + ``model.safetensors``. Only those files are downloaded from the Hub, and
    nothing is ever unpickled: convert ``.pt`` checkpoints first with ``interestyle convert``.

    Args:
        repo_id_or_path: a local folder, a Hub repo id such as ``"org/name"``, or the name of a model
            embedded in the package: ``"demo"`` (the default; IntereStyle trained on the synthetic face
            domain of `interestyle.synthetic`) or ``"demo-baseline"`` (its no-mask baseline).
        revision: Hub branch, tag or commit (these four: see [`HubOptions`][interestyle.locate.HubOptions]).
        cache_dir: Hugging Face cache folder.
        local_files_only: use the cache only, never the network.
        token: Hub token for private or gated repositories.
        device: where to put the model (default: CPU).
        dtype: floating dtype of the weights (default: as stored; the embedded models are stored in
            float16 to keep the package small and load as float32).

    Returns:
        The [`IntereStyleModel`][interestyle.models.model.IntereStyleModel], in eval mode.

    Raises:
        FileNotFoundError: no such folder, or it lacks ``config.json`` or weights.
        WeightsError: pickled weights, a corrupt file, or weights that do not match the config.
        ConfigError: an unknown config field or an invalid value.
        HubError: the repository cannot be fetched.
    """
    hub = HubOptions(revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token)
    folder = resolve_model_folder(repo_id_or_path, hub)
    embedded = folder in EMBEDDED_MODELS.values()
    if dtype is None and embedded:
        dtype = torch.float32
    model = IntereStyleModel.from_pretrained(folder, device=device, dtype=dtype)
    if embedded:
        model.domain = "synthetic"
    return model
