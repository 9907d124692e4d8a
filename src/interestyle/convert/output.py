"""Writing a converted model folder, and publishing it on the Hugging Face Hub."""

from __future__ import annotations

from pathlib import Path

from ..directions import DIRECTIONS_METADATA, DIRECTIONS_WEIGHTS
from ..errors import HubError
from ..serialization import CONFIG_NAME, WEIGHTS_NAME, save_model_folder, writing_folder
from .registry import Conversion

__all__ = ["CARD_NAME", "OUTPUT_FILES", "check_output_folder", "push_folder", "write_folder"]

CARD_NAME = "README.md"
OUTPUT_FILES = (CONFIG_NAME, WEIGHTS_NAME, DIRECTIONS_WEIGHTS, DIRECTIONS_METADATA, CARD_NAME)


def check_output_folder(out: Path, *, overwrite: bool) -> None:
    """Refuse a file, or a folder that holds anything, unless ``overwrite``.

    Raises:
        NotADirectoryError: ``out`` is a file.
        ValueError: ``out`` is a non-empty folder and ``overwrite`` is false.
    """
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output {out} is a file; --out takes a folder")
    if out.is_dir() and not overwrite:
        present = sorted(p.name for p in out.iterdir())
        if present:
            shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
            raise ValueError(
                f"output folder {out} is not empty (it holds {shown}); pass --overwrite (overwrite=True) to "
                f"replace {', '.join(OUTPUT_FILES)} in it, or choose another folder"
            )


def write_folder(out: Path, conversion: Conversion, card: str) -> None:
    """Write ``config.json`` and ``model.safetensors`` (or, for directions, ``directions.safetensors`` and
    ``directions.json``) and ``README.md`` into ``out``, together (`interestyle.serialization.writing_folder`).

    A new folder is filled under a temporary name and renamed, so a failure leaves nothing behind; in an
    existing folder the files are replaced together (an interrupted replacement leaves a folder that refuses
    to load as incomplete), and other files are left alone.
    """
    with writing_folder(out) as staging:
        if conversion.directions is not None:
            conversion.directions.save_pretrained(staging)
        else:
            save_model_folder(conversion.config, conversion.tensors, staging)
        (staging / CARD_NAME).write_text(card, encoding="utf-8")


def push_folder(
    out: Path, repo_id: str, *, private: bool = False, token: str | bool | None = None, message: str | None = None
) -> str:
    """Create ``repo_id`` on the Hub if needed and upload the converted files of ``out``; returns the URL.

    Raises:
        HubError: the Hub cannot be reached, or refuses (the message says the local folder is kept).
    """
    from huggingface_hub import HfApi, constants

    kept = f"The converted model is kept in {out}; upload it later with `hf upload {repo_id} {out}`"
    try:
        api = HfApi(token=token)
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            repo_type="model",
            folder_path=str(out),
            allow_patterns=[name for name in OUTPUT_FILES if (out / name).is_file()],
            commit_message=message or "Add model converted by interestyle convert",
        )
    except Exception as exc:  # huggingface_hub raises HTTP, connection, offline and validation errors
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
        if _unreachable(exc):
            reason = f"the Hub is unreachable ({reason})"
        raise HubError(f"could not push to {repo_id!r} on {constants.ENDPOINT}: {reason}. {kept}") from exc
    return str(getattr(commit, "repo_url", None) or f"{constants.ENDPOINT}/{repo_id}")


def _unreachable(exc: BaseException) -> bool:
    """True when ``exc`` or its cause is a failed connection (requests, httpx and the OS name it differently)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionError) or "Connect" in type(seen).__name__:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
