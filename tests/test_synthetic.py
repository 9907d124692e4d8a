import pytest
import torch

from interestyle.synthetic import ATTRIBUTES, OCCLUDERS, attributes_from_latent, make_batch, render, sample_attributes


def test_same_seed_same_faces_and_images():
    a, b = make_batch(4, size=32, seed=5, condition="mixed"), make_batch(4, size=32, seed=5, condition="mixed")
    assert torch.equal(a.image, b.image) and torch.equal(a.interest_mask, b.interest_mask)
    assert not torch.equal(a.image, make_batch(4, size=32, seed=6, condition="mixed").image)


def test_conditions_share_the_faces_of_a_seed():
    clean = make_batch(6, size=32, seed=1, condition="clean")
    for condition in ("clutter", "occluded", "mixed"):
        other = make_batch(6, size=32, seed=1, condition=condition)
        torch.testing.assert_close(other.face_mask, clean.face_mask)
        for key, value in clean.attributes.items():
            if key not in ("occluder", "clutter"):
                assert torch.equal(other.attributes[key], value), key


@pytest.mark.parametrize("occluder", OCCLUDERS)
def test_occluded_and_clean_agree_outside_the_occluder(occluder):
    attributes = sample_attributes(8, seed=2)
    batch = render(attributes, size=48, occluder=occluder, clutter=True, seed=2)
    outside = (batch.occluder_mask == 0).expand_as(batch.image)
    assert torch.equal(batch.image[outside], batch.clean[outside])
    assert (batch.occluder_mask.flatten(1).sum(1) > 0).all()  # every image has its occluder
    inside = batch.occluder_mask > 0.99
    assert (batch.image - batch.clean).abs().amax(1, keepdim=True)[inside].mean() > 0.05


def test_masks_are_consistent():
    batch = make_batch(8, size=32, seed=3, condition="occluded")
    for m in (batch.face_mask, batch.occluder_mask, batch.interest_mask):
        assert m.shape == (8, 1, 32, 32) and m.min() >= 0 and m.max() <= 1
    torch.testing.assert_close(batch.interest_mask, batch.face_mask * (1 - batch.occluder_mask))
    assert batch.image.min() >= -1 and batch.image.max() <= 1
    # The face occupies the centre and not the corners.
    assert (batch.face_mask[:, :, 14:18, 14:18] > 0.99).all()
    assert (batch.face_mask[:, :, 0, 0] == 0).all()


def test_clean_condition_has_no_occluder_and_a_plain_background():
    batch = make_batch(4, size=32, seed=4, condition="clean")
    assert torch.equal(batch.image, batch.clean)
    assert batch.occluder_mask.sum() == 0
    assert (batch.image[:, :, 0, 1:] - batch.image[:, :, 0, :-1]).abs().max() < 1e-6  # flat along a row


def test_attributes_vary():
    attributes = sample_attributes(64, seed=0)
    for key, value in attributes.items():
        assert value.shape == (64,) and value.std() > 0, key


def test_bad_arguments():
    with pytest.raises(ValueError, match="condition='foggy'"):
        make_batch(2, condition="foggy")
    with pytest.raises(ValueError, match="occluder='hat'"):
        render(sample_attributes(2), occluder="hat")
    with pytest.raises(ValueError, match="size=8"):
        make_batch(2, size=8)
    with pytest.raises(ValueError, match="n=0"):
        sample_attributes(0)


def test_latents_parameterise_faces():
    z = torch.randn(2000, 32, generator=torch.Generator().manual_seed(0))
    attributes = attributes_from_latent(z)
    assert torch.equal(attributes["smile"], attributes_from_latent(z)["smile"])
    assert attributes["smile"].min() >= -0.4 and attributes["smile"].max() <= 1.0
    assert set(attributes["hair_style"].tolist()) == {0.0, 1.0, 2.0, 3.0, 4.0}
    # Only the first dimensions matter; the rest of z is free.
    z2 = z.clone()
    z2[:, len(ATTRIBUTES) :] = 0
    assert all(torch.equal(v, attributes_from_latent(z2)[k]) for k, v in attributes.items())
