"""The app's events through gradio_client against a server on 127.0.0.1: results, files, page errors."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio", reason="the app needs the optional extra: pip install 'interestyle[app]'")

from gradio_client import Client, handle_file
from safetensors import safe_open

from app_server import model_folders, running_app


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    model, baseline = model_folders(tmp_path_factory.mktemp("app"))
    with running_app(model, baseline) as address:
        yield address


@pytest.fixture
def client(url):
    return Client(url, verbose=False)


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def editor_value(mask_value: dict) -> dict:
    return {k: handle_file(mask_value[k]) for k in ("background", "composite")} | {"layers": []}


def told(client: Client, *args, api_name: str) -> tuple[object, list[tuple[str, str]]]:
    """Run an event; return its result and the messages it showed in the page, as (text, level)."""
    job = client.submit(*args, api_name=api_name)
    result = job.result(timeout=300)  # a user error is no failed request: no AppError
    messages, updates = [], job.communicator.updates
    while not updates.empty():
        log = getattr(updates.get_nowait(), "log", None)
        if log:
            messages.append(tuple(log))
    return result, messages


def one_warning(client: Client, *args, api_name: str) -> str:
    """The one message a user error shows: a warning toast (never an error badge)."""
    _, messages = told(client, *args, api_name=api_name)
    ((text, level),) = messages
    assert level == "warning"
    return text


def inverted(client: Client, seed: int = 3) -> tuple:
    photo = client.predict(seed, api_name="/sample")
    mask = client.predict(handle_file(photo), "aligned-face", api_name="/mask")
    return client.predict(handle_file(photo), editor_value(mask), False, False, api_name="/invert")


def test_sample_is_a_face_at_the_model_resolution(client):
    photo = client.predict(2, api_name="/sample")
    image = Image.open(photo)
    assert image.size == (32, 32) and image.mode == "RGB"
    assert pixels(photo).std() > 5  # a face, not a blank
    assert not np.array_equal(pixels(photo), pixels(client.predict(3, api_name="/sample")))


def test_mask_provider_gives_a_mask_to_paint_on(client):
    photo = client.predict(0, api_name="/sample")
    mask = client.predict(handle_file(photo), "aligned-face", api_name="/mask")
    m = pixels(mask["composite"])
    assert m.shape == (32, 32, 3) and m.max() > 200 and m.min() < 50  # an interest region and a background


def test_invert_shows_input_mask_baseline_reconstruction_and_errors(client):
    shown_input, mask, baseline, recon, errors, edited, _files, *sliders = inverted(client)
    for path in (shown_input, mask, baseline, recon, edited):
        assert Image.open(path).size == (32, 32)
    assert not np.array_equal(pixels(baseline), pixels(recon))  # two different models
    assert "**IntereStyle**" in errors and "**baseline**" in errors
    values = [float(v) for v in errors.replace("*", "").split() if v.replace(".", "").isdigit()]
    assert len(values) == 2 and all(np.isfinite(values))
    assert all(s["value"] == 0.0 for s in sliders) and len(sliders) == 5  # PCA 1..5, reset


def test_invert_offers_the_png_and_the_latents(client):
    *_, edited, files, _, _, _, _, _ = inverted(client)
    png = next(f for f in files if f.endswith(".png"))
    weights = next(f for f in files if f.endswith(".safetensors"))
    assert np.array_equal(pixels(png), pixels(edited))
    with safe_open(weights, "pt") as f:
        assert f.get_tensor("latents").shape == (1, 8, 32)


def test_an_edit_slider_changes_the_result_and_zero_does_not(client):
    *_, edited, _, _, _, _, _, _ = inverted(client)
    zero, _ = client.predict(0, 0, 0, 0, 0, api_name="/edit")
    moved, files = client.predict(3, 0, 0, 0, 0, api_name="/edit")
    assert np.abs(pixels(zero) - pixels(edited)).max() <= 1
    assert np.abs(pixels(moved) - pixels(zero)).mean() > 0.5
    with safe_open(next(f for f in files if f.endswith(".safetensors")), "pt") as f:
        assert f.get_tensor("latents").shape == (1, 8, 32)


@pytest.mark.parametrize("layers", ["coarse", "middle", "fine"])
def test_style_mix_with_a_second_image(client, layers):
    *_, edited, _, _, _, _, _, _ = inverted(client)
    style = client.predict(7, api_name="/style_sample")
    mixed, files = client.predict(handle_file(style), layers, api_name="/mix")
    assert Image.open(mixed).size == (32, 32)
    assert not np.array_equal(pixels(mixed), pixels(edited))
    assert any(f.endswith(".safetensors") for f in files)


def test_the_refine_box_tunes_the_generator_inside_the_mask(client):
    photo = client.predict(3, api_name="/sample")
    mask = client.predict(handle_file(photo), "aligned-face", api_name="/mask")
    plain = client.predict(handle_file(photo), editor_value(mask), False, False, api_name="/invert")
    refined = client.predict(handle_file(photo), editor_value(mask), False, True, api_name="/invert")
    assert "**IntereStyle, refined**" in refined[4] and "refined" not in plain[4]
    assert not np.array_equal(pixels(refined[3]), pixels(plain[3]))
    moved, _ = client.predict(3, 0, 0, 0, 0, api_name="/edit")  # edits the refined inversion
    assert Image.open(moved).size == (32, 32)
    assert "pick or paint a mask first" in one_warning(
        client, handle_file(photo), None, False, True, api_name="/invert"
    )


def test_editing_before_inverting_is_one_warning_in_the_page_and_one_log_line(url, capfd):
    fresh = Client(url, verbose=False)  # a visitor with no inversion yet
    capfd.readouterr()
    assert "invert a photo first" in one_warning(fresh, 1, 0, 0, 0, 0, api_name="/edit")
    assert "no photo yet" in one_warning(fresh, None, None, False, False, api_name="/invert")
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert sum("interestyle app: " in line for line in lines) == 2 and "Traceback" not in err
    assert not [line for line in lines if "interestyle app: " not in line]  # nothing else: no stack trace


def test_an_upload_that_is_not_an_image_is_refused_and_the_app_keeps_serving(client, tmp_path):
    bad = tmp_path / "holiday.png"
    bad.write_bytes(b"this is not a PNG")
    assert "holiday.png is not an image" in one_warning(client, handle_file(str(bad)), api_name="/upload")
    assert Image.open(client.predict(1, api_name="/sample")).size == (32, 32)


def test_a_huge_upload_is_refused(client, tmp_path):
    huge = tmp_path / "huge.png"
    Image.new("L", (8000, 5200)).save(huge)  # 41.6 megapixels, a few kilobytes as PNG
    assert "8000x5200 (42 megapixels)" in one_warning(client, handle_file(str(huge)), api_name="/upload")


@pytest.mark.parametrize("mode", ["CMYK", "I;16"])
def test_cmyk_and_16_bit_uploads_are_converted_to_rgb(client, tmp_path, mode):
    path = tmp_path / ("photo.jpg" if mode == "CMYK" else "photo.png")
    Image.new(mode, (48, 40), (0, 80, 160, 0) if mode == "CMYK" else 40000).save(path)
    photo = Image.open(client.predict(handle_file(str(path)), api_name="/upload"))
    assert photo.mode == "RGB" and photo.size == (48, 40)


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is not None, reason="mediapipe is installed here")
def test_alignment_without_mediapipe_says_what_to_install(client):
    photo = client.predict(0, api_name="/sample")
    assert "interestyle[mediapipe]" in one_warning(client, handle_file(photo), None, True, False, api_name="/invert")


def test_a_warning_of_the_library_is_shown_to_the_visitor_each_time(client, tmp_path):
    from interestyle.app.ui import route_warnings

    route_warnings()  # as launch() did: pytest resets the warnings machinery around each test
    wide = tmp_path / "wide.png"
    Image.new("RGB", (48, 30), (120, 90, 60)).save(wide)
    photo = client.predict(handle_file(str(wide)), api_name="/upload")
    for _ in range(2):  # not once per process: every visitor who meets it is told
        text = one_warning(client, handle_file(photo), "aligned-face", api_name="/mask")
        assert "'aligned-face' mask assumes FFHQ-aligned crops" in text and "48x30" in text


def test_the_page_names_its_model_and_the_mask_editor_shows_the_tools_its_label_names():
    from conftest import tiny_model
    from interestyle.app import Editor, build_app
    from interestyle.app.ui import MASK_LABEL

    app = build_app(Editor(tiny_model(), name="you/your-model", baseline=tiny_model(seed=1), baseline_name="b"))
    blocks = {getattr(b, "elem_id", None): b for b in app.blocks.values()}
    assert "**Model:** `you/your-model` (32 px). **Baseline:** `b`." in blocks["intro"].value
    editor = blocks["mask-editor"]
    # Gradio draws the editor's toolbar (and so the colour choice) only with a second tool, the eraser
    assert editor.eraser is not None and editor.brush.colors == ["#ffffff", "#000000"]
    assert editor.label == MASK_LABEL and all(tool in MASK_LABEL for tool in ("Brush", "Color", "Erase"))
