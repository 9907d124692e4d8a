"""The docs page shows the 'write your own provider' example (run by test_examples.py); masks/ stays a leaf."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from conftest import tiny_model

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "custom_mask_provider.py"


def test_docs_page_includes_the_example_and_the_entry_point():
    page = (ROOT / "docs" / "masks.md").read_text()
    assert '--8<-- "examples/custom_mask_provider.py"' in page  # the script itself, not a copy
    assert '[project.entry-points."interestyle.mask_providers"]' in page


def test_docs_python_blocks_run(tmp_path, monkeypatch):
    import re

    from interestyle.masks import BiSeNet, FaceParser

    tiny_model().save_pretrained(tmp_path / "path/to/model-folder")
    torch.manual_seed(0)
    FaceParser(BiSeNet(), input_size=64).save_pretrained(tmp_path / "path/to/face-parser")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(tmp_path / "photo.png")
    Image.fromarray(np.full((48, 48), 255, np.uint8)).save(tmp_path / "mask.png")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "masks.md").read_text(), flags=re.S)
    runnable = [b for b in blocks if "--8<--" not in b]
    assert len(runnable) >= 3
    namespace: dict = {}
    for block in runnable:
        exec(compile(block, "docs/masks.md", "exec"), namespace)
    assert namespace["provider"].hits == 1  # the Cached example: the second photo came from the cache


def test_masks_package_never_imports_the_models():
    for path in (ROOT / "src" / "interestyle" / "masks").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                assert "models" not in module.split("."), f"{path.name} imports {module}"
                assert module not in ("..inversion", "interestyle.inversion"), f"{path.name} imports {module}"
            elif isinstance(node, ast.Import):
                assert not any("interestyle.models" in a.name for a in node.names), path.name
