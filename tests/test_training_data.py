import pytest
import torch

from interestyle.errors import ConfigError
from interestyle.masks import MaskProviderError
from interestyle.synthetic import make_batch
from interestyle.training.config import DataConfig
from interestyle.training.data import (
    Batch,
    FolderImages,
    ItemDataset,
    ProviderMasks,
    StepSampler,
    SyntheticImages,
    build_source,
    collate,
    split_indices,
    step_items,
)
from training_setup import write_image_folder


def test_each_steps_batch_is_a_pure_function_of_seed_step_and_process():
    train = list(range(10))
    a = step_items(7, train, 4, seed=3)
    assert a == step_items(7, train, 4, seed=3)
    assert a != step_items(8, train, 4, seed=3)
    assert a != step_items(7, train, 4, seed=4)
    sampler = StepSampler(train, 4, start=5, end=9, seed=3)
    assert list(sampler)[2] == a and len(sampler) == 4


def test_an_epoch_visits_every_image_once_across_processes():
    train = list(range(100, 112))
    seen = [
        i
        for step in range(3)
        for rank in range(2)
        for i, _ in step_items(step, train, 2, seed=0, process_index=rank, num_processes=2)
    ]
    assert sorted(seen) == train


def test_flips_are_off_when_disabled():
    assert not any(f for _, f in step_items(0, list(range(64)), 64, seed=0, flip=False))
    flips = [f for _, f in step_items(0, list(range(64)), 64, seed=0)]
    assert 10 < sum(flips) < 54


def test_flips_move_image_and_mask_together():
    images = torch.arange(2 * 3 * 2 * 4, dtype=torch.float32).view(2, 3, 2, 4)
    masks = torch.arange(2 * 1 * 2 * 4, dtype=torch.float32).view(2, 1, 2, 4)
    out = Batch(images, masks, torch.tensor([0, 1]), torch.tensor([True, False])).flipped()
    assert torch.equal(out.images[0], images[0].flip(-1)) and torch.equal(out.masks[0], masks[0].flip(-1))
    assert torch.equal(out.images[1], images[1]) and torch.equal(out.masks[1], masks[1])


def test_split_is_seeded_and_disjoint():
    train, val = split_indices(20, 0.25, seed=1)
    assert len(val) == 5 and sorted(train + val) == list(range(20))
    assert split_indices(20, 0.25, seed=1) == (train, val) and split_indices(20, 0.25, seed=2) != (train, val)
    assert split_indices(3, 0.0, seed=0) == ([0, 1, 2], [])


def test_synthetic_source_gives_images_with_their_interest_masks():
    source = build_source(DataConfig(kind="synthetic", count=5, size=64, condition="occluded"), 32, needs_masks=True)
    assert isinstance(source, SyntheticImages) and len(source) == 5
    image, mask = source.load(3)
    assert image.shape == (3, 32, 32) and mask.shape == (1, 32, 32)
    assert image.min() >= -1 and image.max() <= 1 and 0 < mask.mean() < 1
    assert torch.equal(source.load(3)[0], image)


def test_synthetic_source_draws_the_configured_domain():
    v2 = build_source(
        DataConfig(kind="synthetic", count=3, size=32, domain="v2", condition="clean"), 32, needs_masks=True
    )
    image, mask = v2.load(1)
    expected = make_batch(1, size=32, seed=1, condition="clean", domain="v2")
    assert torch.equal(image, expected.image[0]) and torch.equal(mask, expected.interest_mask[0])
    assert not torch.equal(image, make_batch(1, size=32, seed=1, condition="clean").image[0])
    with pytest.raises(ConfigError, match=r"data\.domain"):
        DataConfig(kind="synthetic", domain="v3")


def test_folder_source_reads_masks_by_stem_and_resizes(tmp_path):
    write_image_folder(tmp_path / "img", 2, size=40, masks=tmp_path / "mask")
    source = FolderImages(tmp_path / "img", tmp_path / "mask", 32)
    image, mask = source.load(1)
    assert image.shape == (3, 32, 32) and mask.shape == (1, 32, 32)
    assert mask[0, 16, 16] == 1 and mask[0, 1, 1] == 0
    batch = collate([ItemDataset(source)[(i, False)] for i in range(2)])
    assert batch.images.shape == (2, 3, 32, 32) and batch.masks.shape == (2, 1, 32, 32)


def test_provider_masks_are_computed_once_and_cached_on_disk(tmp_path):
    write_image_folder(tmp_path / "img", 3, size=32)
    source = FolderImages(tmp_path / "img", None, 32)
    calls = []

    def provider(images):
        calls.append(images.shape[0])
        return (images[:, :1] > 0).float()

    masks = ProviderMasks(provider, tmp_path / "cache", source)
    images = torch.stack([source.load(i)[0] for i in range(3)])
    first = masks(images[:2], [0, 1])
    assert first.shape == (2, 1, 32, 32) and calls == [2]
    assert torch.equal(masks(images, [0, 1, 2])[:2], first) and calls == [2, 1]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["img0.png", "img1.png", "img2.png"]
    again = ProviderMasks(provider, tmp_path / "cache", source)(images, [0, 1, 2])
    assert calls == [2, 1] and torch.equal(again[:2], first)


def test_provider_masks_run_the_provider_as_run_provider_does(tmp_path):
    write_image_folder(tmp_path / "img", 2, size=32)
    source = FolderImages(tmp_path / "img", None, 32)
    images = torch.stack([source.load(i)[0] for i in range(2)])
    seen = []

    def provider(x):
        seen.append((tuple(x.shape), x.device.type))
        return torch.ones(x.shape[0], 1, *x.shape[-2:])

    provider.resolution = 16
    provider.device = "meta"  # where it asks for its input: it gets meta tensors and answers on the CPU
    masks = ProviderMasks(provider, tmp_path / "cache", source)(images, [0, 1])
    assert seen == [((2, 3, 16, 16), "meta")]
    assert masks.shape == (2, 1, 32, 32) and masks.eq(1).all()


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (lambda x: torch.ones(x.shape[0], *x.shape[-2:]), "returned shape"),
        (lambda x: torch.full((x.shape[0], 1, *x.shape[-2:]), 2.0), "masks must lie in"),
        (lambda x: torch.full((x.shape[0], 1, *x.shape[-2:]), float("nan")), "NaN"),
        (lambda x: x[:, :1].numpy(), "must return a tensor"),
    ],
)
def test_provider_masks_reject_invalid_masks_with_a_mask_provider_error(tmp_path, output, message):
    write_image_folder(tmp_path / "img", 1, size=32)
    source = FolderImages(tmp_path / "img", None, 32)
    with pytest.raises(MaskProviderError, match=message):
        ProviderMasks(output, tmp_path / "cache", source)(source.load(0)[0][None], [0])
    assert not (tmp_path / "cache").exists()


def test_provider_masks_refuse_a_bad_declared_resolution_when_built(tmp_path):
    write_image_folder(tmp_path / "img", 1, size=32)

    def provider(x):
        return torch.ones(x.shape[0], 1, *x.shape[-2:])

    provider.resolution = 0
    with pytest.raises(MaskProviderError, match="resolution=0"):
        ProviderMasks(provider, tmp_path / "cache", FolderImages(tmp_path / "img", None, 32))


def test_a_steps_images_and_flips_depend_on_the_global_batch_only():
    """Batch 4 on one process, 2 on each of 2, 2 accumulated twice, 1 on 2 processes accumulated twice: one step
    reads the same 4 images with the same flips."""
    train = list(range(20, 27))
    splits = [(4, 1, 1), (2, 2, 1), (2, 1, 2), (1, 2, 2)]
    for step in range(3):
        seen = []
        for batch, processes, accumulation in splits:
            items = [
                item
                for k in range(accumulation)
                for r in range(processes)
                for item in step_items(
                    step,
                    train,
                    batch,
                    seed=5,
                    process_index=r,
                    num_processes=processes,
                    micro_step=k,
                    accumulation_steps=accumulation,
                )
            ]
            seen.append(sorted(items))
        assert all(s == seen[0] for s in seen), step
    sampler = StepSampler(train, 2, start=1, end=3, seed=5, accumulation_steps=2)
    assert len(sampler) == 4 and list(sampler)[1] == step_items(1, train, 2, seed=5, micro_step=1, accumulation_steps=2)
    with pytest.raises(ValueError, match="micro_step=2"):
        step_items(0, train, 2, seed=5, micro_step=2, accumulation_steps=2)
