"""Tuned generators on disk: safetensors, whole or a delta checked against its base's hash; never a pickle."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from conftest import tiny_model
from interestyle import WeightsError, invert, refine
from interestyle.pivotal import generator_sha256, load_tuned_generator, save_tuned_generator


@pytest.fixture(scope="module")
def tuned():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    model = tiny_model()
    photo = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    result = refine(model, invert(model, photo, mask=torch.ones(32, 32)), steps=4, lr=3e-3, progress=False)
    torch.set_num_threads(before)
    return model, result


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) and sa[k].dtype == sb[k].dtype for k in sa)


@pytest.mark.parametrize("layout", ["delta", "whole"])
def test_a_round_trip_is_bit_exact(tmp_path, tuned, layout):
    model, result = tuned
    path = result.save_generator(tmp_path / "face.safetensors", model.generator, layout=layout)
    loaded = load_tuned_generator(path, model.generator)
    assert _same(loaded, result.generator)
    assert not any(p.requires_grad for p in loaded.parameters()) and not loaded.training
    with torch.no_grad():
        assert torch.equal(loaded(result.latents), result.images)


def test_a_whole_file_loads_on_its_own_and_a_delta_holds_only_the_tuned_tensors(tmp_path, tuned):
    model, result = tuned
    whole = result.save_generator(tmp_path / "whole.safetensors", model.generator, layout="whole")
    assert _same(load_tuned_generator(whole), result.generator)
    delta = result.save_generator(tmp_path / "delta.safetensors", model.generator)
    with safe_open(str(delta), framework="pt") as f:
        keys, metadata = set(f.keys()), f.metadata()
    assert keys and not any(k.startswith(("style.", "noises.")) for k in keys)
    assert keys < set(model.generator.state_dict())
    assert delta.stat().st_size < whole.stat().st_size
    assert metadata["layout"] == "delta" and metadata["base_sha256"] == generator_sha256(model.generator)
    assert json.loads(metadata["refine"])["steps"] == 4 and json.loads(metadata["refine"])["perceptual"] == "ssim"


def test_a_delta_loads_only_onto_the_generator_it_was_tuned_from(tmp_path, tuned):
    model, result = tuned
    path = result.save_generator(tmp_path / "face.safetensors", model.generator)
    other = tiny_model(seed=1).generator
    with pytest.raises(WeightsError, match=r"delta against the generator with SHA-256 \w{12}\.\.\., but the base"):
        load_tuned_generator(path, other)
    with pytest.raises(ValueError, match=r"is a delta: pass the generator it was tuned from"):
        load_tuned_generator(path)
    with pytest.raises(ValueError, match=r"base is not the generator this result was tuned from"):
        result.save_generator(tmp_path / "other.safetensors", other)
    assert not (tmp_path / "other.safetensors").exists()


def test_a_base_of_another_shape_is_refused(tmp_path, tuned):
    model, result = tuned
    path = result.save_generator(tmp_path / "whole.safetensors", model.generator, layout="whole")
    wider = tiny_model(resolution=64, input_size=32).generator
    with pytest.raises(WeightsError, match=r"holds a generator of another shape than the base given"):
        load_tuned_generator(path, wider)
    with pytest.raises(ValueError, match=r"different configs"):
        save_tuned_generator(result.generator, tmp_path / "x.safetensors", base=wider)


def test_pickles_and_foreign_files_are_refused(tmp_path, tuned):
    model, result = tuned
    with pytest.raises(ValueError, match=r"pickle suffix; tuned generators are written as \.safetensors only"):
        result.save_generator(tmp_path / "face.pt", model.generator)
    (tmp_path / "face.pth").write_bytes(b"\x80\x04not really")
    with pytest.raises(WeightsError, match=r"is a pickle"):
        load_tuned_generator(tmp_path / "face.pth", model.generator)
    save_file({"x": torch.zeros(1)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(WeightsError, match=r"is not a tuned generator file"):
        load_tuned_generator(tmp_path / "plain.safetensors", model.generator)
    (tmp_path / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    with pytest.raises(WeightsError, match=r"not a readable safetensors file"):
        load_tuned_generator(tmp_path / "broken.safetensors", model.generator)
    with pytest.raises(FileNotFoundError, match=r"does not exist"):
        load_tuned_generator(tmp_path / "missing.safetensors", model.generator)
    with pytest.raises(ValueError, match=r"layout='zip' is invalid"):
        result.save_generator(tmp_path / "face.safetensors", model.generator, layout="zip")


def test_a_failed_write_leaves_nothing(tmp_path, tuned, monkeypatch):
    model, result = tuned
    import interestyle.pivotal.storage as storage

    def broken(tensors, path, metadata=None):
        with open(path, "wb") as f:
            f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(storage, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        result.save_generator(tmp_path / "face.safetensors", model.generator)
    assert list(tmp_path.iterdir()) == []


def test_the_hash_sees_every_value_and_nothing_else(tuned):
    model = tuned[0]
    generator = model.generator
    first = generator_sha256(generator)
    assert first == generator_sha256(generator) and len(first) == 64
    copy = tiny_model().generator
    assert generator_sha256(copy) == first
    with torch.no_grad():
        copy.to_rgbs[0].bias[0, 0, 0, 0] += 1e-6
    assert generator_sha256(copy) != first
