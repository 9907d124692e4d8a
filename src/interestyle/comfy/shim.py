"""The shim package ComfyUI loads: written into ``custom_nodes/`` by ``interestyle comfy install``.

ComfyUI discovers custom nodes only as ``.py`` files or package folders inside its ``custom_nodes/``
folders (or those an extra-model-paths YAML lists); it has no pip entry-point discovery. The shim is such a
folder: an ``__init__.py`` that re-exports
    [`interestyle.comfy.NODE_CLASS_MAPPINGS`][interestyle.comfy.NODE_CLASS_MAPPINGS], the
``pyproject.toml`` a Comfy Registry entry publishes, the ``requirements.txt`` ComfyUI-Manager installs and
a marker naming the files written, so that installing again replaces exactly those and uninstalling removes
exactly those.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .._version import __version__
from ..serialization import atomic_write

__all__ = ["SHIM_NAME", "InstallReport", "comfyui_custom_nodes", "install", "shim_files", "uninstall", "write_shim"]

SHIM_NAME = "comfyui-interestyle"
"""The folder name of the shim in ``custom_nodes/`` (and its Comfy Registry id)."""
MARKER = "interestyle-shim.json"

_INIT = '''"""IntereStyle nodes for ComfyUI (interest mask, invert, edit, style mix, align, paste back).

Written by `interestyle comfy install` (interestyle {version}). The nodes live in the interestyle package,
which must be installed in the Python that runs ComfyUI. Remove this folder with
`interestyle comfy install --uninstall PATH_TO_COMFYUI`.
"""

import sys

try:
    from interestyle.comfy import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
except ModuleNotFoundError as exc:
    if exc.name != "interestyle":
        raise
    raise ModuleNotFoundError(
        f"the IntereStyle nodes need the interestyle package in the Python that runs ComfyUI: "
        f"{{sys.executable}} -m pip install interestyle"
    ) from exc

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
'''

_PYPROJECT = """# The IntereStyle nodes' Comfy Registry metadata, written by interestyle {version}.
# To publish: set PublisherId to your Comfy Registry publisher, add [project.urls] Repository, then run
# `comfy node publish` in this folder. ComfyUI reads this file too when it loads the nodes.
[project]
name = "{name}"
description = "StyleGAN2 inversion of the face and hair (IntereStyle): mask, invert, edit, style mix, align, paste back"
version = "{release}"
license = {{ text = "MIT" }}
dependencies = ["interestyle>={version}"]

[tool.comfy]
PublisherId = ""
DisplayName = "IntereStyle"
Icon = ""
includes = []
"""

_REQUIREMENTS = "interestyle>={version}\n"

_README = """# IntereStyle nodes for ComfyUI

Written by `interestyle comfy install` (interestyle {version}); the nodes themselves are in the `interestyle`
Python package, which must be installed in the environment that runs ComfyUI (`pip install interestyle`).
They appear under the "IntereStyle" category. Remove them with
`interestyle comfy install --uninstall PATH_TO_COMFYUI`.
"""


def _release(version: str) -> str:
    """The X.Y.Z of a version (the Comfy Registry takes semantic versions only): 0.1.0.dev0 -> 0.1.0."""
    found = re.match(r"\d+(\.\d+){0,2}", version)
    parts = (found.group(0) if found else "0").split(".")
    return ".".join([*parts, "0", "0"][:3])


def shim_files(version: str = __version__) -> dict[str, str]:
    """The shim's files: name -> text (the marker not included)."""
    fields = {"version": version, "release": _release(version), "name": SHIM_NAME}
    return {
        "__init__.py": _INIT.format(**fields),
        "pyproject.toml": _PYPROJECT.format(**fields),
        "requirements.txt": _REQUIREMENTS.format(**fields),
        "README.md": _README.format(**fields),
    }


@dataclass(frozen=True)
class InstallReport:
    """What [`install`][interestyle.comfy.shim.install], [`write_shim`][interestyle.comfy.shim.write_shim] or
    [`uninstall`][interestyle.comfy.shim.uninstall] did.

    Attributes:
        folder: the shim folder.
        changed: whether any file was written or removed (False: it was up to date, or not there).
    """

    folder: Path
    changed: bool


def _written_files(folder: Path) -> list[str] | None:
    """The files the marker in ``folder`` names, or None when the folder holds no marker of ours."""
    marker = folder / MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, str) and "/" not in f and f != ".." for f in files):
        return None
    return files


def _check_ours(folder: Path) -> list[str]:
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise FileExistsError(f"{folder} exists and is not a folder written by interestyle; remove it yourself")
    if not folder.exists():
        return []
    files = _written_files(folder)
    if files is None:
        raise FileExistsError(
            f"{folder} exists and was not written by interestyle (it has no {MARKER}); remove or rename it yourself"
        )
    return files


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_shim(folder: str | os.PathLike[str]) -> InstallReport:
    """Write the shim package into ``folder`` (created), e.g. a ``custom_nodes`` folder listed in an
    extra-model-paths YAML, or a folder to publish to the Comfy Registry from.

    Writing it again is a no-op when it is up to date; files an older shim wrote and this one does not are
    removed.

    Raises:
        FileExistsError: ``folder`` exists and was not written by interestyle.
    """
    target = Path(folder)
    previous = _check_ours(target)
    files = shim_files()
    target.mkdir(parents=True, exist_ok=True)
    changed = False
    for name, text in files.items():
        path = target / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            _write_text(path, text)
            changed = True
    for name in set(previous) - set(files):
        (target / name).unlink(missing_ok=True)
        changed = True
    marker = json.dumps({"written_by": f"interestyle {__version__}", "files": sorted(files)}, indent=2) + "\n"
    if changed or _written_files(target) != sorted(files):
        _write_text(target / MARKER, marker)
        changed = True
    return InstallReport(target, changed)


def comfyui_custom_nodes(comfyui: str | os.PathLike[str]) -> Path:
    """The ``custom_nodes`` folder of a ComfyUI checkout (or of a ``--base-directory``).

    Raises:
        FileNotFoundError: no such folder, or one without ``custom_nodes/``.
    """
    root = Path(comfyui)
    if not root.is_dir():
        raise FileNotFoundError(f"ComfyUI folder {root} does not exist")
    nodes = root / "custom_nodes"
    if not nodes.is_dir():
        hint = f" (that is a custom_nodes folder: give {root.parent})" if root.name == "custom_nodes" else ""
        raise FileNotFoundError(
            f"{root} has no custom_nodes/ folder{hint}; give the ComfyUI folder, the one holding main.py and "
            "custom_nodes/"
        )
    return nodes


def install(comfyui: str | os.PathLike[str]) -> InstallReport:
    """Write the shim into ``COMFYUI/custom_nodes/comfyui-interestyle`` (idempotent; see
    [`write_shim`][interestyle.comfy.shim.write_shim]).

    Raises:
        FileNotFoundError: ``comfyui`` is not a ComfyUI folder.
        FileExistsError: a folder of that name exists and was not written by interestyle.
    """
    return write_shim(comfyui_custom_nodes(comfyui) / SHIM_NAME)


def uninstall(comfyui: str | os.PathLike[str]) -> InstallReport:
    """Remove the shim from ``COMFYUI/custom_nodes`` (nothing to do when it is not there).

    Only the files the shim wrote (and Python's ``__pycache__``) are removed; a folder holding other files
    is left, with them.

    Raises:
        FileNotFoundError: ``comfyui`` is not a ComfyUI folder.
        FileExistsError: a folder of the shim's name exists and was not written by interestyle.
    """
    folder = comfyui_custom_nodes(comfyui) / SHIM_NAME
    files = _check_ours(folder)
    if not folder.exists():
        return InstallReport(folder, False)
    for name in [*files, MARKER]:
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / "__pycache__", ignore_errors=True)
    if not any(folder.iterdir()):
        folder.rmdir()
    return InstallReport(folder, True)
