"""ComfyUI's IMAGE and MASK tensors, to and from interestyle's.

ComfyUI's conventions (measured on 0.3.64): an IMAGE is a float32 tensor (B, H, W, 3) in [0, 1] on the
CPU, a MASK a float32 tensor (B, H, W) in [0, 1]. interestyle's images are (B, 3, H, W) in [-1, 1] and
its masks (B, 1, H, W) in [0, 1], 1 = interest region. ComfyUI's LoadImage gives 1 - alpha as its MASK,
and for an image without alpha a (1, 64, 64) tensor of zeros whatever the image's size.
"""

from __future__ import annotations

from torch import Tensor

from ..images import read_images

__all__ = ["images_from_comfy", "images_to_comfy", "interest_masks_from_comfy", "masks_to_comfy"]


def images_from_comfy(image: object, *, what: str = "image") -> Tensor:
    """A ComfyUI IMAGE as interestyle images.

    Args:
        image: (B, H, W, 3) float tensor in [0, 1] (ComfyUI's IMAGE), on any device.
        what: how error messages call it.

    Returns:
        (B, 3, H, W) float32 in [-1, 1], on the CPU.

    Raises:
        TypeError: not a float tensor.
        ValueError: another shape, an empty batch, NaN or values outside [0, 1].
    """
    if not isinstance(image, Tensor):
        raise TypeError(f"{what} must be a ComfyUI IMAGE, a tensor (B, H, W, 3) in [0, 1]; got {type(image).__name__}")
    if image.ndim != 4 or image.shape[-1] != 3 or 0 in image.shape:
        raise ValueError(
            f"{what} has shape {tuple(image.shape)}; a ComfyUI IMAGE is (B, H, W, 3) with B, H and W at least 1"
        )
    if not image.dtype.is_floating_point:
        raise TypeError(f"{what} has dtype {image.dtype}; a ComfyUI IMAGE is a float tensor in [0, 1]")
    return read_images(image.detach().float().cpu().numpy(), what=what)[0]


def images_to_comfy(images: Tensor) -> Tensor:
    """interestyle images as a ComfyUI IMAGE: (B, 3, H, W) in [-1, 1] (clipped) -> (B, H, W, 3) float32 in
    [0, 1] on the CPU."""
    return ((images.detach().float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().contiguous()


def masks_to_comfy(masks: Tensor) -> Tensor:
    """interestyle masks as a ComfyUI MASK: (B, 1, H, W) in [0, 1] -> (B, H, W) float32 on the CPU."""
    return masks.detach().float().clamp(0, 1)[:, 0].cpu().contiguous()


def interest_masks_from_comfy(mask: object, *, what: str = "mask") -> Tensor:
    """A ComfyUI MASK used as interest masks, checked to mark something.

    Args:
        mask: (B, H, W) or (H, W) float tensor in [0, 1], 1 = interest region; one mask for every image or
            one per image, in the images' aspect ratio (the values are checked where the mask is used).
        what: how error messages call it.

    Returns:
        (B, H, W) on the CPU, the values as given.

    Raises:
        TypeError: not a float tensor.
        ValueError: another shape, or a mask that is zero everywhere (LoadImage's MASK of an image
            without alpha is one).
    """
    if not isinstance(mask, Tensor):
        raise TypeError(f"{what} must be a ComfyUI MASK, a tensor (B, H, W) in [0, 1]; got {type(mask).__name__}")
    m = mask.detach().cpu()
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3 or 0 in m.shape:
        raise ValueError(f"{what} has shape {tuple(mask.shape)}; a ComfyUI MASK is (B, H, W) or (H, W)")
    if not m.dtype.is_floating_point:
        raise TypeError(f"{what} has dtype {m.dtype}; a ComfyUI MASK is a float tensor in [0, 1]")
    empty = [i for i in range(m.shape[0]) if not bool((m[i] > 0).any())]
    if empty:
        raise ValueError(
            f"{what} {empty[0]} of {m.shape[0]} is zero everywhere, so it marks no interest region (LoadImage's "
            "MASK is 1 - alpha, and zeros for an image without alpha): connect an InterestyleMask node, or paint "
            "the face and hair in the mask editor"
        )
    return m
