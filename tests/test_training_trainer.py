from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from conftest import tiny_model
from interestyle import ConfigError, load_encoder
from interestyle.grids import label_height
from interestyle.masks import register_mask_provider, unregister_mask_provider
from interestyle.metrics import masked_mse
from interestyle.serialization import save_model_folder
from interestyle.training import (
    Objective,
    ReconstructionLoss,
    Trainer,
    TrainingConfig,
    UninterestFilter,
    build_model,
    masked_l2_loss,
    train,
    training_step,
)
from training_setup import (
    single_thread,  # noqa: F401 (fixture)
    tiny_run,
    write_image_folder,
)

pytestmark = pytest.mark.usefixtures("single_thread")


def batch(size: int = 32):
    torch.manual_seed(0)
    x = torch.rand(2, 3, size, size) * 2 - 1
    m = torch.zeros(2, 1, size, size)
    m[:, :, 6:26, 8:24] = 1
    return x, m


def objective(**kwargs) -> Objective:
    defaults = {"loss": ReconstructionLoss(l2=1.0, ssim=0.5), "iterations": 2, "noise_mode": "const"}
    return Objective(**{**defaults, **kwargs})


def encoder_grads(model) -> list[torch.Tensor]:
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in model.encoder.parameters()]


def test_disentanglement_encodes_x_and_masked_x():
    model = tiny_model().train()
    x, m = batch()
    inputs = []

    def spy(t):
        inputs.append(t.detach().clone())
        return model.encoder(t)

    logs = training_step(model, x, m, objective(), encoder=spy)
    assert len(inputs) == 3  # two refinement steps, then the disentanglement pass
    assert torch.equal(inputs[-1], torch.cat([x, m * x], dim=1))
    assert torch.equal(inputs[0][:, :3], x)  # no filter: the sharp image at every step
    assert {"loss", "loss_last", "l2", "ssim", "ind"} <= set(logs)


def test_disentanglement_gradient_starts_from_the_detached_final_latent_and_reaches_the_encoder_only(tmp_path):
    model = build_model(TrainingConfig.from_dict(tiny_run(tmp_path)))  # the trainer's model: generator frozen
    x, m = batch()
    training_step(model, x, m, objective(disentanglement_weight=0.0))
    without = encoder_grads(model)
    model.zero_grad()
    training_step(model, x, m, objective(disentanglement_weight=0.05))
    with_ind = encoder_grads(model)
    assert all(p.grad is None for p in model.decoder.parameters())
    assert not model.latent_avg.requires_grad

    # The same term computed by hand with w_T a constant: the difference of the two runs is exactly it.
    model.zero_grad()
    with torch.no_grad():
        *_, (w_final, _) = model.refine(x, 2, noise_mode="const")
    offset = model.encoder(torch.cat([x, m * x], dim=1))
    shifted = w_final + offset
    loss = ReconstructionLoss(l2=1.0, ssim=0.5)(model.to_encoder_size(model.decode(shifted)), x, m).total
    (0.05 * loss).backward()
    by_hand = encoder_grads(model)
    assert any(h.abs().sum() > 0 for h in by_hand)
    for a, b, h in zip(with_ind, without, by_hand, strict=True):
        torch.testing.assert_close(a - b, h, rtol=1e-4, atol=1e-7)


def test_last_step_only_runs_earlier_steps_without_gradients():
    model = tiny_model().train()
    x, m = batch()
    modes = []

    def spy(t):
        modes.append(torch.is_grad_enabled())
        return model.encoder(t)

    training_step(model, x, m, objective(iterations=3, every_step=False), encoder=spy)
    assert modes == [False, False, True, True]
    modes.clear()
    training_step(model, x, m, objective(iterations=3), encoder=spy)
    assert modes == [True, True, True, True]


def test_uninterest_filter_feeds_blurred_backgrounds_at_early_steps():
    model = tiny_model().train()
    x, m = batch()
    inputs = []

    def spy(t):
        inputs.append(t[:, :3].detach().clone())
        return model.encoder(t)

    unf = UninterestFilter((16, 0), "uninterest")
    training_step(model, x, m, objective(uninterest_filter=unf, disentanglement_weight=0.0), encoder=spy)
    assert torch.equal(inputs[0], unf(x, m, 0)) and not torch.equal(inputs[0], x)
    assert torch.equal(inputs[1], x)


def test_masks_are_required_when_the_objective_reads_them():
    with pytest.raises(ValueError, match="interest masks"):
        training_step(tiny_model(), *batch()[:1], None, objective())
    training_step(tiny_model().train(), batch()[0], None, objective(masked=False, disentanglement_weight=0.0))


def test_thirty_steps_lower_the_loss_on_a_fixed_batch(tmp_path, capsys):
    config = tiny_run(
        tmp_path,
        data={"count": 2, "val_fraction": 0.0, "flip": False},
        optim={"steps": 30, "lr": 2e-3},
        log={"every": 10, "checkpoint_every": 1000},
    )
    result = train(config, progress=False)
    losses = result.losses
    assert len(losses) == 30 and result.step == 30
    assert sum(losses[-5:]) / 5 < 0.7 * losses[0]
    out = capsys.readouterr().out
    assert "OFF: no loss.lpips_weights given" in out and "OFF: no loss.arcface_weights given" in out
    assert "in place of LPIPS" in out and "interest disentanglement: on, weight 0.05" in out


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, request) -> tuple[Path, dict]:
    request.getfixturevalue("single_thread")  # the resumed runs use one thread too: same arithmetic
    root = tmp_path_factory.mktemp("straight")
    config = tiny_run(root, noise_mode="random", filter={"radii": [16, 4]})
    return root, config | {"_result": train(config, progress=False)}


def test_generator_is_bit_identical_after_training(uninterrupted):
    root, config = uninterrupted
    result = config["_result"]
    trained = load_file(result.checkpoint / "model.safetensors")
    original = load_file(root / "generator" / "model.safetensors")
    for key, value in original.items():
        if key.startswith("decoder.") or key == "latent_avg":
            assert torch.equal(trained[key], value), key
    assert any(not torch.equal(trained[k], original[k]) for k in original if k.startswith("encoder."))


def test_checkpoint_is_a_model_folder_load_encoder_reads(uninterrupted):
    root, config = uninterrupted
    result = config["_result"]
    assert result.checkpoint == root / "run" / "checkpoints" / "step-00000004"
    assert sorted(p.name for p in result.checkpoint.iterdir()) == [
        "config.json",
        "model.safetensors",
        "training_state.json",
        "training_state.safetensors",
    ]
    model = load_encoder(result.checkpoint)
    assert model.config.iterations == 2 and model.config.method == "interestyle"
    model.refine(torch.zeros(1, 3, 32, 32), 2)
    assert (root / "run" / "log.csv").read_text().count("\n") == 5
    assert (root / "run" / "samples" / "step-00000004.png").is_file()
    # input | mask | step 1 | step 2 | target under a strip of labels, one 32-pixel row per sample image
    sheet = np.asarray(Image.open(root / "run" / "samples" / "step-00000004.png").convert("L"))
    rows = (sheet.shape[0] - label_height(32) - 2) // 34
    assert sheet.shape == (label_height(32) + 2 + rows * 34, 2 + 5 * 34) and rows >= 1
    assert all(sheet[: label_height(32), 2 + c * 34 :][:, :32].min() < 128 for c in range(5))
    assert set(result.validation) == {"val_full_mse", "val_interest_mse"}
    assert not list((root / "run" / "checkpoints").glob(".*"))  # no temporary folder left behind


def test_validation_reports_the_benchmarks_per_image_mse(tmp_path):
    config = TrainingConfig.from_dict(tiny_run(tmp_path, data={"count": 9, "val_fraction": 0.5}))
    trainer = Trainer(config, progress=False)
    figures = trainer.validate()  # 5 held-out images in batches of 2
    images, masks = zip(*(trainer.source.load(i) for i in trainer.val_indices), strict=True)
    x, m = torch.stack(images), torch.stack(masks)
    y = trainer._reconstruct(x)[-1]
    assert len(x) == 5
    assert figures["val_interest_mse"] == pytest.approx(float(masked_mse(y, x, m).nanmean()), rel=1e-5)
    assert figures["val_full_mse"] == pytest.approx(float(masked_mse(y, x).mean()), rel=1e-5)
    # what it reported before: the loss's l2 term, which shrinks with the mask's area
    assert figures["val_interest_mse"] != pytest.approx(float(masked_l2_loss(y, x, m)), rel=0.05)


def test_resume_is_bit_exact(tmp_path, uninterrupted):
    _, config = uninterrupted
    config = tiny_run(tmp_path, noise_mode="random", filter={"radii": [16, 4]})
    first = train(config, max_steps=2, progress=False)
    assert first.step == 2 and first.checkpoint.name == "step-00000002"
    second = train(config, resume=True, progress=False)
    assert second.step == 4 and [h["step"] for h in second.history] == [3.0, 4.0]
    straight = uninterrupted[1]["_result"]
    for name in ("model.safetensors", "training_state.safetensors"):
        a, b = load_file(second.checkpoint / name), load_file(straight.checkpoint / name)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (name, key)
    assert straight.losses[2:] == second.losses
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["step", "1", "2", "3", "4"]


def test_schedule_clipping_and_checkpoint_pruning(tmp_path):
    optim = {"steps": 4, "lr": 1e-3, "scheduler": "cosine", "warmup_steps": 2, "grad_clip": 1.0}
    result = train(tiny_run(tmp_path, optim=optim, log={"checkpoint_every": 1, "keep_checkpoints": 2}), progress=False)
    assert [h["lr"] for h in result.history] == pytest.approx([5e-4, 1e-3, 1e-3, 5e-4])
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["step-00000003", "step-00000004"]


def test_a_resume_prunes_what_a_run_killed_before_its_prune_kept(tmp_path):
    """Killed between writing its last checkpoint and pruning, a run kept one too many: resuming it (with
    nothing left to train) left them all."""
    config = tiny_run(tmp_path, log={"checkpoint_every": 1, "keep_checkpoints": 0})
    train(config, progress=False)
    assert len(list((tmp_path / "run" / "checkpoints").iterdir())) == 4
    config["log"]["keep_checkpoints"] = 2
    (tmp_path / "run" / "checkpoints" / ".step-00000004.x1.tmp").mkdir()  # and a write it never finished
    assert train(config, resume=True, progress=False).step == 4
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["step-00000003", "step-00000004"]


def test_a_second_fresh_run_in_the_same_folder_is_refused(tmp_path):
    config = tiny_run(tmp_path, optim={"steps": 1})
    train(config, progress=False)
    with pytest.raises(ConfigError, match="already holds checkpoints"):
        train(config, progress=False)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"optim": {"lr": 1e-3, "momentum": 0.9}}, "optim.momentum"),
        ({"loss": {"l2": -1.0}}, "loss.l2"),
        ({"data": {"kind": "folder", "images": "IMAGES", "masks": "MASKS"}}, "img1.png"),
    ],
)
def test_bad_configs_fail_before_anything_is_written(tmp_path, change, named):
    write_image_folder(tmp_path / "images", 2, masks=tmp_path / "masks")
    (tmp_path / "masks" / "img1.png").unlink()
    config = tiny_run(tmp_path, **change)
    if "data" in change:
        config["data"] = {"kind": "folder", "images": str(tmp_path / "images"), "masks": str(tmp_path / "masks")}
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        train(config, progress=False)
    assert not (tmp_path / "run").exists()


def test_folder_data_and_a_provider_callable_train(tmp_path):
    write_image_folder(tmp_path / "images", 3)
    calls = []

    def provider(images):
        calls.append(images.shape[0])
        return torch.ones_like(images[:, :1])

    data = {"kind": "provider", "images": str(tmp_path / "images"), "provider": "mine", "val_fraction": 0.0}
    result = train(tiny_run(tmp_path, data=data, optim={"steps": 2}), mask_provider=provider, progress=False)
    assert result.step == 2 and sum(calls) == 3
    assert len(list((tmp_path / "run" / "mask-cache").iterdir())) == 3


def test_training_runs_a_provider_at_its_declared_resolution(tmp_path):
    write_image_folder(tmp_path / "images", 3)
    seen = []

    def provider(images):
        seen.append(tuple(images.shape[-2:]))
        return torch.ones_like(images[:, :1])

    provider.resolution = 16  # the encoder's input is 32 x 32: as in invert, the provider gets 16 x 16
    data = {"kind": "provider", "images": str(tmp_path / "images"), "provider": "mine", "val_fraction": 0.0}
    train(tiny_run(tmp_path, data=data, optim={"steps": 1}), mask_provider=provider, progress=False)
    assert seen and set(seen) == {(16, 16)}
    cached = sorted((tmp_path / "run" / "mask-cache").iterdir())
    assert len(cached) == 3 and {Image.open(f).size for f in cached} == {(32, 32)}


def test_baseline_runs_on_the_same_code_path_without_masks(tmp_path):
    write_image_folder(tmp_path / "images", 3)
    data = {"kind": "folder", "images": str(tmp_path / "images"), "val_fraction": 0.0}
    result = train(tiny_run(tmp_path, data=data, baseline=True, optim={"steps": 1}), progress=False)
    assert load_encoder(result.checkpoint).config.method == "restyle"
    assert "ind" not in result.history[0]


def test_a_registered_provider_is_used_by_name(tmp_path):
    write_image_folder(tmp_path / "images", 3)
    calls = []

    def half_face(**options):
        def provider(images):
            calls.append(images.shape[0])
            mask = torch.zeros_like(images[:, :1])
            mask[..., : images.shape[-1] // 2] = 1
            return mask

        return provider

    register_mask_provider("test-half-face", half_face)
    try:
        data = {
            "kind": "provider",
            "images": str(tmp_path / "images"),
            "provider": "test-half-face",
            "val_fraction": 0.0,
        }
        assert train(tiny_run(tmp_path, data=data, optim={"steps": 1}), progress=False).step == 1
        assert sum(calls) == 3
    finally:
        unregister_mask_provider("test-half-face")


def test_an_unknown_provider_name_fails_before_training(tmp_path):
    write_image_folder(tmp_path / "images", 3)
    data = {"kind": "provider", "images": str(tmp_path / "images"), "provider": "no-such-provider"}
    with pytest.raises(ConfigError, match=r"no-such-provider.*aligned-face"):
        train(tiny_run(tmp_path, data=data), progress=False)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_training_config_object_is_accepted(tmp_path):
    config = TrainingConfig.from_dict(tiny_run(tmp_path, optim={"steps": 1}, iterations=1))
    assert train(config, progress=False).step == 1


def test_fine_tuning_a_model_saved_in_float16_trains_in_float32(tmp_path):
    model = tiny_model()
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    save_model_folder(model.config.to_dict(), state, tmp_path / "half")
    config = tiny_run(tmp_path)
    config["model"] = {"init": str(tmp_path / "half")}
    del config["generator"]  # the model's own
    trained = build_model(TrainingConfig.from_dict(config))
    assert {p.dtype for p in trained.parameters()} == {torch.float32}
    result = train(config, progress=False)
    assert result.step == 4 and all(np.isfinite(result.losses))


def test_a_generator_only_folder_is_a_generator(tmp_path):
    from interestyle.models.generator import save_generator as save_generator_folder

    source = tiny_model(seed=3)
    save_generator_folder(source.decoder, source.latent_avg[0], tmp_path / "generator-only")
    model = build_model(TrainingConfig.from_dict(tiny_run(tmp_path, generator=str(tmp_path / "generator-only"))))
    for key, value in source.decoder.state_dict().items():
        assert torch.equal(model.decoder.state_dict()[key], value), key
    torch.testing.assert_close(model.latent_avg, source.latent_avg)
