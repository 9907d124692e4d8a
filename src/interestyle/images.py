"""Images and masks in every form users hold them, to (B, C, H, W) tensors; validation lives here, once.

Conventions (the same everywhere in ``interestyle``):

* PIL images: any mode; RGBA/LA/P/L/CMYK/16-bit are converted to RGB, EXIF orientation applied.
* numpy arrays: (H, W), (H, W, C) or (B, H, W, C) with C in {1, 3, 4}; ``uint8`` in [0, 255],
  ``uint16`` in [0, 65535], floats in [0, 1].
* tensors: (C, H, W) or (B, C, H, W) with C in {1, 3, 4}; floats in [-1, 1] (the models' range),
  ``uint8`` in [0, 255].
* paths (``str`` / ``os.PathLike``) to image files; and lists of any of these, of any sizes.

Masks are soft, (B, 1, H, W) in [0, 1], 1 = interest region.
"""

from __future__ import annotations

import math
import os
import re
import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import Tensor

from .errors import ImageError, ImageTooLargeError, InterestyleError, StretchWarning, UpscaleWarning
from .validation import check_positive_int

__all__ = [
    "DECODE_MARGIN",
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "MAX_UPSCALE",
    "REDUCE_FROM",
    "SQUARE_TOLERANCE",
    "ImageInput",
    "MaskInput",
    "image_sizes",
    "load_images",
    "load_masks",
    "mask_to_pil",
    "not_square",
    "read_images",
    "stack_resized",
    "stretch_message",
    "to_pil",
    "upscale_message",
    "warn_if_stretched",
    "warn_if_upscaled",
]

ImageInput = Union[Image.Image, np.ndarray, Tensor, str, os.PathLike, Sequence["ImageInput"]]  # noqa: UP007 (recursive alias)
MaskInput = Union[Image.Image, np.ndarray, Tensor, str, os.PathLike, Sequence["MaskInput"]]  # noqa: UP007 (recursive alias)

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
"""File endings taken as images when a folder is scanned (lowercase; a file named explicitly is read whatever
its ending). Not ``.gif``: a palette of 256 colours posterises faces, and only an animation's first frame
would be read."""

MAX_IMAGE_PIXELS = 178_956_970
"""The most pixels an image file (or PIL image) may have: about 179 megapixels (e.g. 13,000 x 13,000; PIL's
own decompression-bomb limit). Larger ones raise [`ImageTooLargeError`][interestyle.errors.ImageTooLargeError] from
their header, before any decoding."""
MAX_UPSCALE = 4.0
"""Past this enlargement to the model's size, [`invert`][interestyle.invert] warns (a 16 x 16 image for a 64-pixel
model: 4x, no warning; 15 x 15: a warning)."""
SQUARE_TOLERANCE = 0.05
"""Images whose sides differ by more than this fraction of the longer one are not square: the model's square
input stretches them ([`invert`][interestyle.invert] warns), and no FFHQ-aligned crop is like them (a crop
resized or padded to another size stays within 5%)."""
REDUCE_FROM = 4
"""Images whose shorter side is at least this many times ``min_side`` are decoded at a reduced size
([`read_images`][interestyle.images.read_images]); smaller ones are read as they are."""
DECODE_MARGIN = 2
"""Files are decoded at a reduced size that keeps this many times the side the model needs (see
[`read_images`][interestyle.images.read_images]' ``min_side``): the final resize is still antialiased from more pixels
than it keeps."""

_CHANNELS = (1, 3, 4)
_TOL = 1e-3  # float inputs may overshoot their range by rounding


def _too_large(what: object, size: str) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"{what} is {size}, more than the {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels interestyle reads "
        "(interestyle.images.MAX_IMAGE_PIXELS): a decompression bomb, or a scan to shrink first"
    )


def _check_pixels(size: tuple[int, int], what: object) -> None:
    w, h = size
    if w * h > MAX_IMAGE_PIXELS:
        raise _too_large(what, f"{w}x{h} ({w * h / 1e6:.0f} megapixels)")


def _reduced(
    img: Image.Image, min_side: int | None, box: tuple[float, float, float, float] | None = None
) -> Image.Image:
    """``img`` (its ``box``: the region that maps to the whole photo, after a JPEG draft) shrunk by the largest
    integer factor that keeps both sides >= ``min_side``, box-filtered over the whole extent (no edge dropped,
    no stretch); as it is when it is less than `REDUCE_FROM` times ``min_side`` and not drafted."""
    if min_side is None:
        return img
    width, height = (img.width, img.height) if box is None else (box[2] - box[0], box[3] - box[1])
    if box is None and min(width, height) < REDUCE_FROM * min_side:
        return img
    factor = max(1, int(min(width, height) // min_side))
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    return img.resize(size, Image.Resampling.BOX, box=box)


def _open(path: str | os.PathLike[str], min_side: int | None = None) -> Image.Image:
    """Decode an image file (EXIF orientation applied); with ``min_side``, a large one at a reduced size that
    keeps both sides >= ``min_side`` (a JPEG is decoded at 1/2, 1/4 or 1/8 scale directly, keeping twice that)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"image file {p} does not exist")
    _check_png(p)
    try:
        with warnings.catch_warnings():
            # PIL warns from 89 megapixels on: MAX_IMAGE_PIXELS is the limit here, checked before decoding
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                _check_pixels(img.size, p)
                box = None
                if min_side is not None and min(img.size) >= REDUCE_FROM * min_side:
                    k = 2 * min_side / min(img.size)
                    drafted = img.draft(None, (math.ceil(img.width * k), math.ceil(img.height * k)))
                    box = None if drafted is None else drafted[1]
                img.load()
                reduced = _reduced(img, min_side, box)
                return ImageOps.exif_transpose(reduced) or reduced
    except Image.DecompressionBombError as exc:  # PIL's own check, from the header, at the same limit
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise _too_large(p, f"{int(found[1]) / 1e6:.0f} megapixels" if found else "too large") from None
    except (InterestyleError, MemoryError):
        raise
    except Exception as exc:  # on damaged files Pillow raises OSError, SyntaxError, ValueError, struct.error ...
        raise ImageError(f"cannot read {p} as an image: {exc}") from None


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_png(p: Path) -> None:
    """Refuse a PNG file that ends before its IEND chunk or whose chunks fail their CRC; other files pass.

    Pillow checks neither the CRC of the image data nor that the file is whole, so a flipped bit or a
    truncated download can decode into a wrong picture without a word.
    """
    with p.open("rb") as f:
        if f.read(len(_PNG_SIGNATURE)) != _PNG_SIGNATURE:
            return
        while True:
            offset = f.tell()
            head = f.read(8)
            if len(head) < 8:
                raise ImageError(f"{p} is a truncated PNG file: it ends at byte {offset}, before its IEND chunk")
            length, kind = int.from_bytes(head[:4], "big"), head[4:]
            body = f.read(length)
            crc = f.read(4)
            name = kind.decode("latin-1")
            if len(body) < length or len(crc) < 4:
                end = offset + 8 + len(body) + len(crc)
                raise ImageError(
                    f"{p} is a truncated PNG file: its {name!r} chunk at byte {offset} is cut off (the file ends "
                    f"at byte {end}, the chunk at byte {offset + length + 12})"
                )
            if zlib.crc32(body, zlib.crc32(kind)) != int.from_bytes(crc, "big"):
                raise ImageError(f"{p} is a damaged PNG file: its {name!r} chunk at byte {offset} fails its CRC check")
            if kind == b"IEND":
                return


def _pil_to_array(img: Image.Image, *, gray: bool) -> np.ndarray:
    """PIL -> float64 array in [0, 1], (H, W) when ``gray`` else (H, W, 3)."""
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        arr = arr / (1.0 if img.mode == "F" else 65535.0)
        arr = np.clip(arr, 0.0, 1.0)
        return arr if gray else np.repeat(arr[..., None], 3, axis=-1)
    target = "L" if gray else "RGB"
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA").convert(target)
    elif img.mode != target:
        img = img.convert(target)
    return np.asarray(img, dtype=np.float64) / 255.0


def _array_to_unit(arr: np.ndarray, what: str) -> np.ndarray:
    """numpy array -> float64 in [0, 1], checking dtype and range."""
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float64) / 65535.0
    if arr.dtype == np.bool_:
        return arr.astype(np.float64)
    if np.issubdtype(arr.dtype, np.floating):
        out = arr.astype(np.float64)
        _check_range(out, 0.0, 1.0, what)
        return np.clip(out, 0.0, 1.0)
    raise TypeError(f"{what}: numpy dtype {arr.dtype} is not accepted; use uint8, uint16, bool or float in [0, 1]")


def _check_range(x: np.ndarray | Tensor, lo: float, hi: float, what: str) -> None:
    if isinstance(x, Tensor):
        finite = bool(torch.isfinite(x).all())
        xmin, xmax = (float(x.min()), float(x.max())) if x.numel() else (lo, hi)
    else:
        finite = bool(np.isfinite(x).all())
        xmin, xmax = (float(x.min()), float(x.max())) if x.size else (lo, hi)
    if not finite:
        raise ValueError(f"{what} contains NaN or infinite values")
    if xmin < lo - _TOL or xmax > hi + _TOL:
        raise ValueError(f"{what} has values in [{xmin:.4g}, {xmax:.4g}], outside the accepted [{lo:g}, {hi:g}]")


def _to_rgb_channels(x: Tensor, what: str) -> Tensor:
    """(B, C, H, W) with C in {1, 3, 4} -> (B, 3, H, W) (gray repeated, alpha dropped)."""
    c = x.shape[1]
    if c not in _CHANNELS:
        raise ValueError(f"{what} has {c} channels; accepted: 1 (gray), 3 (RGB) or 4 (RGBA)")
    if c == 1:
        return x.expand(-1, 3, -1, -1)
    return x[:, :3]


def _image_items(images: ImageInput, what: str, min_side: int | None = None) -> list[Tensor]:
    """Any accepted input -> list of (B_i, 3, H_i, W_i) float tensors in [-1, 1] (files and PIL images reduced as
    [`read_images`][interestyle.images.read_images] says, arrays and tensors as they are)."""
    if isinstance(images, (str, os.PathLike)):
        images = _open(images, min_side)
    if isinstance(images, Image.Image):
        _check_pixels(images.size, what)
        arr = _pil_to_array(_reduced(images, min_side), gray=False)
        return [torch.from_numpy(arr * 2.0 - 1.0).float().permute(2, 0, 1)[None]]
    if isinstance(images, np.ndarray):
        arr = _array_to_unit(images, what)
        if arr.ndim == 2:
            arr = arr[..., None]
        if arr.ndim == 3:
            arr = arr[None]
        if arr.ndim != 4 or arr.shape[-1] not in _CHANNELS:
            raise ValueError(
                f"{what}: numpy array of shape {images.shape} is not an image; accepted: (H, W), (H, W, C) or "
                f"(B, H, W, C) with C in {list(_CHANNELS)}"
            )
        x = torch.from_numpy(arr * 2.0 - 1.0).float().permute(0, 3, 1, 2)
        return [_to_rgb_channels(x, what)]
    if isinstance(images, Tensor):
        x = images.detach()
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4:
            raise ValueError(
                f"{what}: tensor of shape {tuple(images.shape)} is not an image; accepted: (C, H, W) or (B, C, H, W)"
            )
        if x.dtype == torch.uint8:
            x = x.to(torch.float64) / 127.5 - 1.0
        elif x.dtype.is_floating_point:
            _check_range(x, -1.0, 1.0, what)
            x = x.clamp(-1.0, 1.0)
        else:
            raise TypeError(f"{what}: tensor dtype {x.dtype} is not accepted; use a float tensor in [-1, 1] or uint8")
        return [_to_rgb_channels(x.float().cpu(), what)]
    if isinstance(images, Sequence) and not isinstance(images, (str, bytes)):
        if len(images) == 0:
            raise ValueError(f"{what} is an empty list")
        return [t for i, item in enumerate(images) for t in _image_items(item, f"{what}[{i}]", min_side)]
    raise TypeError(
        f"{what} of type {type(images).__name__} is not accepted; pass a PIL image, a numpy array, a tensor, a path, "
        "or a list of these"
    )


def _resize(x: Tensor, size: int) -> Tensor:
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def read_images(images: ImageInput, *, what: str = "images", min_side: int | None = None) -> list[Tensor]:
    """Read any accepted image input (see the module docstring).

    Args:
        images: as the module docstring says.
        what: how messages name the input.
        min_side: the least side (pixels) the caller needs, or None (everything at full size). An image
            file or PIL image at least [`REDUCE_FROM`][interestyle.images.REDUCE_FROM] (4) times as large is
            decoded at a reduced size (JPEG: at 1/2, 1/4 or 1/8 scale by the decoder) and shrunk by an integer
            box filter to between ``min_side`` and ``1.5 * min_side`` on its shorter side, so memory and time
            follow what is needed, not the file. Smaller images, arrays and tensors are kept as they are.

    Returns:
        A list of (B_i, 3, H_i, W_i) float32 tensors in [-1, 1]; one per item given.

    Raises:
        ImageTooLargeError: a file or PIL image of more than [`MAX_IMAGE_PIXELS`][interestyle.images.MAX_IMAGE_PIXELS]
            pixels (checked from the file's header, before decoding).
        FileNotFoundError: a path that does not exist.
        ValueError / TypeError: an unreadable file, or an input of the wrong type, dtype, shape or range.
    """
    if min_side is not None:
        min_side = check_positive_int(min_side, "min_side")
    return _image_items(images, what, min_side)


def upscale_message(sizes: Sequence[tuple[int, int]], side: int, *, what: str = "image") -> str | None:
    """What [`warn_if_upscaled`][interestyle.images.warn_if_upscaled] says about ``sizes`` (H, W) resized to
    ``side`` x ``side``, or None when none is enlarged more than [`MAX_UPSCALE`][interestyle.images.MAX_UPSCALE]
    times. ``what`` names the images (with an index when there are several)."""
    factors = [side / min(h, w) for h, w in sizes]
    over = [i for i, f in enumerate(factors) if f > MAX_UPSCALE]
    if not over:
        return None
    worst = max(over, key=lambda i: factors[i])
    h, w = sizes[worst]
    which = f"{what} {worst}" if len(sizes) > 1 else what
    others = f" ({len(over)} of {len(sizes)} are enlarged more than {MAX_UPSCALE:g}x)" if len(over) > 1 else ""
    return (
        f"{which} is {w}x{h} pixels and is enlarged {factors[worst]:.3g}x to {side}x{side}{others}: the model sees "
        f"little of it beyond its colours; give images of at least {math.ceil(side / MAX_UPSCALE)} pixels a side"
    )


def warn_if_upscaled(sizes: Sequence[tuple[int, int]], side: int, *, what: str = "image", stacklevel: int = 1) -> None:
    """Warn once ([`UpscaleWarning`][interestyle.errors.UpscaleWarning]) when images will be enlarged more than
    [`MAX_UPSCALE`][interestyle.images.MAX_UPSCALE] times to ``side`` x ``side``.

    Args:
        sizes: the images' (H, W), as `image_sizes` gives them.
        side: the square side they are resized to.
        what: how the message names them.
        stacklevel: as ``warnings.warn``'s, counted from the caller (1: the line that called this).
    """
    message = upscale_message(sizes, side, what=what)
    if message is not None:
        warnings.warn(message, UpscaleWarning, stacklevel=stacklevel + 1)


def not_square(sizes: Sequence[tuple[int, int]]) -> list[int]:
    """The indices of the (H, W) ``sizes`` whose sides differ by more than
    [`SQUARE_TOLERANCE`][interestyle.images.SQUARE_TOLERANCE] of the longer one."""
    return [i for i, (h, w) in enumerate(sizes) if abs(h - w) > SQUARE_TOLERANCE * max(h, w)]


def stretch_message(sizes: Sequence[tuple[int, int]], side: int, *, what: str = "image") -> str | None:
    """What [`warn_if_stretched`][interestyle.images.warn_if_stretched] says about ``sizes`` (H, W) resized to
    ``side`` x ``side``, or None when all are square (within
    [`SQUARE_TOLERANCE`][interestyle.images.SQUARE_TOLERANCE]). ``what`` names the images (with an index when there
    are several)."""
    odd = not_square(sizes)
    if not odd:
        return None
    h, w = sizes[odd[0]]
    which = f"{what} {odd[0]}" if len(sizes) > 1 else what
    others = f" ({len(odd)} of {len(sizes)} are not square)" if len(odd) > 1 else ""
    return (
        f"{which} is {w}x{h} pixels, not square, and is stretched to {side}x{side}{others}, which distorts the "
        "face: crop it square around the face, or align it (invert(..., align=True); --align on the command line)"
    )


def warn_if_stretched(sizes: Sequence[tuple[int, int]], side: int, *, what: str = "image", stacklevel: int = 1) -> None:
    """Warn once ([`StretchWarning`][interestyle.errors.StretchWarning]) when images that are not square will be
    resized to ``side`` x ``side``; arguments as [`warn_if_upscaled`][interestyle.images.warn_if_upscaled]'s."""
    message = stretch_message(sizes, side, what=what)
    if message is not None:
        warnings.warn(message, StretchWarning, stacklevel=stacklevel + 1)


def image_sizes(items: Sequence[Tensor]) -> list[tuple[int, int]]:
    """Each image's (H, W), one entry per image (not per item) of [`read_images`][interestyle.images.read_images]'
    output."""
    return [(int(t.shape[-2]), int(t.shape[-1])) for t in items for _ in range(t.shape[0])]


def stack_resized(items: Sequence[Tensor], size: int) -> Tensor:
    """Resize (antialiased bilinear) every item to ``size`` x ``size`` and stack: (B, 3, size, size)."""
    return torch.cat([_resize(t, size) for t in items])


def load_images(images: ImageInput, size: int, *, what: str = "images") -> Tensor:
    """Any accepted image input as one batch, (B, 3, size, size) float32 in [-1, 1]."""
    return stack_resized(read_images(images, what=what), size)


def _mask_items(mask: MaskInput, what: str, min_side: int | None = None) -> list[Tensor]:
    """Any accepted mask -> list of (B_i, 1, H, W) float tensors in [0, 1] (files and PIL images reduced as images
    are, keeping both sides >= ``min_side``)."""
    if isinstance(mask, (str, os.PathLike)):
        mask = _open(mask, min_side)
    if isinstance(mask, Image.Image):
        _check_pixels(mask.size, what)
        return [torch.from_numpy(_pil_to_array(_reduced(mask, min_side), gray=True)).float()[None, None]]
    if isinstance(mask, np.ndarray):
        return [_mask_tensor(torch.from_numpy(_array_to_unit(mask, what)), tuple(mask.shape), what)]
    if isinstance(mask, Tensor):
        m = mask.detach().cpu()
        if m.dtype == torch.bool:
            m = m.float()
        elif m.dtype == torch.uint8:
            m = m.float() / 255.0
        elif not m.dtype.is_floating_point:
            raise TypeError(f"{what}: tensor dtype {m.dtype} is not accepted; use bool, uint8 or float in [0, 1]")
        else:
            _check_range(m, 0.0, 1.0, what)
        return [_mask_tensor(m.clamp(0.0, 1.0), tuple(mask.shape), what)]
    if isinstance(mask, Sequence) and not isinstance(mask, (str, bytes)):
        if len(mask) == 0:
            raise ValueError(f"{what} is an empty list")
        return [t for i, item in enumerate(mask) for t in _mask_items(item, f"{what}[{i}]", min_side)]
    raise TypeError(
        f"{what} of type {type(mask).__name__} is not accepted; pass a PIL image, a numpy array, a tensor, a path, "
        "or a list of these"
    )


def _mask_tensor(m: Tensor, shape: tuple[int, ...], what: str) -> Tensor:
    if m.ndim == 3 and shape[-1] == 1 and shape[0] != 1:  # (H, W, 1) from numpy
        m = m[..., 0]
    if m.ndim == 2:
        m = m[None, None]
    elif m.ndim == 3:
        m = m[:, None]
    if m.ndim != 4 or m.shape[1] != 1:
        raise ValueError(
            f"{what} of shape {shape} is not a mask; accepted: (H, W), (B, H, W) or (B, 1, H, W) with one channel"
        )
    return m.float()


def load_masks(mask: MaskInput, size: int, *, sizes: Sequence[tuple[int, int]], what: str = "mask") -> Tensor:
    """Turn an explicit mask into (B, 1, size, size) float32 in [0, 1] for a batch of B images.

    A single mask is shared by the whole batch. Each mask must have the aspect ratio of its image (it is
    resized with it); ``sizes`` are the images' original (H, W) (`image_sizes`). Mask files and PIL images are
    decoded at a reduced size as images are (both sides kept >= `DECODE_MARGIN` x ``size``), so a mask the
    size of a large photo costs no more memory than the photo.

    Raises:
        ValueError: NaNs, values outside [0, 1], a wrong rank or channel count, a batch of masks that is
            neither 1 nor B, or a mask whose aspect ratio differs from its image's.
        TypeError: an unsupported type or dtype.
    """
    items = _mask_items(mask, what, DECODE_MARGIN * size)
    masks = [m[i : i + 1] for m in items for i in range(m.shape[0])]
    batch = len(sizes)
    if len(masks) not in (1, batch):
        raise ValueError(f"{what} holds {len(masks)} masks for {batch} images; give one mask or one per image")
    out = []
    for i, (h, w) in enumerate(sizes):
        m = masks[i if len(masks) > 1 else 0]
        mh, mw = m.shape[-2:]
        if not math.isclose(mh / mw, h / w, rel_tol=0.02):
            raise ValueError(
                f"{what} of size {mh}x{mw} (HxW) does not match image {i} of size {h}x{w}; a mask needs its "
                "image's aspect ratio"
            )
        out.append(_resize(m, size).clamp(0.0, 1.0))
    return torch.cat(out)


def to_pil(images: Tensor) -> list[Image.Image]:
    """(B, 3, H, W) or (3, H, W) images in [-1, 1] (clipped) -> a list of RGB PIL images; (B, 1, H, W) in [-1, 1] ->
    grayscale ones. For masks in [0, 1] use [`mask_to_pil`][interestyle.images.mask_to_pil]."""
    x = images.detach()
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"to_pil expects (B, 3, H, W) or (B, 1, H, W) images, got {tuple(images.shape)}")
    arr = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return [Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in arr]


def mask_to_pil(masks: Tensor) -> list[Image.Image]:
    """Masks in [0, 1] (clipped) -> a list of grayscale (``L``) PIL images, white = interest region.

    Args:
        masks: (B, 1, H, W), (1, H, W) or (H, W), e.g. ``InversionResult.masks``; any float dtype, or bool.

    Raises:
        ValueError: a shape that is not one of these (a 3-channel image: use [`to_pil`][interestyle.images.to_pil]).
    """
    m = masks.detach()
    if m.ndim == 2:
        m = m[None, None]
    elif m.ndim == 3:
        m = m[None]
    if m.ndim != 4 or m.shape[1] != 1:
        raise ValueError(
            f"mask_to_pil expects masks (B, 1, H, W), (1, H, W) or (H, W) in [0, 1], got {tuple(masks.shape)}; "
            "for images in [-1, 1] use to_pil"
        )
    arr = (m.float().clamp(0, 1) * 255).round().to(torch.uint8)[:, 0].cpu().numpy()
    return [Image.fromarray(a, mode="L") for a in arr]
