"""``invert``: images to W+ latents with an (iterative) encoder, in batches, without gradients."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import Tensor
from tqdm.auto import tqdm

from .align import DEFAULT_FEATHER_FRACTION, LandmarkProvider, align_photos, face_batch, paste_photos
from .images import (
    DECODE_MARGIN,
    ImageInput,
    image_sizes,
    read_images,
    stack_resized,
    warn_if_stretched,
    warn_if_upscaled,
)
from .masks.protocol import MaskSpec, resize_masks
from .masks.resolve import masks_for_items
from .models.model import IntereStyleModel
from .results import LatentResult
from .uninterest_filter import UninterestFilter
from .validation import check_positive_int

__all__ = ["InversionResult", "invert"]


@dataclass(kw_only=True)
class InversionResult(LatentResult):
    """What [`invert`][interestyle.inversion.invert] returns; all tensors on the model's device. The fields and methods
    it shares with [`EditResult`][interestyle.EditResult] (``to_pil``, ``composite``) are
    [`LatentResult`][interestyle.results.LatentResult]'s.

    Attributes:
        latents: final W+ latents, (B, n_latent, style_dim).
        step_latents: W+ after each refinement step, (T, B, n_latent, style_dim); T = 1 for pSp/e4e.
        images: reconstructions G(latents), (B, 3, R, R), roughly in [-1, 1] (not clipped).
        inputs: the input images resized to the generator's resolution, (B, 3, R, R) in [-1, 1].
        masks: the interest masks used, (B, 1, R, R) in [0, 1], or None when no mask was given.
        alignment: with ``align=True``, each photo's aligned faces and their transforms; the rows above
            are then the faces, photo by photo and left to right.
        photos: with ``align=True``, each photo (1, 3, H, W) in [-1, 1] with its faces replaced by their
            reconstructions (pasted back through the mask, feathered); None otherwise.
    """

    step_latents: Tensor
    inputs: Tensor


@torch.no_grad()
def invert(
    model: IntereStyleModel,
    images: ImageInput,
    *,
    mask: MaskSpec | None = None,
    iterations: int | None = None,
    batch_size: int = 8,
    progress: bool | None = None,
    align: bool = False,
    landmarks: str | LandmarkProvider = "mediapipe",
    feather_fraction: float = DEFAULT_FEATHER_FRACTION,
    uninterest_filter: bool | UninterestFilter = False,
) -> InversionResult:
    """Invert images into the model's W+ space.

    Args:
        model: from [`interestyle.load_encoder`][interestyle.load_encoder]; its device and dtype are used.
        images: a PIL image, a numpy array ((H, W, C) or (B, H, W, C); uint8 in [0, 255] or float in [0, 1]),
            a tensor ((C, H, W) or (B, C, H, W); float in [-1, 1] or uint8), a path, or a list of these, of
            any size: each is resized (antialiased) to the encoder's input size. Files and PIL images more than
            twice the model's size are decoded at a reduced size first
            ([`read_images`][interestyle.images.read_images]); an image enlarged more than 4x
            ([`MAX_UPSCALE`][interestyle.images.MAX_UPSCALE]) gives a warning.
        mask: None (the whole image is the interest region); a mask provider (any callable mapping
            (B, 3, H, W) in [-1, 1] to (B, 1, H, W) in [0, 1], run at the resolution and on the device it
            declares); a registered provider name such as ``"face-parsing"`` or ``"aligned-face"`` (see
            `interestyle.masks`); or an explicit mask per image, or one for all (PIL / numpy / tensor /
            path; bool, uint8 or float in [0, 1]; (H, W), (B, H, W) or (B, 1, H, W); same aspect ratio as its
            image, any size). It is kept for
            [`InversionResult.composite`][interestyle.inversion.InversionResult.composite].
        iterations: refinement steps (default ``model.config.iterations``: 5 for IntereStyle/ReStyle).
        batch_size: images per forward pass.
        progress: show a progress bar; by default only when there is more than one batch.
        align: the inputs are photos, not FFHQ-aligned crops: find every face with ``landmarks``, align it
            ([`interestyle.align.align_photos`][interestyle.align.align_photos]), invert the crops, and paste the
            reconstructions back into the photos (``InversionResult.photos``). ``mask`` then applies to the aligned
            crops.
        landmarks: the landmark provider (or its registered name) used with ``align=True``.
        feather_fraction: the blend band of the paste-back, as a fraction of the crop (with ``align=True``).
        uninterest_filter: let the encoder see what it saw in training: at each refinement step the input
            outside ``mask`` is blurred by IntereStyle's Uninterest Filter (True: radii 16, 9, 4, 1, 0 at
            256 px, the training recipes' default; or an
            [`UninterestFilter`][interestyle.uninterest_filter.UninterestFilter] of the run's radii); the
            target stays the sharp image. Needs ``mask``. False (the default, and the paper's inference):
            plain refinement on the sharp image. On the demo domain's occluded faces it lowers the error
            under the occluder by a quarter (docs/benchmarks.md).

    Returns:
        An [`InversionResult`][interestyle.inversion.InversionResult].

    Raises:
        ValueError / TypeError: an input of the wrong type, dtype, shape, channel count or range.
        ImageTooLargeError: an image file of more than [`MAX_IMAGE_PIXELS`][interestyle.images.MAX_IMAGE_PIXELS] pixels.
        MaskProviderError: an unknown provider name, or a provider that returned an invalid mask.
        NoFaceError: with ``align=True``, no face in any photo (a photo without a face is skipped with a
            warning naming it).
    """
    if not isinstance(model, IntereStyleModel):
        raise TypeError(f"model must be an IntereStyleModel (see load_encoder), got {type(model).__name__}")
    steps = model.config.iterations if iterations is None else check_positive_int(iterations, "iterations")
    batch_size = check_positive_int(batch_size, "batch_size")
    unf = _uninterest_filter(uninterest_filter, mask)
    if align:
        if model.domain == "synthetic":
            warnings.warn(
                "this model knows only the synthetic faces of interestyle.synthetic (the embedded demo model): "
                "on a real photo it pastes back a cartoon face; for real photos load a model trained on them "
                "(see docs/real-photos.md)",
                stacklevel=3,
            )
        photos = align_photos(images, landmarks, size=model.resolution, progress=progress)
        result = invert(
            model,
            face_batch(photos),
            mask=mask,
            iterations=iterations,
            batch_size=batch_size,
            progress=progress,
            uninterest_filter=uninterest_filter,
        )
        result.alignment = photos
        result.photos = paste_photos(
            photos, result.images.clamp(-1, 1), masks=result.masks, feather_fraction=feather_fraction
        )
        return result
    needed = max(model.input_size, model.resolution)
    items = read_images(images, min_side=DECODE_MARGIN * needed)
    sizes = image_sizes(items)
    warn_if_upscaled(sizes, needed, stacklevel=3)  # the caller of invert (past no_grad's wrapper)
    warn_if_stretched(sizes, needed, stacklevel=3)
    x = stack_resized(items, model.input_size)
    full = stack_resized(items, model.resolution)

    device, dtype = model.device, model.dtype
    n = x.shape[0]
    starts = range(0, n, batch_size)
    show = len(starts) > 1 if progress is None else progress
    masks = (
        None
        if mask is None
        else masks_for_items(mask, items, model.resolution, batch_size=batch_size, progress=show, resized=full)
    )
    # the filter blurs what the encoder sees: masks at its input size
    seen = None if masks is None or unf is None else resize_masks(masks, (x.shape[-2], x.shape[-1]))
    step_latents, recons = [], []
    for start in tqdm(starts, desc="invert", unit="batch", disable=not show):
        batch = x[start : start + batch_size].to(device, dtype)
        step_input = None
        if unf is not None:
            step_input = unf.step_input(None if seen is None else seen[start : start + batch_size].to(device, dtype))
        per_step = []
        for output in model.refine(batch, steps, step_input=step_input):
            per_step.append(output[0])
        step_latents.append(torch.stack(per_step))
        recons.append(output[1])  # the last step's reconstruction
    all_steps = torch.cat(step_latents, dim=1)
    return InversionResult(
        latents=all_steps[-1],
        step_latents=all_steps,
        images=torch.cat(recons),
        inputs=full.to(device, dtype),
        masks=None if masks is None else masks.to(device, dtype),
    )


def _uninterest_filter(value: object, mask: object) -> UninterestFilter | None:
    """The filter ``invert(uninterest_filter=value)`` applies, or None; refuses a filter without a mask."""
    if value is False:
        return None
    if value is True:
        value = UninterestFilter()
    if not isinstance(value, UninterestFilter):
        raise TypeError(f"uninterest_filter must be True, False or an UninterestFilter, got {value!r}")
    if mask is None and value.variant == "uninterest":
        raise ValueError(
            "uninterest_filter blurs the input outside the interest mask: give a mask too (mask=...), "
            "e.g. a provider name such as 'face-parsing'"
        )
    return value
