import json

import pytest

from interestyle import ConfigError, EncoderConfig, GeneratorConfig, ModelConfig
from interestyle.config import default_generator_channels


def test_round_trip_through_json():
    config = ModelConfig(
        generator=GeneratorConfig(resolution=64, style_dim=64, n_mlp=3, channels=(64, 64, 32, 32, 16)),
        encoder=EncoderConfig(kind="gradual", units=(1, 2, 1, 1), input_nc=3, input_size=64),
        iterations=1,
        method="psp",
    )
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_defaults_are_the_official_ffhq_shapes():
    config = ModelConfig()
    assert config.generator.n_latent == 18
    assert config.generator.num_layers == 17
    assert config.encoder.stage_units == (3, 4, 14, 3)
    assert config.iterative and config.iterations == 5
    assert default_generator_channels(1024) == (512, 512, 512, 512, 512, 256, 128, 64, 32)


def test_unknown_field_is_named():
    data = ModelConfig().to_dict()
    data["generator"]["resolutoin"] = 256
    with pytest.raises(ConfigError, match="resolutoin"):
        ModelConfig.from_dict(data)
    with pytest.raises(ConfigError, match="colour"):
        ModelConfig.from_dict({**ModelConfig().to_dict(), "colour": 1})


def test_metadata_keys_are_ignored():
    data = {"_class_name": "IntereStyleModel", "_interestyle_version": "0", **ModelConfig().to_dict()}
    assert ModelConfig.from_dict(data) == ModelConfig()


@pytest.mark.parametrize(
    ("factory", "field", "value"),
    [
        (GeneratorConfig, "resolution", 48),
        (GeneratorConfig, "resolution", 2048),
        (GeneratorConfig, "resolution", 4),
        (GeneratorConfig, "style_dim", 0),
        (GeneratorConfig, "channels", (16, 16)),
        (GeneratorConfig, "blur_kernel", (1, 3, 1)),
        (EncoderConfig, "kind", "resnet"),
        (EncoderConfig, "num_layers", 34),
        (EncoderConfig, "units", (1, 1, 1)),
        (EncoderConfig, "input_nc", 4),
        (EncoderConfig, "input_size", 48),
        (EncoderConfig, "mode", "se"),
        # a damaged config.json: each built millions of layers or overflowed before the weights were read
        (GeneratorConfig, "n_mlp", 2**40),
        (GeneratorConfig, "style_dim", 2**40),
        (GeneratorConfig, "channel_multiplier", 10**6),
        (GeneratorConfig, "blur_kernel", (1,) * 1000),
        (EncoderConfig, "input_size", 2**40),
    ],
)
def test_invalid_values_name_field_and_value(factory, field, value):
    with pytest.raises(ConfigError, match=rf"{field}={value!r}".replace("(", r"\(").replace(")", r"\)")):
        factory(**{field: value})


@pytest.mark.parametrize(
    ("field", "value", "named"), [("units", (1, 1, 10**9, 1), 10**9), ("widths", (16, 2**40, 32, 32), 2**40)]
)
def test_huge_stage_sizes_are_named(field, value, named):
    with pytest.raises(ConfigError, match=rf"EncoderConfig.{field}={named} is invalid: expected an integer from 1 to"):
        EncoderConfig(**{field: value})


def test_num_layers_is_checked_even_beside_units():
    assert EncoderConfig(units=(1, 1, 1, 1), num_layers=100).num_layers == 100
    with pytest.raises(ConfigError, match=r"num_layers=1\.5"):
        EncoderConfig(units=(1, 1, 1, 1), num_layers=1.5)  # ignored before: a wrong value loaded silently


def test_the_bounds_are_far_above_published_models():
    """config F at 1024 and the deepest IR-SE backbone are well inside the limits."""
    ModelConfig(generator=GeneratorConfig(channel_multiplier=32), encoder=EncoderConfig(num_layers=152))
    EncoderConfig(units=(3, 8, 36, 3), widths=(64, 128, 256, 8192), input_size=1024)


def test_single_pass_encoder_runs_one_iteration():
    with pytest.raises(ConfigError, match="iterations=5"):
        ModelConfig(encoder=EncoderConfig(kind="gradual", input_nc=3), iterations=5)


def test_missing_required_structure_is_a_config_error():
    with pytest.raises(ConfigError, match="generator"):
        ModelConfig.from_dict({"generator": 3})
    with pytest.raises(ConfigError, match="mapping"):
        ModelConfig.from_dict([1, 2])


def _paths(data: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in data.items():
        if key.startswith("_"):
            continue
        out.append(prefix + key)
        if isinstance(value, dict):
            out += _paths(value, f"{prefix}{key}.")
    return out


def test_a_model_folder_missing_any_config_field_names_it_instead_of_defaulting(tmp_path):
    import shutil

    from interestyle import load_encoder
    from interestyle.locate import EMBEDDED_MODELS
    from interestyle.models.generator import GENERATOR_CLASS_NAME, load_generator

    folder = tmp_path / "model"
    shutil.copytree(EMBEDDED_MODELS["demo"], folder)
    full = json.loads((folder / "config.json").read_text())
    paths = _paths(full)
    assert {"method", "iterations", "encoder.kind", "encoder.units", "generator.channels"} <= set(paths)
    for path in paths:
        data = json.loads(json.dumps(full))
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        del node[last]
        (folder / "config.json").write_text(json.dumps(data))
        with pytest.raises(ConfigError, match=rf"config\.json has no '{path}'"):
            load_encoder(folder)
    (folder / "config.json").write_text(json.dumps(full))
    assert load_encoder(folder).config.method == "interestyle"

    generator_only = {"_class_name": GENERATOR_CLASS_NAME, "generator": dict(full["generator"])}
    del generator_only["generator"]["n_mlp"]
    (folder / "config.json").write_text(json.dumps(generator_only))
    with pytest.raises(ConfigError, match=r"config\.json has no 'generator\.n_mlp'"):
        load_generator(folder)


def test_a_device_this_machine_lacks_is_a_clear_error_in_the_api():
    import torch

    from interestyle import load_encoder

    with pytest.raises(ValueError, match=r"device 'tpu9' is not a device; use auto, cpu, cuda"):
        load_encoder(device="tpu9")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"device cuda: CUDA is not available on this machine .*device='cpu'"):
            load_encoder(device="cuda")
    assert load_encoder(device="auto").device.type in ("cpu", "cuda", "mps")
