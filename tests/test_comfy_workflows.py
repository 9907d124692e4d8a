"""The example workflows in examples/comfyui: they pass the checks ComfyUI's server makes before it runs a
workflow, they run on the demo model as the nodes run in ComfyUI, the UI-format files hold the same graphs,
and the input faces are the demo renders they say they are."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import interestyle as its
from comfy_setup import EXAMPLES, WORKFLOWS, fixed_face, load_image, run_workflow, workflow
from interestyle.align import landmarks as landmarks_module
from interestyle.align import register_landmark_provider
from interestyle.comfy import NODE_CLASS_MAPPINGS
from interestyle.comfy.tensors import images_to_comfy
from interestyle.demo import HELD_OUT_SEED
from interestyle.directions import shipped_directions
from interestyle.images import to_pil
from interestyle.synthetic import make_batch

# ComfyUI's own nodes the examples use: their inputs and output types (nodes.py, 0.3.64).
BUILTINS: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "LoadImage": ({"image": "COMBO"}, ("IMAGE", "MASK")),
    "SaveImage": ({"images": "IMAGE", "filename_prefix": "STRING"}, ()),
}
WIDGETS = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}


def declared(class_type: str) -> tuple[dict[str, tuple[str, dict[str, Any], bool]], tuple[str, ...]]:
    """input name -> (type, options, required), and the output types, of a node class."""
    if class_type in BUILTINS:
        inputs, outputs = BUILTINS[class_type]
        return {name: (kind, {}, True) for name, kind in inputs.items()}, outputs
    cls = NODE_CLASS_MAPPINGS[class_type]
    out = {}
    for group, entries in cls.INPUT_TYPES().items():
        for name, (kind, options) in entries.items():
            out[name] = (
                ("COMBO", {"choices": kind, **options}, group == "required")
                if isinstance(kind, list)
                else (
                    kind,
                    options,
                    group == "required",
                )
            )
    return out, cls.RETURN_TYPES


def validation_errors(graph: dict[str, Any]) -> list[str]:
    """What ComfyUI's validate_prompt checks: known classes, required inputs present, no unknown inputs,
    links to existing outputs of the input's type, widget values within their declared range or choices."""
    errors = []
    for node_id, node in graph.items():
        kind = node["class_type"]
        if kind not in BUILTINS and kind not in NODE_CLASS_MAPPINGS:
            errors.append(f"{node_id}: unknown class {kind}")
            continue
        inputs, _ = declared(kind)
        for name, (input_type, options, required) in inputs.items():
            if name not in node["inputs"]:
                if required:
                    errors.append(f"{node_id}.{name}: required input missing")
                continue
            value = node["inputs"][name]
            if isinstance(value, list):
                source = graph.get(value[0])
                outputs = declared(source["class_type"])[1] if source else ()
                if not source or value[1] >= len(outputs):
                    errors.append(f"{node_id}.{name}: link to a missing output {value}")
                elif outputs[value[1]] != input_type:
                    errors.append(f"{node_id}.{name}: {outputs[value[1]]} into {input_type}")
            elif input_type not in WIDGETS:
                errors.append(f"{node_id}.{name}: a {input_type} input needs a link, got {value!r}")
            elif input_type == "COMBO" and "choices" in options and value not in options["choices"]:
                errors.append(f"{node_id}.{name}: {value!r} is not one of {options['choices']}")
            elif input_type in ("INT", "FLOAT") and not options["min"] <= value <= options["max"]:
                errors.append(f"{node_id}.{name}: {value} outside [{options['min']}, {options['max']}]")
        errors += [f"{node_id}.{name}: unknown input" for name in node["inputs"] if name not in inputs]
    return errors


@pytest.mark.parametrize("name", WORKFLOWS)
def test_the_example_workflows_pass_comfyuis_checks(name):
    graph = workflow(name)
    assert not validation_errors(graph)
    used = {node["class_type"] for node in graph.values()}
    assert used - set(BUILTINS) <= set(NODE_CLASS_MAPPINGS)


def test_the_checks_can_fail():
    graph = workflow("interestyle-edit")
    graph["7"]["inputs"]["latents"] = ["1", 0]
    graph["8"]["inputs"]["layers"] = "toes"
    graph["5"]["inputs"]["iterations"] = -1
    del graph["6"]["inputs"]["model"]
    graph["4"]["inputs"]["colour"] = "red"
    errors = validation_errors(graph)
    assert len(errors) == 5, errors


def test_the_examples_together_use_every_node():
    used = {node["class_type"] for name in WORKFLOWS for node in workflow(name).values()}
    assert set(NODE_CLASS_MAPPINGS) <= used


def test_the_edit_workflow_runs_on_the_demo_model_as_the_python_api_does():
    outputs = run_workflow(workflow("interestyle-edit"), EXAMPLES)
    composite, grey, mixed = (outputs[node][0] for node in ("9", "10", "11"))
    for images in (composite, grey, mixed):
        assert images.shape == (1, 64, 64, 3) and images.dtype == torch.float32

    model = its.load_encoder("demo")
    face_a, face_b = EXAMPLES / "face-a.png", EXAMPLES / "face-b.png"
    content = its.invert(model, load_image(face_a)[0].permute(0, 3, 1, 2) * 2 - 1, mask=outputs["4"][0])
    style = its.invert(model, face_b)
    edited = its.edit(model, content, shipped_directions("demo")["grey_hair"], 1.0)
    mix = its.style_mix(model, content, style, layers="fine")
    torch.testing.assert_close(composite, images_to_comfy(content.composite()), atol=1e-5, rtol=0)
    torch.testing.assert_close(grey, images_to_comfy(edited.composite()), atol=1e-5, rtol=0)
    torch.testing.assert_close(mixed, images_to_comfy(mix.composite()), atol=1e-5, rtol=0)


def test_the_refine_workflow_runs_on_the_demo_model_as_the_python_api_does():
    graph = workflow("interestyle-refine")
    graph["5"]["inputs"]["steps"] = 10  # the example's 100 steps cost 7 s; the graph is what is tested
    outputs = run_workflow(graph, EXAMPLES)
    encoder, refined, grey = (outputs[node][0] for node in ("7", "8", "9"))
    model = its.load_encoder("demo")
    face = load_image(EXAMPLES / "face-a.png")[0].permute(0, 3, 1, 2) * 2 - 1
    inverted = its.invert(model, face, mask=outputs["3"][0])
    tuned = its.refine(model, inverted, steps=10)
    edited = its.edit(model, tuned, shipped_directions("demo")["grey_hair"], 1.0)
    torch.testing.assert_close(encoder, images_to_comfy(inverted.composite()), atol=1e-5, rtol=0)
    torch.testing.assert_close(refined, images_to_comfy(tuned.composite()), atol=1e-5, rtol=0)
    torch.testing.assert_close(grey, images_to_comfy(edited.composite()), atol=1e-5, rtol=0)


def test_the_photo_workflow_runs_with_any_landmark_provider(monkeypatch, tmp_path):
    monkeypatch.setattr(landmarks_module, "_REGISTERED", {})
    register_landmark_provider("test-fixed-face", lambda: fixed_face)
    graph = workflow("interestyle-photo")
    graph["3"]["inputs"]["landmarks"] = "test-fixed-face"
    photo = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    outputs = run_workflow(graph, tmp_path)
    (pasted,) = outputs["8"]
    assert pasted.shape == (1, 120, 160, 3)
    changed = (pasted[0] - torch.from_numpy(photo) / 255.0).abs().amax(-1) > 1e-3
    assert changed.any() and not changed[:, :6].any() and not changed[:, -6:].any()


def ui_to_prompt(ui: dict[str, Any]) -> dict[str, Any]:
    """What ComfyUI's page sends for a UI-format workflow (graphToPrompt): per node its widget values in
    declaration order and its links."""
    links = {link[0]: link for link in ui["links"]}
    prompt = {}
    for node in ui["nodes"]:
        inputs, _ = declared(node["type"])
        values = list(node["widgets_values"])
        if node["type"] == "LoadImage":
            values = values[:1]  # the second value is the upload button's
        widget_names = [name for name, (kind, _, _) in inputs.items() if kind in WIDGETS]
        assert len(values) == len(widget_names), node["type"]
        entry = dict(zip(widget_names, values, strict=True))
        for socket in node["inputs"]:
            if socket["link"] is not None:
                _, origin, slot, target, _, kind = links[socket["link"]]
                assert target == node["id"] and socket["type"] == kind
                entry[socket["name"]] = [str(origin), slot]
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": entry}
    return prompt


@pytest.mark.parametrize("name", WORKFLOWS)
def test_the_ui_format_holds_the_same_graph(name):
    ui = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    assert ui["version"] == 0.4 and ui["last_node_id"] == max(n["id"] for n in ui["nodes"])
    api = {k: {"class_type": v["class_type"], "inputs": v["inputs"]} for k, v in workflow(name).items()}
    assert ui_to_prompt(ui) == api
    titles = {str(n["id"]): n.get("title") for n in ui["nodes"] if n.get("title")}
    assert titles == {k: v["_meta"]["title"] for k, v in workflow(name).items() if "_meta" in v}


def test_the_faces_are_the_demo_renders():
    for name, seed, condition in (
        ("face-a.png", HELD_OUT_SEED, "occluded"),
        ("face-b.png", HELD_OUT_SEED + 1, "clean"),
    ):
        expected = np.asarray(to_pil(make_batch(1, size=256, seed=seed, condition=condition).image)[0], dtype=np.int16)
        with Image.open(EXAMPLES / name) as image:
            assert np.abs(np.asarray(image.convert("RGB"), dtype=np.int16) - expected).max() <= 2, name
