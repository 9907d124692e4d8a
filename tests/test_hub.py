"""The real Hub download path: ``huggingface_hub`` against a local stand-in server on 127.0.0.1.

``huggingface_hub`` reads ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE`` when it is imported, so each scenario
runs in a fresh interpreter with its own environment.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from conftest import tiny_model
from hubserver import HubServer

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    import interestyle as its

    kwargs = json.loads(sys.argv[2])
    try:
        model = its.load_encoder(sys.argv[1], **kwargs)
    except Exception as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc),
                          "is_hub_error": isinstance(exc, its.HubError)}))
    else:
        state = {k: v.double().sum().item() for k, v in model.state_dict().items()}
        print(json.dumps({"state": state}))
    """
)


def run_load(repo: str, env: dict[str, str], **kwargs) -> dict:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, repo, json.dumps(kwargs)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def hub(tmp_path):
    model = tiny_model()
    model.save_pretrained(tmp_path / "hub" / "interestyle-tests" / "tiny")
    (tmp_path / "hub" / "interestyle-tests" / "tiny" / "README.md").write_text("not downloaded\n")
    expected = {k: v.double().sum().item() for k, v in model.state_dict().items()}
    with HubServer(tmp_path / "hub") as server:
        yield server, expected, tmp_path / "hf-home"


def test_download_then_offline_from_cache(hub):
    server, expected, hf_home = hub
    env = {"HF_ENDPOINT": server.url, "HF_HOME": str(hf_home)}
    online = run_load("interestyle-tests/tiny", env)
    assert online.get("state") == expected, online
    fetched = [r for r in server.requests if "/resolve/" in r and r.startswith("GET")]
    assert any("model.safetensors" in r for r in fetched)
    assert not any("README.md" in r for r in fetched)  # only config.json and *.safetensors

    server.requests.clear()
    offline = run_load("interestyle-tests/tiny", {**env, "HF_HUB_OFFLINE": "1"})
    assert offline.get("state") == expected, offline
    assert server.requests == []


def test_local_files_only_uses_the_cache(hub):
    server, expected, hf_home = hub
    env = {"HF_ENDPOINT": server.url, "HF_HOME": str(hf_home)}
    assert run_load("interestyle-tests/tiny", env).get("state") == expected
    server.requests.clear()
    assert run_load("interestyle-tests/tiny", env, local_files_only=True).get("state") == expected
    assert server.requests == []


def test_unknown_repo_is_a_hub_error(hub):
    server, _, hf_home = hub
    result = run_load("interestyle-tests/missing", {"HF_ENDPOINT": server.url, "HF_HOME": str(hf_home)})
    assert result["is_hub_error"], result
    assert "was not found" in result["message"]


def test_unreachable_hub_says_how_to_work_offline(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_HOME": str(tmp_path / "hf-home")}
    result = run_load("interestyle-tests/tiny", env)
    assert result["is_hub_error"], result
    assert "unreachable" in result["message"] and "HF_HUB_OFFLINE=1" in result["message"]


def test_offline_and_not_cached_is_a_hub_error(tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    result = run_load("interestyle-tests/tiny", env)
    assert result["is_hub_error"], result
    assert "offline mode is on" in result["message"]
