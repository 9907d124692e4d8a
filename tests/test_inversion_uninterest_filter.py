"""``invert(..., uninterest_filter=...)``: the training-time Uninterest Filter applied at inference."""

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_model
from interestyle import UninterestFilter, invert
from interestyle.cli import main


@pytest.fixture
def images_and_mask(model):
    torch.manual_seed(3)
    x = torch.rand(2, 3, model.input_size, model.input_size) * 2 - 1
    m = torch.zeros(2, 1, model.input_size, model.input_size)
    m[..., 6:26, 8:24] = 1
    return x, m


def manual(model, x, step_input):
    return list(model.refine(x, model.config.iterations, step_input=step_input))[-1][0]


def test_it_is_refine_with_the_filter_of_the_mask(model, images_and_mask):
    x, m = images_and_mask
    filtered = invert(model, x, mask=m, uninterest_filter=True).latents
    torch.testing.assert_close(filtered, manual(model, x, UninterestFilter().step_input(m)), atol=1e-6, rtol=0)
    assert not torch.allclose(filtered, invert(model, x, mask=m).latents, atol=1e-4)


def test_nothing_changes_where_nothing_lies_outside_the_mask_or_nothing_is_blurred(model, images_and_mask):
    x, m = images_and_mask
    plain = invert(model, x, mask=m).latents
    everywhere = invert(model, x, mask=torch.ones_like(m), uninterest_filter=True).latents
    no_blur = invert(model, x, mask=m, uninterest_filter=UninterestFilter(radii=(0,))).latents
    torch.testing.assert_close(everywhere, plain, atol=1e-6, rtol=0)
    torch.testing.assert_close(no_blur, plain, atol=1e-6, rtol=0)


def test_the_whole_image_variant_needs_no_mask(model, images_and_mask):
    x, _ = images_and_mask
    whole = UninterestFilter(variant="whole")
    torch.testing.assert_close(
        invert(model, x, uninterest_filter=whole).latents, manual(model, x, whole.step_input(None)), atol=1e-6, rtol=0
    )


def test_a_mask_of_another_size_is_resized_to_the_encoders_input(model, images_and_mask):
    x, m = images_and_mask
    big = torch.nn.functional.interpolate(m, scale_factor=2, mode="nearest")
    from_big = invert(model, x, mask=big, uninterest_filter=True).latents
    same_size = invert(model, x, mask=m, uninterest_filter=True).latents
    # the mask is resampled at its edges, so close to the same-size mask's result and far from no filter's
    assert (from_big - same_size).abs().max() < 0.2 * (invert(model, x, mask=m).latents - same_size).abs().max()


@pytest.mark.parametrize(
    ("value", "error", "message"), [(True, ValueError, "give a mask"), ("yes", TypeError, "'yes'")]
)
def test_bad_filters_are_named(model, images_and_mask, value, error, message):
    with pytest.raises(error, match=message):
        invert(model, images_and_mask[0], uninterest_filter=value)


def test_the_command_takes_it_with_a_mask_only(tmp_path, capsys):
    tiny_model().save_pretrained(tmp_path / "model")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    mask = np.zeros((32, 32), np.uint8)
    mask[4:28, 6:26] = 255
    Image.fromarray(mask).save(tmp_path / "a.mask.png")
    common = [str(tmp_path / "a.png"), "--model", str(tmp_path / "model"), "--no-progress"]
    assert main(["invert", *common, "--out", str(tmp_path / "bad"), "--uninterest-filter"]) == 2
    err = capsys.readouterr().err
    assert "--uninterest-filter blurs outside the interest mask: give --mask" in err
    assert len(err.strip().splitlines()) == 1
    for name, extra in (("plain", []), ("filtered", ["--uninterest-filter"])):
        args = ["invert", *common, "--mask", str(tmp_path / "a.mask.png"), "--out", str(tmp_path / name), *extra]
        assert main(args) == 0
    plain, filtered = (np.asarray(Image.open(tmp_path / n / "a.png")) for n in ("plain", "filtered"))
    assert plain.shape == filtered.shape and not np.array_equal(plain, filtered)
