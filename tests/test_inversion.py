import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_model
from interestyle import InversionResult, invert


@pytest.fixture
def photo() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)


def test_every_input_type_gives_the_same_latents(model, photo, tmp_path):
    Image.fromarray(photo).save(tmp_path / "p.png")
    reference = invert(model, photo).latents
    forms = [
        Image.fromarray(photo),
        photo.astype(np.float64) / 255,
        torch.from_numpy(photo).permute(2, 0, 1),
        torch.from_numpy(photo).permute(2, 0, 1).float() / 127.5 - 1,
        tmp_path / "p.png",
        str(tmp_path / "p.png"),
        [photo],
    ]
    for form in forms:
        torch.testing.assert_close(invert(model, form).latents, reference, atol=1e-5, rtol=1e-5)


def test_result_shapes_and_steps(model, photo):
    result = invert(model, [photo, photo[:20, :20]])
    assert isinstance(result, InversionResult) and len(result) == 2
    assert result.latents.shape == (2, model.n_latent, model.style_dim)
    assert result.step_latents.shape == (3, 2, model.n_latent, model.style_dim)
    assert torch.equal(result.step_latents[-1], result.latents)
    assert result.images.shape == result.inputs.shape == (2, 3, 32, 32)
    assert result.masks is None
    torch.testing.assert_close(result.images, model.decode(result.latents))
    assert [im.size for im in result.to_pil()] == [(32, 32), (32, 32)]


def test_iterations_override_and_steps_are_a_prefix(model, photo):
    five = invert(model, photo, iterations=5)
    two = invert(model, photo, iterations=2)
    assert five.step_latents.shape[0] == 5
    torch.testing.assert_close(five.step_latents[:2], two.step_latents)


def test_refinement_follows_restyle(model, photo):
    """Step 0 adds E([x, G(avg)]) to latent_avg; step t adds E([x, y_{t-1}]) to w_{t-1}."""
    result = invert(model, photo, iterations=2)
    x = result.inputs  # generator and encoder sizes are equal in the tiny model
    w0 = model.latent_avg[None] + model.encoder(torch.cat([x, model.average_image()], 1))
    torch.testing.assert_close(result.step_latents[0], w0)
    y0 = model.decode(w0)
    torch.testing.assert_close(result.step_latents[1], w0 + model.encoder(torch.cat([x, y0], 1)))


@pytest.mark.parametrize("kind", ["gradual", "e4e"])
def test_single_pass_encoders(kind, photo):
    model = tiny_model(kind)
    result = invert(model, photo)
    assert result.step_latents.shape[0] == 1
    torch.testing.assert_close(result.latents, model.latent_avg[None] + model.encoder(result.inputs))


def test_batching_does_not_change_results(model, photo):
    images = [np.roll(photo, 3 * i, axis=0) for i in range(5)]
    together = invert(model, images, batch_size=8)
    split = invert(model, images, batch_size=2, progress=False)
    torch.testing.assert_close(split.latents, together.latents, atol=1e-5, rtol=1e-5)


def test_progress_bar_past_one_batch(model, photo, capsys):
    invert(model, [photo] * 3, batch_size=1)
    assert "invert" in capsys.readouterr().err
    invert(model, [photo] * 3, batch_size=4)
    assert capsys.readouterr().err == ""


def test_mask_is_kept_and_composites(model, photo):
    mask = np.zeros((40, 40), np.float32)
    mask[:, :20] = 1.0
    result = invert(model, photo, mask=mask)
    assert result.masks.shape == (1, 1, 32, 32)
    composite = result.composite(feather_px=0)
    torch.testing.assert_close(composite[..., :14], result.images.clamp(-1, 1)[..., :14])
    torch.testing.assert_close(composite[..., 18:], result.inputs[..., 18:])
    soft = result.composite()  # feathered over R / 64 pixels
    torch.testing.assert_close(soft[..., :11], composite[..., :11])
    assert not torch.allclose(soft[..., 15:17], composite[..., 15:17])
    with pytest.raises(ValueError, match="mask"):
        invert(model, photo).composite()


def test_inference_uses_no_grad_and_honours_dtype(photo):
    model = tiny_model().double()
    result = invert(model, photo)
    assert result.latents.dtype == torch.float64 and not result.latents.requires_grad


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"mask": np.zeros((2, 40, 40))}, ValueError, "2 masks for 1 images"),
        ({"mask": np.zeros((40, 10))}, ValueError, "does not match image 0"),
        ({"iterations": 0}, ValueError, "iterations=0"),
        ({"batch_size": 0}, ValueError, "batch_size=0"),
    ],
)
def test_bad_arguments(model, photo, kwargs, error, message):
    with pytest.raises(error, match=message):
        invert(model, photo, **kwargs)


def test_bad_model_and_images(model):
    with pytest.raises(TypeError, match="IntereStyleModel"):
        invert(torch.nn.Linear(2, 2), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="channels"):
        invert(model, torch.zeros(1, 2, 8, 8))
    with pytest.raises(TypeError, match="dtype int16"):
        invert(model, np.zeros((8, 8, 3), np.float16).view(np.int16))
