"""InversionResult and EditResult share one base: the same fields mean the same, the same methods behave the same."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import tiny_model
from interestyle import EditResult, InversionResult, LatentResult, edit, invert, style_mix

SHARED_FIELDS = ["latents", "images", "inputs", "masks", "alignment", "photos"]


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def inversion(model):
    rng = np.random.default_rng(11)
    photos = [rng.integers(0, 256, (40, 40, 3), dtype=np.uint8) for _ in range(2)]
    mask = np.zeros((40, 40), bool)
    mask[8:32, 10:30] = True
    return invert(model, photos, mask=mask)


def test_both_types_are_latent_results_and_inherit_every_shared_method():
    for cls in (InversionResult, EditResult):
        assert issubclass(cls, LatentResult)
        names = [f.name for f in dataclasses.fields(cls)]
        assert names[: len(SHARED_FIELDS)] == SHARED_FIELDS
        for method in ("__len__", "to_pil", "composite"):
            assert getattr(cls, method) is getattr(LatentResult, method), (cls.__name__, method)


def test_the_shared_methods_give_the_same_outputs(model, inversion):
    edited = edit(model, inversion, torch.ones(model.style_dim), 0.0)  # strength 0: the inversion's images
    assert len(edited) == len(inversion) == 2
    for feather_px in (None, 0, 1.5):
        assert torch.equal(edited.composite(feather_px=feather_px), inversion.composite(feather_px=feather_px))
    assert [np.asarray(a).tolist() for a in edited.to_pil()] == [np.asarray(b).tolist() for b in inversion.to_pil()]


def test_without_a_mask_both_refuse_composite_with_the_same_message(model, inversion):
    bare_inversion = dataclasses.replace(inversion, masks=None)
    bare_edit = edit(model, bare_inversion, torch.ones(model.style_dim), 1.0)
    messages = []
    for result in (bare_inversion, bare_edit):
        with pytest.raises(ValueError, match=r"invert\(\.\.\., mask=\.\.\.\)") as caught:
            result.composite()
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def test_results_from_bare_latents_name_the_missing_photos(model, inversion):
    mixed = style_mix(model, inversion.latents, inversion.latents.flip(0))
    assert mixed.inputs is None and mixed.masks is None
    with pytest.raises(ValueError, match="mask"):
        mixed.composite()
    no_photos = dataclasses.replace(mixed, masks=inversion.masks)
    with pytest.raises(ValueError, match="bare latents"):
        no_photos.composite()


def test_a_bad_feather_is_refused_by_both(model, inversion):
    edited = edit(model, inversion, torch.ones(model.style_dim), 0.0)
    for result in (inversion, edited):
        with pytest.raises(ValueError, match=r"feather_px=-1 is invalid"):
            result.composite(feather_px=-1)


def test_results_are_built_by_keyword(inversion):
    with pytest.raises(TypeError):
        InversionResult(inversion.latents, inversion.step_latents, inversion.images, inversion.inputs)  # type: ignore[misc]
