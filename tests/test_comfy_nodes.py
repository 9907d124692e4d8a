"""The ComfyUI nodes without ComfyUI: what each declares, what each gives on ComfyUI-convention tensors, the
chains against the Python API on the demo model, the caches, and the one-line errors."""

from __future__ import annotations

import importlib.util
import inspect
import os
import subprocess
import sys
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch

import interestyle as its
from comfy_setup import fixed_face
from interestyle.align import landmarks as landmarks_module
from interestyle.align import register_landmark_provider
from interestyle.comfy import (
    ALIGNMENT,
    LATENTS,
    MODEL,
    NODE_CLASS_MAPPINGS,
    NODE_DISPLAY_NAME_MAPPINGS,
    ComfyModel,
    FaceAlignment,
    NodeInputError,
    clear_caches,
)
from interestyle.comfy import cache as cache_module
from interestyle.comfy.cache import pick_device
from interestyle.comfy.running import node_function
from interestyle.comfy.tensors import images_to_comfy
from interestyle.directions import DirectionSet, shipped_directions
from interestyle.synthetic import make_batch

COMFY_TYPES = {"IMAGE", "MASK", "INT", "FLOAT", "STRING", "BOOLEAN"}
OURS = {MODEL, LATENTS, ALIGNMENT}
NODES = sorted(NODE_CLASS_MAPPINGS.items())
DEMO = 64  # the demo model's resolution


def node(name: str):
    cls = NODE_CLASS_MAPPINGS[name]
    return getattr(cls(), cls.FUNCTION)


def comfy_images(batch: int = 2, height: int = 80, width: int = 72, seed: int = 7) -> torch.Tensor:
    """Synthetic faces as a ComfyUI IMAGE, (B, H, W, 3) float32 in [0, 1], of a size the model does not take."""
    square = make_batch(batch, size=max(height, width), seed=seed).image
    return ((square[..., :height, :width] + 1) / 2).permute(0, 2, 3, 1).contiguous()


def check_image(out: object, shape: tuple[int, ...]) -> None:
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.device.type == "cpu"
    assert tuple(out.shape) == shape and not out.requires_grad
    assert float(out.min()) >= 0 and float(out.max()) <= 1


@pytest.fixture
def fresh_caches(monkeypatch):
    """Caches of the test's own, so that counting loads sees no model another test loaded."""
    monkeypatch.setattr(cache_module, "_MODELS", OrderedDict())
    monkeypatch.setattr(cache_module, "_PROVIDERS", OrderedDict())


@pytest.fixture(scope="module")
def demo() -> ComfyModel:
    return node("InterestyleLoadModel")("demo")[0]


@pytest.fixture
def fixed_landmarks(monkeypatch):
    monkeypatch.setattr(landmarks_module, "_REGISTERED", {})
    register_landmark_provider("test-fixed-face", lambda: fixed_face)
    return "test-fixed-face"


# -- what ComfyUI reads ----------------------------------------------------------------------------------
def _check_input(name: str, entry: tuple) -> None:
    assert isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], dict), (name, entry)
    kind, options = entry
    if isinstance(kind, list):  # a combo
        assert kind and all(isinstance(k, str) for k in kind) and options["default"] in kind, (name, entry)
        return
    assert isinstance(kind, str) and kind.isupper() and kind in COMFY_TYPES | OURS, (name, kind)
    if kind in ("INT", "FLOAT"):
        number = int if kind == "INT" else float
        assert all(type(options[k]) is number for k in ("default", "min", "max")), (name, options)
        assert options["min"] <= options["default"] <= options["max"], (name, options)
    if kind == "STRING":
        assert isinstance(options["default"], str), name


@pytest.mark.parametrize(("name", "cls"), NODES, ids=[n for n, _ in NODES])
def test_every_node_declares_what_comfyui_reads(name, cls):
    assert name == cls.__name__ and name.startswith("Interestyle")  # never a built-in's name
    assert NODE_DISPLAY_NAME_MAPPINGS[name].startswith("IntereStyle ")
    assert cls.CATEGORY == "IntereStyle" and cls.DESCRIPTION and cls.__doc__
    spec = cls.INPUT_TYPES()
    assert set(spec) <= {"required", "optional"} and spec["required"]
    declared = {}
    for group, inputs in spec.items():
        for input_name, entry in inputs.items():
            assert input_name.isidentifier() and input_name not in declared
            _check_input(f"{name}.{input_name}", entry)
            declared[input_name] = (group, entry)
    outputs = cls.RETURN_TYPES
    assert isinstance(outputs, tuple) and outputs and all(isinstance(t, str) and t.isupper() for t in outputs)
    assert len(cls.RETURN_NAMES) == len(outputs) == len(cls.OUTPUT_TOOLTIPS) == len(set(cls.RETURN_NAMES))
    # ComfyUI calls FUNCTION with every input as a keyword; those left unconnected are simply absent.
    parameters = list(inspect.signature(getattr(cls, cls.FUNCTION)).parameters.values())[1:]
    assert [p.name for p in parameters] == list(declared)
    for p in parameters:
        group, (kind, options) = declared[p.name]
        if group == "required":
            assert p.default is inspect.Parameter.empty or p.default == options.get("default"), p.name
        elif isinstance(kind, list) or kind in COMFY_TYPES - {"IMAGE", "MASK"}:
            assert p.default == options["default"], p.name  # an absent widget acts as its default
        else:
            assert p.default is None, p.name


def test_every_custom_type_is_made_by_one_node_and_taken_by_another():
    made = {t for _, cls in NODES for t in cls.RETURN_TYPES}
    entries = [entry for _, cls in NODES for inputs in cls.INPUT_TYPES().values() for entry in inputs.values()]
    taken = {kind for kind, _ in entries if isinstance(kind, str)}
    assert made - COMFY_TYPES == taken - COMFY_TYPES == OURS


def test_importing_the_nodes_imports_nothing_of_comfyui():
    code = (
        "import sys, interestyle.comfy as c\n"
        "assert len(c.NODE_CLASS_MAPPINGS) == 8\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('comfy', 'comfy_api', 'comfy_execution', 'folder_paths', 'nodes', 'server', 'execution')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_choices_are_the_registered_providers(fixed_landmarks):
    mask_names = NODE_CLASS_MAPPINGS["InterestyleMask"].INPUT_TYPES()["required"]["provider"]
    assert mask_names[0] == its.available_mask_providers() and mask_names[1]["default"] == "aligned-face"
    landmarks = NODE_CLASS_MAPPINGS["InterestyleAlign"].INPUT_TYPES()["required"]["landmarks"]
    assert "test-fixed-face" in landmarks[0] and landmarks[1]["default"] == "mediapipe"


# -- each node on ComfyUI's tensors ----------------------------------------------------------------------
def test_load_mask_invert_edit_and_mix_give_comfyui_tensors(demo):
    assert isinstance(demo, ComfyModel) and demo.model.resolution == DEMO
    images = comfy_images(2, 80, 72)
    (mask,) = node("InterestyleMask")(images, "aligned-face")
    assert mask.dtype == torch.float32 and tuple(mask.shape) == (2, 80, 72) and not mask.requires_grad
    assert float(mask.min()) >= 0 and float(mask.max()) <= 1 and float(mask.mean()) > 0.1
    reconstruction, composite, latents = node("InterestyleInvert")(demo, images, mask)
    for out in (reconstruction, composite):
        check_image(out, (2, DEMO, DEMO, 3))
    assert isinstance(latents, its.InversionResult) and not latents.latents.requires_grad
    assert not torch.equal(reconstruction, composite)
    image, edited, composite = node("InterestyleEdit")(demo, latents, "grey_hair", 3.0)
    check_image(image, (2, DEMO, DEMO, 3))
    check_image(composite, (2, DEMO, DEMO, 3))
    assert isinstance(edited, its.EditResult) and not torch.equal(edited.latents, latents.latents)
    mixed, mix_latents, mix_composite = node("InterestyleStyleMix")(demo, latents, edited, "fine")
    check_image(mixed, (2, DEMO, DEMO, 3))
    check_image(mix_composite, (2, DEMO, DEMO, 3))
    assert len(mix_latents) == 2


def test_refine_tunes_inside_the_mask_and_edit_uses_the_tuned_generator(demo):
    faces = images_to_comfy(make_batch(1, size=DEMO, seed=11, condition="occluded").image)
    (mask,) = node("InterestyleMask")(faces, "aligned-face")
    encoder, _, latents = node("InterestyleInvert")(demo, faces, mask)
    refined, composite, tuned = node("InterestyleRefine")(demo, latents, 20)
    check_image(refined, (1, DEMO, DEMO, 3))
    check_image(composite, (1, DEMO, DEMO, 3))
    assert isinstance(tuned, its.RefinedResult) and tuned.settings.masked and tuned.settings.steps == 20
    inside = mask[..., None]
    before = ((encoder - faces) ** 2 * inside).sum()
    after = ((refined - faces) ** 2 * inside).sum()
    assert after < 0.8 * before
    expected = its.refine(demo.model, latents, steps=20)
    torch.testing.assert_close(refined, images_to_comfy(expected.images), atol=1e-5, rtol=0)
    edited, _, _ = node("InterestyleEdit")(demo, tuned, "grey_hair", 3.0)
    by_api = its.edit(demo.model, expected, shipped_directions("demo")["grey_hair"], 3.0)
    torch.testing.assert_close(edited, images_to_comfy(by_api.images), atol=1e-5, rtol=0)
    plain = node("InterestyleRefine")(demo, latents, 1, masked=False)[2]
    assert not plain.settings.masked


def test_without_a_mask_the_composite_is_the_reconstruction(demo):
    reconstruction, composite, latents = node("InterestyleInvert")(demo, comfy_images(1))
    assert latents.masks is None and torch.equal(reconstruction, composite)
    image, _, composite = node("InterestyleEdit")(demo, latents, "grey_hair", 1.0)
    assert torch.equal(image, composite)


def test_one_mask_serves_a_batch_and_a_batch_of_one_style_is_shared(demo):
    images = comfy_images(3, 64, 64)
    (mask,) = node("InterestyleMask")(images[:1], "aligned-face")
    _, _, content = node("InterestyleInvert")(demo, images, mask)
    assert content.masks.shape == (3, 1, DEMO, DEMO)
    _, _, style = node("InterestyleInvert")(demo, images[:1])
    mixed, _, _ = node("InterestyleStyleMix")(demo, content, style, "coarse")
    assert mixed.shape == (3, DEMO, DEMO, 3)


def test_iterations_zero_is_the_models_own(demo):
    images = comfy_images(1)
    _, _, default = node("InterestyleInvert")(demo, images)
    _, _, one = node("InterestyleInvert")(demo, images, iterations=1)
    assert default.step_latents.shape[0] == demo.model.config.iterations and one.step_latents.shape[0] == 1


def test_the_uninterest_filter_is_invert_with_it_and_needs_the_mask(demo):
    images = comfy_images(2, 64, 64)
    (mask,) = node("InterestyleMask")(images, "aligned-face")
    _, _, filtered = node("InterestyleInvert")(demo, images, mask, uninterest_filter=True)
    _, _, plain = node("InterestyleInvert")(demo, images, mask)
    expected = its.invert(demo.model, filtered.inputs, mask=filtered.masks, uninterest_filter=True).latents
    torch.testing.assert_close(filtered.latents, expected, atol=1e-5, rtol=0)
    assert not torch.allclose(filtered.latents, plain.latents, atol=1e-4)
    with pytest.raises(NodeInputError, match="give a mask"):
        node("InterestyleInvert")(demo, images, uninterest_filter=True)


def test_align_and_paste_back_give_the_photos_back_with_the_faces_replaced(demo, fixed_landmarks):
    photos = comfy_images(2, 96, 120, seed=3)
    faces, alignment = node("InterestyleAlign")(photos, fixed_landmarks, DEMO)
    check_image(faces, (2, DEMO, DEMO, 3))
    assert isinstance(alignment, FaceAlignment) and alignment.face_count == 2 and alignment.size == DEMO
    (pasted,) = node("InterestylePasteBack")(alignment, faces * 0.5)
    check_image(pasted, (2, 96, 120, 3))
    changed = (pasted - photos).abs().amax(-1) > 1e-3
    assert changed[:, 30:70, 50:70].any() and not changed[:, :, :4].any()  # the face, not the borders


def test_paste_back_takes_whole_groups_of_faces_with_their_masks(demo, fixed_landmarks):
    photos = comfy_images(1, 96, 96)
    faces, alignment = node("InterestyleAlign")(photos, fixed_landmarks, DEMO)
    (mask,) = node("InterestyleMask")(faces, "aligned-face")
    (two,) = node("InterestylePasteBack")(alignment, torch.cat([faces * 0.2, faces * 0.8]), mask, 0.1)
    assert two.shape == (2, 96, 96, 3) and not torch.equal(two[0], two[1])


# -- the chains equal the Python API ---------------------------------------------------------------------
def test_load_mask_invert_edit_is_invert_then_edit(demo):
    images = comfy_images(2, 80, 72)
    (mask,) = node("InterestyleMask")(images, "aligned-face")
    reconstruction, composite, latents = node("InterestyleInvert")(demo, images, mask)
    image, _, edit_composite = node("InterestyleEdit")(demo, latents, "grey_hair", 3.0, "coarse")

    model = its.load_encoder("demo")
    photos = torch.from_numpy(images.numpy()).permute(0, 3, 1, 2) * 2 - 1
    masks = its.masks.run_provider(its.get_mask_provider("aligned-face"), photos)
    inversion = its.invert(model, photos, mask=masks)
    direction = shipped_directions("demo")["grey_hair"]
    edited = its.edit(model, inversion, direction, 3.0, layers="coarse")
    torch.testing.assert_close(latents.latents, inversion.latents, atol=1e-5, rtol=0)
    torch.testing.assert_close(reconstruction, images_to_comfy(inversion.images), atol=1e-5, rtol=0)
    torch.testing.assert_close(composite, images_to_comfy(inversion.composite()), atol=1e-5, rtol=0)
    torch.testing.assert_close(image, images_to_comfy(edited.images), atol=1e-5, rtol=0)
    torch.testing.assert_close(edit_composite, images_to_comfy(edited.composite()), atol=1e-5, rtol=0)


def test_align_mask_invert_edit_paste_back_is_invert_and_edit_with_align(demo, fixed_landmarks):
    photos = comfy_images(2, 96, 120, seed=3)
    faces, alignment = node("InterestyleAlign")(photos, fixed_landmarks, DEMO)
    (mask,) = node("InterestyleMask")(faces, "aligned-face")
    _, _, latents = node("InterestyleInvert")(demo, faces, mask)
    image, _, _ = node("InterestyleEdit")(demo, latents, "blond_hair", 2.0)
    (pasted,) = node("InterestylePasteBack")(alignment, image, mask)

    model = its.load_encoder("demo")
    arrays = [np.ascontiguousarray(p) for p in photos.numpy()]
    inversion = its.invert(model, arrays, mask="aligned-face", align=True, landmarks=fixed_face)
    edited = its.edit(model, inversion, shipped_directions("demo")["blond_hair"], 2.0, align=True)
    torch.testing.assert_close(latents.latents, inversion.latents, atol=1e-5, rtol=0)
    torch.testing.assert_close(pasted, images_to_comfy(torch.cat(edited.photos)), atol=1e-4, rtol=0)


# -- caches ----------------------------------------------------------------------------------------------
def test_the_same_model_is_loaded_once(monkeypatch, fresh_caches):
    calls = []
    real = cache_module.load_encoder
    monkeypatch.setattr(cache_module, "load_encoder", lambda *a, **k: calls.append((a, k)) or real(*a, **k))
    load = node("InterestyleLoadModel")
    first, second = load("demo")[0], load(" demo ", "auto", "auto")[0]
    assert first is second and len(calls) == 1
    assert load("demo", "cpu", "float16")[0].model.dtype == torch.float16 and len(calls) == 2
    clear_caches()
    assert load("demo")[0] is not first and len(calls) == 3


def test_a_model_folder_written_again_is_loaded_again(tmp_path, fresh_caches):
    folder = tmp_path / "model"
    its.load_encoder("demo").save_pretrained(folder)
    cls = NODE_CLASS_MAPPINGS["InterestyleLoadModel"]
    first, stamp = node("InterestyleLoadModel")(str(folder))[0], cls.IS_CHANGED(str(folder))
    assert node("InterestyleLoadModel")(str(folder))[0] is first and cls.IS_CHANGED(str(folder)) == stamp
    weights = folder / "model.safetensors"
    info = weights.stat()
    os.utime(weights, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))
    assert cls.IS_CHANGED(str(folder)) != stamp and node("InterestyleLoadModel")(str(folder))[0] is not first


def test_the_cache_keeps_the_most_recently_used(monkeypatch, fresh_caches):
    monkeypatch.setattr(cache_module, "CACHE_SIZE", 2)
    made = []
    monkeypatch.setattr(cache_module, "get_mask_provider", lambda name, **o: made.append(o) or (lambda x: x))
    for softness in (0.01, 0.02, 0.01, 0.03, 0.02):
        cache_module.cached_mask_provider("aligned-face", f'{{"softness": {softness}}}')
    assert [o["softness"] for o in made] == [0.01, 0.02, 0.03, 0.02]  # 0.01 was used again before 0.03 came


def test_auto_is_comfyuis_device_when_comfyui_runs(monkeypatch):
    assert pick_device("auto").type in ("cpu", "cuda") and pick_device("cpu") == torch.device("cpu")
    fake = types.SimpleNamespace(get_torch_device=lambda: torch.device("meta"))
    monkeypatch.setitem(sys.modules, "comfy.model_management", fake)
    assert pick_device("auto") == torch.device("meta")


def test_node_functions_run_without_gradients_and_pass_bugs_through():
    seen = []

    class Probe:
        @node_function
        def run(self, fail: Exception | None = None):
            seen.append(torch.is_grad_enabled())
            if fail is not None:
                raise fail
            return ()

    with torch.enable_grad():
        Probe().run()
    assert seen == [False]
    with pytest.raises(NodeInputError, match=r"^line one line two$") as caught:
        Probe().run(ValueError("line one\n  line two"))
    assert isinstance(caught.value.__cause__, ValueError)
    with pytest.raises(RuntimeError, match="a bug"):
        Probe().run(RuntimeError("a bug"))


# -- bad inputs: one line, naming the problem ------------------------------------------------------------
def _several_directions(tmp_path):
    folder = tmp_path / "directions"
    DirectionSet({"a": torch.ones(128), "b": -torch.ones(128)}).save_pretrained(folder)
    return str(folder)


BAD = [
    ("InterestyleLoadModel", lambda d, t: ("",), "model '' is empty"),
    ("InterestyleLoadModel", lambda d, t: (str(t / "nowhere"),), "nowhere"),
    ("InterestyleLoadModel", lambda d, t: ("demo", "tpu"), "device 'tpu' is not one of auto, cpu, cuda, mps"),
    ("InterestyleLoadModel", lambda d, t: ("demo", "auto", "int8"), "dtype 'int8' is not one of"),
    ("InterestyleMask", lambda d, t: (comfy_images(1), "nope"), "unknown mask provider 'nope'"),
    ("InterestyleMask", lambda d, t: (comfy_images(1), "aligned-face", "{bad"), "are not JSON"),
    ("InterestyleMask", lambda d, t: (comfy_images(1), "aligned-face", "[1]"), "are not a JSON object"),
    ("InterestyleMask", lambda d, t: (comfy_images(1), "aligned-face", '{"weights": "x"}'), "does not accept options"),
    ("InterestyleInvert", lambda d, t: ("demo", comfy_images(1)), "model must come from an InterestyleLoadModel node"),
    ("InterestyleInvert", lambda d, t: (d, comfy_images(1).permute(0, 3, 1, 2)), "a ComfyUI IMAGE is (B, H, W, 3)"),
    ("InterestyleInvert", lambda d, t: (d, comfy_images(1) * 2), "outside the accepted [0, 1]"),
    ("InterestyleInvert", lambda d, t: (d, comfy_images(1).numpy()), "must be a ComfyUI IMAGE"),
    ("InterestyleInvert", lambda d, t: (d, comfy_images(1), torch.zeros(1, 64, 64)), "zero everywhere"),
    ("InterestyleInvert", lambda d, t: (d, comfy_images(1, 80, 40), torch.ones(1, 64, 64)), "aspect ratio"),
    ("InterestyleInvert", lambda d, t: (d, comfy_images(2), torch.ones(3, 80, 72)), "holds 3 masks for 2 images"),
    ("InterestyleInvert", lambda d, t: (d, comfy_images(1), torch.ones(1, 1, 80, 72)), "a ComfyUI MASK is (B, H, W)"),
    ("InterestyleEdit", lambda d, t: (d, _inverted(d), "age", 1.0), "unknown direction 'age'; known directions:"),
    ("InterestyleEdit", lambda d, t: (d, _inverted(d), " ", 1.0), "direction is empty; give one of smile, grey_hair"),
    ("InterestyleEdit", lambda d, t: (d, _inverted(d), _several_directions(t), 1.0), "holds 2 directions (a, b)"),
    ("InterestyleEdit", lambda d, t: (d, _inverted(d), "grey_hair", float("nan")), "strength must be finite"),
    ("InterestyleEdit", lambda d, t: (d, _inverted(d), "grey_hair", 1.0, "huge"), "layers='huge' is not understood"),
    ("InterestyleEdit", lambda d, t: (d, comfy_images(1), "grey_hair", 1.0), "latents must come from"),
    ("InterestyleStyleMix", lambda d, t: (d, _inverted(d, 2), _inverted(d, 3), "fine"), "do not broadcast"),
    ("InterestyleRefine", lambda d, t: (d, comfy_images(1), 5), "latents must come from"),
    ("InterestyleRefine", lambda d, t: (d, _edited(d), 5), "got the output of an edit or mix (EditResult)"),
    ("InterestyleRefine", lambda d, t: (d, _inverted(d), 0), "steps"),
    ("InterestyleRefine", lambda d, t: (d, _inverted(d), 5, float("nan")), "lr"),
    ("InterestyleAlign", lambda d, t: (comfy_images(1), "no-such-detector"), "unknown landmark provider"),
    ("InterestylePasteBack", lambda d, t: ("faces", comfy_images(1)), "alignment must come from an InterestyleAlign"),
]


_INVERTED: dict[tuple[int, int], object] = {}


def _edited(demo: ComfyModel):
    return node("InterestyleEdit")(demo, _inverted(demo), "grey_hair", 1.0)[1]


def _inverted(demo: ComfyModel, batch: int = 1):
    key = (id(demo), batch)
    if key not in _INVERTED:
        _INVERTED[key] = node("InterestyleInvert")(demo, comfy_images(batch), iterations=1)[2]
    return _INVERTED[key]


@pytest.mark.parametrize(("name", "arguments", "message"), BAD, ids=[f"{n}-{m[:24]}" for n, _, m in BAD])
def test_a_bad_input_is_one_line_naming_it(demo, tmp_path, name, arguments, message):
    with pytest.raises(NodeInputError) as caught:
        node(name)(*arguments(demo, tmp_path))
    text = str(caught.value)
    assert message in text and "\n" not in text, text
    assert caught.value.__cause__ is not None


def test_no_face_and_a_wrong_number_of_faces_are_one_line(demo, fixed_landmarks, monkeypatch):
    register_landmark_provider("test-no-face", lambda: lambda image: torch.zeros(0, 5, 2))
    with pytest.raises(NodeInputError, match="no face found") as caught, pytest.warns(UserWarning):
        node("InterestyleAlign")(comfy_images(1), "test-no-face", DEMO)
    assert "\n" not in str(caught.value)
    faces, alignment = node("InterestyleAlign")(comfy_images(2), fixed_landmarks, DEMO)
    with pytest.raises(NodeInputError, match=r"faces holds 3 image\(s\) for the 2 face\(s\)"):
        node("InterestylePasteBack")(alignment, torch.cat([faces, faces[:1]]))


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is not None, reason="mediapipe is installed here")
def test_mediapipe_when_it_is_missing_says_what_to_install():
    with pytest.raises(NodeInputError, match="pip install") as caught:
        node("InterestyleAlign")(comfy_images(1), "mediapipe", DEMO)
    assert "\n" not in str(caught.value)
