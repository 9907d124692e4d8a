"""The v2 edit measurement: attribute read-out, direction fitting and the edit figures, on tiny stand-ins."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from interestyle.config import GeneratorConfig
from interestyle.editing import layer_groups
from interestyle.models.generator import Generator
from interestyle.synthetic import make_batch
from interestyle.synthetic.faces_v2 import ATTRIBUTES_V2, EDIT_ATTRIBUTES, attribute_group

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import attribute_readout  # noqa: E402
import demo_edits  # noqa: E402


def load_script(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem + "_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def pixel_coded(latents: torch.Tensor) -> torch.Tensor:
    """A stand-in generator whose image carries the attributes in its first pixels: w[:, 0, k] -> pixel k."""
    image = torch.zeros(latents.shape[0], 3, 64, 64)
    image[:, 0, 0, : len(ATTRIBUTES_V2)] = latents[:, 0, : len(ATTRIBUTES_V2)]
    return image


def pixel_readout(image: torch.Tensor) -> torch.Tensor:
    return image[:, 0, 0, : len(ATTRIBUTES_V2)]


def test_edit_figures_count_moves_with_the_room_rule():
    k = attribute_readout.NAMES.index("smile")
    latents = torch.full((4, 2, 32), 0.5)
    latents[:, 0, k] = torch.tensor([0.1, 0.4, 0.8, 0.95])
    offset = torch.zeros(2, 32)
    offset[0, k] = 0.3  # every face moves 0.3 (clamped at 1 by the read-out's clamp)
    offset[0, k + 1] = 0.02  # and one other attribute a little
    figures = demo_edits.edit_figures(pixel_readout, pixel_coded, latents, offset, "smile", 1.0, 0.5)
    # needed: min(0.5, 0.9 * room) = 0.5, 0.5, 0.18, 0.045; moved: 0.3, 0.3, 0.2, 0.05
    assert figures["target_success_rate"] == pytest.approx(0.5)
    assert figures["target_mean_change"] == pytest.approx((0.3 + 0.3 + 0.2 + 0.05) / 4)
    others = len(ATTRIBUTES_V2) - 1
    assert figures["others_mean_abs_change"] == pytest.approx(0.02 / others, rel=1e-4)
    assert figures["others_worst_attribute"] == pytest.approx(0.02, rel=1e-4)
    assert figures["others_worst_name"] == attribute_readout.NAMES[k + 1]
    # the read-out puts this domain's range end at 0.7: rooms 0.6, 0.3, 0, 0 -> needed 0.5, 0.27, 0, 0
    end = torch.full((4,), 0.7)
    calibrated = demo_edits.edit_figures(pixel_readout, pixel_coded, latents, offset, "smile", 1.0, 0.5, end)
    assert calibrated["target_success_rate"] == pytest.approx(0.75)
    down = demo_edits.edit_figures(pixel_readout, pixel_coded, latents, -offset, "smile", -1.0, 0.5)
    assert down["target_mean_change"] > 0  # a negative sign counts moves toward the low end


def test_far_side_edits_each_face_toward_the_end_it_is_farther_from():
    k = attribute_readout.NAMES.index("smile")
    latents = torch.full((4, 2, 32), 0.5)
    latents[:, 0, k] = torch.tensor([0.1, 0.45, 0.55, 0.95])
    top, bottom = torch.full((4,), 0.9), torch.full((4,), 0.05)  # the read-out's readings of the two ends
    before = demo_edits.readings(pixel_readout, pixel_coded, latents)
    flip, end = demo_edits.far_side(before, "smile", (top, bottom))
    assert flip.tolist() == [1.0, 1.0, -1.0, -1.0]  # rooms up 0.8, 0.45, 0.35, 0; down 0.05, 0.4, 0.5, 0.9
    assert end.tolist() == pytest.approx([0.9, 0.9, 0.05, 0.05])
    offset = torch.zeros(2, 32)
    offset[0, k] = 0.48
    figures = demo_edits.edit_figures(pixel_readout, pixel_coded, latents, offset, "smile", 1.0, 0.5, end, flip)
    given = demo_edits.edit_figures(pixel_readout, pixel_coded, latents, offset, "smile", 1.0, 0.5, end, flip, before)
    assert given == figures  # readings passed in are the ones it would take
    # every face moves 0.48 its own way; rooms 0.8, 0.45, 0.5, 0.9 -> needed 0.5, 0.405, 0.45, 0.5
    assert figures["target_mean_change"] == pytest.approx(0.48)
    assert figures["target_success_rate"] == pytest.approx(0.5)
    one_way = demo_edits.edit_figures(pixel_readout, pixel_coded, latents, offset, "smile", 1.0, 0.5, top)
    assert one_way["target_mean_change"] < figures["target_mean_change"]  # the top faces clamp at 1 one way
    # a direction whose positive strength lowers the attribute flips the same faces the other way round
    flip_down, _ = demo_edits.far_side(before, "smile", (bottom, top))
    assert flip_down.tolist() == [-1.0, -1.0, 1.0, 1.0]


def test_readout_learns_and_reports_its_error():
    torch.manual_seed(0)
    untrained = attribute_readout.readout_error(attribute_readout.AttributeReadout(), n=16)
    trained = attribute_readout.readout_error(attribute_readout.train_readout(10, batch_size=8, log_every=0), n=16)
    assert set(trained) == set(attribute_readout.NAMES)
    assert sum(trained.values()) < sum(untrained.values())


def test_blur_augmentation_softens_the_second_half_of_a_batch_only():
    sharp, labels = attribute_readout.training_batch(3, 6, seed=11, blur_sigma=0.0)
    soft, same_labels = attribute_readout.training_batch(3, 6, seed=11, blur_sigma=3.0)
    assert torch.equal(labels, same_labels) and torch.equal(sharp[:3], soft[:3])

    def edges(x: torch.Tensor) -> float:
        return float((x[..., 1:] - x[..., :-1]).abs().mean())

    assert edges(soft[3:]) < 0.9 * edges(sharp[3:])


def test_fitted_directions_act_on_their_layer_group_only():
    recipe = load_script(ROOT / "recipes" / "demo_directions.py")
    torch.manual_seed(0)
    generator = Generator(GeneratorConfig(resolution=32, style_dim=32, n_mlp=2, channels=(16, 16, 16, 8))).eval()
    directions = recipe.fit_attribute_directions(generator, samples=500)
    assert set(directions) == set(EDIT_ATTRIBUTES)
    groups = layer_groups(generator.n_latent)
    for name, direction in directions.items():
        vector = direction.for_model(generator.n_latent, 32)
        inside = groups[attribute_group(EDIT_ATTRIBUTES[name][0])]
        outside = [i for i in range(generator.n_latent) if i not in inside]
        assert vector[list(inside)].norm(dim=1).min() > 0.99
        assert vector[outside].abs().max() == 0
        assert "1 moves it across its whole range" in direction.description
        full_range = float(direction.description.split("W distance ")[1].split(")")[0])
        assert direction.unit == pytest.approx(full_range, rel=0.01)
        assert direction.strength == recipe.EDIT_FRACTION


def test_calibrated_strengths_are_among_the_fractions_and_say_how_they_were_chosen():
    recipe = load_script(ROOT / "recipes" / "demo_directions.py")
    torch.manual_seed(0)
    config = GeneratorConfig(resolution=64, style_dim=32, n_mlp=2, channels=(16, 16, 8, 8, 8))
    generator = Generator(config).eval()
    directions = recipe.fit_attribute_directions(generator, samples=300)
    calibrated = recipe.calibrate_strengths(generator, directions, attribute_readout.AttributeReadout(), samples=6)
    assert list(calibrated) == list(directions)
    groups = layer_groups(generator.n_latent)
    for name, direction in calibrated.items():
        assert direction.strength in recipe.FRACTIONS
        assert direction.unit == directions[name].unit
        group = groups[attribute_group(EDIT_ATTRIBUTES[name][0])]
        acting = direction.vector.norm(dim=1).nonzero().flatten().tolist()
        assert acting and set(acting) <= set(group) and acting[-1] == group.stop - 1  # its finest layers
        fitted = directions[name].vector
        assert torch.allclose(
            direction.vector[acting] / direction.vector[acting].norm(), fitted[acting] / fitted[acting].norm()
        )
        said = f"acts on layers {acting[0]}-{acting[-1]}, recommended strength {direction.strength:g}, chosen on 6"
        assert said in direction.description
    faces = make_batch(3, size=64, seed=5, condition="clean", domain="v2")
    latents = generator.mapping(torch.randn(3, 32))[:, None].expand(-1, generator.n_latent, -1)
    on_inversions = recipe.calibrate_strengths(
        generator, directions, attribute_readout.AttributeReadout(), inversions=(latents, faces.attributes)
    )
    assert all("chosen on 3 inversions of validation faces" in d.description for d in on_inversions.values())


def test_range_end_readings_read_the_renderer_at_the_end_of_the_range(monkeypatch):
    from interestyle.synthetic.faces_v2 import sample_attributes_v2

    k = attribute_readout.NAMES.index("smile")
    low, high = ATTRIBUTES_V2[k][1], ATTRIBUTES_V2[k][2]
    rendered: list[torch.Tensor] = []
    real_render = demo_edits.render

    def recording_render(attributes, size):
        rendered.append(attributes["smile"])
        return real_render(attributes, size=size)

    def last_smile(image: torch.Tensor) -> torch.Tensor:  # a read-out that knows what was rendered
        out = torch.zeros(image.shape[0], len(ATTRIBUTES_V2))
        out[:, k] = (rendered[-1] - low) / (high - low)
        return out

    monkeypatch.setattr(demo_edits, "render", recording_render)
    attributes = sample_attributes_v2(3, seed=1)
    assert torch.allclose(demo_edits.range_end_readings(last_smile, attributes, "smile", 1.0, 16), torch.ones(3))
    assert torch.allclose(demo_edits.range_end_readings(last_smile, attributes, "smile", -1.0, 16), torch.zeros(3))
    assert not torch.equal(attributes["smile"], rendered[0])  # the faces' own values were replaced


def test_the_edit_benchmark_runs_end_to_end_on_a_tiny_generator(tmp_path):
    import json
    import subprocess

    from safetensors.torch import save_file

    from interestyle.models.generator import save_generator

    recipe = load_script(ROOT / "recipes" / "demo_directions.py")
    torch.manual_seed(0)
    generator = Generator(GeneratorConfig(resolution=64, style_dim=32, n_mlp=2, channels=(16, 16, 8, 8, 8))).eval()
    save_generator(generator, generator.mean_latent(100)[0], tmp_path / "g")
    recipe.fit_attribute_directions(generator, samples=300).save_pretrained(tmp_path / "d")
    save_file(attribute_readout.AttributeReadout().state_dict(), str(tmp_path / "readout.safetensors"))
    script = ROOT / "benchmarks" / "demo_edits.py"
    args = ["--generator", str(tmp_path / "g"), "--directions", str(tmp_path / "d"), "-n", "4"]
    args += ["--readout", str(tmp_path / "readout.safetensors"), "--json", str(tmp_path / "edits.json")]
    args += ["--strength", "smile=0.3"]
    proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads((tmp_path / "edits.json").read_text())
    assert figures["n"] == 4 and set(figures["results"]) == set(EDIT_ATTRIBUTES)
    assert figures["results"]["smile"]["strength"] == 0.3
    assert figures["results"]["yaw"]["strength"] == recipe.EDIT_FRACTION  # the direction's recommended one
    for row in figures["results"].values():
        for way in ("far", "one_way"):
            assert 0 <= row[way]["target_success_rate"] <= 1 and row[way]["others_mean_abs_change"] >= 0
        assert 0 <= row["far_share_negative"] <= 1
    assert "| smile | 0.3 | smile |" in proc.stdout


def test_the_perfect_edit_reads_only_the_read_outs_own_confusion(monkeypatch):
    from interestyle.synthetic.faces_v2 import sample_attributes_v2

    rendered: list[dict[str, torch.Tensor]] = []
    real_render = demo_edits.render

    def recording_render(attributes, size):
        rendered.append(attributes)
        return real_render(attributes, size=size)

    def oracle(image: torch.Tensor) -> torch.Tensor:  # reads what was rendered last, exactly
        return attribute_readout.normalise(rendered[-1])

    def confused(image: torch.Tensor) -> torch.Tensor:  # reads brow thickness off the hair colour
        values = oracle(image)
        values[:, attribute_readout.NAMES.index("brow_thickness")] = values[
            :, attribute_readout.NAMES.index("hair_lightness")
        ]
        return values

    monkeypatch.setattr(demo_edits, "render", recording_render)
    attributes = sample_attributes_v2(6, seed=3)
    way = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    exact = demo_edits.renderer_reference(oracle, attributes, "hair_lightness", way, 0.5, 16)
    assert exact["others_mean_abs_change"] == 0 and exact["others_worst_attribute"] == 0
    moved = rendered[-1]["hair_lightness"]
    assert torch.all((moved - attributes["hair_lightness"]) * way > 0)  # each face toward its own end
    assert moved.min() >= 0 and moved.max() <= 1  # clamped to the range
    confusion = demo_edits.renderer_reference(confused, attributes, "hair_lightness", way, 0.5, 16)
    shift = (moved - attributes["hair_lightness"]).abs().mean().item()
    assert confusion["others_worst_name"] == "brow_thickness"
    assert confusion["others_worst_attribute"] == pytest.approx(shift, abs=1e-6)
