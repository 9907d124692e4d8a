"""``interestyle.refine``: interest-masked pivotal tuning on tiny models, a few dozen steps each."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from conftest import tiny_model
from interestyle import DivergenceError, EditResult, InversionResult, RefinedResult, edit, invert, refine
from interestyle.lossnets import LPIPS
from interestyle.metrics import masked_mse
from interestyle.pivotal import PivotalObjective, locality_latents, locality_radius, region_mse

STEPS, LR = 30, 3e-3
SQUARE = (slice(8, 20), slice(8, 20))  # the occluder, in a 32 x 32 image


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny models run op by op: on a shared 2-core machine a second thread only waits for the first. Set for
    # the module, before the module's fixtures refine anything: results are bit-exact for one thread count.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def scene():
    """A tiny model, a photo it can draw with a bright square (the occluder) pasted on, and its mask."""
    model = tiny_model()
    with torch.no_grad():
        w = model.latent_avg[None] + 0.5 * torch.randn(
            1, model.n_latent, model.style_dim, generator=torch.Generator().manual_seed(3)
        )
        photo = model.decode(w).clamp(-1, 1)
    photo[:, :, SQUARE[0], SQUARE[1]] = 1.0
    mask = torch.ones(1, 1, 32, 32)
    mask[:, :, SQUARE[0], SQUARE[1]] = 0.0
    return model, photo, mask


@pytest.fixture(scope="module")
def inverted(scene):
    model, photo, mask = scene
    return invert(model, photo, mask=mask)


@pytest.fixture(scope="module")
def refined(scene, inverted):
    return refine(scene[0], inverted, steps=STEPS, lr=LR, progress=False)


def test_masked_refinement_fits_the_interest_region_and_never_learns_the_occluder(scene, inverted, refined):
    model, photo, mask = scene
    plain = refine(model, inverted, steps=STEPS, lr=LR, masked=False, progress=False)
    occluder = 1 - mask
    before_in = float(masked_mse(inverted.images, photo, mask)[0])
    assert float(masked_mse(refined.images, photo, mask)[0]) < 0.5 * before_in
    before_occ = float(masked_mse(inverted.images, photo, occluder)[0])
    # plain PTI paints the square in; masked PTI leaves it as the encoder's pivot drew it
    assert float(masked_mse(plain.images, photo, occluder)[0]) < 0.3 * before_occ
    assert float(masked_mse(refined.images, photo, occluder)[0]) > 0.8 * before_occ
    assert float(masked_mse(refined.images, inverted.images, occluder)[0]) < 0.1 * before_occ
    assert refined.losses.shape == (STEPS,) and bool(torch.isfinite(refined.losses).all())
    assert plain.settings.masked is False and refined.settings.masked is True


def test_photo_pixels_outside_the_mask_contribute_nothing(scene, inverted, refined):
    model, photo, _ = scene
    other = photo.clone()
    other[:, :, SQUARE[0], SQUARE[1]] = -torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(9))
    moved = dataclasses.replace(inverted, inputs=other)
    again = refine(model, moved, steps=STEPS, lr=LR, progress=False)
    assert torch.equal(again.images, refined.images)
    for a, b in zip(again.generator.parameters(), refined.generator.parameters(), strict=True):
        assert torch.equal(a, b)


def test_the_loaded_model_is_never_modified(scene, inverted):
    model = scene[0]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    probe = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(5)) * 2 - 1
    before = invert(model, probe)
    out = refine(model, inverted, steps=5, lr=LR, progress=False)
    assert out.generator is not model.generator
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert [p.requires_grad for p in model.parameters()] == flags
    after = invert(model, probe)
    assert torch.equal(before.latents, after.latents) and torch.equal(before.images, after.images)
    assert not any(p.requires_grad for p in out.generator.parameters())


def test_the_mapping_network_and_the_noise_are_not_tuned(scene, refined):
    model = scene[0]
    tuned, base = refined.generator.state_dict(), model.generator.state_dict()
    frozen = [name for name in base if name.startswith(("style.", "noises."))]
    assert frozen and all(torch.equal(tuned[name], base[name]) for name in frozen)
    changed = [name for name in base if not torch.equal(tuned[name], base[name])]
    assert len(changed) > len(base) // 2 and not set(changed) & set(frozen)


def test_the_result_says_how_it_was_tuned(scene, inverted, refined):
    assert isinstance(refined, RefinedResult) and isinstance(refined, InversionResult)
    assert refined.settings.perceptual == "ssim" and refined.settings.steps == STEPS
    assert torch.equal(refined.latents, inverted.latents)  # the pivots are kept
    assert torch.equal(refined.encoder_images, inverted.images)
    assert torch.equal(refined.masks, inverted.masks)
    assert len(refined.base_sha256) == 64
    lpips = refine(scene[0], inverted, steps=2, lr=LR, lpips=LPIPS(), progress=False)
    assert lpips.settings.perceptual == "lpips"


def test_refinement_is_reproducible_and_the_seed_matters(scene, inverted, refined):
    model = scene[0]
    assert torch.equal(refine(model, inverted, steps=STEPS, lr=LR, progress=False).images, refined.images)
    other = refine(model, inverted, steps=STEPS, lr=LR, seed=1, progress=False)
    assert not torch.equal(other.images, refined.images)
    bare = refine(model, inverted, steps=STEPS, lr=LR, regularize=False, progress=False)
    assert not torch.equal(bare.images, refined.images) and bare.settings.regularize is False


def test_a_refined_result_refines_further_from_its_tuned_generator(scene, refined):
    more = refine(scene[0], refined, steps=5, lr=LR, progress=False)
    assert more.losses[0] < refined.losses[0]
    assert torch.equal(more.encoder_images, refined.images)


def test_progress_bar_over_the_steps(scene, inverted, capsys):
    refine(scene[0], inverted, steps=3, lr=LR, progress=True)
    err = capsys.readouterr().err
    assert "refine" in err and "3/3" in err
    refine(scene[0], inverted, steps=3, lr=LR, progress=False)
    assert "refine" not in capsys.readouterr().err


# -- the tuned generator is what edits, mixes, composites and paste-back decode with ---------------------
def test_edit_decodes_with_the_tuned_generator(scene, refined):
    model = scene[0]
    direction = torch.randn(model.style_dim, generator=torch.Generator().manual_seed(1))
    out = edit(model, refined, direction, [0.0, 2.0])
    assert isinstance(out, EditResult) and out.generator is refined.generator
    torch.testing.assert_close(out.images[:1], refined.images, atol=1e-5, rtol=0)
    with torch.no_grad():
        expected = refined.generator(out.latents[1:])
        untuned = model.decode(out.latents[1:])
    torch.testing.assert_close(out.images[1:], expected, atol=1e-5, rtol=0)
    assert (out.images[1:] - untuned).abs().mean() > 1e-2
    again = edit(model, out, direction, 1.0)  # an edit of an edit keeps the tuned generator
    with torch.no_grad():
        torch.testing.assert_close(again.images, refined.generator(again.latents), atol=1e-5, rtol=0)


def test_style_mix_decodes_with_the_tuned_generator(scene, refined):
    from interestyle import style_mix

    model = scene[0]
    mixed = style_mix(model, refined, None, layers="coarse", seed=2)
    assert mixed.generator is refined.generator
    with torch.no_grad():
        torch.testing.assert_close(mixed.images, refined.generator(mixed.latents), atol=1e-5, rtol=0)


def test_composite_keeps_the_refined_images_inside_the_mask(scene, refined):
    _, photo, mask = scene
    hard = refined.composite(feather_px=0)
    inside = mask.bool().expand_as(hard)
    assert torch.equal(hard[inside], refined.images.clamp(-1, 1)[inside])
    assert torch.equal(hard[~inside], photo[~inside])


def test_paste_back_uses_the_refined_faces():
    from test_align_integration import TwoFaces

    model = tiny_model()
    photo = torch.rand(1, 3, 96, 320, generator=torch.Generator().manual_seed(0)) * 2 - 1
    result = invert(model, photo, align=True, landmarks=TwoFaces(), mask="aligned-face")
    out = refine(model, result, steps=3, lr=LR, progress=False)
    assert out.photos is not None and len(out.photos) == 1
    assert not torch.allclose(out.photos[0], result.photos[0])
    edited = edit(model, out, torch.randn(model.style_dim), [0.0], align=True)
    torch.testing.assert_close(edited.photos[0], out.photos[0], atol=1e-5, rtol=0)


# -- bad input ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("steps", [0, -3, 1.5, True, "10"])
def test_steps_must_be_a_positive_integer(scene, inverted, steps):
    with pytest.raises(ValueError, match=rf"steps={steps!r} is invalid: expected an integer >= 1"):
        refine(scene[0], inverted, steps=steps)


@pytest.mark.parametrize("lr", [-1e-3, 0.0, float("nan"), float("inf"), True, "fast"])
def test_lr_must_be_finite_and_positive(scene, inverted, lr):
    with pytest.raises(ValueError, match=r"lr=.* is invalid: expected a (finite )?number > 0 \(a learning rate"):
        refine(scene[0], inverted, lr=lr)


@pytest.mark.parametrize(("name", "value"), [("masked", 1), ("regularize", "yes"), ("seed", 1.5)])
def test_flags_and_the_seed_are_typed(scene, inverted, name, value):
    with pytest.raises(TypeError, match=rf"{name}={value!r} is invalid"):
        refine(scene[0], inverted, steps=1, **{name: value})


def test_a_result_from_another_model_is_refused(scene, inverted):
    same_shape = tiny_model(seed=1)
    with pytest.raises(ValueError, match=r"comes from another model: this model's generator draws its latents"):
        refine(same_shape, inverted, steps=1)
    wider = tiny_model(resolution=64, input_size=32)
    with pytest.raises(ValueError, match=r"comes from another model: its latents are \(1, 8, 32\)"):
        refine(wider, inverted, steps=1)


def test_what_is_not_an_inversion_is_refused(scene, inverted):
    model = scene[0]
    edited = edit(model, inverted, torch.randn(model.style_dim), 1.0)
    with pytest.raises(TypeError, match=r"EditResult is not accepted: refine tunes the generator to the photos"):
        refine(model, edited)
    with pytest.raises(TypeError, match=r"model must be an IntereStyleModel"):
        refine(model.generator, inverted)
    with pytest.raises(TypeError, match=r"result.generator of type Linear is not accepted"):
        refine(model, dataclasses.replace(inverted, generator=torch.nn.Linear(2, 2)))


def test_a_saved_generator_attached_to_an_inversion_refines_and_edits_from_there(scene, inverted, refined, tmp_path):
    from interestyle.pivotal import load_tuned_generator

    model = scene[0]
    path = refined.save_generator(tmp_path / "g.safetensors", model.generator)
    attached = dataclasses.replace(
        inverted, images=refined.images, generator=load_tuned_generator(path, model.generator)
    )
    direction = torch.randn(model.style_dim, generator=torch.Generator().manual_seed(2))
    assert torch.equal(edit(model, attached, direction, 1.5).images, edit(model, refined, direction, 1.5).images)
    assert torch.equal(refine(model, attached, steps=2, lr=LR, progress=False).encoder_images, refined.images)


def test_a_mask_that_does_not_fit_the_photos_is_refused(scene, inverted):
    model = scene[0]
    with pytest.raises(ValueError, match=r"mask of size 32x24 \(HxW\) does not match image 0 of size 32x32"):
        refine(model, inverted, mask=torch.ones(32, 24), steps=1)
    with pytest.raises(ValueError, match=r"mask holds 3 masks for 1 images"):
        refine(model, inverted, mask=torch.ones(3, 32, 32), steps=1)
    with pytest.raises(ValueError, match=r"the interest mask of photo 0 is empty"):
        refine(model, inverted, mask=torch.zeros(32, 32), steps=1)


def test_masks_are_needed_for_masked_tuning_and_refused_for_plain_pti(scene):
    model, photo, mask = scene
    bare = invert(model, photo)
    with pytest.raises(ValueError, match=r"this result has none: invert with mask=.*masked=False for plain PTI"):
        refine(model, bare, steps=1)
    with pytest.raises(ValueError, match=r"masked=False is plain PTI, which fits every pixel: it takes no mask"):
        refine(model, bare, masked=False, mask=mask, steps=1)
    given = refine(model, bare, mask=torch.ones(64, 64), steps=1, progress=False)  # any size of its aspect ratio
    assert given.masks.shape == (1, 1, 32, 32) and bool((given.masks == 1).all())
    plain = refine(model, bare, masked=False, steps=1, progress=False)
    assert plain.masks is None


@pytest.mark.parametrize(
    ("lr", "what"),
    [(1e30, r"is not finite"), (0.5, r"rose to .* \(the reconstruction terms\) from .* at the first step")],
)
def test_a_diverging_loss_stops_naming_the_step_and_nothing_changes(scene, inverted, lr, what):
    model = scene[0]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    message = rf"refine diverged at step \d+: the loss {what}; try a smaller lr"
    with pytest.raises(DivergenceError, match=message) as info:
        refine(model, inverted, steps=200, lr=lr, progress=False)
    assert 2 <= info.value.step <= 200 and isinstance(info.value, ArithmeticError)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


# -- the pieces ------------------------------------------------------------------------------------------
def test_region_mse_is_a_mean_over_the_weighted_pixels():
    a, b = torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4)
    b[1] = 3.0
    weight = torch.zeros(2, 1, 4, 4)
    weight[:, :, :2] = 1.0
    assert float(region_mse(a, b, weight)) == pytest.approx((1 + 9) / 2)
    assert float(region_mse(a, b, torch.zeros(2, 1, 4, 4))) == 0.0


def test_locality_latents_move_a_fixed_distance_towards_the_samples():
    pivots = torch.randn(3, 5, 8)
    samples = torch.randn(3, 8)
    near = locality_latents(pivots, samples, 2.5)
    torch.testing.assert_close((near - pivots).norm(dim=-1), torch.full((3, 5), 2.5))
    cosine = torch.nn.functional.cosine_similarity(near - pivots, samples[:, None] - pivots, dim=-1)
    torch.testing.assert_close(cosine, torch.ones(3, 5))


def test_the_locality_radius_is_the_spread_of_the_mapping_network(scene):
    generator = scene[0].generator
    radius = locality_radius(generator)
    assert radius == locality_radius(generator) and 0 < radius < 100


def test_plain_pti_has_no_anchor_term():
    photos, tuned = torch.zeros(1, 3, 32, 32), torch.full((1, 3, 32, 32), 0.5)
    ones = torch.ones(1, 1, 32, 32)
    plain = PivotalObjective(masked=False)(tuned, photos, ones, photos, None)
    assert set(plain.terms) == {"l2", "ssim"}
    masked = PivotalObjective()(tuned, photos, ones * 0.5, photos, (tuned, photos))
    assert set(masked.terms) == {"l2", "ssim", "anchor", "locality"}


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_refine_tunes_even_where_the_caller_holds_gradients_off(scene, mode):
    model, photo, mask = scene
    with mode():
        inverted = invert(model, photo, mask=mask)
        out = refine(model, inverted, steps=3, lr=LR, progress=False)
    assert float(masked_mse(out.images, photo, mask)[0]) < float(masked_mse(inverted.images, photo, mask)[0])
