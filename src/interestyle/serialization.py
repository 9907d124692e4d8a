"""Model folders on disk: ``config.json`` + ``model.safetensors``, read with validation, written atomically.

Only safetensors are read here; pickled checkpoints (``.pt``, ``.pth``, ``.bin``, ``.ckpt``, ``.pkl``)
are refused with a pointer to ``interestyle convert``, which is the one place that opens them.

A folder's files are written together (`writing_folder`): a process killed while saving leaves the
old folder, the new one, no folder, or one that refuses to load because it names itself incomplete, never
a mix of old and new files that loads. ``config.json`` carries a SHA-256 of the weights' tensors
(`CHECKSUM_KEY`), checked when they are read: a flipped bit in the tensor data, which safetensors itself
cannot see, is refused instead of loading a subtly different model. (It is not in the safetensors header:
safetensors writes header metadata in no fixed order, so the same model would not save to the same bytes.)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .errors import ConfigError, WeightsError

__all__ = [
    "CHECKSUM_KEY",
    "CONFIG_NAME",
    "INCOMPLETE_MARKER",
    "PICKLE_SUFFIXES",
    "WEIGHTS_NAME",
    "atomic_write",
    "check_complete_folder",
    "key_mismatch",
    "read_model_folder",
    "read_state_dict",
    "save_model_folder",
    "tensors_sha256",
    "writing_folder",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle", ".tar")
CHECKSUM_KEY = "_tensors_sha256"
"""The ``config.json`` field holding `tensors_sha256` of the folder's weights (a leading underscore, like
``_class_name``: not a configuration field). Folders written before it existed, or by other tools, have none
and their weights are read unchecked."""
INCOMPLETE_MARKER = ".interestyle-incomplete"
"""The file that marks a folder whose files are being replaced: loaders refuse a folder holding it."""

_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK  # what a plain open(path, "w") gives under the process umask
DIR_MODE = 0o777 & ~_UMASK


def _pickle_refusal(path: Path) -> WeightsError:
    return WeightsError(
        f"{path} is a pickled PyTorch checkpoint; interestyle loads only safetensors model folders. "
        f"Convert it once with `interestyle convert {path} --out MODEL_DIR`, then load MODEL_DIR."
    )


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``.

    A crash leaves either the old file or the new one, never half of one.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, FILE_MODE)  # mkstemp makes owner-only files; give the mode open() would have
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def writing_folder(directory: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty staging folder to write files (not folders) into; when the block ends without an
    exception they are moved into ``directory`` together, else nothing changes.

    A folder that does not exist yet is the staging folder (made beside it) renamed into place: a crash
    leaves no folder. In an existing folder the files are staged in a hidden folder inside it, then renamed
    in one by one while `INCOMPLETE_MARKER` lies there, so a crash in that window leaves a folder
    every loader refuses as incomplete; other files are left alone.
    """
    folder = Path(directory)
    existing = folder.is_dir()
    if existing:
        staging = Path(tempfile.mkdtemp(prefix=".interestyle-staging-", dir=folder))
    else:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        yield staging
        files = sorted(p for p in staging.iterdir() if p.is_file())
        for path in files:
            os.chmod(path, FILE_MODE)  # safetensors writes owner-only files; give the mode open() would have
        if not existing:
            os.chmod(staging, DIR_MODE)  # mkdtemp makes an owner-only folder; give the mode mkdir() would have
            os.replace(staging, folder)
            return
        marker = folder / INCOMPLETE_MARKER
        marker.write_text("a save into this folder was interrupted: save it again\n", encoding="utf-8")
        for path in files:
            os.replace(path, folder / path.name)
        marker.unlink()
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_complete_folder(folder: Path) -> None:
    """Refuse a folder that a save was interrupted in (see `writing_folder`).

    Raises:
        WeightsError: ``folder`` holds `INCOMPLETE_MARKER`.
    """
    if (folder / INCOMPLETE_MARKER).exists():
        raise WeightsError(
            f"{folder} is incomplete: a save into it was interrupted and some of its files are old, some new "
            f"({INCOMPLETE_MARKER} is there); save or convert the model into it again"
        )


def tensors_sha256(tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 (hex) of tensors by name: each name, dtype, shape and raw bytes, names sorted, so it depends on
    the values only, not on how a file lays them out."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        digest.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()


def save_model_folder(
    config: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor], directory: str | os.PathLike[str]
) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``directory`` together (`writing_folder`);
    returns the folder."""
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
    text = json.dumps({"_class_name": "IntereStyleModel", **config, CHECKSUM_KEY: tensors_sha256(tensors)}, indent=2)
    text += "\n"
    with writing_folder(directory) as staging:
        save_file(tensors, str(staging / WEIGHTS_NAME), metadata={"format": "pt"})
        (staging / CONFIG_NAME).write_text(text, encoding="utf-8")
    return Path(directory)


def read_model_folder(directory: str | os.PathLike[str]) -> tuple[dict[str, Any], Path]:
    """Find and parse a model folder; returns ``(config dict, weights path)``.

    Raises:
        FileNotFoundError: the folder, its ``config.json`` or its safetensors file is missing.
        WeightsError: a pickled checkpoint was given instead of a folder, or the folder is incomplete (a save
            into it was interrupted).
        ConfigError: ``config.json`` is not a JSON object.
    """
    folder = Path(directory)
    if folder.is_file():
        if folder.suffix.lower() in PICKLE_SUFFIXES:
            raise _pickle_refusal(folder)
        raise FileNotFoundError(f"{folder} is a file; a model is a folder holding {CONFIG_NAME} and {WEIGHTS_NAME}")
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {folder} does not exist")
    check_complete_folder(folder)
    config_path = folder / CONFIG_NAME
    if not config_path.is_file():
        raise FileNotFoundError(f"{folder} has no {CONFIG_NAME}; a model folder holds {CONFIG_NAME} and {WEIGHTS_NAME}")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path} is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{config_path} must hold a JSON object, got {type(config).__name__}")
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        candidates = sorted(folder.glob("*.safetensors"))
        if len(candidates) == 1:
            weights = candidates[0]
        elif candidates:
            names = [p.name for p in candidates]
            raise FileNotFoundError(f"{folder} has several safetensors files {names} and no {WEIGHTS_NAME}")
        else:
            pickles = sorted(p for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
            if pickles:
                raise _pickle_refusal(pickles[0])
            raise FileNotFoundError(f"{folder} has {CONFIG_NAME} but no weights ({WEIGHTS_NAME})")
    return config, weights


def key_mismatch(missing: Sequence[str], unexpected: Sequence[str]) -> str:
    """``"2 missing (first: 'a'), 1 unexpected (first: 'b')"``: how two key sets differ, for messages."""
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing (first: {missing[0]!r})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (first: {unexpected[0]!r})")
    return ", ".join(parts)


def read_state_dict(
    path: Path, expected: Mapping[str, tuple[int, ...]], checksum: object = None
) -> dict[str, torch.Tensor]:
    """Read a safetensors file whose keys and shapes must be exactly ``expected``, and whose tensors must have
    the SHA-256 ``checksum`` (its folder's ``config.json`` `CHECKSUM_KEY`; None: not checked).

    Raises:
        WeightsError: the file is corrupt or truncated, its tensors do not match ``checksum``, or a key is
            missing, unexpected or of another shape (the message names the first such key and both shapes).
        ConfigError: ``checksum`` is not 64 hexadecimal digits.
    """
    if checksum is not None and not (
        isinstance(checksum, str) and len(checksum) == 64 and all(c in "0123456789abcdef" for c in checksum)
    ):
        raise ConfigError(
            f"{path.parent / CONFIG_NAME}: {CHECKSUM_KEY} must be a SHA-256 in 64 lowercase hexadecimal digits, "
            f"got {checksum!r}"
        )
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            keys = list(f.keys())
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in keys}
            missing = [k for k in expected if k not in shapes]
            unexpected = [k for k in keys if k not in expected]
            if missing or unexpected:
                raise WeightsError(f"{path} does not match its config: keys {key_mismatch(missing, unexpected)}")
            for key, shape in expected.items():
                if shapes[key] != tuple(shape):
                    raise WeightsError(
                        f"{path} does not match its config: {key!r} has shape {shapes[key]} in the file "
                        f"but the config builds {tuple(shape)}"
                    )
            tensors = {k: f.get_tensor(k) for k in keys}
    except SafetensorError as exc:
        raise WeightsError(f"{path} is not a readable safetensors file (corrupt or truncated?): {exc}") from None
    if checksum is not None and tensors_sha256(tensors) != checksum:
        raise WeightsError(
            f"{path} is damaged: its tensor data does not match the SHA-256 in {CONFIG_NAME} ({CHECKSUM_KEY}); "
            "download, convert or save the model again"
        )
    return tensors
