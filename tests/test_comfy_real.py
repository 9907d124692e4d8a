"""The example workflows in a real ComfyUI, through its HTTP API on 127.0.0.1.

Skipped unless ``INTERESTYLE_COMFYUI`` names a ComfyUI checkout (CI has none: it cannot reach GitHub).
``INTERESTYLE_COMFYUI_PYTHON`` is the Python with ComfyUI's requirements and this interestyle installed
(default: the one running the tests). The checkout is left untouched: ComfyUI runs with a
``--base-directory`` of the test's own, into which ``interestyle.comfy.shim.install`` writes the shim, as
``interestyle comfy install`` would. Run with ``-s`` to see the timings.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from comfy_setup import EXAMPLES, TEST_LANDMARKS, load_image, make_photo, run_workflow, workflow
from interestyle.comfy import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
from interestyle.comfy.shim import SHIM_NAME, install

COMFYUI = os.environ.get("INTERESTYLE_COMFYUI")
CHROMIUM = os.environ.get("INTERESTYLE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = os.environ.get("INTERESTYLE_COMFYUI_SCREENSHOT")  # where to save a picture of the graph, if set
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PYTHON = os.environ.get("INTERESTYLE_COMFYUI_PYTHON", sys.executable)
pytestmark = pytest.mark.skipif(
    not COMFYUI, reason="set INTERESTYLE_COMFYUI to a ComfyUI checkout (and INTERESTYLE_COMFYUI_PYTHON)"
)
STARTUP_S, RUN_S = 300, 300

# A custom node of the test's own: registers a landmark provider that finds one face in any photo, since
# the demo's synthetic faces are no photos for mediapipe.
LANDMARKS_NODE = f"""
import torch
from interestyle.align import register_landmark_provider

def fixed_face(image):
    h, w = image.shape[-2:]
    cx, d = 0.5 * w, 0.14 * min(h, w)
    eyes, mouth = 0.42 * h, 0.42 * h + 1.1 * d
    return torch.tensor(
        [[[cx - d, eyes], [cx + d, eyes], [cx, eyes + 0.6 * d], [cx - 0.7 * d, mouth], [cx + 0.7 * d, mouth]]]
    )

register_landmark_provider({TEST_LANDMARKS!r}, lambda: fixed_face, overwrite=True)
NODE_CLASS_MAPPINGS = {{}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, base: Path, log: Path, startup_s: float) -> None:
        self.url, self.base, self.log, self.startup_s = url, base, log, startup_s

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.loads(response.read())

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def run(self, graph: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """Queue ``graph`` and wait for its history entry; returns it and the seconds it took."""
        start = time.perf_counter()
        status, answer = self.post("/prompt", {"prompt": graph, "client_id": "interestyle-test"})
        assert status == 200, answer
        prompt_id = answer["prompt_id"]
        while time.perf_counter() - start < RUN_S:
            history = self.get(f"/history/{prompt_id}")
            if prompt_id in history and history[prompt_id]["status"].get("completed") is not None:
                return history[prompt_id], time.perf_counter() - start
            time.sleep(0.2)
        raise AssertionError(f"{prompt_id} did not finish in {RUN_S} s; see {self.log}")

    def saved(self, entry: dict[str, Any], node: str) -> list[Image.Image]:
        images = []
        for item in entry["outputs"][node]["images"]:
            with Image.open(self.base / "output" / item["subfolder"] / item["filename"]) as img:
                images.append(img.convert("RGB"))
        return images


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("comfyui-base")
    for folder in ("custom_nodes", "input", "output"):
        (base / folder).mkdir()
    install(base)
    (base / "custom_nodes" / "interestyle_test_landmarks.py").write_text(LANDMARKS_NODE, encoding="utf-8")
    for name in ("face-a.png", "face-b.png"):
        shutil.copy(EXAMPLES / name, base / "input" / name)
    make_photo(EXAMPLES / "face-a.png").save(base / "input" / "photo.png")
    port = _free_port()
    log = base / "comfyui.log"
    command = [PYTHON, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port), "--base-directory", str(base)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with log.open("w") as out:
        process = subprocess.Popen([*command, "--disable-auto-launch"], cwd=COMFYUI, stdout=out, stderr=out, env=env)
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"ComfyUI exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(url + "/system_stats", timeout=2).close()
                break
            except OSError:
                if time.perf_counter() - start > STARTUP_S:
                    raise AssertionError(
                        f"ComfyUI did not answer in {STARTUP_S} s:\n{log.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.5)
        started = Server(url, base, log, time.perf_counter() - start)
        print(f"\nComfyUI {started.get('/system_stats')['system']['comfyui_version']} up in {started.startup_s:.1f} s")
        yield started
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_comfyui_loads_the_shim_and_lists_every_node_as_declared(server):
    lines = server.log.read_text().splitlines()
    assert not [line for line in lines if SHIM_NAME in line and "IMPORT FAILED" in line], lines
    assert not [line for line in lines if "Unable to parse pyproject.toml" in line], lines
    info = server.get("/object_info")
    for name, cls in NODE_CLASS_MAPPINGS.items():
        entry = info[name]
        assert entry["python_module"] == f"custom_nodes.{SHIM_NAME}"
        assert entry["display_name"] == NODE_DISPLAY_NAME_MAPPINGS[name]
        assert entry["category"] == cls.CATEGORY
        assert tuple(entry["output"]) == cls.RETURN_TYPES and tuple(entry["output_name"]) == cls.RETURN_NAMES
        declared = cls.INPUT_TYPES()
        for group in ("required", "optional"):
            assert list(entry["input"].get(group, {})) == list(declared.get(group, {})), (name, group)
    assert TEST_LANDMARKS in info["InterestyleAlign"]["input"]["required"]["landmarks"][0]


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_the_edit_workflow_gives_what_the_nodes_give_in_process(server):
    graph = workflow("interestyle-edit")
    entry, seconds = server.run(graph)
    assert entry["status"]["status_str"] == "success", entry["status"]
    _, warm = server.run({**graph, "7": {**graph["7"], "inputs": {**graph["7"]["inputs"], "strength": 2.0}}})
    print(f"edit workflow: {seconds:.2f} s the first time (model load included), {warm:.2f} s after a strength change")
    expected = run_workflow(graph, EXAMPLES)
    for node in ("9", "10", "11"):
        (saved,) = server.saved(entry, node)
        assert saved.size == (64, 64)
        mine = (expected[node][0][0].numpy() * 255).round()
        assert np.abs(_pixels(saved) - mine).max() <= 1, node  # PNG rounding


def test_the_refine_workflow_gives_what_the_nodes_give_in_process(server):
    graph = workflow("interestyle-refine")
    graph["5"]["inputs"]["steps"] = 10  # the example's 100 cost about 7 s of one free core, far more on a loaded one
    entry, seconds = server.run(graph)
    assert entry["status"]["status_str"] == "success", entry["status"]
    print(f"refine workflow (invert, 10 refine steps, edit): {seconds:.2f} s")
    expected = run_workflow(graph, EXAMPLES)
    for node in ("7", "8", "9"):
        (saved,) = server.saved(entry, node)
        mine = (expected[node][0][0].numpy() * 255).round()
        assert np.abs(_pixels(saved) - mine).max() <= 1, node  # PNG rounding


def test_the_photo_workflow_pastes_the_edited_face_back(server):
    graph = workflow("interestyle-photo")
    graph["3"]["inputs"]["landmarks"] = TEST_LANDMARKS
    entry, seconds = server.run(graph)
    assert entry["status"]["status_str"] == "success", entry["status"]
    print(f"photo workflow (align, mask, invert, edit, paste back): {seconds:.2f} s")
    (saved,) = server.saved(entry, "8")
    photo, _ = load_image(server.base / "input" / "photo.png")
    original = (photo[0].numpy() * 255).round()
    assert saved.size == (photo.shape[2], photo.shape[1])
    diff = np.abs(_pixels(saved) - original).max(-1)
    assert diff[:, :8].max() <= 1 and diff[:, -8:].max() <= 1  # the frame away from the face is untouched
    assert diff.max() > 10  # the face changed


def test_a_wire_of_the_wrong_type_is_refused_before_anything_runs(server):
    graph = workflow("interestyle-edit")
    graph["7"]["inputs"]["latents"] = ["1", 0]  # an IMAGE into INTERESTYLE_LATENTS

    def mismatch(answer: dict[str, Any]) -> bool:
        errors = answer["node_errors"]["7"]["errors"]
        return any(e["type"] == "return_type_mismatch" and "INTERESTYLE_LATENTS" in e["details"] for e in errors)

    alone = {node: graph[node] for node in ("1", "3", "4", "5", "7", "10")}
    status, answer = server.post("/prompt", {"prompt": alone})
    assert status == 400 and mismatch(answer), answer
    # With outputs that do not depend on it, ComfyUI runs those and reports the branch it refused.
    status, answer = server.post("/prompt", {"prompt": graph})
    assert status == 200 and mismatch(answer), answer


def test_a_bad_input_is_one_line_on_its_node(server):
    graph = workflow("interestyle-edit")
    graph["7"]["inputs"]["direction"] = "age"
    entry, _ = server.run(graph)
    assert entry["status"]["status_str"] == "error"
    (error,) = [body for kind, body in entry["status"]["messages"] if kind == "execution_error"]
    assert error["node_id"] == "7" and error["node_type"] == "InterestyleEdit"
    assert error["exception_type"].endswith("NodeInputError")
    first = error["exception_message"].strip()
    known = "smile, grey_hair, blond_hair, skin_tone, hair_length, yaw"
    assert first == f"unknown direction 'age'; known directions: {known}", first


def test_comfyuis_page_turns_the_ui_workflow_into_the_api_workflow_and_runs_it(server):
    """The UI-format file in ComfyUI's own page: loaded, converted to a prompt (graphToPrompt), queued."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package drives the page")
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM}")
    ui = json.loads((EXAMPLES / "interestyle-edit.json").read_text(encoding="utf-8"))
    # a returning user's settings: no templates dialog, no minimap over the graph
    assert server.post("/settings", {"Comfy.TutorialCompleted": True, "Comfy.Minimap.Visible": False})[0] == 200
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1800, "height": 1000})
            page.goto(server.url, wait_until="networkidle", timeout=120_000)
            page.wait_for_function("() => window.app && window.app.graph", timeout=120_000)
            page.evaluate("async (ui) => { await window.app.loadGraphData(ui); }", ui)
            prompt = page.evaluate("async () => (await window.app.graphToPrompt()).output")
            expected = workflow("interestyle-edit")
            assert {k: (v["class_type"], v["inputs"]) for k, v in prompt.items()} == {
                k: (v["class_type"], v["inputs"]) for k, v in expected.items()
            }
            start = time.perf_counter()
            page.evaluate("async () => { await window.app.queuePrompt(0, 1); }")
            saves = [k for k, v in expected.items() if v["class_type"] == "SaveImage"]
            page.wait_for_function(
                "(ids) => ids.every((id) => window.app.nodeOutputs && id in window.app.nodeOutputs)",
                arg=saves,
                timeout=RUN_S * 1000,
            )
            print(f"the page ran the UI workflow in {time.perf_counter() - start:.2f} s")
            if SCREENSHOT:
                time.sleep(2)  # let the previews draw
                page.screenshot(path=SCREENSHOT)
        finally:
            browser.close()
