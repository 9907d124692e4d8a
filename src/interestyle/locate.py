"""Where model folders come from: a local path, or a Hugging Face Hub snapshot (downloaded or cached).

A leaf module: it knows folders and the Hub, not what is inside them, so ``masks`` and ``models`` alike
may use it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import HubError
from .serialization import CONFIG_NAME, PICKLE_SUFFIXES
from .validation import check_flag

__all__ = ["EMBEDDED_MODELS", "HubOptions", "resolve_model_folder"]

# Models that ship inside the package (trained on the synthetic face domain, see recipes/).
EMBEDDED_MODELS: dict[str, Path] = {
    "demo": Path(__file__).resolve().parent / "weights" / "demo",
    "demo-baseline": Path(__file__).resolve().parent / "weights" / "demo-baseline",
}

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?$")
_OFFLINE_HINT = (
    "To work offline: download the repository once where the Hub is reachable (it lands in the "
    "Hugging Face cache), then set HF_HUB_OFFLINE=1 or pass local_files_only=True; or pass the path of a "
    "local model folder (config.json + model.safetensors) instead of a repo id."
)


@dataclass(frozen=True)
class HubOptions:
    """How to fetch a Hugging Face Hub repository: what ``huggingface_hub.snapshot_download`` is told.

    The loaders ([`load_encoder`][interestyle.load_encoder], ``from_pretrained`` of directions, the face parser and the
    diffusers pipeline, the ``face-parsing`` provider) take these four as keyword arguments, as Hugging Face libraries
    do, and pass one ``HubOptions`` on to `resolve_model_folder`. They do nothing for a local folder.

    Attributes:
        revision: branch, tag or commit; None: the default branch.
        cache_dir: Hugging Face cache folder; None: the default (under ``HF_HOME``).
        local_files_only: never touch the network, use the cache only.
        token: Hub token for private or gated repositories (True: the saved login; None: the default);
            left out of ``repr``.

    Raises:
        TypeError: a field of the wrong type (named).
    """

    revision: str | None = None
    cache_dir: str | os.PathLike[str] | None = None
    local_files_only: bool = False
    token: str | bool | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.revision is not None and (not isinstance(self.revision, str) or not self.revision):
            raise TypeError(f"revision={self.revision!r} is invalid: expected a branch, tag or commit (str) or None")
        if self.cache_dir is not None and not isinstance(self.cache_dir, (str, os.PathLike)):
            raise TypeError(f"cache_dir={self.cache_dir!r} is invalid: expected a folder path or None")
        check_flag(self.local_files_only, "local_files_only", error=TypeError)
        if self.token is not None and not isinstance(self.token, (str, bool)):
            raise TypeError(f"token of type {type(self.token).__name__} is invalid: expected a str, a bool or None")


def _download(repo_id: str, hub: HubOptions) -> Path:
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{repo_id!r} (revision {hub.revision or 'main'}) on {constants.ENDPOINT}"
    try:
        folder = snapshot_download(
            repo_id,
            revision=hub.revision,
            cache_dir=None if hub.cache_dir is None else os.fspath(hub.cache_dir),
            local_files_only=hub.local_files_only,
            token=hub.token,
            allow_patterns=[CONFIG_NAME, "*.safetensors"],
        )
    except GatedRepoError as exc:
        raise HubError(f"{where} is gated: accept its terms on the Hub and pass token=. ({exc})") from None
    except RepositoryNotFoundError:
        raise HubError(
            f"Hub repository {where} was not found (or is private: pass token=). "
            f"If you meant a local folder, no such path exists: {Path(repo_id).resolve()}"
        ) from None
    except RevisionNotFoundError:
        raise HubError(f"revision {hub.revision!r} of Hub repository {repo_id!r} was not found") from None
    except LocalEntryNotFoundError as exc:
        offline = hub.local_files_only or constants.HF_HUB_OFFLINE
        reason = "offline mode is on" if offline else "the Hub is unreachable"
        raise HubError(f"cannot load {where}: {reason} and it is not in the local cache. {_OFFLINE_HINT}") from exc
    except OSError as exc:
        raise HubError(f"cannot load {where}: {exc}. {_OFFLINE_HINT}") from exc
    return Path(folder)


def resolve_model_folder(repo_id_or_path: str | os.PathLike[str], hub: HubOptions | None = None) -> Path:
    """The local folder of a model: the path itself, an embedded model's folder (``"demo"``,
    ``"demo-baseline"``), or the Hub snapshot of a repo id (downloaded or cached as ``hub`` says).

    Raises:
        FileNotFoundError: a path-like argument that does not exist.
        HubError: a repo id that cannot be fetched (the message says how to work offline).
    """
    if not isinstance(repo_id_or_path, (str, os.PathLike)):
        raise TypeError(f"repo_id_or_path must be a str or a path, got {type(repo_id_or_path).__name__}")
    path = Path(repo_id_or_path)
    if path.exists():
        return path
    if isinstance(repo_id_or_path, str) and repo_id_or_path in EMBEDDED_MODELS:
        folder = EMBEDDED_MODELS[repo_id_or_path]
        if not folder.is_dir():
            raise FileNotFoundError(
                f"the embedded model {repo_id_or_path!r} is missing from this installation ({folder} does not "
                "exist): reinstall interestyle, or rebuild the weights with recipes/pack_demo.py in a source checkout"
            )
        return folder
    text = str(repo_id_or_path)
    if isinstance(repo_id_or_path, os.PathLike) or not _REPO_ID.match(text) or path.suffix.lower() in PICKLE_SUFFIXES:
        raise FileNotFoundError(f"no model folder at {path.resolve()} (and {text!r} is not a Hub repo id)")
    return _download(text, HubOptions() if hub is None else hub)
