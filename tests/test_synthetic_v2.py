"""The second procedural face domain: continuous attributes grouped by StyleGAN layer, and the
style-mixing targets the demo generator v2 learns from."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from interestyle.config import GeneratorConfig
from interestyle.editing import layer_groups
from interestyle.models.generator import Generator
from interestyle.synthetic import OCCLUDERS, make_batch, render
from interestyle.synthetic.faces_v2 import (
    ATTRIBUTE_GROUPS,
    ATTRIBUTES_V2,
    attribute_group,
    attributes_v2_from_latent,
    mix_attributes,
    sample_attributes_v2,
)

ROOT = Path(__file__).resolve().parents[1]


def load_recipe():
    spec = importlib.util.spec_from_file_location("demo_generator_recipe", ROOT / "recipes" / "demo_generator.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_every_attribute_belongs_to_one_style_mix_group():
    names = [a[0] for a in ATTRIBUTES_V2]
    grouped = [n for group in ATTRIBUTE_GROUPS.values() for n in group]
    assert sorted(grouped) == sorted(names) and len(set(names)) == len(names)
    assert set(ATTRIBUTE_GROUPS) == set(layer_groups(10)) - {"all"}
    assert attribute_group("smile") == "middle" and attribute_group("yaw") == "coarse"
    assert attribute_group("hair_grey") == "fine"
    with pytest.raises(ValueError, match="not one of"):
        attribute_group("nose_ring")


def test_attributes_lie_in_their_ranges_and_vary():
    a = sample_attributes_v2(256, seed=1)
    for name, lo, hi, _ in ATTRIBUTES_V2:
        assert a[name].min() >= lo and a[name].max() <= hi, name
        assert a[name].std() > 0.2 * (hi - lo), name


def test_faces_change_smoothly_with_the_latent():
    # Every attribute is continuous: a small step in z moves the image a little, never a jump.
    z = torch.randn(16, 32, generator=torch.Generator().manual_seed(0))
    step = torch.zeros_like(z)
    step[:, : len(ATTRIBUTES_V2)] = 0.01
    a = render(attributes_v2_from_latent(z), size=64).clean
    b = render(attributes_v2_from_latent(z + step), size=64).clean
    assert (a - b).abs().amax() < 0.25
    assert (a - b).abs().mean() < 0.01


def test_mixing_takes_exactly_the_named_groups():
    base, style = sample_attributes_v2(4, seed=1), sample_attributes_v2(4, seed=2)
    take = torch.tensor([True, False, True, False])
    mixed = mix_attributes(base, style, {"middle": take})
    for name in base:
        expected = torch.where(take, style[name], base[name]) if attribute_group(name) == "middle" else base[name]
        assert torch.equal(mixed[name], expected), name
    with pytest.raises(ValueError, match="unknown layer groups"):
        mix_attributes(base, style, {"eyes": take})


def test_a_mixed_face_differs_from_both_sources():
    base, style = sample_attributes_v2(8, seed=3), sample_attributes_v2(8, seed=4)
    a, b = render(base).clean, render(style).clean
    for group in ATTRIBUTE_GROUPS:
        m = render(mix_attributes(base, style, {group: torch.ones(8, dtype=torch.bool)})).clean
        assert (m - a).abs().mean() > 0.01 and (m - b).abs().mean() > 0.01, group


@pytest.mark.parametrize("occluder", OCCLUDERS)
def test_v2_occluders_leave_the_rest_of_the_image_alone(occluder):
    batch = render(sample_attributes_v2(6, seed=5), size=48, occluder=occluder, clutter=True, seed=5)
    outside = (batch.occluder_mask == 0).expand_as(batch.image)
    assert torch.equal(batch.image[outside], batch.clean[outside])
    assert (batch.occluder_mask.flatten(1).sum(1) > 0).all()


def test_make_batch_draws_the_v2_domain():
    batch = make_batch(4, size=32, seed=1, condition="mixed", domain="v2")
    assert "yaw" in batch.attributes and batch.image.shape == (4, 3, 32, 32)
    torch.testing.assert_close(batch.interest_mask, batch.face_mask * (1 - batch.occluder_mask))
    with pytest.raises(ValueError, match="domain='v3'"):
        make_batch(1, domain="v3")


def test_recipe_mixed_batch_builds_w_plus_and_target_consistently():
    recipe = load_recipe()
    generator = Generator(GeneratorConfig(resolution=32, style_dim=32, n_mlp=2, channels=(16, 16, 16, 8)))
    batch = recipe.mixed_batch_for_step(3, 32, 32, 32, seed=0, mix_prob=0.75)
    mixed = torch.stack([batch.take[g] for g in ("coarse", "middle", "fine")], 1)
    assert mixed.any(1).float().mean() > 0.4  # about mix_prob of the faces mix ...
    assert not mixed.all(1).any()  # ... never all three groups (that would be the other face)
    with torch.no_grad():
        w_plus = batch.w_plus(generator)
        w_base, w_style = generator.mapping(batch.z), generator.mapping(batch.z_style)
    for group, layers in layer_groups(generator.n_latent).items():
        if group == "all":
            continue
        take = batch.take[group]
        for layer in layers:
            torch.testing.assert_close(w_plus[take, layer], w_style[take])
            torch.testing.assert_close(w_plus[~take, layer], w_base[~take])
    expected = mix_attributes(attributes_v2_from_latent(batch.z), attributes_v2_from_latent(batch.z_style), batch.take)
    torch.testing.assert_close(batch.target, render(expected, size=32).clean)


def test_generator_benchmark_quick_mode(tmp_path):
    tiny = {
        "domain": "v2",
        "generator": {"resolution": 16, "style_dim": 32, "n_mlp": 2, "channels": [16, 16, 8], "lr_mlp": 1.0},
        "batch_size": 2,
        "lr": 0.002,
        "betas": [0.0, 0.99],
        "steps": 2,
        "lr_decay_from": 1,
        "checkpoint_every": 2,
        "sample_every": 100,
        "edge_weight": 1.0,
        "ssim_weight": 0.5,
        "seed": 0,
        "threads": 1,
    }
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny))
    recipe = [sys.executable, str(ROOT / "recipes" / "demo_generator.py"), "--config", str(config)]
    for args in ([], ["--export", str(tmp_path / "g")]):
        proc = subprocess.run([*recipe, "--run", str(tmp_path / "run"), *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "demo_generator.py"),
            "--generator",
            f"v2={tmp_path / 'g'}",
            "--generator",
            f"v1={tmp_path / 'g'}",
            "-n",
            "4",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| face_ssim |" in proc.stdout and "mix_coarse_ratio" in proc.stdout
    figures = json.loads(out.read_text())["results"]
    assert figures["v2"]["gradient_energy_ratio"] > 0 and -1 <= figures["v2"]["face_ssim"] <= 1
    assert "mix_fine_ratio" not in figures["v1"]
    for preset in ("coarse", "middle", "fine"):
        for source in ("content", "style"):
            assert figures["v2"][f"mix_{preset}_vs_{source}_l1"] > 0  # an untrained generator's mix still moves
            assert figures["v2"][f"mix_{preset}_vs_{source}_of_truth"] > 0
    bad = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "demo_generator.py"), "--generator", "v9=x"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "expected v1=DIR or v2=DIR" in bad.stderr


def test_loss_weight_phases_take_over_from_their_step():
    recipe = load_recipe()
    cfg = {"edge_weight": 1.0, "ssim_weight": 0.5, "phases": [{"from_step": 100, "edge_weight": 3.0}]}
    assert recipe.loss_weights_at(cfg, 99) == {"edge_weight": 1.0, "ssim_weight": 0.5}
    assert recipe.loss_weights_at(cfg, 100) == {"edge_weight": 3.0, "ssim_weight": 0.5}
    assert recipe.loss_weights_at({}, 0) == {"edge_weight": 0.0, "ssim_weight": 0.0}
