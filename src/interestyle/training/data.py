"""Training data: images with interest masks, a seeded split, and batches that are a pure function of the step.

Sources: a folder of images with a folder of masks (matched by file stem), a folder of images whose masks
a provider computes on the fly (cached as PNG files), or the procedural faces of
`interestyle.synthetic`. Every step's batch is a function of ``(seed, step, process index, micro-batch)`` only, so
a resumed run sees exactly the batches an uninterrupted one would, with no sampler state to save.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from ..errors import ConfigError
from ..images import image_sizes, load_masks, read_images, stack_resized
from ..masks import MaskProviderError, get_mask_provider
from ..masks.protocol import prepare_provider
from ..serialization import atomic_write
from .config import DataConfig, image_stems

__all__ = [
    "Batch",
    "FolderImages",
    "ImageSource",
    "MaskProviderFn",
    "ProviderMasks",
    "StepSampler",
    "SyntheticImages",
    "build_source",
    "collate",
    "derive_seed",
    "resolve_mask_provider",
    "split_indices",
    "step_items",
]

MaskProviderFn = Callable[[Tensor], Tensor]
"""A mask provider: images (B, 3, H, W) in [-1, 1] -> soft masks (B, 1, H, W) in [0, 1], 1 = interest."""


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed that is a pure function of ``parts`` (stable across processes and Python runs)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


# -- sources ---------------------------------------------------------------------------------------------
class ImageSource:
    """Indexed training images at one size. ``load(i)`` -> image (3, S, S) in [-1, 1] and mask
    (1, S, S) in [0, 1] or None; ``name(i)`` names image ``i`` (for caches and logs)."""

    size: int

    def __len__(self) -> int:
        raise NotImplementedError

    def load(self, index: int) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    def name(self, index: int) -> str:
        return f"{index:08d}"


class FolderImages(ImageSource):
    """Images in ``images`` (sorted by name), each square-resized to ``size``; masks from ``masks`` by stem."""

    def __init__(self, images: str | os.PathLike[str], masks: str | os.PathLike[str] | None, size: int) -> None:
        self.size = size
        self.root = Path(images)
        stems = image_stems(images, "data.images")
        self.stems = list(stems)
        self.files = [self.root / stems[s] for s in self.stems]
        self.mask_files: list[Path] | None = None
        if masks is not None:
            mask_stems = image_stems(masks, "data.masks")
            missing = [s for s in self.stems if s not in mask_stems]
            if missing:
                raise ConfigError(
                    f"data.masks={os.fspath(masks)!r} lacks masks for {len(missing)} images (first: {missing[0]})"
                )
            self.mask_files = [Path(masks) / mask_stems[s] for s in self.stems]

    def __len__(self) -> int:
        return len(self.files)

    def name(self, index: int) -> str:
        return self.stems[index]

    def load(self, index: int) -> tuple[Tensor, Tensor | None]:
        items = read_images(self.files[index], what=str(self.files[index]))
        image = stack_resized(items, self.size)[0]
        if self.mask_files is None:
            return image, None
        mask = load_masks(self.mask_files[index], self.size, sizes=image_sizes(items), what=str(self.mask_files[index]))
        return image, mask[0]


class SyntheticImages(ImageSource):
    """``count`` procedural faces; face ``i`` is ``make_batch(1, seed=seed * 1_000_003 + i)`` under
    ``condition`` from ``domain``, rendered at ``render_size`` and resized to ``size``, with its exact
    interest mask."""

    def __init__(
        self,
        count: int,
        size: int,
        *,
        render_size: int | None = None,
        seed: int = 0,
        condition: str = "mixed",
        domain: str = "v1",
    ) -> None:
        self.count, self.size, self.seed, self.condition, self.domain = count, size, seed, condition, domain
        self.render_size = render_size or size

    def __len__(self) -> int:
        return self.count

    def load(self, index: int) -> tuple[Tensor, Tensor | None]:
        from ..synthetic import make_batch

        seed = self.seed * 1_000_003 + index
        batch = make_batch(1, size=self.render_size, seed=seed, condition=self.condition, domain=self.domain)
        image, mask = batch.image, batch.interest_mask
        if self.render_size != self.size:
            image = stack_resized([image], self.size).clamp(-1, 1)
            mask = stack_resized([mask], self.size).clamp(0, 1)
        return image[0], mask[0]


def build_source(data: DataConfig, size: int, *, needs_masks: bool) -> ImageSource:
    """The `ImageSource` a [`DataConfig`][interestyle.training.config.DataConfig] describes, at the encoder's input
    ``size``."""
    if data.kind == "synthetic":
        return SyntheticImages(
            data.count, size, render_size=data.size, seed=data.seed, condition=data.condition, domain=data.domain
        )
    assert data.images is not None
    masks = data.masks if data.kind == "folder" and (needs_masks or data.masks is not None) else None
    return FolderImages(data.images, masks, size)


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Seeded split of ``range(n)`` into (train, validation); the validation share is
    ``ceil(val_fraction * n)`` images (none when ``val_fraction`` is 0), training keeps at least one."""
    if n < 1:
        raise ValueError("no images to split")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(derive_seed("split", seed))).tolist()
    n_val = 0 if val_fraction <= 0 else min(n - 1, max(1, int(np.ceil(val_fraction * n))))
    return sorted(order[n_val:]), sorted(order[:n_val])


# -- masks computed by a provider ------------------------------------------------------------------------
def resolve_mask_provider(name: str) -> MaskProviderFn:
    """The registered mask provider called ``name`` (built-in, registered, or from an entry point).

    Raises:
        ConfigError: no provider of that name (the message lists the known ones), or one that cannot be
            built as configured (e.g. face parsing without weights).
    """
    try:
        return get_mask_provider(name)
    except (MaskProviderError, ValueError, TypeError, OSError) as exc:
        raise ConfigError(f"data.provider={name!r}: {exc}") from None


class ProviderMasks:
    """Masks computed by ``provider`` the first time an image is seen, then read back from ``cache_dir``
    (8-bit PNG files named by image) and kept in memory.

    The provider is run as everywhere else ([`run_provider`][interestyle.masks.run_provider]): at the ``resolution`` and
    on the ``device`` it declares, its masks checked and brought back to the images' size.

    Raises:
        MaskProviderError: the provider is not callable or declares a bad ``resolution``/``device`` (here),
            or returns an invalid mask (when called).
    """

    def __init__(self, provider: MaskProviderFn, cache_dir: str | os.PathLike[str], source: ImageSource) -> None:
        self.provider, self.source = prepare_provider(provider), source
        self.cache_dir = Path(cache_dir)
        self.memory: dict[int, Tensor] = {}

    def _file(self, index: int) -> Path:
        return self.cache_dir / f"{self.source.name(index)}.png"

    @staticmethod
    def _write(path: Path, pixels: np.ndarray) -> None:
        def save(tmp: Path) -> None:
            Image.fromarray(pixels).save(tmp, format="PNG")

        atomic_write(path, save)

    def __call__(self, images: Tensor, indices: Sequence[int]) -> Tensor:
        """Masks (B, 1, S, S) for unflipped ``images`` (B, 3, S, S) of source ``indices``."""
        todo: dict[int, int] = {}  # source index -> its first position in the batch
        for k, i in enumerate(int(i) for i in indices):
            if i not in self.memory and self._file(i).is_file():
                self.memory[i] = load_masks(self._file(i), self.source.size, sizes=[(1, 1)])[0]
            if i not in self.memory and i not in todo:
                todo[i] = k
        if todo:
            computed = self.provider(images[list(todo.values())]).cpu()
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            for i, m in zip(todo, computed, strict=True):
                pixels = (m[0] * 255).round().to(torch.uint8).numpy()
                self._write(self._file(i), pixels)
                self.memory[i] = torch.from_numpy(pixels).float().div(255)[None]
        return torch.stack([self.memory[int(i)] for i in indices])


# -- batches ---------------------------------------------------------------------------------------------
@dataclass
class Batch:
    """Images (B, 3, S, S) in [-1, 1], masks (B, 1, S, S) in [0, 1] or None, source indices (B,),
    and whether each is to be flipped horizontally (B,) bool."""

    images: Tensor
    masks: Tensor | None
    indices: Tensor
    flips: Tensor

    def flipped(self) -> Batch:
        """The batch with its flips applied to images and masks together (flags cleared)."""
        f = self.flips.view(-1, 1, 1, 1)
        images = torch.where(f, self.images.flip(-1), self.images)
        masks = None if self.masks is None else torch.where(f, self.masks.flip(-1), self.masks)
        return Batch(images, masks, self.indices, torch.zeros_like(self.flips))


class _PermutationCache:
    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed = n, seed
        self.cache: dict[int, list[int]] = {}

    def __call__(self, epoch: int) -> list[int]:
        if epoch not in self.cache:
            if len(self.cache) > 4:
                self.cache.pop(min(self.cache))
            g = torch.Generator().manual_seed(derive_seed("epoch", self.seed, epoch))
            self.cache[epoch] = torch.randperm(self.n, generator=g).tolist()
        return self.cache[epoch]


def step_items(
    step: int,
    train_indices: Sequence[int],
    batch_size: int,
    *,
    seed: int,
    process_index: int = 0,
    num_processes: int = 1,
    flip: bool = True,
    micro_step: int = 0,
    accumulation_steps: int = 1,
    _permutation: Callable[[int], list[int]] | None = None,
) -> list[tuple[int, bool]]:
    """The ``(source index, flip)`` pairs of one micro-batch of one step on one process: a pure function of
    the arguments.

    The training images are visited in a fresh seeded order each epoch. Optimiser step ``s`` reads the
    ``B * W * A`` positions ``[s * B * W * A, (s + 1) * B * W * A)`` of that endless sequence (``B`` the
    batch size, ``W`` the processes, ``A`` the accumulation steps), cut into micro-batches of ``B``:
    micro-batch ``k`` of process ``r`` is chunk ``(s * A + k) * W + r``. Whether an image is flipped is a
    function of its position, so the images (and flips) a step sees depend on the global batch ``B * W * A``
    only, not on how it is split between processes and accumulation steps.
    """
    if not 0 <= micro_step < accumulation_steps:
        raise ValueError(f"micro_step={micro_step} must be in [0, accumulation_steps={accumulation_steps})")
    n = len(train_indices)
    permutation = _permutation or _PermutationCache(n, seed)
    chunk = (step * accumulation_steps + micro_step) * num_processes + process_index
    out = []
    for position in range(chunk * batch_size, (chunk + 1) * batch_size):
        epoch, offset = divmod(position, n)
        flipped = flip and derive_seed("flip", seed, position) % 2 == 1
        out.append((int(train_indices[permutation(epoch)[offset]]), flipped))
    return out


class StepSampler(Sampler[list[tuple[int, bool]]]):
    """Batch sampler of steps ``[start, end)`` for one process: yields the `step_items` of each step's
    ``accumulation_steps`` micro-batches in turn."""

    def __init__(
        self,
        train_indices: Sequence[int],
        batch_size: int,
        *,
        start: int,
        end: int,
        seed: int,
        process_index: int = 0,
        num_processes: int = 1,
        flip: bool = True,
        accumulation_steps: int = 1,
    ) -> None:
        self.train_indices = list(train_indices)
        self.batch_size, self.start, self.end, self.seed = batch_size, start, end, seed
        self.process_index, self.num_processes, self.flip = process_index, num_processes, flip
        self.accumulation_steps = accumulation_steps
        self._permutation = _PermutationCache(len(self.train_indices), seed)

    def __len__(self) -> int:
        return max(0, self.end - self.start) * self.accumulation_steps

    def __iter__(self) -> Iterator[list[tuple[int, bool]]]:
        for step in range(self.start, self.end):
            for micro_step in range(self.accumulation_steps):
                yield step_items(
                    step,
                    self.train_indices,
                    self.batch_size,
                    seed=self.seed,
                    process_index=self.process_index,
                    num_processes=self.num_processes,
                    flip=self.flip,
                    micro_step=micro_step,
                    accumulation_steps=self.accumulation_steps,
                    _permutation=self._permutation,
                )


class ItemDataset(Dataset):
    """Map-style view of a source for a DataLoader: ``ds[(index, flip)]`` -> (image, mask, index, flip).

    Flips are applied later, in the training process, so provider masks are computed on unflipped images.
    """

    def __init__(self, source: ImageSource) -> None:
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, item: tuple[int, bool]) -> tuple[Tensor, Tensor | None, int, bool]:
        index, flip = item
        image, mask = self.source.load(index)
        return image, mask, index, flip


def collate(items: Sequence[tuple[Tensor, Tensor | None, int, bool]]) -> Batch:
    """Stack `ItemDataset` items into an (unflipped) `Batch`."""
    images = torch.stack([it[0] for it in items])
    masks = None if any(it[1] is None for it in items) else torch.stack([it[1] for it in items])  # type: ignore[misc]
    indices = torch.tensor([it[2] for it in items], dtype=torch.long)
    flips = torch.tensor([it[3] for it in items], dtype=torch.bool)
    return Batch(images, masks, indices, flips)
