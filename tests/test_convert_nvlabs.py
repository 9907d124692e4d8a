"""``interestyle convert network.pkl``: NVlabs network pickles, written here in NVlabs' layout, read without
running any pickled code, converted to generator folders and compared with the generator they were made from.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import interestyle as its
from interestyle.cli import main
from interestyle.config import GeneratorConfig
from interestyle.convert import NVLABS_GLOBALS, convert_checkpoint, load_network_pickle
from interestyle.convert.generator_shapes import infer_generator_config
from interestyle.convert.stylegan2_ada import rosinality_names, rosinality_tensors
from interestyle.errors import WeightsError
from interestyle.models.generator import Generator, load_generator
from interestyle.nn.resample import Upsample
from interestyle.training import TrainingConfig, build_model
from nvlabs_layout import (
    ADA_SOURCE,
    Global,
    Pickler,
    Record,
    alias_free_generator,
    module_state,
    nvlabs_generator,
    snapshot,
    write_pickle,
)
from test_convert import encoder_checkpoint, reference_model, save
from training_setup import tiny_run

# The two configurations in use, at test size: the paper's config F (8 mapping layers, wide) and ADA's
# `auto` (2 mapping layers, half the widths); each also written by the stylegan3 repository.
CONFIGS = {
    "config-f": GeneratorConfig(resolution=32, style_dim=16, n_mlp=8, channels=(32, 32, 32, 16)),
    "ada-auto": GeneratorConfig(resolution=32, style_dim=16, n_mlp=2, channels=(16, 16, 8, 4)),
}


def trained_like(config: GeneratorConfig, seed: int = 0) -> tuple[Generator, torch.Tensor]:
    """A generator with non-trivial biases and noise strengths (zeros at init), and a truncation average."""
    torch.manual_seed(seed)
    g = Generator(config).eval()
    with torch.no_grad():
        for name, tensor in g.state_dict().items():
            if name.endswith(("noise.weight", "activate.bias", "bias")) and "modulation" not in name:
                tensor.normal_(0, 0.1)
    return g, torch.randn(config.style_dim)


def nvlabs_snapshot(g: Generator, latent_avg: torch.Tensor, **options) -> dict:
    """A training snapshot whose G differs from G_ema, so reading the wrong network shows."""
    other = Generator(g.config)
    return snapshot(nvlabs_generator(g, latent_avg, **options), nvlabs_generator(other, latent_avg, **options))


@torch.no_grad()
def differences(converted: Generator, original: Generator) -> tuple[float, float]:
    """(image, mapping) max |difference|, for the same W+ (distinct per layer) and constant noise."""
    gen = torch.Generator().manual_seed(1)
    dim = original.config.style_dim
    w = torch.randn(3, original.n_latent, dim, generator=gen)
    image = converted(w, input_space="w+", noise_mode="const") - original(w, input_space="w+", noise_mode="const")
    z = torch.randn(3, dim, generator=gen)
    return float(image.abs().max()), float((converted.mapping(z) - original.mapping(z)).abs().max())


@pytest.mark.parametrize("repo", ["ada", "stylegan3"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_each_configuration_round_trips_through_an_nvlabs_snapshot(tmp_path, name, repo):
    g, latent_avg = trained_like(CONFIGS[name])
    source = write_pickle(nvlabs_snapshot(g, latent_avg, repo=repo), tmp_path / "network-snapshot-000100.pkl")
    result = convert_checkpoint(source, tmp_path / "out")
    assert result.kind == "stylegan2-ada" and result.how_chosen == "its layout fits only stylegan2-ada"
    converted, converted_avg = load_generator(tmp_path / "out")
    assert converted.config == g.config
    for key, value in g.state_dict().items():
        assert torch.equal(converted.state_dict()[key], value), key
    assert torch.equal(converted_avg, latent_avg)
    image, mapping = differences(converted, g)
    assert image <= 1e-4 and mapping <= 1e-5
    assert {line.split(":")[0] for line in result.dropped} == {"G", "D", "augment_pipe", "training_set_kwargs", "G_ema"}
    expected_repo = "stylegan2-ada-pytorch" if repo == "ada" else "stylegan3 repository"
    assert any(note.startswith(expected_repo) and f"{g.config.n_mlp} mapping layers" in note for note in result.notes)


def test_python_3_7_pickles_protocol_3_with_sets_by_name(tmp_path):
    g, latent_avg = trained_like(CONFIGS["ada-auto"])
    source = write_pickle(nvlabs_snapshot(g, latent_avg), tmp_path / "old.pkl", protocol=3)
    assert "builtins.set" in load_network_pickle(source).allowed
    convert_checkpoint(source, tmp_path / "out")
    assert differences(load_generator(tmp_path / "out")[0], g) == (0.0, 0.0)


def test_the_reader_uses_only_the_allow_list_and_keeps_tensors_unread_until_asked(tmp_path):
    g, latent_avg = trained_like(CONFIGS["ada-auto"])
    source = write_pickle(nvlabs_snapshot(g, latent_avg), tmp_path / "net.pkl")
    checkpoint = load_network_pickle(source)
    assert set(checkpoint.allowed) <= set(NVLABS_GLOBALS)
    assert "torch_utils.persistence._reconstruct_persistent_obj" in checkpoint.allowed
    g_ema = checkpoint.entries["G_ema"]
    assert g_ema.class_name == "Generator" and g_ema.module_src == ADA_SOURCE
    const = g_ema.tensors()["synthesis.b4.const"]
    assert const.shape == (16, 4, 4) and torch.equal(const.load(), g.state_dict()["input.input"][0])
    assert g_ema.child("mapping").attribute("w_avg_beta") == 0.995
    assert isinstance(g_ema.child("mapping").child("fc0").attribute("weight_gain"), float)  # a numpy scalar


def test_a_pickled_generator_alone_converts_too(tmp_path):
    g, latent_avg = trained_like(CONFIGS["ada-auto"])
    source = write_pickle(nvlabs_generator(g, latent_avg), tmp_path / "G_ema.pkl")
    assert convert_checkpoint(source, tmp_path / "out", kind="stylegan2-ada").kind == "stylegan2-ada"
    assert differences(load_generator(tmp_path / "out")[0], g) == (0.0, 0.0)


def test_the_mapping_learning_rate_multiplier_comes_from_the_pickle(tmp_path):
    config = GeneratorConfig(resolution=16, style_dim=16, n_mlp=2, channels=(16, 8, 8), lr_mlp=1.0)
    g, latent_avg = trained_like(config)
    source = write_pickle(nvlabs_snapshot(g, latent_avg), tmp_path / "lr1.pkl")
    result = convert_checkpoint(source, tmp_path / "out")
    assert result.config["generator"]["lr_mlp"] == 1.0
    assert "lr_mlp=1: read from the pickle (the mapping layers' learning-rate multiplier)" in result.notes
    assert differences(load_generator(tmp_path / "out")[0], g)[1] == 0.0
    with pytest.raises(ValueError, match=r"--lr-mlp 0.01 disagrees .* stores .* multiplier 1"):
        convert_checkpoint(source, tmp_path / "other", lr_mlp=0.01)


def test_clamping_and_float16_layers_are_noted(tmp_path):
    g, latent_avg = trained_like(CONFIGS["config-f"])
    source = write_pickle(nvlabs_snapshot(g, latent_avg, conv_clamp=256, num_fp16_res=2), tmp_path / "mixed.pkl")
    notes = " ".join(convert_checkpoint(source, tmp_path / "out").notes)
    assert "conv_clamp=256" in notes and "resolutions [16, 32] in float16" in notes


def test_the_folder_is_a_generator_for_encoder_conversions_and_the_trainer(tmp_path):
    original = reference_model("psp", seed=2)
    g, latent_avg = original.decoder, original.latent_avg[0]
    pkl = write_pickle(nvlabs_snapshot(g, latent_avg), tmp_path / "ffhq.pkl")
    convert_checkpoint(pkl, tmp_path / "generator")
    encoder = save(encoder_checkpoint(original, "psp", decoder=False), tmp_path / "psp.pt")
    for given in (tmp_path / "generator", pkl):
        out = tmp_path / f"psp-{given.suffix or 'folder'}"
        convert_checkpoint(encoder, out, kind="psp", generator=given)
        for key, value in g.state_dict().items():
            assert torch.equal(its.load_encoder(out).decoder.state_dict()[key], value), key
    model = build_model(TrainingConfig.from_dict(tiny_run(tmp_path, generator=str(tmp_path / "generator"))))
    assert torch.equal(model.latent_avg[0], latent_avg)


def test_published_layouts_give_config_f_and_ada_auto():
    """Shapes only: G_ema of the 1024 FFHQ config F and of ADA's `auto` at 256 (channel_base 16384)."""
    filter_ = Upsample((1, 3, 3, 1)).kernel / 4  # NVlabs' setup_filter: the taps' outer product, sum 1

    def published(resolution: int, channel_base: int, n_mlp: int) -> dict[str, torch.Tensor]:
        width = {r: min(channel_base // r, 512) for r in (2**i for i in range(2, resolution.bit_length()))}
        shapes: dict[str, tuple[int, ...]] = {"mapping.w_avg": (512,), "synthesis.b4.const": (width[4], 4, 4)}
        for i in range(n_mlp):
            shapes |= {f"mapping.fc{i}.weight": (512, 512), f"mapping.fc{i}.bias": (512,)}
        for res, out_ch in width.items():
            layers = ["conv1"] if res == 4 else ["conv0", "conv1"]
            for layer in layers:
                in_ch = width[res // 2] if layer == "conv0" else out_ch
                p = f"synthesis.b{res}.{layer}"
                shapes |= {f"{p}.weight": (out_ch, in_ch, 3, 3), f"{p}.affine.weight": (in_ch, 512)}
                shapes |= {f"{p}.affine.bias": (in_ch,), f"{p}.bias": (out_ch,), f"{p}.noise_strength": ()}
                shapes |= {f"{p}.noise_const": (res, res), f"{p}.resample_filter": (4, 4)}
            p = f"synthesis.b{res}.torgb"
            shapes |= {f"{p}.weight": (3, out_ch, 1, 1), f"{p}.affine.weight": (out_ch, 512)}
            shapes |= {f"{p}.affine.bias": (out_ch,), f"{p}.bias": (3,), f"synthesis.b{res}.resample_filter": (4, 4)}
        return {
            k: filter_ if k.endswith("resample_filter") else torch.empty(v, device="meta") for k, v in shapes.items()
        }

    for (resolution, base, n_mlp), multiplier in [((1024, 32768, 8), 2), ((256, 16384, 2), 1)]:
        stored = published(resolution, base, n_mlp)
        names = rosinality_names(stored, n_mlp, resolution)
        config = infer_generator_config(rosinality_tensors(stored, names), "published", 0.01)
        assert (config.resolution, config.n_mlp, config.channel_multiplier, config.channels) == (
            resolution,
            n_mlp,
            multiplier,
            None,
        )
        unmapped = set(stored) - {theirs for theirs, _ in names.values()}
        never_resample = {k for k in stored if k.endswith("resample_filter") and (".b4." in k or ".conv1." in k)}
        assert unmapped == {"mapping.w_avg"} | never_resample


# -- refusals: one line each, naming what was found ---------------------------------------------------------
def refusal(tmp_path: Path, source: Path, capsys) -> str:
    assert main(["convert", str(source), "--out", str(tmp_path / "refused")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("interestyle convert: error: "), err
    assert not (tmp_path / "refused").exists()
    return err


def test_a_class_conditional_generator_is_refused(tmp_path, capsys):
    g, latent_avg = trained_like(CONFIGS["ada-auto"])
    source = write_pickle(nvlabs_snapshot(g, latent_avg, c_dim=10), tmp_path / "cond.pkl")
    assert "is a class-conditional generator (c_dim=10, mapping.embed)" in refusal(tmp_path, source, capsys)


def test_a_stylegan3_alias_free_generator_is_refused(tmp_path, capsys):
    source = write_pickle(snapshot(alias_free_generator()), tmp_path / "stylegan3-t.pkl")
    err = refusal(tmp_path, source, capsys)
    assert "is a StyleGAN3 (alias-free) generator (synthesis.input, L0_36_4, L1_36_4, L2_16_3)" in err
    assert "--cfg=stylegan2" in err


def test_another_architecture_is_refused(tmp_path, capsys):
    g, latent_avg = trained_like(CONFIGS["ada-auto"])
    source = write_pickle(nvlabs_snapshot(g, latent_avg, architecture="resnet"), tmp_path / "resnet.pkl")
    assert "architecture 'resnet' (synthesis.b4)" in refusal(tmp_path, source, capsys)


def test_a_tensorflow_era_pickle_is_refused(tmp_path, capsys):
    """The TF pickles are a (G, D, Gs) tuple of dnnlib.tflib.network.Network objects (NVlabs' legacy.py)."""

    class Network:
        def __reduce__(self):
            return (Global("dnnlib.tflib.network", "Network"), (), {"name": "G_synthesis", "static_kwargs": {}})

    with (tmp_path / "stylegan2-ffhq-config-f.pkl").open("wb") as f:
        Pickler(f, protocol=3).dump((Network(), Network(), Network()))
    err = refusal(tmp_path, tmp_path / "stylegan2-ffhq-config-f.pkl", capsys)
    assert "is a TensorFlow-era StyleGAN pickle (it holds dnnlib.tflib.network.Network)" in err
    assert "legacy.py" in err


def test_a_global_outside_the_allow_list_is_refused_by_name(tmp_path, capsys):
    g, latent_avg = trained_like(CONFIGS["ada-auto"])
    data = nvlabs_snapshot(g, latent_avg)
    data["G_ema"].state["_init_kwargs"]["when"] = __import__("datetime").date(2021, 1, 1)
    source = write_pickle(data, tmp_path / "extra.pkl")
    err = refusal(tmp_path, source, capsys)
    assert "naming datetime.date, which is outside the allow-list of NVlabs network pickles" in err


def test_a_truncated_pickle_is_unreadable(tmp_path, capsys):
    g, latent_avg = trained_like(CONFIGS["ada-auto"])
    source = write_pickle(nvlabs_snapshot(g, latent_avg), tmp_path / "full.pkl")
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    assert "is not a readable network pickle (corrupt or truncated" in refusal(tmp_path, cut, capsys)


# -- nothing in a pickle runs --------------------------------------------------------------------------------
class WritesMarker:
    """Unpickling this with pickle.load would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_malicious_reduce_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "marker"
    with (tmp_path / "evil.pkl").open("wb") as f:
        pickle.dump({"G_ema": WritesMarker(marker)}, f)
    err = refusal(tmp_path, tmp_path / "evil.pkl", capsys)
    assert "naming posix.system, which is outside the allow-list" in err
    assert not marker.exists()
    # the same file through pickle.load does create it: the test would notice a reader that ran it
    subprocess.run(
        [sys.executable, "-c", f"import pickle; pickle.load(open({str(tmp_path / 'evil.pkl')!r}, 'rb'))"], check=True
    )
    assert marker.exists()


def test_code_hidden_in_a_generators_state_runs_nothing(tmp_path):
    marker = tmp_path / "marker"
    g, latent_avg = trained_like(CONFIGS["ada-auto"])
    data = nvlabs_snapshot(g, latent_avg)
    data["G_ema"].state["_init_kwargs"]["payload"] = WritesMarker(marker)
    source = write_pickle(data, tmp_path / "hidden.pkl")
    with pytest.raises(WeightsError, match=r"posix\.system"):
        convert_checkpoint(source, tmp_path / "out")
    assert not marker.exists()


def test_module_source_is_never_executed(tmp_path):
    """Every record carries its module's source; loading NVlabs' way execs it. Ours only keeps the text."""
    marker = tmp_path / "marker"
    g, latent_avg = trained_like(CONFIGS["ada-auto"])
    record = nvlabs_generator(g, latent_avg)
    record.module_src = f"open({str(marker)!r}, 'w').write('ran')\nclass Generator: pass\n"
    source = write_pickle(snapshot(record), tmp_path / "src.pkl")
    convert_checkpoint(source, tmp_path / "out")
    assert not marker.exists()
    assert load_network_pickle(source).entries["G_ema"].module_src.startswith("open(")


def test_state_given_to_what_the_reader_builds_is_refused(tmp_path):
    """A BUILD opcode aimed at a reconstructed record (which takes no state) fails instead of mutating it."""
    g, latent_avg = trained_like(CONFIGS["ada-auto"])

    class Mutated(Record):
        def __reduce__(self):
            return (*super().__reduce__(), {"class_name": "Other"})

    record = nvlabs_generator(g, latent_avg)
    source = write_pickle({"G_ema": Mutated(record.class_name, record.state, record.module_src)}, tmp_path / "m.pkl")
    with pytest.raises(WeightsError, match="state given to a PersistentRecord"):
        load_network_pickle(source)


def test_unknown_entries_holding_networks_are_not_dropped_silently(tmp_path):
    g, latent_avg = trained_like(CONFIGS["ada-auto"])
    data = nvlabs_snapshot(g, latent_avg)
    data["G_extra"] = Record("Generator", module_state({"w": torch.zeros(2)}), ADA_SOURCE)
    with pytest.raises(WeightsError, match=r"\['G_extra'\] holding tensors that a generator has no place for"):
        convert_checkpoint(write_pickle(data, tmp_path / "x.pkl"), tmp_path / "out")
