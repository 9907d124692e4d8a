"""The editor's work without a browser: models, directions, masks, inversion, edits, mixes, files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from app_server import model_folders
from conftest import tiny_model
from interestyle import Direction, DirectionSet, InversionResult, UnknownDirectionError
from interestyle.app import Editor
from interestyle.app.session import mask_from_pil
from interestyle.images import mask_to_pil


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return model_folders(tmp_path_factory.mktemp("session"), directions=True)


@pytest.fixture(scope="module")
def editor():
    return Editor(tiny_model())


def test_without_shipped_directions_the_sliders_are_five_principal_directions(editor):
    assert list(editor.directions) == ["pc0", "pc1", "pc2", "pc3", "pc4"]
    assert list(editor.labels.values()) == ["PCA 1", "PCA 2", "PCA 3", "PCA 4", "PCA 5"]


def test_shipped_directions_beside_the_model_become_the_sliders(folders):
    model, baseline = folders
    editor = Editor.load(model, baseline=baseline)
    assert list(editor.directions) == ["smile"] and editor.labels == {"smile": "smile"}
    assert editor.baseline is not None


def test_a_slider_spans_twice_the_recommended_strength(editor):
    assert editor.slider_range("pc0") == (-5.0, 5.0, 0.1)  # none recommended
    recommended = Editor(tiny_model(), directions=DirectionSet([Direction(torch.randn(32), name="d", strength=0.8)]))
    low, high, step = recommended.slider_range("d")
    assert (low, high) == (-1.6, 1.6) and step == pytest.approx(0.032)
    with pytest.raises(KeyError):
        recommended.slider_range("pc0")


def test_load_without_a_model_names_the_option():
    with pytest.raises(ValueError, match="--model"):
        Editor.load(None)


def test_a_missing_model_folder_is_a_file_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        Editor.load(tmp_path / "nothing-here")


def test_a_baseline_of_another_resolution_is_refused():
    with pytest.raises(ValueError, match="one resolution"):
        Editor(tiny_model(), baseline=tiny_model(resolution=64))


def test_model_must_be_a_model():
    with pytest.raises(TypeError, match="IntereStyleModel"):
        Editor("model")  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_a_bad_sample_number_is_refused(editor, seed):
    with pytest.raises(ValueError, match="sample number"):
        editor.sample(seed)


def test_mask_round_trip_through_a_painted_image(editor):
    mask = editor.mask(editor.sample(0), "aligned-face")
    assert mask.mode == "L" and mask.size == (32, 32)
    painted = mask.convert("RGB")
    back = mask_from_pil(painted)
    assert back.shape == (32, 32) and back.min() >= 0 and back.max() <= 1
    assert np.array_equal(np.asarray(mask_to_pil(torch.from_numpy(back)[None])[0]), np.asarray(mask))


def test_a_mask_lies_over_a_photo_of_any_shape_and_inverts_with_it(editor):
    photo = editor.sample(0).resize((48, 30))
    mask = editor.mask(photo, "aligned-face")
    assert mask.size == (48, 30)
    inv = editor.invert(photo, mask.convert("RGB"))
    assert inv.result.masks is not None and inv.result.masks.shape == (1, 1, 32, 32)


def test_an_unknown_mask_provider_is_named(editor):
    with pytest.raises(Exception, match="no-such-provider"):
        editor.mask(editor.sample(0), "no-such-provider")


def test_invert_measures_the_error_inside_the_mask_only(editor):
    photo = editor.sample(4)
    half = Image.fromarray(np.pad(np.full((32, 16), 255, np.uint8), ((0, 0), (0, 16))))
    seen = []
    inv = editor.invert(photo, half, progress=lambda f, t: seen.append((f, t)))
    r = inv.result
    assert isinstance(r, InversionResult) and inv.baseline is None
    inside = ((r.images.clamp(-1, 1) - r.inputs).square().mean(1)[0, :, :16]).mean()
    assert inv.errors["IntereStyle"] == pytest.approx(float(inside), rel=1e-4)
    assert seen[-1][0] == 1.0 and "IntereStyle" in inv.error_text()


def test_edits_sum_the_sliders_and_unknown_names_are_refused(editor):
    inv = editor.invert(editor.sample(1), None)
    assert editor.edit(inv, {"pc0": 0.0}) is inv.result
    one = editor.edit(inv, {"pc0": 2.0}).latents
    two = editor.edit(inv, {"pc0": 1.0, "pc1": 0.0}).latents
    assert not torch.allclose(one, inv.result.latents)
    assert torch.allclose(one - inv.result.latents, 2 * (two - inv.result.latents), atol=1e-5)
    with pytest.raises(UnknownDirectionError):
        editor.edit(inv, {"smile": 1.0})


def test_mix_takes_only_the_chosen_layers(editor):
    inv = editor.invert(editor.sample(1), None)
    mixed = editor.mix(inv, editor.sample(2), "fine")
    same = (mixed.latents == inv.result.latents).all(-1)[0]
    assert same[0] and not same[-1]
    with pytest.raises(ValueError, match="coarse"):
        editor.mix(inv, editor.sample(2), "everything")


def test_save_writes_the_png_and_the_latents(editor, tmp_path):
    image = editor.sample(0)
    png, weights = editor.save(image, torch.ones(1, 8, 32), tmp_path)
    assert np.array_equal(np.asarray(Image.open(png)), np.asarray(image))
    with safe_open(weights, "pt") as f:
        assert torch.equal(f.get_tensor("latents"), torch.ones(1, 8, 32))


def test_the_editor_says_which_model_it_runs():
    demo = Editor.load()
    assert demo.name == "demo" and "`demo`" in demo.describe() and "knows only synthetic faces" in demo.describe()
    plain = Editor(tiny_model(), name="./my-model")
    assert plain.describe() == "**Model:** `./my-model` (32 px)." and "synthetic" not in plain.describe()
