import json
from pathlib import Path

import pytest

from conftest import tiny_config
from interestyle import ConfigError, ModelConfig
from interestyle.training.config import TrainingConfig, load_training_config
from training_setup import save_generator, tiny_run, write_image_folder


def test_defaults_are_the_documented_method():
    config = TrainingConfig(model=tiny_config())
    assert (config.loss.l2, config.loss.lpips, config.loss.id, config.loss.w_norm) == (1.0, 0.8, 0.1, 0.0)
    assert config.loss.masked and config.loss.every_step
    assert config.filter.enabled and config.filter.variant == "uninterest"
    assert config.filter.radii == (16, 9, 4, 1, 0) and config.filter.reference_resolution == 256
    assert config.disentanglement.enabled and config.disentanglement.weight == 0.05
    assert config.iterations == 5 and config.optim.batch_size == 8 and config.optim.lr == 1e-4
    assert config.method == "interestyle" and config.needs_masks


def test_baseline_switches_off_mask_filter_and_disentanglement():
    config = TrainingConfig(model=tiny_config(), baseline=True)
    assert not config.loss.masked and not config.filter.enabled and not config.disentanglement.enabled
    assert config.method == "restyle" and not config.needs_masks
    # everything else is the same run
    assert config.optim == TrainingConfig(model=tiny_config()).optim


def test_baseline_with_a_switch_turned_on_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"filter\.enabled"):
        TrainingConfig.from_dict(tiny_run(tmp_path, baseline=True, filter={"enabled": True}))


def test_dict_round_trip(tmp_path):
    config = TrainingConfig.from_dict(tiny_run(tmp_path, filter={"variant": "whole", "radii": [8, 4]}))
    assert TrainingConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    init = TrainingConfig.from_dict({"model": {"init": "some/model"}})
    assert init.model == "some/model" and TrainingConfig.from_dict(init.to_dict()) == init


def test_model_generator_section_is_read_from_the_generator_folder(tmp_path):
    config = TrainingConfig.from_dict(tiny_run(tmp_path))
    assert isinstance(config.model, ModelConfig)
    assert config.model.generator == tiny_config().generator
    with pytest.raises(ConfigError, match=r"model\.generator is missing"):
        TrainingConfig.from_dict(tiny_run(tmp_path, generator=None))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"learning_rate": 1e-4}, "learning_rate"),
        ({"loss": {"l2": 1.0, "perceptual": 1.0}}, "loss.perceptual"),
        ({"loss": {"lpips": -0.8}}, "loss.lpips=-0.8"),
        ({"disentanglement": {"weight": -1}}, "disentanglement.weight"),
        ({"filter": {"variant": "background"}}, "filter.variant='background'"),
        ({"filter": {"radii": [16, -1]}}, "filter.radii"),
        ({"optim": {"lr": 0}}, "optim.lr"),
        ({"optim": {"betas": [0.9]}}, "optim.betas"),
        ({"optim": {"batch_size": 0}}, "optim.batch_size"),
        ({"data": {"kind": "webdataset"}}, "data.kind"),
        ({"data": {"val_fraction": 1.0}}, "data.val_fraction"),
        ({"data": {"kind": "folder"}}, "data.images"),
        ({"mixed_precision": "fp8"}, "mixed_precision"),
        ({"iterations": 0}, "iterations"),
        ({"loss": {"masked": "yes"}}, "loss.masked"),
        ({"model": {"encoder": {"kind": "resnet"}}}, "EncoderConfig.kind"),
    ],
)
def test_bad_values_are_named(tmp_path, change, named):
    with pytest.raises(ConfigError) as info:
        TrainingConfig.from_dict(tiny_run(tmp_path, **change))
    assert named in str(info.value)


def test_single_pass_encoders_cannot_use_disentanglement(tmp_path):
    single = {"encoder": tiny_config("gradual").encoder.to_dict()}
    with pytest.raises(ConfigError, match="iterations"):
        TrainingConfig.from_dict(tiny_run(tmp_path, model=single))
    with pytest.raises(ConfigError, match="disentanglement"):
        TrainingConfig.from_dict(tiny_run(tmp_path, model=single, iterations=1))
    TrainingConfig.from_dict(tiny_run(tmp_path, model=single, iterations=1, disentanglement={"enabled": False}))


def test_missing_mask_files_are_named(tmp_path):
    write_image_folder(tmp_path / "images", 3, masks=tmp_path / "masks")
    (tmp_path / "masks" / "img1.png").unlink()
    data = {"kind": "folder", "images": str(tmp_path / "images"), "masks": str(tmp_path / "masks")}
    config = TrainingConfig.from_dict(tiny_run(tmp_path, data=data))
    with pytest.raises(ConfigError, match=r"lacks masks for 1 of 3 images \(first: img1\.png\)"):
        config.check_files()


def test_mask_folder_is_needed_unless_the_run_reads_no_mask(tmp_path):
    write_image_folder(tmp_path / "images", 3)
    data = {"kind": "folder", "images": str(tmp_path / "images"), "count": 1}
    with pytest.raises(ConfigError, match=r"data\.masks is required"):
        TrainingConfig.from_dict(tiny_run(tmp_path, data=data)).check_files()
    TrainingConfig.from_dict(tiny_run(tmp_path, data=data, baseline=True)).check_files()


def test_missing_folders_and_weights_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data\.images"):
        TrainingConfig.from_dict(
            tiny_run(tmp_path, data={"kind": "folder", "images": str(tmp_path / "nope")})
        ).check_files()
    with pytest.raises(FileNotFoundError, match=r"loss\.lpips_weights"):
        TrainingConfig.from_dict(tiny_run(tmp_path, loss={"lpips_weights": str(tmp_path / "lpips")})).check_files()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no images"):
        TrainingConfig.from_dict(
            tiny_run(tmp_path, data={"kind": "folder", "images": str(tmp_path / "empty")})
        ).check_files()


def test_json_and_yaml_files_load_the_same(tmp_path):
    yaml = pytest.importorskip("yaml")
    data = tiny_run(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps(data))
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(data))
    assert load_training_config(tmp_path / "run.json") == load_training_config(tmp_path / "run.yaml")


def test_unreadable_files_are_errors(tmp_path):
    (tmp_path / "bad.json").write_text("{model: ")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_training_config(tmp_path / "bad.json")
    (tmp_path / "run.toml").write_text("")
    with pytest.raises(ConfigError, match=r"\.json, \.yaml"):
        load_training_config(tmp_path / "run.toml")
    with pytest.raises(FileNotFoundError):
        load_training_config(tmp_path / "missing.json")
    (tmp_path / "typo.json").write_text(json.dumps({"model": {"init": "x"}, "optimizer": {}}))
    with pytest.raises(ConfigError, match=r"typo\.json: unknown key\(s\) \['optimizer'\]"):
        load_training_config(tmp_path / "typo.json")


def test_generator_folder_can_be_saved_anywhere(tmp_path):
    save_generator(tmp_path / "g")
    config = TrainingConfig.from_dict(
        {"model": {"encoder": tiny_config().encoder.to_dict()}, "generator": str(tmp_path / "g")}
    )
    config.check_files()


def test_every_recipe_in_the_repository_is_a_valid_training_config():
    root = Path(__file__).resolve().parents[1] / "recipes"
    recipes = [p for p in [*root.glob("*.json"), *root.glob("v2/*.json")] if not p.name.startswith("demo_generator")]
    assert len(recipes) >= 14
    for path in recipes:
        config = load_training_config(path)
        assert config.log.dir.startswith("recipes/runs/"), path
        if path.parent.name == "v2":
            assert config.data.domain == "v2", path
            if isinstance(config.model, str):  # trained on from a packed v2 model, whose generator it keeps
                assert config.generator is None and config.model.startswith("recipes/runs/v2-step3000/"), path
            else:
                assert config.generator.endswith("demo-generator-v2/generator"), path
