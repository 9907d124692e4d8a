"""The app under load: past its queue limit a request is told at once that the app is busy, to try again,
instead of waiting without end; the result folders on disk stay bounded. benchmarks/app_load.py runs 8
clients against the real server and reports memory."""

from __future__ import annotations

import threading
import time

import pytest
from PIL import Image

pytest.importorskip("gradio", reason="the app needs the optional extra: pip install 'interestyle[app]'")

from gradio_client import Client, handle_file
from gradio_client.utils import QueueError

from app_server import free_port, model_folders
from interestyle.app import MAX_QUEUE, Editor, launch
from interestyle.app.session import ResultFolders


class HeldEditor(Editor):
    """An editor whose ``sample`` waits for ``release``, so that requests pile up behind it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.running = threading.Event()
        self.release = threading.Event()

    def sample(self, seed: int) -> Image.Image:
        self.running.set()
        self.release.wait(30)
        return super().sample(seed)


@pytest.fixture(scope="module")
def held(tmp_path_factory):
    model, _ = model_folders(tmp_path_factory.mktemp("queue"))
    editor = HeldEditor.load(model)
    port = free_port()
    app = launch(editor, port=port, block=False, quiet=True, max_queue=1)
    try:
        yield editor, f"http://127.0.0.1:{port}/"
    finally:
        editor.release.set()
        app.close()


def test_past_the_queue_limit_a_request_is_refused_at_once_and_the_rest_are_served(held):
    editor, url = held
    running = Client(url, verbose=False).submit(1, api_name="/sample")
    assert editor.running.wait(30)  # the one worker is busy
    waiting = Client(url, verbose=False).submit(2, api_name="/sample")
    time.sleep(1.0)  # in the queue now: it holds max_queue=1 request
    start = time.perf_counter()
    with pytest.raises(QueueError, match="Queue is full! Please try again"):
        Client(url, verbose=False).predict(3, api_name="/sample")
    assert time.perf_counter() - start < 10  # at once, not after a timeout
    editor.release.set()
    for job in (running, waiting):
        assert Image.open(job.result(timeout=60)).size == (32, 32)


def test_no_event_hands_gradio_a_pil_image_to_rewrite_in_its_cache(tmp_path, monkeypatch):
    """Gradio writes a returned PIL image over the cached file of the same content in place: 8 clients
    getting the same mask at once read it half-written (5 of 170 requests failed). Files are copied in
    atomically instead."""
    import gradio.processing_utils

    def in_place(*args, **kwargs):
        raise AssertionError("an event returned a PIL image")

    monkeypatch.setattr(gradio.processing_utils, "save_pil_to_cache", in_place)
    model, baseline = model_folders(tmp_path, directions=True)
    port = free_port()
    app = launch(Editor.load(model, baseline=baseline), port=port, block=False, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        photo = client.predict(3, api_name="/sample")
        mask = client.predict(handle_file(photo), "aligned-face", api_name="/mask")
        value = {k: handle_file(mask[k]) for k in ("background", "composite")} | {"layers": []}
        shown = client.predict(handle_file(photo), value, False, False, api_name="/invert")
        assert all(Image.open(path).size == (32, 32) for path in shown[:4])
        edited, files = client.predict(2.0, api_name="/edit")
        assert Image.open(edited).size == (32, 32) and len(files) == 2
        style = client.predict(5, api_name="/style_sample")
        mixed, _ = client.predict(handle_file(style), "fine", api_name="/mix")
        assert Image.open(mixed).size == (32, 32)
    finally:
        app.close()


def test_the_default_limit_is_above_the_eight_clients_the_load_benchmark_runs():
    assert MAX_QUEUE >= 8


def test_only_the_newest_result_folders_stay_on_disk():
    folders = ResultFolders(keep=3)
    made = [folders.new() for _ in range(5)]
    assert [p.exists() for p in made] == [False, False, True, True, True]
    root = folders.root
    del folders
    assert not root.exists()
    with pytest.raises(ValueError, match="keep=0"):
        ResultFolders(keep=0)
