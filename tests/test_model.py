import json
import re
import struct
import subprocess
import sys

import pytest
import torch

from conftest import tiny_model
from interestyle import ConfigError, IntereStyleModel, WeightsError, load_encoder
from interestyle.serialization import CHECKSUM_KEY, CONFIG_NAME, INCOMPLETE_MARKER, WEIGHTS_NAME, tensors_sha256


def assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert sa[key].dtype == sb[key].dtype, key
        assert torch.equal(sa[key], sb[key]), key


@pytest.mark.parametrize("kind", ["backbone", "progressive-backbone", "gradual", "e4e"])
def test_save_load_round_trip_is_bit_exact(tmp_path, kind):
    model = tiny_model(kind)
    model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [CONFIG_NAME, WEIGHTS_NAME]
    loaded = load_encoder(tmp_path / "m")
    assert loaded.config == model.config
    assert not loaded.training
    assert_same_state(model, loaded)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    w1 = [w for w, _ in model.refine(x, model.config.iterations)]
    w2 = [w for w, _ in loaded.refine(x, model.config.iterations)]
    for a, b in zip(w1, w2, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_round_trip_after_a_dtype_move_keeps_dtype_and_bits(tmp_path, dtype):
    model = tiny_model().to(dtype)
    model.save_pretrained(tmp_path)
    loaded = load_encoder(tmp_path)
    assert loaded.dtype == dtype
    assert_same_state(model, loaded)
    assert loaded.state_dict()["encoder.input_layer.1.num_batches_tracked"].dtype == torch.int64


def test_load_honours_device_and_dtype(tmp_path):
    model = tiny_model()
    model.save_pretrained(tmp_path)
    loaded = load_encoder(tmp_path, device="cpu", dtype=torch.float64)
    assert loaded.dtype == torch.float64 and loaded.device == torch.device("cpu")
    for key, value in model.state_dict().items():
        if value.is_floating_point():
            assert torch.equal(loaded.state_dict()[key], value.double()), key


def test_from_pretrained_and_load_encoder_agree(tmp_path):
    model = tiny_model("gradual")
    model.save_pretrained(tmp_path)
    assert_same_state(IntereStyleModel.from_pretrained(tmp_path), load_encoder(str(tmp_path)))


def test_saving_replaces_files_atomically(tmp_path):
    tiny_model(seed=0).save_pretrained(tmp_path)
    second = tiny_model(seed=1)
    second.save_pretrained(tmp_path)
    assert_same_state(second, load_encoder(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [CONFIG_NAME, WEIGHTS_NAME]  # no temp files left


# -- bad input --------------------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path):
    tiny_model().save_pretrained(tmp_path / "model")
    return tmp_path / "model"


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model folder"):
        load_encoder(tmp_path / "nope")


def test_folder_without_config(folder):
    (folder / CONFIG_NAME).unlink()
    with pytest.raises(FileNotFoundError, match=f"has no {CONFIG_NAME}"):
        load_encoder(folder)


def test_folder_without_weights(folder):
    (folder / WEIGHTS_NAME).unlink()
    with pytest.raises(FileNotFoundError, match="no weights"):
        load_encoder(folder)


def test_a_folder_a_save_was_interrupted_in_refuses_to_load(folder):
    (folder / INCOMPLETE_MARKER).write_text("")
    with pytest.raises(WeightsError, match=re.escape(f"{folder} is incomplete: a save into it was interrupted")):
        load_encoder(folder)
    tiny_model(seed=1).save_pretrained(folder)  # saving again mends it
    assert not (folder / INCOMPLETE_MARKER).exists()
    assert_same_state(load_encoder(folder), tiny_model(seed=1))


def test_a_flipped_bit_in_the_tensor_data_is_refused_by_the_checksum(folder):
    assert json.loads((folder / CONFIG_NAME).read_text())[CHECKSUM_KEY] == tensors_sha256(tiny_model().state_dict())
    path = folder / WEIGHTS_NAME
    data = bytearray(path.read_bytes())
    (header_length,) = struct.unpack("<Q", data[:8])
    for offset in (8 + header_length, len(data) - 1, (8 + header_length + len(data)) // 2):
        damaged = bytearray(data)
        damaged[offset] ^= 0x10  # safetensors reads this without a word: only the values change
        path.write_bytes(damaged)
        with pytest.raises(WeightsError, match=re.escape(f"{path} is damaged: its tensor data does not match")):
            load_encoder(folder)
    path.write_bytes(data)
    assert_same_state(load_encoder(folder), tiny_model())


def test_a_model_saves_to_the_same_bytes_every_time(folder, tmp_path):
    for i in range(3):
        tiny_model().save_pretrained(tmp_path / f"again{i}")
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            assert (tmp_path / f"again{i}" / name).read_bytes() == (folder / name).read_bytes()


@pytest.mark.parametrize("checksum", [12, "abc", "A" * 64, None])
def test_a_folder_without_a_valid_checksum_field(folder, checksum):
    config = json.loads((folder / CONFIG_NAME).read_text())
    if checksum is None:
        del config[CHECKSUM_KEY]  # another tool's folder, or an older one: read unchecked
    else:
        config[CHECKSUM_KEY] = checksum
    (folder / CONFIG_NAME).write_text(json.dumps(config))
    if checksum is None:
        assert_same_state(load_encoder(folder), tiny_model())
    else:
        with pytest.raises(ConfigError, match=f"{CHECKSUM_KEY} must be a SHA-256 in 64 lowercase hexadecimal digits"):
            load_encoder(folder)


def test_the_checksum_depends_on_names_dtypes_shapes_and_values_only():
    a = {"x": torch.arange(6.0).reshape(2, 3), "y": torch.zeros(2, dtype=torch.bfloat16)}
    assert tensors_sha256(a) == tensors_sha256({"y": a["y"].clone(), "x": a["x"].t().contiguous().t()})
    for changed in (
        {**a, "x": a["x"].reshape(3, 2)},
        {**a, "y": a["y"].half()},
        {"x2": a["x"], "y": a["y"]},
        {**a, "x": a["x"] + 1e-6},
    ):
        assert tensors_sha256(changed) != tensors_sha256(a)


def test_a_save_that_fails_changes_nothing(folder, tmp_path, monkeypatch):
    import interestyle.serialization as serialization

    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(serialization, "save_file", full_disk)
    for target in (folder, tmp_path / "new"):
        with pytest.raises(OSError, match="No space"):
            tiny_model(seed=1).save_pretrained(target)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no staging folder left either
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


@pytest.mark.parametrize("suffix", [".pt", ".bin", ".pkl", ".pth"])
def test_pickled_checkpoints_are_refused_with_the_converter_named(tmp_path, suffix):
    path = tmp_path / f"checkpoint{suffix}"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(WeightsError, match="interestyle convert"):
        load_encoder(path)
    (tmp_path / CONFIG_NAME).write_text("{}")
    with pytest.raises(WeightsError, match="interestyle convert"):
        load_encoder(tmp_path)  # a folder holding only a pickle


def test_shape_mismatch_names_key_and_both_shapes(folder):
    from safetensors.torch import load_file, save_file

    state = load_file(folder / WEIGHTS_NAME)
    state["decoder.style.1.weight"] = torch.zeros(32, 16)
    save_file(state, folder / WEIGHTS_NAME)
    message = r"'decoder.style.1.weight' has shape \(32, 16\) in the file but the config builds \(32, 32\)"
    with pytest.raises(WeightsError, match=message):
        load_encoder(folder)


def test_missing_and_unexpected_keys_are_named(folder, tmp_path):
    from safetensors.torch import load_file, save_file

    state = load_file(folder / WEIGHTS_NAME)
    del state["decoder.input.input"]
    save_file(state, folder / WEIGHTS_NAME)
    with pytest.raises(WeightsError, match=re.escape("1 missing (first: 'decoder.input.input')")):
        load_encoder(folder)
    state["decoder.input.input"] = torch.zeros(1, 32, 4, 4)
    state["decoder.extra"] = torch.zeros(1)
    save_file(state, folder / WEIGHTS_NAME)
    with pytest.raises(WeightsError, match=re.escape("1 unexpected (first: 'decoder.extra')")):
        load_encoder(folder)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_weights_are_a_weights_error(folder, damage):
    path = folder / WEIGHTS_NAME
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00\xff" * 100, "empty": b""}[damage])
    with pytest.raises(WeightsError, match="not a readable safetensors file"):
        load_encoder(folder)


def test_unknown_config_field_or_value(folder):
    config = json.loads((folder / CONFIG_NAME).read_text())
    (folder / CONFIG_NAME).write_text(json.dumps({**config, "n_iterations": 3}))
    with pytest.raises(ConfigError, match="n_iterations"):
        load_encoder(folder)
    config["encoder"]["kind"] = "resnet34"
    (folder / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="kind='resnet34'"):
        load_encoder(folder)
    (folder / CONFIG_NAME).write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_encoder(folder)


def test_refine_rejects_iterations_on_single_pass_models():
    model = tiny_model("gradual")
    with pytest.raises(ValueError, match="iterations=3"):
        next(model.refine(torch.zeros(1, 3, 32, 32), 3))


def test_average_image_is_decoded_once_until_the_generator_changes():
    model = tiny_model()
    with torch.no_grad():
        first = model.average_image()
        assert model.average_image() is first
        torch.testing.assert_close(first, model.to_encoder_size(model.decode(model.latent_avg[None])))
        model.latent_avg.add_(0.5)
        moved = model.average_image()
        assert moved is not first and not torch.allclose(moved, first)
        model.decoder.convs[0].conv.weight.mul_(2)
        assert model.average_image() is not moved
    with torch.inference_mode():
        cached = model.average_image()
    assert not cached.is_inference()  # usable after inference mode ends


def test_average_image_with_gradients_is_not_cached():
    model = tiny_model()
    assert model.average_image().requires_grad
    assert model.average_image() is not model.average_image()


def test_encoder_weights_are_channels_last_after_loading(tmp_path):
    model = tiny_model()
    model.save_pretrained(tmp_path)
    for m in (model, load_encoder(tmp_path)):
        weight = m.encoder.input_layer[0].weight
        assert weight.is_contiguous(memory_format=torch.channels_last)


def test_loading_builds_no_python_decompositions(tmp_path):
    """Building on the meta device must not pull in sympy (over half a second of the first load)."""
    tiny_model().save_pretrained(tmp_path)
    code = (
        "import sys, interestyle\n"
        f"model = interestyle.load_encoder({str(tmp_path)!r})\n"
        "assert 'sympy' not in sys.modules, 'sympy was imported'\n"
        "assert model.encoder.input_layer[0].weight.is_contiguous(memory_format=__import__('torch').channels_last)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
