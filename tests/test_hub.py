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
from pathlib import Path

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


# -- the Hub options: one value, every loader ------------------------------------------------------------
CACHE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import interestyle as its
    from interestyle.masks import get_mask_provider

    repo, kind, cache = sys.argv[1], sys.argv[2], sys.argv[3]
    if kind == "face-parsing":
        loaded = get_mask_provider("face-parsing", weights=repo, cache_dir=cache)
    else:
        loaded = its.load_encoder(repo, cache_dir=cache)
    print(json.dumps({"type": type(loaded).__name__, "files": sorted(p.name for p in Path(cache).rglob("*"))}))
    """
)


@pytest.mark.parametrize("kind", ["face-parsing", "encoder"])
def test_cache_dir_reaches_huggingface_hub(tmp_path, kind):
    from interestyle.masks import BiSeNet, FaceParser

    repo = tmp_path / "hub" / "interestyle-tests" / "model"
    if kind == "face-parsing":
        FaceParser(BiSeNet(), input_size=64).save_pretrained(repo)
    else:
        tiny_model().save_pretrained(repo)
    hf_home, cache = tmp_path / "hf-home", tmp_path / "my-cache"
    with HubServer(tmp_path / "hub") as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        env.update({"HF_ENDPOINT": server.url, "HF_HOME": str(hf_home)})
        args = [sys.executable, "-c", CACHE_SCRIPT, "interestyle-tests/model", kind, str(cache)]
        proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["type"] == ("FaceParser" if kind == "face-parsing" else "IntereStyleModel")
    assert "models--interestyle-tests--model" in result["files"] and "model.safetensors" in result["files"]
    assert not (hf_home / "hub").exists()  # nothing went to the default cache


def test_every_loader_takes_the_hub_options_by_their_names():
    import dataclasses
    import inspect

    import interestyle as its
    from interestyle.masks.face_parsing import FaceParser, face_parsing_provider
    from interestyle.pipelines import IntereStylePipeline

    fields = [f.name for f in dataclasses.fields(its.HubOptions)]
    loaders = [
        its.load_encoder,
        its.DirectionSet.from_pretrained,
        FaceParser.from_pretrained,
        face_parsing_provider,
        IntereStylePipeline.from_pretrained,
    ]
    for loader in loaders:
        parameters = inspect.signature(loader).parameters
        missing = [name for name in fields if name not in parameters]
        assert not missing, f"{loader.__qualname__} lacks {missing}"
        defaults = {name: parameters[name].default for name in fields}
        assert its.HubOptions(**defaults) == its.HubOptions(), loader.__qualname__


def test_hub_options_check_their_fields_and_hide_the_token():
    import interestyle as its

    options = its.HubOptions(revision="v1", cache_dir=Path("cache"), token="hf_secret")
    assert "hf_secret" not in repr(options) and "v1" in repr(options)
    with pytest.raises(TypeError, match="local_files_only=1"):
        its.HubOptions(local_files_only=1)
    with pytest.raises(TypeError, match="revision=3"):
        its.HubOptions(revision=3)
    with pytest.raises(TypeError, match="cache_dir=5"):
        its.HubOptions(cache_dir=5)
    with pytest.raises(TypeError, match="token of type int"):
        its.HubOptions(token=7)
