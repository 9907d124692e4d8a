import ast
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

import interestyle.align as align
from align_setup import Fixed, five_points
from interestyle.align import (
    ENTRY_POINT_GROUP,
    LandmarkProvider,
    available_landmark_providers,
    get_landmark_provider,
    register_landmark_provider,
)
from interestyle.align import landmarks as landmarks_module
from interestyle.errors import MissingExtraError


@pytest.fixture
def registry(monkeypatch):
    """Registrations made by a test stay in that test."""
    monkeypatch.setattr(landmarks_module, "_REGISTERED", {})


def test_a_registered_provider_is_found_by_name(registry):
    register_landmark_provider("fixed", Fixed)
    provider = get_landmark_provider("fixed", faces=[five_points(50, 50)])
    assert isinstance(provider, Fixed) and isinstance(provider, LandmarkProvider)
    assert "fixed" in available_landmark_providers() and "mediapipe" in available_landmark_providers()
    with pytest.raises(ValueError, match="exists already"):
        register_landmark_provider("fixed", Fixed)
    register_landmark_provider("fixed", lambda: Fixed(), overwrite=True)
    assert get_landmark_provider("fixed").faces.shape == (0, 5, 2)


def test_instances_pass_through_and_bad_providers_are_refused(registry):
    instance = Fixed()
    assert get_landmark_provider(instance) is instance
    with pytest.raises(ValueError, match=r"unknown landmark provider 'nope'.*mediapipe"):
        get_landmark_provider("nope")
    with pytest.raises(TypeError, match="not the class Fixed"):
        get_landmark_provider(Fixed)
    with pytest.raises(TypeError, match="int is not accepted"):
        get_landmark_provider(3)
    with pytest.raises(ValueError, match="apply to a provider name"):
        get_landmark_provider(instance, faces=[])
    with pytest.raises(TypeError, match="must be callable"):
        register_landmark_provider("x", 3)
    with pytest.raises(ValueError, match="name"):
        register_landmark_provider(" x", Fixed)
    with pytest.raises(ValueError, match="exists already"):
        register_landmark_provider("mediapipe", Fixed)


def write_plugin(root: Path, module: str, body: str, entry: str) -> None:
    """A tiny installed distribution: a module and a dist-info folder declaring one entry point."""
    (root / f"{module}.py").write_text(body)
    info = root / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry}\n")


def test_entry_point_providers_are_listed_without_import_and_loaded_by_name(tmp_path, monkeypatch, registry):
    body = "import torch\nclass Plugin:\n    def __call__(self, image):\n        return torch.zeros(0, 68, 2)\n"
    write_plugin(tmp_path, "its_landmark_plugin", body, "plugged = its_landmark_plugin:Plugin")
    write_plugin(tmp_path, "its_broken_plugin", "raise RuntimeError('boom')\n", "broken = its_broken_plugin:Nope")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert {"plugged", "broken"} <= set(available_landmark_providers())
    assert "its_landmark_plugin" not in sys.modules and "its_broken_plugin" not in sys.modules
    provider = get_landmark_provider("plugged")
    assert type(provider).__name__ == "Plugin" and provider(torch.zeros(3, 8, 8)).shape == (0, 68, 2)
    with pytest.raises(ValueError, match=r"'broken'.*failed to load: boom"):
        get_landmark_provider("broken")
    sys.modules.pop("its_landmark_plugin", None)


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is not None, reason="mediapipe is installed here")
def test_the_mediapipe_builtin_says_what_to_install_when_missing():
    # when the provider is made, before any photo is read (mediapipe itself is imported only on first use)
    with pytest.raises(MissingExtraError, match=r"^[^\n]*pip install 'interestyle\[mediapipe\]'[^\n]*$") as caught:
        get_landmark_provider("mediapipe")
    assert isinstance(caught.value, ImportError) and caught.value.extra == "mediapipe"


def test_the_align_package_never_imports_the_models_and_mediapipe_only_lazily():
    root = Path(align.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n.split(".")[0] == "models" or ".models" in n for n in names), path.name
        for node in tree.body:  # module level
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n.startswith("mediapipe") for n in names), path.name
