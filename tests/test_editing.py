import numpy as np
import pytest
import torch

from conftest import tiny_model
from interestyle import Direction, EditResult, edit, invert, random_styles, style_mix
from interestyle.editing import layer_groups, resolve_layers
from interestyle.masks import feather_mask
from interestyle.results import composite_through_mask


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (40, 40, 3), dtype=np.uint8) for _ in range(3)]


@pytest.fixture(scope="module")
def mask() -> np.ndarray:
    m = np.zeros((40, 40), bool)
    m[8:32, 10:30] = True
    return m


@pytest.fixture(scope="module")
def inversion(model, photos, mask):
    return invert(model, photos, mask=mask)


@pytest.fixture
def direction(model) -> Direction:
    return Direction(torch.randn(model.style_dim, generator=torch.Generator().manual_seed(5)), name="d")


def test_strength_zero_returns_the_inversion_exactly(model, inversion, direction):
    result = edit(model, inversion, direction, 0.0)
    assert isinstance(result, EditResult) and len(result) == 3
    assert torch.equal(result.latents, inversion.latents)
    assert torch.equal(result.images, inversion.images)


def test_without_a_strength_the_direction_s_recommended_one_is_used(model, inversion, direction):
    recommended = Direction(direction.vector, name="r", unit=2.0, strength=0.7)
    torch.testing.assert_close(
        edit(model, inversion, recommended).latents, edit(model, inversion, recommended, 0.7).latents
    )
    assert edit(model, inversion, recommended).strengths.tolist() == pytest.approx([0.7])
    assert edit(model, inversion, direction).strengths.tolist() == [1.0]  # none recommended: 1


def test_a_sweep_is_strength_major(model, inversion, direction):
    strengths = [-1.0, 0.0, 2.5]
    result = edit(model, inversion, direction, strengths)
    b = len(inversion)
    assert result.latents.shape == (len(strengths) * b, model.n_latent, model.style_dim)
    assert result.images.shape == (len(strengths) * b, 3, 32, 32)
    assert result.strengths.tolist() == strengths
    for s, value in enumerate(strengths):
        for i in range(b):
            expected = inversion.latents[i] + value * direction.vector
            torch.testing.assert_close(result.latents[s * b + i], expected)
    torch.testing.assert_close(result.images, model.decode(result.latents))
    assert len(result.to_pil()) == len(strengths) * b


def test_strengths_accept_tensors_and_arrays(model, inversion, direction):
    a = edit(model, inversion.latents, direction, torch.tensor([1.0, 2.0]))
    b = edit(model, inversion.latents, direction, np.array([1.0, 2.0]))
    assert torch.equal(a.latents, b.latents)


def test_layers_limit_the_edit(model, inversion, direction):
    result = edit(model, inversion, direction, 3.0, layers=range(2, 5))
    changed = (result.latents - inversion.latents).abs().sum(-1) > 0
    assert changed[:, 2:5].all() and not changed[:, :2].any() and not changed[:, 5:].any()


def test_a_per_layer_direction(model, inversion):
    vector = torch.zeros(model.n_latent, model.style_dim)
    vector[1, 0] = 2.0
    result = edit(model, inversion.latents[:1], Direction(vector), 0.5)
    delta = result.latents[0] - inversion.latents[0]
    assert float(delta[1, 0]) == pytest.approx(0.5) and float(delta.abs().sum()) == pytest.approx(0.5)


def test_one_latent_without_a_batch_axis(model, inversion, direction):
    result = edit(model, inversion.latents[0], direction, 1.0)
    assert result.latents.shape == (1, model.n_latent, model.style_dim)
    assert result.inputs is None and result.masks is None


def test_composite_keeps_the_photo_outside_the_mask(model, inversion, direction):
    result = edit(model, inversion, direction, [0.0, 4.0])
    hard = result.composite(feather_px=0)
    masks = inversion.masks.expand(-1, 3, -1, -1).repeat(2, 1, 1, 1)
    inside, outside = masks == 1, masks == 0
    photos = inversion.inputs.repeat(2, 1, 1, 1)
    assert torch.equal(hard[outside], photos[outside])
    assert torch.equal(hard[inside], result.images.clamp(-1, 1)[inside])
    soft = result.composite()
    # 6 sigmas of the default feather (R / 64 pixels, i.e. 4 at 256) away from the mask
    far_outside = (feather_mask(inversion.masks, 4 * 6) == 0).expand(-1, 3, -1, -1).repeat(2, 1, 1, 1)
    assert torch.allclose(soft[far_outside], photos[far_outside])
    assert not torch.equal(soft, hard)  # the edge is blended


def test_composite_needs_a_mask(model, photos, direction):
    result = edit(model, invert(model, photos[0]), direction, 1.0)
    with pytest.raises(ValueError, match="mask"):
        result.composite()


def test_feathering_blurs_only_the_edge():
    m = torch.zeros(1, 1, 32, 32)
    m[..., 8:24, 8:24] = 1
    white, black = torch.ones(1, 3, 32, 32), -torch.ones(1, 3, 32, 32)
    soft = (composite_through_mask(white, black, m, feather_px=1.0) + 1) / 2  # the mask, as blended
    assert float(soft[0, 0, 16, 16]) == pytest.approx(1.0) and float(soft[0, 0, 0, 0]) == 0.0
    assert 0.2 < float(soft[0, 0, 16, 8]) < 0.8
    assert torch.equal((composite_through_mask(white, black, m, feather_px=0) + 1) / 2, m.expand(-1, 3, -1, -1))


@pytest.mark.parametrize("strength", [float("nan"), float("inf"), [1.0, -float("inf")], np.array([np.nan])])
def test_non_finite_strengths_are_refused(model, inversion, direction, strength):
    with pytest.raises(ValueError, match="finite"):
        edit(model, inversion, direction, strength)


@pytest.mark.parametrize("strength", [True, "1", [1, "2"]])
def test_non_numeric_strengths_are_refused(model, inversion, direction, strength):
    with pytest.raises(TypeError):
        edit(model, inversion, direction, strength)


def test_an_empty_sweep_is_refused(model, inversion, direction):
    with pytest.raises(ValueError, match="empty"):
        edit(model, inversion, direction, [])


def test_a_direction_of_the_wrong_size_is_refused(model, inversion):
    with pytest.raises(ValueError, match=r"shape \(16,\).*\(32,\)"):
        edit(model, inversion, torch.ones(16), 1.0)


def test_latents_of_the_wrong_shape_are_refused(model, direction):
    with pytest.raises(ValueError, match=r"\(B, 8, 32\)"):
        edit(model, torch.zeros(2, 7, 32), direction, 1.0)


def test_the_presets_follow_the_1024_split():
    groups = layer_groups(18)
    assert (groups["coarse"], groups["middle"], groups["fine"]) == (range(0, 4), range(4, 8), range(8, 18))
    assert [len(g) for g in layer_groups(14).values()] == [3, 3, 8, 14]
    for n in (4, 8, 10, 12, 16):
        groups = layer_groups(n)
        assert [*groups["coarse"], *groups["middle"], *groups["fine"]] == list(range(n))
        assert all(len(groups[k]) > 0 for k in ("coarse", "middle", "fine"))


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        (None, list(range(8))),
        (3, [3]),
        (-1, [7]),
        (range(2, 5), [2, 3, 4]),
        (slice(6, None), [6, 7]),
        (slice(-2, None), [6, 7]),
        ([5, 1, 1], [1, 5]),
        ("fine", [4, 5, 6, 7]),
        ("4:6", [4, 5]),
        (":2", [0, 1]),
        ("0, 7", [0, 7]),
        (torch.tensor([2, 3]), [2, 3]),
    ],
)
def test_layer_selections(layers, expected):
    assert resolve_layers(layers, 8) == expected


@pytest.mark.parametrize("layers", [8, -9, range(0, 20), slice(0, 20), [0, 8], "0:20", "9"])
def test_layers_out_of_bounds_are_refused(model, inversion, direction, layers):
    with pytest.raises(ValueError, match="out of bounds: the model has 8 style vectors"):
        edit(model, inversion, direction, 1.0, layers=layers)


@pytest.mark.parametrize(("layers", "error"), [("face", ValueError), (range(3, 3), ValueError), (1.5, TypeError)])
def test_bad_layer_selections_are_refused(layers, error):
    with pytest.raises(error):
        resolve_layers(layers, 8)


def test_style_mix_with_all_layers_is_the_style_image(model, inversion, photos):
    style = invert(model, photos[::-1])
    result = style_mix(model, inversion, style, layers="all")
    assert torch.equal(result.latents, style.latents)
    assert torch.equal(result.images, style.images)


def test_style_mix_replaces_only_the_chosen_layers(model, inversion, photos):
    style = invert(model, photos[::-1])
    result = style_mix(model, inversion, style, layers="coarse")
    coarse = list(layer_groups(model.n_latent)["coarse"])
    rest = [i for i in range(model.n_latent) if i not in coarse]
    assert torch.equal(result.latents[:, coarse], style.latents[:, coarse])
    assert torch.equal(result.latents[:, rest], inversion.latents[:, rest])
    assert result.strengths is None and torch.equal(result.styles, style.latents)


def test_style_mix_broadcasts_one_against_many(model, inversion):
    one = inversion.latents[:1]
    result = style_mix(model, one, inversion, layers="fine")
    assert len(result) == 3
    assert torch.equal(result.latents[:, :4], one.expand(3, -1, -1)[:, :4])
    shared_style = style_mix(model, inversion, one, layers="fine")
    assert torch.equal(shared_style.latents[:, 4:], one.expand(3, -1, -1)[:, 4:])
    assert shared_style.composite().shape == (3, 3, 32, 32)  # the content's photos and masks are kept


def test_batches_that_do_not_broadcast_are_refused(model, inversion):
    with pytest.raises(ValueError, match="content holds 3 latents and style 2; they do not broadcast"):
        style_mix(model, inversion, inversion.latents[:2])


def test_random_styles_are_seeded(model, inversion):
    a = style_mix(model, inversion, None, layers="middle", seed=4)
    b = style_mix(model, inversion, None, layers="middle", seed=4)
    c = style_mix(model, inversion, None, layers="middle", seed=5)
    assert torch.equal(a.latents, b.latents) and not torch.equal(a.latents, c.latents)
    assert a.styles.shape == (3, model.n_latent, model.style_dim)
    few, many = random_styles(model, 2, seed=9), random_styles(model, 5, seed=9)
    torch.testing.assert_close(few, many[:2])


def test_truncation_zero_gives_the_average_latent(model):
    styles = random_styles(model, 2, truncation=0.0)
    torch.testing.assert_close(styles, model.latent_avg[None].expand(2, -1, -1))
    with pytest.raises(ValueError, match="truncation"):
        random_styles(model, 2, truncation=1.5)


def test_a_mix_can_be_edited_and_pasted(model, inversion, direction):
    mixed = style_mix(model, inversion.latents[:1], inversion, layers="fine")
    mixed.inputs, mixed.masks = inversion.inputs[:1], inversion.masks[:1]
    edited = edit(model, mixed, direction, [1.0, 2.0])
    assert len(edited) == 6
    assert edited.composite().shape == (6, 3, 32, 32)


def test_the_editing_page_examples_run(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    from PIL import Image

    from interestyle import DirectionSet

    page = Path(__file__).resolve().parents[1] / "docs" / "editing.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    runnable = [b for b in blocks if "its.invert(" in b or "Direction(np.load" in b]
    assert len(runnable) == 2
    tiny_model().save_pretrained(tmp_path / "path/to/model-folder")
    DirectionSet({"smile": torch.randn(32)}).save_pretrained(tmp_path / "path/to/model-folder")
    rng = np.random.default_rng(0)
    for name in ("photo", "other"):
        Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(tmp_path / f"{name}.png")
    mask = np.zeros((48, 40), np.uint8)
    mask[8:40, 8:32] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    np.save(tmp_path / "smile.npy", rng.normal(size=(1, 32)))
    monkeypatch.chdir(tmp_path)
    for block in runnable:
        exec(compile(block, str(page), "exec"), {})
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "mask.png", "mixed.png", "other.png", "photo.png", "smile+0.png", "smile+2.png", "smile-2.png"
    ]  # fmt: skip
    assert (tmp_path / "my-directions" / "directions.safetensors").is_file()
