"""``interestyle app``: its options, its errors before serving, and a real server started by the command."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from app_server import free_port, model_folders
from interestyle.app import Editor
from interestyle.cli import main


def test_app_is_a_command_with_model_baseline_and_port(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["app", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ("--model", "--baseline", "--port", "127.0.0.1"):
        assert option in text


def test_app_opens_the_embedded_demo_model_by_default(capsys):
    with pytest.raises(SystemExit):
        main(["app", "--help"])
    assert "(default: demo, the embedded demo model)" in " ".join(capsys.readouterr().out.split())
    editor = Editor.load()
    assert editor.model.resolution == 64 and {"grey_hair", "blond_hair"} <= set(editor.directions)


def test_a_missing_model_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main(["app", "--model", str(tmp_path / "none"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("interestyle app: error:") and "Traceback" not in err


@pytest.mark.parametrize("port", ["0", "http", "-5"])
def test_a_bad_port_is_refused(port, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["app", "--model", "m", "--port", port])
    assert exit_.value.code == 2


def test_launch_never_shares_or_listens_beyond_localhost():
    pytest.importorskip("gradio")
    from conftest import tiny_model
    from interestyle.app import Editor, launch

    editor = Editor(tiny_model())
    for option in ({"share": True}, {"server_name": "0.0.0.0"}):
        with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
            launch(editor, block=False, **option)


def test_without_gradio_the_message_says_what_to_install(monkeypatch):
    from conftest import tiny_model
    from interestyle.app import Editor, build_app

    monkeypatch.setitem(sys.modules, "gradio", None)
    monkeypatch.delitem(sys.modules, "interestyle.app.ui", raising=False)
    with pytest.raises(ImportError, match=r"interestyle\[app\]"):
        build_app(Editor(tiny_model()))


def test_the_command_serves_the_page_on_localhost(tmp_path):
    pytest.importorskip("gradio")
    model, _ = model_folders(tmp_path)
    port = free_port()
    command = [sys.executable, "-m", "interestyle", "app", "--model", str(model), "--port", str(port)]
    announcement = f"IntereStyle editor for {model}: open http://127.0.0.1:{port}/ in a browser"
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    # read as a user does: wait for the printed address, then open it (Gradio answers a little before
    # launch() returns, so fetching first and stopping at once could stop it before it prints)
    reader = threading.Thread(target=lambda: lines.extend(server.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and server.poll() is None and not any(announcement in line for line in lines):
            time.sleep(0.5)
        assert server.poll() is None, "".join(lines)
        assert any(announcement in line for line in lines), "".join(lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            page = response.read().decode()
        assert "IntereStyle editor" in page
    finally:
        server.terminate()
        server.wait(timeout=60)
        reader.join(timeout=10)
    said = "".join(lines)
    # one line naming the model and the address; none of Gradio's, which suggest a share link
    assert "share=True" not in said and "public link" not in said
