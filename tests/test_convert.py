"""``interestyle convert``: official checkpoint layouts built on the spot, converted, loaded, compared."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from huggingface_hub.repocard import metadata_load
from PIL import Image

import interestyle as its
from conftest import tiny_config
from interestyle.cli import main
from interestyle.config import EncoderConfig, GeneratorConfig
from interestyle.convert import convert_checkpoint, kind_names, load_checkpoint
from interestyle.convert.encoder_shapes import infer_encoder_shape
from interestyle.convert.generator_shapes import infer_generator_config
from interestyle.convert.matching import expected_shapes, match_tensors
from interestyle.errors import ConfigError, HubError, WeightsError
from interestyle.models.generator import Generator, load_generator
from interestyle.nn.resample import make_kernel

# Encoder stages of different widths, so the stage boundaries show in the tensors (as in IR-SE-50).
WIDTHS = (16, 24, 32, 48)
UNITS = (1, 2, 1, 1)

# kind -> (our encoder kind, the opts.encoder_type upstream writes)
LAYOUTS = {
    "psp": ("gradual", "GradualStyleEncoder"),
    "e4e": ("e4e", "Encoder4Editing"),
    "restyle-psp": ("backbone", "BackboneEncoder"),
    "restyle-e4e": ("progressive-backbone", "ProgressiveBackboneEncoder"),
    "interestyle": ("backbone", "BackboneEncoder"),
}


class NotAllowed:
    """A class no checkpoint may carry."""


def randomized(model: its.IntereStyleModel, seed: int = 0) -> its.IntereStyleModel:
    """Non-trivial noise weights, biases, BatchNorm statistics and latent_avg, as a trained model has."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith(("noise.weight", "activate.bias", "running_mean", "to_rgb1.bias")):
                tensor.normal_(0, 0.1)
            elif name.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
        model.latent_avg.copy_(model.decoder.mean_latent(256) + 0.1 * torch.randn(model.n_latent, model.style_dim))
    return model.eval()


def reference_model(kind: str, *, seed: int = 0, **config_changes) -> its.IntereStyleModel:
    """The model whose weights a checkpoint will hold: the original implementation's stand-in."""
    encoder_kind = LAYOUTS[kind][0]
    config = tiny_config(encoder_kind)
    encoder = dataclasses.replace(
        config.encoder, widths=WIDTHS, units=UNITS, input_nc=6 if kind.startswith(("restyle", "inter")) else 3
    )
    iterative = encoder.input_nc == 6
    config = dataclasses.replace(
        config, encoder=encoder, iterations=5 if iterative else 1, method=kind.split("-")[0], **config_changes
    )
    torch.manual_seed(seed)
    return randomized(its.IntereStyleModel(config), seed)


def encoder_checkpoint(model: its.IntereStyleModel, kind: str, *, opts: bool = True, decoder: bool = True) -> dict:
    """The dict pSp / e4e / ReStyle / IntereStyle coaches save, in their key names."""
    state = {k: v.clone() for k, v in model.state_dict().items() if k != "latent_avg"}
    if not decoder:
        state = {k: v for k, v in state.items() if not k.startswith("decoder.")}
    checkpoint: dict = {"state_dict": state, "latent_avg": model.latent_avg.clone()}
    if opts:
        options = {
            "encoder_type": LAYOUTS[kind][1],
            "output_size": model.resolution,
            "input_nc": 3,
            "lpips_lambda": 0.8,
        }
        if kind == "interestyle":
            options["apply_mask_loss"] = True
        checkpoint["opts"] = options
    if kind in ("e4e", "restyle-e4e"):
        checkpoint["discriminator_state_dict"] = {"w.0.weight": torch.randn(4, 4)}
        checkpoint["discriminator_optimizer_state_dict"] = {"state": {}, "param_groups": [{"lr": 1e-4}]}
    if kind.startswith("restyle"):
        checkpoint["optimizer"] = {"state": {0: {"exp_avg": torch.zeros(3)}}, "param_groups": [{"lr": 1e-4}]}
        checkpoint["global_step"] = 1000
        checkpoint["best_val_loss"] = 0.25
    return checkpoint


def stylegan2_checkpoint(generator: Generator, latent_avg: torch.Tensor | None) -> dict:
    """rosinality's train.py checkpoint (plus latent_avg, as convert_weight.py writes)."""
    state = {k: v.clone() for k, v in generator.state_dict().items()}
    checkpoint = {
        "g": state,
        "d": {"convs.0.0.weight": torch.randn(4, 3, 1, 1)},
        "g_ema": state,
        "g_optim": {"state": {}, "param_groups": [{"lr": 0.002}]},
        "d_optim": {"state": {}, "param_groups": [{"lr": 0.002}]},
        "args": argparse.Namespace(size=generator.config.resolution, channel_multiplier=2, path="ffhq.lmdb"),
        "ada_aug_p": 0.0,
    }
    if latent_avg is not None:
        checkpoint["latent_avg"] = latent_avg
    return checkpoint


def save(obj: object, path: Path, **kwargs) -> Path:
    torch.save(obj, path, **kwargs)
    return path


def images(model: its.IntereStyleModel, batch: int = 2) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    return torch.rand(batch, 3, model.input_size, model.input_size, generator=gen) * 2 - 1


@torch.no_grad()
def max_difference(a: its.IntereStyleModel, b: its.IntereStyleModel) -> float:
    x = images(a)
    steps = a.config.iterations
    worst = 0.0
    for (la, ya), (lb, yb) in zip(a.refine(x, steps), b.refine(x, steps), strict=True):
        worst = max(worst, (la - lb).abs().max().item(), (ya - yb).abs().max().item())
    return worst


# -- each official layout ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(LAYOUTS))
def test_each_layout_is_detected_and_reproduces_the_original(tmp_path, kind):
    original = reference_model(kind)
    source = save(encoder_checkpoint(original, kind), tmp_path / f"{kind}.pt")
    result = convert_checkpoint(source, tmp_path / "out")
    assert result.kind == kind
    assert result.how_chosen.startswith("its layout fits")
    converted = its.load_encoder(tmp_path / "out")
    assert converted.config.generator == original.config.generator
    assert converted.config.encoder == original.config.encoder
    assert converted.config.iterations == original.config.iterations
    assert max_difference(original, converted) <= 1e-4
    converted_state = converted.state_dict()
    for key, value in original.state_dict().items():
        assert torch.equal(converted_state[key], value), key
    assert any(line.startswith("opts:") for line in result.dropped)


def test_e4e_and_psp_read_the_same_weights_differently(tmp_path):
    original = reference_model("e4e")
    source = save(encoder_checkpoint(original, "e4e", opts=False), tmp_path / "e4e.pt")
    convert_checkpoint(source, tmp_path / "as-e4e", kind="e4e")
    convert_checkpoint(source, tmp_path / "as-psp", kind="psp")
    as_e4e, as_psp = its.load_encoder(tmp_path / "as-e4e"), its.load_encoder(tmp_path / "as-psp")
    assert max_difference(original, as_e4e) <= 1e-4
    assert max_difference(original, as_psp) > 1e-2  # so --kind matters, and detection must get it right


def test_training_state_is_dropped_and_reported(tmp_path):
    original = reference_model("restyle-e4e")
    source = save(encoder_checkpoint(original, "restyle-e4e"), tmp_path / "restyle.pt")
    result = convert_checkpoint(source, tmp_path / "out")
    dropped = {line.split(":")[0] for line in result.dropped}
    assert dropped == {
        "opts",
        "optimizer",
        "discriminator_state_dict",
        "discriminator_optimizer_state_dict",
        "global_step",
        "best_val_loss",
    }
    card = (tmp_path / "out" / "README.md").read_text()
    assert "discriminator_state_dict: the latent discriminator" in card


def test_latent_avg_of_one_row_is_repeated(tmp_path):
    original = reference_model("e4e")
    row = original.latent_avg[:1].clone()
    with torch.no_grad():
        original.latent_avg.copy_(row.expand(original.n_latent, -1))
    checkpoint = encoder_checkpoint(original, "e4e")
    checkpoint["latent_avg"] = row  # e4e keeps it as (1, 512)
    result = convert_checkpoint(save(checkpoint, tmp_path / "e4e.pt"), tmp_path / "out")
    assert result.kind == "e4e"
    assert max_difference(original, its.load_encoder(tmp_path / "out")) <= 1e-4


def test_psp_without_latent_avg_was_trained_without_it(tmp_path):
    original = reference_model("psp", start_from_latent_avg=False)
    checkpoint = encoder_checkpoint(original, "psp")
    del checkpoint["latent_avg"]
    result = convert_checkpoint(save(checkpoint, tmp_path / "psp.pt"), tmp_path / "out")
    converted = its.load_encoder(tmp_path / "out")
    assert converted.config.start_from_latent_avg is False
    assert max_difference(original, converted) <= 1e-4
    assert any("start_from_latent_avg=false" in note for note in result.notes)


def test_restyle_without_latent_avg_is_refused(tmp_path):
    checkpoint = encoder_checkpoint(reference_model("restyle-psp"), "restyle-psp")
    del checkpoint["latent_avg"]
    with pytest.raises(WeightsError, match="no 'latent_avg'"):
        convert_checkpoint(save(checkpoint, tmp_path / "r.pt"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- telling same-shaped kinds apart ---------------------------------------------------------------------
def test_psp_or_e4e_without_evidence_needs_kind(tmp_path):
    source = save(encoder_checkpoint(reference_model("psp"), "psp", opts=False), tmp_path / "x.pt")
    with pytest.raises(ValueError, match=r"fits kinds psp, e4e.*--kind") as info:
        convert_checkpoint(source, tmp_path / "out")
    assert "['psp', 'e4e']" in str(info.value)
    assert convert_checkpoint(source, tmp_path / "out", kind="psp").how_chosen == "given with --kind"


def test_discriminator_is_evidence_of_e4e(tmp_path):
    checkpoint = encoder_checkpoint(reference_model("e4e"), "e4e", opts=False)
    assert "discriminator_state_dict" in checkpoint
    result = convert_checkpoint(save(checkpoint, tmp_path / "x.pt"), tmp_path / "out")
    assert result.kind == "e4e" and "discriminator_state_dict" in result.how_chosen


def test_restyle_psp_or_interestyle_without_evidence_needs_kind(tmp_path):
    source = save(encoder_checkpoint(reference_model("restyle-psp"), "restyle-psp", opts=False), tmp_path / "x.pt")
    with pytest.raises(ValueError, match="restyle-psp, restyle-e4e, interestyle"):
        convert_checkpoint(source, tmp_path / "out")
    result = convert_checkpoint(source, tmp_path / "out", kind="interestyle")
    assert its.load_encoder(tmp_path / "out").config.method == "interestyle"
    assert result.kind == "interestyle"


def test_explicit_kind_that_does_not_fit_says_why(tmp_path):
    source = save(encoder_checkpoint(reference_model("restyle-psp"), "restyle-psp"), tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a psp checkpoint: its encoder takes 6 input channels"):
        convert_checkpoint(source, tmp_path / "out", kind="psp")


def test_explicit_kind_against_the_evidence_warns(tmp_path):
    source = save(encoder_checkpoint(reference_model("e4e"), "e4e"), tmp_path / "x.pt")
    result = convert_checkpoint(source, tmp_path / "out", kind="psp")
    assert any(note.startswith("warning: converted as psp") and "e4e" in note for note in result.notes)


# -- the generator ------------------------------------------------------------------------------------------
@pytest.fixture
def generator() -> tuple[Generator, torch.Tensor]:
    model = reference_model("restyle-psp", seed=3)
    return model.decoder, model.latent_avg[0].clone()


def test_stylegan2_checkpoint_becomes_a_generator_folder(tmp_path, generator):
    g, latent_avg = generator
    source = save(stylegan2_checkpoint(g, latent_avg), tmp_path / "stylegan2.pt")
    result = convert_checkpoint(source, tmp_path / "out")
    assert result.kind == "stylegan2"
    assert load_checkpoint(source).allowed == ["argparse.Namespace"]
    assert {line.split(":")[0] for line in result.dropped} == {"g", "d", "g_optim", "d_optim", "args", "ada_aug_p"}
    loaded, loaded_avg = load_generator(tmp_path / "out")
    assert loaded.config == g.config and torch.equal(loaded_avg, latent_avg)
    w = torch.randn(2, g.n_latent, g.config.style_dim)
    with torch.no_grad():
        assert (loaded(w) - g(w)).abs().max().item() <= 1e-4
        z = torch.randn(2, g.config.style_dim)
        assert (loaded(z, input_space="z") - g(z, input_space="z")).abs().max().item() <= 1e-4


def test_a_generator_folder_is_not_an_encoder(tmp_path, generator):
    source = save(stylegan2_checkpoint(*generator), tmp_path / "stylegan2.pt")
    convert_checkpoint(source, tmp_path / "out")
    with pytest.raises(ConfigError, match=r"generator only.*load_generator"):
        its.load_encoder(tmp_path / "out")


def test_stylegan2_without_latent_avg_gets_the_mean_w(tmp_path, generator):
    g, _ = generator
    result = convert_checkpoint(save(stylegan2_checkpoint(g, None), tmp_path / "s.pt"), tmp_path / "out")
    _, latent_avg = load_generator(tmp_path / "out")
    assert torch.allclose(latent_avg, g.mean_latent(4096, seed=0)[0])
    assert any("latent_avg: not in the checkpoint" in note for note in result.notes)


def test_standard_widths_give_a_channel_multiplier(tmp_path):
    config = GeneratorConfig(resolution=64, style_dim=16, n_mlp=2, channel_multiplier=1)
    torch.manual_seed(0)
    g = Generator(config)
    source = save(stylegan2_checkpoint(g, torch.zeros(16)), tmp_path / "s.pt")
    result = convert_checkpoint(source, tmp_path / "out")
    assert result.config["generator"]["channel_multiplier"] == 1
    assert result.config["generator"]["channels"] is None


def test_psp_without_decoder_needs_a_generator(tmp_path, generator):
    original = reference_model("psp")
    source = save(encoder_checkpoint(original, "psp", decoder=False), tmp_path / "psp.pt")
    with pytest.raises(ValueError, match=r"no generator weights.*--generator"):
        convert_checkpoint(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()

    stylegan = save(stylegan2_checkpoint(original.decoder, original.latent_avg[0]), tmp_path / "stylegan2.pt")
    result = convert_checkpoint(source, tmp_path / "out", generator=stylegan)
    assert any("--generator" in note for note in result.notes)
    assert max_difference(original, its.load_encoder(tmp_path / "out")) <= 1e-4

    convert_checkpoint(stylegan, tmp_path / "generator-folder")
    convert_checkpoint(source, tmp_path / "out2", generator=tmp_path / "generator-folder")
    assert max_difference(original, its.load_encoder(tmp_path / "out2")) <= 1e-4


def test_generator_given_twice_is_refused(tmp_path, generator):
    source = save(encoder_checkpoint(reference_model("psp"), "psp"), tmp_path / "psp.pt")
    stylegan = save(stylegan2_checkpoint(*generator), tmp_path / "stylegan2.pt")
    with pytest.raises(ValueError, match="already holds its generator"):
        convert_checkpoint(source, tmp_path / "out", generator=stylegan)


def test_generator_option_must_be_a_stylegan2_checkpoint(tmp_path):
    source = save(encoder_checkpoint(reference_model("psp"), "psp", decoder=False), tmp_path / "psp.pt")
    with pytest.raises(WeightsError, match="is not a StyleGAN2 checkpoint"):
        convert_checkpoint(source, tmp_path / "out", generator=source)


# -- encoder structure that the tensors cannot show ---------------------------------------------------------
def test_equal_stage_widths_need_encoder_units(tmp_path):
    torch.manual_seed(0)
    original = randomized(its.IntereStyleModel(tiny_config("backbone")))  # widths (16, 16, 32, 32)
    source = save(encoder_checkpoint(original, "restyle-psp"), tmp_path / "r.pt")
    with pytest.raises(ValueError, match="--encoder-units"):
        convert_checkpoint(source, tmp_path / "out")
    with pytest.raises(ValueError, match="does not fit"):
        convert_checkpoint(source, tmp_path / "out", encoder_units=(2, 1, 1, 1))
    convert_checkpoint(source, tmp_path / "out", encoder_units=(1, 1, 1, 1))
    assert max_difference(original, its.load_encoder(tmp_path / "out")) <= 1e-4


# -- the published format at full size (shapes only, on the meta device) -------------------------------------
def published_stylegan2_1024() -> dict[str, tuple[int, ...]]:
    """rosinality's g_ema for the official 1024px FFHQ generator (config F, 8 mapping layers)."""
    width = {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64, 1024: 32}
    s: dict[str, tuple[int, ...]] = {}
    for i in range(1, 9):
        s[f"style.{i}.weight"], s[f"style.{i}.bias"] = (512, 512), (512,)
    s["input.input"] = (1, 512, 4, 4)

    def styled(name: str, cin: int, cout: int, up: bool) -> None:
        s[f"{name}.conv.weight"] = (1, cout, cin, 3, 3)
        s[f"{name}.conv.modulation.weight"], s[f"{name}.conv.modulation.bias"] = (cin, 512), (cin,)
        if up:
            s[f"{name}.conv.blur.kernel"] = (4, 4)
        s[f"{name}.noise.weight"], s[f"{name}.activate.bias"] = (1,), (cout,)

    def to_rgb(name: str, cin: int, up: bool) -> None:
        if up:
            s[f"{name}.upsample.kernel"] = (4, 4)
        s[f"{name}.conv.weight"] = (1, 3, cin, 1, 1)
        s[f"{name}.conv.modulation.weight"], s[f"{name}.conv.modulation.bias"] = (cin, 512), (cin,)
        s[f"{name}.bias"] = (1, 3, 1, 1)

    styled("conv1", 512, 512, False)
    to_rgb("to_rgb1", 512, False)
    for j, res in enumerate(2**p for p in range(3, 11)):
        styled(f"convs.{2 * j}", width[res // 2], width[res], True)
        styled(f"convs.{2 * j + 1}", width[res], width[res], False)
        to_rgb(f"to_rgbs.{j}", width[res], True)
    for i in range(17):
        side = 2 ** ((i + 5) // 2)
        s[f"noises.noise_{i}"] = (1, 1, side, side)
    return s


def published_irse50_encoder(input_nc: int, pyramid: bool) -> dict[str, tuple[int, ...]]:
    """pSp's GradualStyleEncoder (pyramid) or ReStyle's BackboneEncoder on IR-SE-50, 256px input, 18 styles."""
    s: dict[str, tuple[int, ...]] = {}

    def bn(name: str, c: int) -> None:
        for p in ("weight", "bias", "running_mean", "running_var"):
            s[f"{name}.{p}"] = (c,)
        s[f"{name}.num_batches_tracked"] = ()

    s["input_layer.0.weight"] = (64, input_nc, 3, 3)
    bn("input_layer.1", 64)
    s["input_layer.2.weight"] = (64,)
    unit, cin = 0, 64
    for depth, count in ((64, 3), (128, 4), (256, 14), (512, 3)):
        for _ in range(count):
            b = f"body.{unit}"
            if cin != depth:
                s[f"{b}.shortcut_layer.0.weight"] = (depth, cin, 1, 1)
                bn(f"{b}.shortcut_layer.1", depth)
            bn(f"{b}.res_layer.0", cin)
            s[f"{b}.res_layer.1.weight"] = (depth, cin, 3, 3)
            s[f"{b}.res_layer.2.weight"] = (depth,)
            s[f"{b}.res_layer.3.weight"] = (depth, depth, 3, 3)
            bn(f"{b}.res_layer.4", depth)
            s[f"{b}.res_layer.5.fc1.weight"] = (depth // 16, depth, 1, 1)
            s[f"{b}.res_layer.5.fc2.weight"] = (depth, depth // 16, 1, 1)
            unit, cin = unit + 1, depth
    for i in range(18):
        n_convs = 4 if not pyramid or i < 3 else 5 if i < 7 else 6  # 16, 32, 64 pixels down to 1
        for c in range(n_convs):
            s[f"styles.{i}.convs.{2 * c}.weight"], s[f"styles.{i}.convs.{2 * c}.bias"] = (512, 512, 3, 3), (512,)
        s[f"styles.{i}.linear.weight"], s[f"styles.{i}.linear.bias"] = (512, 512), (512,)
    if pyramid:
        s["latlayer1.weight"], s["latlayer1.bias"] = (512, 256, 1, 1), (512,)
        s["latlayer2.weight"], s["latlayer2.bias"] = (512, 128, 1, 1), (512,)
    return s


def as_tensors(shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    blur = make_kernel([1, 3, 3, 1]) * 4  # the only values the config is read from
    return {k: blur.clone() if k.endswith(".kernel") else torch.empty(v, device="meta") for k, v in shapes.items()}


def test_published_stylegan2_layout_gives_config_f():
    tensors = as_tensors(published_stylegan2_1024())
    config = infer_generator_config(tensors, "g_ema")
    assert config == GeneratorConfig()  # 1024px, 512, 8 layers, multiplier 2, blur (1, 3, 3, 1)
    with torch.device("meta"):
        assert expected_shapes(Generator(config)) == published_stylegan2_1024()


@pytest.mark.parametrize(("input_nc", "pyramid", "kind"), [(3, True, "gradual"), (6, False, "backbone")])
def test_published_encoder_layout_gives_irse50(input_nc, pyramid, kind):
    shapes = published_irse50_encoder(input_nc, pyramid)
    shape = infer_encoder_shape(as_tensors(shapes), "encoder")
    config = shape.config(kind)
    assert config == EncoderConfig(kind=kind, num_layers=50, input_nc=input_nc, input_size=256)
    assert shape.n_styles == 18
    full = {f"encoder.{k}": v for k, v in shapes.items()}
    full.update({f"decoder.{k}": v for k, v in published_stylegan2_1024().items()})
    full["latent_avg"] = (18, 512)
    model_config = its.ModelConfig(encoder=config, iterations=5 if input_nc == 6 else 1)
    with torch.device("meta"):
        expected = expected_shapes(its.IntereStyleModel(model_config))
    assert expected == full
    matched = match_tensors(expected, as_tensors(full), {}, what="the model")
    assert list(matched) == list(expected)


# -- bad input ----------------------------------------------------------------------------------------------
def test_not_a_checkpoint(tmp_path):
    (tmp_path / "notes.pt").write_text("these are not weights\n")
    with pytest.raises(WeightsError, match=r"not a readable PyTorch checkpoint.*not written by torch.save"):
        convert_checkpoint(tmp_path / "notes.pt", tmp_path / "out")


def test_missing_source_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        convert_checkpoint(tmp_path / "nope.pt", tmp_path / "out")


@pytest.mark.parametrize("zipped", [True, False])
def test_truncated_checkpoint(tmp_path, zipped):
    full = save(encoder_checkpoint(reference_model("psp"), "psp"), tmp_path / "full.pt",
                _use_new_zipfile_serialization=zipped)  # fmt: skip
    data = full.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="corrupt or truncated"):
        convert_checkpoint(tmp_path / "cut.pt", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("zipped", [True, False])
def test_disallowed_pickled_type_is_refused_by_name(tmp_path, zipped):
    path = save({"g_ema": {}, "extra": NotAllowed()}, tmp_path / "evil.pt", _use_new_zipfile_serialization=zipped)
    with pytest.raises(WeightsError, match=r"type test_convert\.NotAllowed.*refusing") as info:
        convert_checkpoint(path, tmp_path / "out")
    assert "argparse.Namespace" in str(info.value)  # says what is allowed


def test_namespace_in_a_legacy_checkpoint_is_allowed(tmp_path, generator):
    path = save(stylegan2_checkpoint(*generator), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    checkpoint = load_checkpoint(path)
    assert checkpoint.allowed == ["argparse.Namespace"]
    assert isinstance(checkpoint.entries["args"], argparse.Namespace)


def test_unknown_kind_lists_kinds_and_keys(tmp_path):
    path = save({"model": {"backbone.conv.weight": torch.zeros(2)}, "epoch": 3}, tmp_path / "other.pt")
    with pytest.raises(WeightsError, match="no kind interestyle can convert") as info:
        convert_checkpoint(path, tmp_path / "out")
    message = str(info.value)
    assert "'model', 'epoch'" in message
    for name in kind_names():
        assert name in message


def test_unknown_kind_name_lists_kinds(tmp_path):
    with pytest.raises(ValueError, match=r"unknown kind 'bisenet'.*'stylegan2'"):
        convert_checkpoint(tmp_path / "x.pt", tmp_path / "out", kind="bisenet")


def test_missing_key_is_named(tmp_path):
    checkpoint = encoder_checkpoint(reference_model("restyle-psp"), "restyle-psp")
    del checkpoint["state_dict"]["decoder.convs.1.noise.weight"]
    with pytest.raises(WeightsError, match=r"does not fill: 'decoder\.convs\.1\.noise\.weight'"):
        convert_checkpoint(save(checkpoint, tmp_path / "r.pt"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_extra_key_is_named(tmp_path):
    checkpoint = encoder_checkpoint(reference_model("restyle-psp"), "restyle-psp")
    checkpoint["state_dict"]["encoder.output_pool.weight"] = torch.zeros(3)
    with pytest.raises(WeightsError, match=r"no place in it: 'state_dict/encoder\.output_pool\.weight'"):
        convert_checkpoint(save(checkpoint, tmp_path / "r.pt"), tmp_path / "out")


def test_wrong_shape_is_named(tmp_path):
    checkpoint = encoder_checkpoint(reference_model("psp"), "psp")
    checkpoint["state_dict"]["encoder.latlayer1.bias"] = torch.zeros(7)
    with pytest.raises(WeightsError, match=r"'state_dict/encoder\.latlayer1\.bias' has shape \(7,\)"):
        convert_checkpoint(save(checkpoint, tmp_path / "p.pt"), tmp_path / "out")


def test_unknown_top_level_tensors_are_not_dropped_silently(tmp_path):
    checkpoint = encoder_checkpoint(reference_model("psp"), "psp")
    checkpoint["ema_encoder"] = {"input_layer.0.weight": torch.zeros(1)}
    checkpoint["note"] = "trained on FFHQ"
    with pytest.raises(WeightsError, match=r"\['ema_encoder'\] holding tensors"):
        convert_checkpoint(save(checkpoint, tmp_path / "p.pt"), tmp_path / "out")
    del checkpoint["ema_encoder"]
    result = convert_checkpoint(save(checkpoint, tmp_path / "p.pt"), tmp_path / "out")
    assert "note: metadata (str), not needed for inference" in result.dropped


def test_non_empty_output_folder_needs_overwrite(tmp_path):
    source = save(encoder_checkpoint(reference_model("psp"), "psp"), tmp_path / "p.pt")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"not empty \(it holds keep\.txt\).*--overwrite"):
        convert_checkpoint(source, out)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    convert_checkpoint(source, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "keep.txt", "model.safetensors"]
    assert (out / "keep.txt").read_text() == "mine"
    its.load_encoder(out)


def test_output_has_the_permissions_of_ordinary_files(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    source = save(encoder_checkpoint(reference_model("psp"), "psp"), tmp_path / "p.pt")
    convert_checkpoint(source, tmp_path / "out")
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o777 & ~umask
    for name in ("config.json", "model.safetensors", "README.md"):
        assert (tmp_path / "out" / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_empty_output_folder_is_used(tmp_path):
    source = save(encoder_checkpoint(reference_model("psp"), "psp"), tmp_path / "p.pt")
    (tmp_path / "out").mkdir()
    convert_checkpoint(source, tmp_path / "out")
    its.load_encoder(tmp_path / "out")


# -- the model card ------------------------------------------------------------------------------------------
def test_model_card_states_the_source_and_has_hub_metadata(tmp_path):
    source = save(encoder_checkpoint(reference_model("interestyle"), "interestyle"), tmp_path / "release.pt")
    result = convert_checkpoint(source, tmp_path / "out")
    card = (tmp_path / "out" / "README.md").read_text()
    meta = metadata_load(tmp_path / "out" / "README.md")
    assert meta["library_name"] == "interestyle" and "interestyle" in meta["tags"]
    assert "license" not in meta and "# license: fill in" in card
    assert "`release.pt`" in card and result.sha256 in card and "`interestyle`" in card
    assert json.loads(card.split("```json\n")[1].split("```")[0]) == result.config
    # the folder by its name, never the converting machine's path; the architecture credited, the weights not
    assert 'load_encoder("out")' in card and str(tmp_path) not in card and "/out" not in card
    assert "Moon and Park, *IntereStyle" in card and "does not say who trained these weights" in card
    assert "(from [" not in card

    convert_checkpoint(source, tmp_path / "licensed", license="mit")
    assert metadata_load(tmp_path / "licensed" / "README.md")["license"] == "mit"
    with pytest.raises(ValueError, match="not a Hub license identifier"):
        convert_checkpoint(source, tmp_path / "bad", license="MIT License")


@pytest.mark.parametrize("kind", ["restyle-psp", "stylegan2"])
def test_model_card_example_runs(tmp_path, monkeypatch, kind, generator):
    if kind == "stylegan2":
        checkpoint = stylegan2_checkpoint(*generator)
    else:
        checkpoint = encoder_checkpoint(reference_model(kind), kind)
    convert_checkpoint(save(checkpoint, tmp_path / "c.pt"), tmp_path / "out")
    card = (tmp_path / "out" / "README.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", card, flags=re.S)
    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (40, 40), (120, 90, 60)).save(tmp_path / "photo.png")
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert "result" in namespace or "image" in namespace


# -- pushing to the Hub -----------------------------------------------------------------------------------
PUSH = textwrap.dedent(
    """
    import json, sys
    import interestyle as its
    from interestyle.convert import convert_checkpoint

    try:
        convert_checkpoint(sys.argv[1], sys.argv[2], push_to_hub="interestyle-tests/converted")
    except Exception as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc),
                          "is_hub_error": isinstance(exc, its.HubError)}))
    else:
        print(json.dumps({"pushed": True}))
    """
)


def test_push_to_an_unreachable_hub_keeps_the_folder(tmp_path):
    source = save(encoder_checkpoint(reference_model("psp"), "psp"), tmp_path / "p.pt")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{port}", HF_HOME=str(tmp_path / "hf-home"), HF_TOKEN="hf_test")
    proc = subprocess.run(
        [sys.executable, "-c", PUSH, str(source), str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result.get("is_hub_error"), result
    assert "unreachable" in result["message"] and f"kept in {tmp_path / 'out'}" in result["message"]
    its.load_encoder(tmp_path / "out")


def test_push_uploads_the_converted_files(tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    class FakeApi:
        def __init__(self, token=None):
            calls.append(("token", token))

        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id, kwargs))

        def upload_folder(self, **kwargs):
            calls.append(("upload_folder", kwargs))
            return type("Commit", (), {"repo_url": f"https://hub.example/{kwargs['repo_id']}"})()

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    source = save(encoder_checkpoint(reference_model("psp"), "psp"), tmp_path / "p.pt")
    result = convert_checkpoint(source, tmp_path / "out", push_to_hub="me/psp", private=True)
    assert result.repo_url == "https://hub.example/me/psp"
    (_, (_, repo, create), (_, upload)) = calls
    assert repo == "me/psp" and create["exist_ok"] is True and create["private"] is True
    assert upload["folder_path"] == str(tmp_path / "out")
    assert sorted(upload["allow_patterns"]) == ["README.md", "config.json", "model.safetensors"]
    assert 'load_encoder("me/psp")' in (tmp_path / "out" / "README.md").read_text()


def test_push_in_offline_mode_is_a_hub_error(tmp_path, monkeypatch):
    import huggingface_hub

    class OfflineApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, **kwargs):
            raise huggingface_hub.errors.OfflineModeIsEnabled("offline mode is enabled")

    monkeypatch.setattr(huggingface_hub, "HfApi", OfflineApi)
    source = save(encoder_checkpoint(reference_model("psp"), "psp"), tmp_path / "p.pt")
    with pytest.raises(HubError, match=r"offline mode is enabled.*kept in"):
        convert_checkpoint(source, tmp_path / "out", push_to_hub="me/psp")
    its.load_encoder(tmp_path / "out")


# -- the command line -------------------------------------------------------------------------------------
def test_cli_prints_the_detected_kind(tmp_path, capsys):
    source = save(encoder_checkpoint(reference_model("e4e"), "e4e"), tmp_path / "e4e.pt")
    assert main(["convert", str(source), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("kind: e4e (its layout fits psp, e4e and ")
    assert "dropped discriminator_state_dict" in out
    assert its.load_encoder(tmp_path / "out").config.encoder.kind == "e4e"


def test_cli_options_reach_the_converter(tmp_path, capsys):
    torch.manual_seed(0)
    original = randomized(its.IntereStyleModel(tiny_config("backbone")))
    source = save(encoder_checkpoint(original, "restyle-psp", opts=False), tmp_path / "r.pt")
    argv = ["convert", str(source), "--out", str(tmp_path / "out"), "--kind", "restyle-psp"]
    options = ["--encoder-units", "1,1,1,1", "--iterations", "2", "--lr-mlp", "1", "--license", "other"]
    assert main([*argv, *options]) == 0
    out = capsys.readouterr().out
    assert "kind: restyle-psp (given with --kind)" in out and "lr_mlp=1: from --lr-mlp" in out
    assert its.load_encoder(tmp_path / "out").config.iterations == 2
    assert its.load_encoder(tmp_path / "out").config.generator.lr_mlp == 1.0
    assert metadata_load(tmp_path / "out" / "README.md")["license"] == "other"


def test_a_generator_trained_with_another_mapping_lr_needs_lr_mlp(tmp_path):
    original = reference_model("restyle-psp", generator=dataclasses.replace(tiny_config().generator, lr_mlp=1.0))
    source = save(encoder_checkpoint(original, "restyle-psp"), tmp_path / "r.pt")
    default = convert_checkpoint(source, tmp_path / "default")
    assert any("upstream uses 0.01 (pass --lr-mlp" in note for note in default.notes)
    z = torch.randn(4, original.style_dim)

    @torch.no_grad()
    def mapping_difference(folder: Path) -> float:  # inversion never runs the mapping network; sampling does
        return float((its.load_encoder(folder).decoder.mapping(z) - original.decoder.mapping(z)).abs().max())

    assert mapping_difference(tmp_path / "default") > 1e-3  # same weights, another equalized-lr scale
    convert_checkpoint(source, tmp_path / "given", lr_mlp=1.0)
    assert mapping_difference(tmp_path / "given") == 0


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), "0.01", True])
def test_bad_lr_mlp_is_refused(tmp_path, value):
    source = save(encoder_checkpoint(reference_model("restyle-psp"), "restyle-psp"), tmp_path / "r.pt")
    with pytest.raises(ValueError, match="lr_mlp="):
        convert_checkpoint(source, tmp_path / "out", lr_mlp=value)


def test_cli_errors_are_one_line(tmp_path, capsys):
    source = save(encoder_checkpoint(reference_model("psp"), "psp", decoder=False), tmp_path / "psp.pt")
    assert main(["convert", str(source), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("interestyle convert: error: ") and "--generator" in err
    assert len(err.strip().splitlines()) == 1
