"""``interestyle comfy install`` into a temp folder laid out as a ComfyUI tree, and the shim it writes,
loaded the way ComfyUI loads a custom-node package."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from interestyle._version import __version__
from interestyle.cli import main
from interestyle.comfy import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
from interestyle.comfy.shim import MARKER, SHIM_NAME, install, shim_files, uninstall, write_shim

tomllib = pytest.importorskip("tomllib")  # Python 3.11+


@pytest.fixture
def comfyui(tmp_path) -> Path:
    """The parts of a ComfyUI checkout the installer looks at."""
    root = tmp_path / "ComfyUI"
    for folder in ("custom_nodes", "comfy", "input", "output"):
        (root / folder).mkdir(parents=True)
    (root / "main.py").write_text("# ComfyUI\n")
    (root / "custom_nodes" / "websocket_image_save.py").write_text("NODE_CLASS_MAPPINGS = {}\n")
    return root


def load_like_comfyui(package: Path):
    """nodes.load_custom_node (0.3.64): the package's __init__.py as a module named after its path."""
    spec = importlib.util.spec_from_file_location(str(package).replace(".", "_x_"), package / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_install_writes_a_package_comfyui_loads_with_our_nodes(comfyui, capsys):
    assert main(["comfy", "install", str(comfyui)]) == 0
    shim = comfyui / "custom_nodes" / SHIM_NAME
    assert f"installed {shim}" in capsys.readouterr().out
    assert sorted(p.name for p in shim.iterdir()) == sorted([*shim_files(), MARKER])
    module = load_like_comfyui(shim)
    assert module.NODE_CLASS_MAPPINGS is NODE_CLASS_MAPPINGS
    assert module.NODE_DISPLAY_NAME_MAPPINGS is NODE_DISPLAY_NAME_MAPPINGS
    assert (comfyui / "custom_nodes" / "websocket_image_save.py").is_file()  # the neighbours are left alone


def test_installing_again_changes_nothing_and_uninstall_removes_only_the_shim(comfyui, capsys):
    install(comfyui)
    shim = comfyui / "custom_nodes" / SHIM_NAME
    before = snapshot(shim)
    assert main(["comfy", "install", str(comfyui)]) == 0
    assert "already installed, up to date" in capsys.readouterr().out
    assert snapshot(shim) == before
    (shim / "__pycache__").mkdir()
    (shim / "__pycache__" / "x.pyc").write_bytes(b"")
    assert main(["comfy", "install", str(comfyui), "--uninstall"]) == 0
    assert f"removed {shim}" in capsys.readouterr().out
    assert sorted(p.name for p in (comfyui / "custom_nodes").iterdir()) == ["websocket_image_save.py"]
    assert main(["comfy", "install", str(comfyui), "--uninstall"]) == 0
    assert "not installed" in capsys.readouterr().out


def test_an_older_shim_is_brought_up_to_date(comfyui):
    shim = comfyui / "custom_nodes" / SHIM_NAME
    install(comfyui)
    (shim / "__init__.py").write_text("# an older shim\n")
    marker = (shim / MARKER).read_text().replace('"README.md"', '"README.md",\n    "old.txt"')
    (shim / MARKER).write_text(marker)
    (shim / "old.txt").write_text("left by an older version")
    assert install(comfyui).changed
    assert not (shim / "old.txt").exists() and (shim / "__init__.py").read_text() == shim_files()["__init__.py"]
    assert not install(comfyui).changed


def test_uninstall_leaves_files_it_did_not_write(comfyui):
    shim = install(comfyui).folder
    (shim / "notes.txt").write_text("mine")
    assert uninstall(comfyui).changed
    assert sorted(p.name for p in shim.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("action", [["install"], ["install", "--uninstall"]])
def test_a_folder_not_written_by_us_is_never_touched(comfyui, capsys, action):
    other = comfyui / "custom_nodes" / SHIM_NAME
    other.mkdir()
    (other / "__init__.py").write_text("# someone else's nodes\n")
    assert main(["comfy", *action[:1], str(comfyui), *action[1:]]) == 2
    err = capsys.readouterr().err
    assert "was not written by interestyle" in err and err.count("\n") == 1
    assert [p.name for p in other.iterdir()] == ["__init__.py"]


def test_a_folder_that_is_not_comfyui_is_refused_with_a_hint(comfyui, tmp_path, capsys):
    assert main(["comfy", "install", str(comfyui / "custom_nodes")]) == 2
    assert f"that is a custom_nodes folder: give {comfyui}" in capsys.readouterr().err
    assert main(["comfy", "install", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not list((comfyui / "custom_nodes").glob(f"{SHIM_NAME}*"))


def test_the_shim_command_writes_the_package_anywhere(tmp_path, capsys):
    folder = tmp_path / "extra" / SHIM_NAME
    assert main(["comfy", "shim", str(folder)]) == 0
    assert f"wrote {folder}" in capsys.readouterr().out
    assert load_like_comfyui(folder).NODE_CLASS_MAPPINGS is NODE_CLASS_MAPPINGS
    assert not write_shim(folder).changed


def test_the_pyproject_holds_what_the_comfy_registry_reads():
    data = tomllib.loads(shim_files()["pyproject.toml"])
    project, comfy = data["project"], data["tool"]["comfy"]
    assert project["name"] == SHIM_NAME and project["version"] == "0.1.0"  # semantic, as the registry takes
    assert project["dependencies"] == [f"interestyle>={__version__}"] and project["description"]
    assert set(comfy) == {"PublisherId", "DisplayName", "Icon", "includes"} and comfy["DisplayName"] == "IntereStyle"
    assert shim_files()["requirements.txt"] == f"interestyle>={__version__}\n"


def test_without_interestyle_the_shim_says_what_to_install(tmp_path):
    folder = write_shim(tmp_path / SHIM_NAME).folder
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('shim', {str(folder / '__init__.py')!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
    )
    # -I -S: no PYTHONPATH and no site-packages, so no interestyle, as in a ComfyUI it was not installed into
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"need the interestyle package in the Python that runs ComfyUI: {sys.executable} -m pip install" in (
        result.stderr
    )
