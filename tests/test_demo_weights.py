"""The embedded demo models: they load, reproduce their stored reference inversion, and drive ``interestyle demo``."""

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import interestyle as its
from interestyle.demo import COLUMNS
from interestyle.directions import DirectionSet
from interestyle.editing import layer_groups
from interestyle.locate import EMBEDDED_MODELS
from interestyle.synthetic.faces_v2 import EDIT_ATTRIBUTES, attribute_group

REFERENCE = Path(__file__).parent / "data" / "demo-reference.safetensors"


def test_shipped_weights_fit_the_size_budget():
    files = [p for folder in EMBEDDED_MODELS.values() for p in folder.iterdir()]
    assert {p.name for p in files} >= {"config.json", "model.safetensors", "directions.safetensors"}
    assert sum(p.stat().st_size for p in files) <= 25 * 2**20


def test_default_model_is_the_demo_model_in_float32():
    model = its.load_encoder()
    assert model.config.method == "interestyle" and model.resolution == 64
    assert all(p.dtype == torch.float32 for p in model.parameters())
    baseline = its.load_encoder("demo-baseline")
    assert baseline.config.method != "interestyle"
    assert baseline.config.encoder == model.config.encoder and baseline.config.iterations == model.config.iterations
    # same frozen generator under both encoders
    torch.testing.assert_close(baseline.decoder.state_dict(), model.decoder.state_dict(), rtol=0, atol=0)


def test_shipped_weights_reproduce_the_reference_inversion():
    ref = load_file(REFERENCE)
    result = its.invert(its.load_encoder(), ref["image"], mask=ref["mask"], progress=False)
    assert (result.latents - ref["latents"]).abs().max() < 1e-4
    assert (result.images - ref["images"]).abs().max() < 1e-4


def test_shipped_directions_are_the_v2_edits_with_calibrated_strengths_in_attribute_ranges():
    directions = DirectionSet.from_pretrained("demo")
    assert list(directions) == list(EDIT_ATTRIBUTES)
    groups = layer_groups(its.load_encoder().n_latent)
    for name, direction in directions.items():
        assert direction.strength is not None and 0.5 <= direction.strength <= 1.5  # ranges of the attribute
        assert f"moves it across its whole range (W distance {direction.unit:.2f})" in direction.description
        assert "calibrated: acts on layers" in direction.description
        acting = set(direction.vector.norm(dim=1).nonzero().flatten().tolist())
        assert acting and acting <= set(groups[attribute_group(EDIT_ATTRIBUTES[name][0])])


def test_demo_command_on_the_embedded_models(tmp_path):
    out = tmp_path / "grid.png"
    proc = subprocess.run(
        [sys.executable, "-m", "interestyle", "demo", "--out", str(out)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "baseline" in proc.stdout and "IntereStyle" in proc.stdout and "leak MSE" in proc.stdout
    grid = Image.open(out)
    grid.verify()
    cell, rows = 128, 4  # the defaults: four faces, 128 px cells, 2 px gaps under a 16 px label strip
    assert Image.open(out).size == (2 + len(COLUMNS) * (cell + 2), 16 + 2 + rows * (cell + 2))


def test_demo_command_rejects_an_unknown_edit(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "interestyle", "demo", "--edit", "moustache", "--out", str(tmp_path / "x.png")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert "'moustache'" in proc.stderr and "grey_hair" in proc.stderr


@pytest.mark.parametrize("name", ["demo", "demo-baseline"])
def test_embedded_models_are_loadable_by_folder_too(name):
    model = its.IntereStyleModel.from_pretrained(EMBEDDED_MODELS[name])
    assert next(model.parameters()).dtype == torch.float16  # stored small; load_encoder upcasts


def test_the_wheel_carries_every_weights_file():
    root = Path(__file__).resolve().parents[1]
    line = re.search(r"^interestyle = (\[.*\])$", (root / "pyproject.toml").read_text(), flags=re.M)
    assert line is not None, "no [tool.setuptools.package-data] line for interestyle in pyproject.toml"
    patterns = json.loads(line.group(1))
    package = root / "src" / "interestyle"
    for path in (package / "weights").rglob("*"):
        if path.is_file():
            name = path.relative_to(package).as_posix()
            assert any(fnmatch.fnmatch(name, p) for p in patterns), f"{name} is not package data"
