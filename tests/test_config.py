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
    ],
)
def test_invalid_values_name_field_and_value(factory, field, value):
    with pytest.raises(ConfigError, match=rf"{field}={value!r}".replace("(", r"\(").replace(")", r"\)")):
        factory(**{field: value})


def test_single_pass_encoder_runs_one_iteration():
    with pytest.raises(ConfigError, match="iterations=5"):
        ModelConfig(encoder=EncoderConfig(kind="gradual", input_nc=3), iterations=5)


def test_missing_required_structure_is_a_config_error():
    with pytest.raises(ConfigError, match="generator"):
        ModelConfig.from_dict({"generator": 3})
    with pytest.raises(ConfigError, match="mapping"):
        ModelConfig.from_dict([1, 2])
