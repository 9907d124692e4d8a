import pytest
import torch

from interestyle.training.losses import ReconstructionLoss, masked_l2_loss, ssim, w_norm
from training_setup import single_thread  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("single_thread")


def setup_batch():
    torch.manual_seed(0)
    target = torch.rand(2, 3, 32, 32) * 2 - 1
    prediction = (target + 0.3 * torch.randn_like(target)).clamp(-1, 1)
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 6:26, 8:24] = 1
    return prediction, target, mask


def loss_fn() -> ReconstructionLoss:
    return ReconstructionLoss(l2=1.0, ssim=0.5)


def test_masked_loss_ignores_changes_outside_the_interest_region():
    prediction, target, mask = setup_batch()
    outside = (1 - mask).bool().expand_as(target)
    changed_target, changed_prediction = target.clone(), prediction.clone()
    changed_target[outside] = -target[outside]
    changed_prediction[outside] = 0.7
    base = loss_fn()(prediction, target, mask).total
    assert torch.equal(loss_fn()(changed_prediction, changed_target, mask).total, base)
    assert torch.equal(
        masked_l2_loss(changed_prediction, changed_target, mask), masked_l2_loss(prediction, target, mask)
    )


def test_masked_loss_changes_when_interest_pixels_change():
    prediction, target, mask = setup_batch()
    changed = target.clone()
    changed[:, :, 10:12, 10:12] += 0.5
    assert loss_fn()(prediction, changed, mask).total != loss_fn()(prediction, target, mask).total


def test_without_a_mask_every_pixel_counts():
    prediction, target, _ = setup_batch()
    changed = target.clone()
    changed[:, :, 0, 0] += 0.5
    assert loss_fn()(prediction, changed).total != loss_fn()(prediction, target).total


def test_ssim_is_one_for_identical_images_and_lower_otherwise():
    prediction, target, _ = setup_batch()
    assert torch.allclose(ssim(target, target), torch.ones(2), atol=1e-5)
    assert (ssim(prediction, target) < 0.9).all()
    assert ssim(target[:, :, :8, :8], target[:, :, :8, :8]).shape == (2,)


def test_w_norm_is_the_mean_distance_to_the_average_latent():
    latents = torch.zeros(3, 4, 8)
    latents[:, 0, 0] = torch.tensor([3.0, 4.0, 5.0])
    assert torch.isclose(w_norm(latents), torch.tensor(4.0))
    assert torch.isclose(w_norm(latents, latents[0]), torch.tensor(1.0))


def test_terms_are_reported_and_weighted():
    prediction, target, mask = setup_batch()
    latents = torch.randn(2, 8, 32)
    out = ReconstructionLoss(l2=1.0, ssim=0.5, w_norm=0.1)(prediction, target, mask, latents, torch.zeros(8, 32))
    assert set(out.terms) == {"l2", "ssim", "w_norm"}
    expected = out.terms["l2"] + 0.5 * out.terms["ssim"] + 0.1 * out.terms["w_norm"]
    assert torch.isclose(out.total, expected)


def test_perceptual_weights_need_their_networks():
    with pytest.raises(ValueError, match="lpips_net"):
        ReconstructionLoss(lpips=0.8)
    with pytest.raises(ValueError, match="identity_loss"):
        ReconstructionLoss(identity=0.1)
    with pytest.raises(ValueError, match="latents"):
        ReconstructionLoss(w_norm=1.0)(*setup_batch())
