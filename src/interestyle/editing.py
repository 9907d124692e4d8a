"""``edit`` and ``style_mix``: new W+ latents from inverted ones, decoded, and pasted back into the photo.

Both return an [`EditResult`][interestyle.editing.EditResult]. Style vectors are chosen by index (``layers``): ``None``
for all, an int, a ``range``, a ``slice``, a sequence of ints, a preset name or a string such as ``"4:8"``. The presets
follow the usual StyleGAN split at 1024 pixels (18 style vectors: coarse 0-3, middle 4-7, fine 8-17), scaled to the
model's ``n_latent``; see [`layer_groups`][interestyle.editing.layer_groups].
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

import numpy as np
import torch
from einops import rearrange, repeat
from torch import Tensor, nn
from tqdm.auto import tqdm

from .align import DEFAULT_FEATHER_FRACTION, paste_photos
from .directions import DirectionInput, as_direction
from .models.model import IntereStyleModel
from .results import LatentResult
from .validation import check_int, check_positive_int, check_unit_interval

__all__ = [
    "LAYER_PRESETS",
    "EditResult",
    "LatentSource",
    "LayerSpec",
    "edit",
    "layer_groups",
    "random_styles",
    "resolve_layers",
    "resolve_strengths",
    "style_mix",
]

LAYER_PRESETS: tuple[str, ...] = ("coarse", "middle", "fine", "all")
LayerSpec = Union[None, int, str, range, slice, Sequence[int]]  # noqa: UP007 (runtime alias)

# Boundaries of the coarse / middle / fine groups at 1024 pixels (18 style vectors).
_SPLIT_1024 = (4, 8, 18)


LatentSource = Union[LatentResult, Tensor]  # noqa: UP007 (runtime alias)


def layer_groups(n_latent: int) -> dict[str, range]:
    """The coarse / middle / fine / all style-vector index ranges for a generator with ``n_latent`` styles.

    The 1024-pixel split (coarse 0-3, middle 4-7, fine 8-17 of 18) scaled by ``n_latent / 18`` and rounded:
    14 styles (256 px) give 0-2, 3-5, 6-13; 8 styles (32 px) give 0-1, 2-3, 4-7. Each group is non-empty.
    """
    if n_latent < 3:
        raise ValueError(f"n_latent={n_latent} is too small for coarse/middle/fine groups (need at least 3)")
    a = max(1, round(n_latent * _SPLIT_1024[0] / _SPLIT_1024[2]))
    b = min(n_latent - 1, max(a + 1, round(n_latent * _SPLIT_1024[1] / _SPLIT_1024[2])))
    return {"coarse": range(0, a), "middle": range(a, b), "fine": range(b, n_latent), "all": range(n_latent)}


def _out_of_bounds(layers: object, n_latent: int) -> ValueError:
    return ValueError(
        f"layers={layers!r} is out of bounds: the model has {n_latent} style vectors, indices 0 to {n_latent - 1} "
        f"(or -{n_latent} to -1)"
    )


def _parse_layer_text(text: str, n_latent: int) -> list[int]:
    key = text.strip().lower()
    groups = layer_groups(n_latent)
    if key in groups:
        return list(groups[key])
    parts = key.split(":") if ":" in key else key.split(",")
    try:
        numbers_ = [int(p) if p.strip() else None for p in parts]
    except ValueError:
        numbers_ = []
    if ":" in key and len(parts) == 2:
        return _resolve_slice(slice(numbers_[0], numbers_[1]), n_latent, text) if numbers_ else _bad_text(text)
    if ":" not in key and numbers_ and None not in numbers_:
        return _resolve_ints([n for n in numbers_ if n is not None], n_latent, text)
    return _bad_text(text)


def _bad_text(text: str) -> list[int]:
    raise ValueError(
        f"layers={text!r} is not understood; accepted: {', '.join(LAYER_PRESETS)}, 'START:STOP' (stop excluded, "
        "e.g. '4:8') or a comma-separated list of indices (e.g. '0,1,5')"
    )


def _resolve_ints(indices: Sequence[int], n_latent: int, spec: object) -> list[int]:
    out = set()
    for i in indices:
        if not -n_latent <= i < n_latent:
            raise _out_of_bounds(spec, n_latent)
        out.add(i % n_latent)
    return sorted(out)


def _resolve_slice(s: slice, n_latent: int, spec: object) -> list[int]:
    for bound in (s.start, s.stop):
        if bound is not None and not -n_latent <= bound <= n_latent:
            raise _out_of_bounds(spec, n_latent)
    if s.step is not None and s.step < 1:
        raise ValueError(f"layers={spec!r}: a slice step must be a positive integer")
    return list(range(n_latent))[s]


def resolve_layers(layers: LayerSpec, n_latent: int) -> list[int]:
    """Turn a layer selection into sorted, distinct style-vector indices in ``[0, n_latent)``.

    Args:
        layers: ``None`` (all), an int, a ``range``, a ``slice``, a sequence of ints, a preset name
            (``"coarse"``, ``"middle"``, ``"fine"``, ``"all"``), ``"START:STOP"`` or ``"i,j,k"``. Negative
            indices count from the end, as in Python.
        n_latent: the model's number of style vectors.

    Raises:
        ValueError: an index or bound outside the model's style vectors, or an empty selection.
        TypeError: an unsupported type.
    """
    if layers is None:
        return list(range(n_latent))
    if isinstance(layers, bool):
        raise TypeError(f"layers={layers!r} is not accepted; pass None, an int, a range, a slice, ints or a preset")
    if isinstance(layers, str):
        out = _parse_layer_text(layers, n_latent)
    elif isinstance(layers, numbers.Integral):
        out = _resolve_ints([int(layers)], n_latent, layers)
    elif isinstance(layers, slice):
        if not all(b is None or isinstance(b, numbers.Integral) for b in (layers.start, layers.stop, layers.step)):
            raise TypeError(f"layers={layers!r}: slice bounds must be integers")
        out = _resolve_slice(layers, n_latent, layers)
    elif isinstance(layers, (Sequence, range, np.ndarray, Tensor)):
        values = layers.tolist() if isinstance(layers, (np.ndarray, Tensor)) else list(layers)
        if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
            raise TypeError(f"layers={layers!r}: style-vector indices must be integers")
        out = _resolve_ints([int(v) for v in values], n_latent, layers)  # type: ignore[call-overload]
    else:
        raise TypeError(
            f"layers of type {type(layers).__name__} is not accepted; pass None, an int, a range, a slice, a "
            f"sequence of ints, or one of {list(LAYER_PRESETS)}"
        )
    if not out:
        raise ValueError(f"layers={layers!r} selects no style vector")
    return out


@dataclass(kw_only=True)
class EditResult(LatentResult):
    """What [`edit`][interestyle.editing.edit] and [`style_mix`][interestyle.editing.style_mix] return; tensors on the
    model's device. The fields and methods it shares with [`InversionResult`][interestyle.InversionResult] (``to_pil``,
    ``composite``) are [`LatentResult`][interestyle.results.LatentResult]'s.

    Outputs are flat along the batch, ``N = S * B`` for an edit with ``S`` strengths of ``B`` sources, ordered
    strength-major: output ``s * B + b`` is source ``b`` at ``strengths[s]``. A single strength gives the shapes of
    [`InversionResult`][interestyle.InversionResult]. For a style mix ``N`` is the broadcast batch.

    Attributes:
        latents: edited W+ latents, (N, n_latent, style_dim).
        images: G(latents), (N, 3, R, R), roughly in [-1, 1] (not clipped).
        source_latents: the latents edited, (B, n_latent, style_dim).
        strengths: (S,) the strengths of an edit, float32 on the CPU; None for a style mix.
        styles: (N, n_latent, style_dim) the style latents mixed in; None for an edit.
        inputs: the source photos at the generator's resolution, (B, 3, R, R) in [-1, 1]; None when the
            source was bare latents.
        masks: the interest masks of the inversion, (B, 1, R, R) in [0, 1]; None without a mask.
        alignment: the photos' aligned faces when the source came from ``invert(..., align=True)``.
        photos: with ``align=True``: the photos with their faces replaced by the outputs, (1, 3, H, W) in
            [-1, 1] each; one photo per source photo and strength (or style), in output order.
        generator: the tuned generator that decoded the images when the source carried one (a
            [`RefinedResult`][interestyle.RefinedResult]); None: the model's generator did.
    """

    source_latents: Tensor
    strengths: Tensor | None = None
    styles: Tensor | None = None


def _source(model: IntereStyleModel, source: LatentSource, what: str) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """(latents (B, L, D) on the model, inputs (B, 3, R, R) or None, masks (B, 1, R, R) or None)."""
    inputs: Tensor | None = None
    masks: Tensor | None = None
    if isinstance(source, LatentResult):
        latents, inputs, masks = source.latents, source.inputs, source.masks
        if inputs is not None and inputs.shape[0] != latents.shape[0]:
            # an EditResult holds one photo per source; its outputs cycle through them (strength-major)
            index = torch.arange(latents.shape[0], device=inputs.device) % inputs.shape[0]
            inputs = inputs[index]
            masks = None if masks is None else masks[index]
    elif isinstance(source, Tensor):
        latents = source.detach()
        if latents.ndim == 2:
            latents = latents[None]
    else:
        raise TypeError(
            f"{what} of type {type(source).__name__} is not accepted; pass an InversionResult (from invert), an "
            "EditResult, or W+ latents (B, n_latent, style_dim)"
        )
    expected = (model.n_latent, model.style_dim)
    if latents.ndim != 3 or tuple(latents.shape[1:]) != expected or latents.shape[0] == 0:
        raise ValueError(
            f"{what} latents have shape {tuple(latents.shape)}; this model takes W+ latents (B, {expected[0]}, "
            f"{expected[1]}) or (n_latent, style_dim) for one"
        )
    if not latents.dtype.is_floating_point:
        raise TypeError(f"{what} latents have dtype {latents.dtype}; expected a float tensor")
    if not bool(torch.isfinite(latents).all()):
        raise ValueError(f"{what} latents contain NaN or infinite values")
    device, dtype = model.device, model.dtype
    return (
        latents.to(device, dtype),
        None if inputs is None else inputs.to(device, dtype),
        None if masks is None else masks.to(device, dtype),
    )


def resolve_strengths(strength: float | Sequence[float] | Tensor | np.ndarray) -> Tensor:
    """Strengths as an (S,) float64 tensor: a number gives one, a sequence (list, 1-D tensor or array) S.

    Raises:
        ValueError: NaN or infinite values, an empty sequence, more than one dimension.
        TypeError: booleans or non-numbers.
    """
    if isinstance(strength, bool):
        raise TypeError("strength must be a number or a sequence of numbers, not a bool")
    if isinstance(strength, numbers.Real):
        values = [float(strength)]
    elif isinstance(strength, (Tensor, np.ndarray)):
        if strength.ndim > 1:
            raise ValueError(f"strength has shape {tuple(strength.shape)}; expected a number or a 1-D sequence")
        values = [float(v) for v in np.asarray(strength.tolist(), dtype=np.float64).reshape(-1)]
    elif isinstance(strength, Sequence) and not isinstance(strength, str):
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in strength):
            raise TypeError(f"strength={strength!r}: every strength must be a number")
        values = [float(v) for v in strength]
    else:
        raise TypeError(f"strength of type {type(strength).__name__} is not accepted; pass a number or a sequence")
    if not values:
        raise ValueError("strength is an empty sequence; give at least one value")
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        raise ValueError(f"strength must be finite, got {bad[0]}")
    return torch.tensor(values, dtype=torch.float64)


def _generator(source: object) -> nn.Module | None:
    """The tuned generator a result carries (from [`interestyle.refine`][interestyle.refine]), or None for the model's
    own."""
    return source.generator if isinstance(source, LatentResult) else None


def _decode(
    model: IntereStyleModel,
    latents: Tensor,
    batch_size: int,
    progress: bool | None,
    desc: str,
    generator: nn.Module | None = None,
) -> Tensor:
    """G(latents) in batches, with ``generator`` when given (a refined result's tuned copy), else the model's."""
    batch_size = check_positive_int(batch_size, "batch_size")
    starts = range(0, latents.shape[0], batch_size)
    show = len(starts) > 1 if progress is None else progress
    decode = model.decode if generator is None else generator
    return torch.cat(
        [decode(latents[i : i + batch_size]) for i in tqdm(starts, desc=desc, unit="batch", disable=not show)]
    )


def _check_model(model: object) -> None:
    if not isinstance(model, IntereStyleModel):
        raise TypeError(f"model must be an IntereStyleModel (see load_encoder), got {type(model).__name__}")


def _paste_into_photos(result: EditResult, source: object, align: bool, feather_fraction: float) -> EditResult:
    """Carry the source's alignment over and, with ``align``, paste every output back into its photo."""
    alignment = source.alignment if isinstance(source, LatentResult) else None
    result.alignment = alignment
    if not align:
        return result
    if alignment is None:
        raise ValueError(
            "align=True pastes the outputs back into the photos, which needs a source from invert(..., align=True)"
        )
    n_faces = sum(len(photo.faces) for photo in alignment)
    if n_faces == 0 or len(result) % n_faces:
        raise ValueError(f"{len(result)} outputs do not split into groups of the source's {n_faces} face(s)")
    masks = result.masks
    photos: list[Tensor] = []
    for start in range(0, len(result), n_faces):
        group = None if masks is None else masks[start : start + n_faces] if len(masks) == len(result) else masks
        images = result.images[start : start + n_faces].clamp(-1, 1)
        photos += paste_photos(alignment, images, masks=group, feather_fraction=feather_fraction)
    result.photos = photos
    return result


@torch.no_grad()
def edit(
    model: IntereStyleModel,
    source: LatentSource,
    direction: DirectionInput,
    strength: float | Sequence[float] | Tensor | np.ndarray | None = None,
    *,
    layers: LayerSpec = None,
    batch_size: int = 8,
    progress: bool | None = None,
    align: bool = False,
    feather_fraction: float = DEFAULT_FEATHER_FRACTION,
) -> EditResult:
    """Move latents along a direction and decode them: ``w' = w + strength * unit * d`` on the chosen style vectors, or,
    for a direction with an origin (e4e's GANSpace edits), set the latents' coordinate along ``d`` to ``strength`` (see
    [`offsets`][interestyle.Direction.offsets]).

    Args:
        model: the model the latents belong to; its device and dtype are used.
        source: an [`InversionResult`][interestyle.InversionResult] (its photos and masks are kept for
            [`EditResult.composite`][interestyle.editing.EditResult.composite]), an
            [`EditResult`][interestyle.editing.EditResult] (e.g. a style mix, to edit it further), or W+ latents (B,
            n_latent, style_dim) / (n_latent, style_dim). A result that carries a tuned generator (a
            [`RefinedResult`][interestyle.RefinedResult], or an edit of one) is decoded with it.
        direction: a [`Direction`][interestyle.Direction] (e.g. ``DirectionSet.from_pretrained(folder)["smile"]``),
            a tensor or array (style_dim,) / (n_latent, style_dim), or a ``.npy`` / ``.safetensors`` file;
            normalised to unit length.
        strength: how far to move, in the direction's ``unit`` (W distance unless the direction says
            otherwise; GANSpace's: standard deviations), or the coordinate to set for a direction with an
            origin; a sequence of numbers gives a sweep: one output per value, ordered strength-major (see
            [`EditResult`][interestyle.editing.EditResult]). 0 returns the source for an offset direction.
            None: the direction's recommended strength ([`Direction`][interestyle.Direction]'s ``strength``,
            e.g. the demo model's directions), else 1.
        layers: which style vectors to edit (see [`resolve_layers`][interestyle.editing.resolve_layers]); default the
            direction's own ``layers``, else all.
        batch_size: latents per generator pass.
        progress: show a progress bar; by default only when there is more than one batch.
        align: paste every output back into its photo (``EditResult.photos``); the source must come from
            ``invert(..., align=True)``.
        feather_fraction: the paste-back's blend band, as a fraction of the crop (with ``align=True``).

    Returns:
        An [`EditResult`][interestyle.editing.EditResult] with ``N = len(strengths) * B`` outputs.

    Raises:
        ValueError: a direction that does not fit the model, a NaN or infinite strength, layers out of
            bounds, latents of the wrong shape.
        TypeError: an unsupported type.
    """
    _check_model(model)
    latents, inputs, masks = _source(model, source, "source")
    d = as_direction(direction)
    strengths = resolve_strengths((d.strength or 1.0) if strength is None else strength)
    d.for_model(model.n_latent, model.style_dim)  # a size mismatch fails before the layers are read
    chosen = None if layers is None else resolve_layers(layers, model.n_latent)
    # strength-major: output s * B + b is source b at strengths[s]
    edited = rearrange(latents[None] + d.offsets(latents, strengths, chosen), "s b n d -> (s b) n d")
    generator = _generator(source)
    result = EditResult(
        latents=edited,
        images=_decode(model, edited, batch_size, progress, "edit", generator),
        source_latents=latents,
        strengths=strengths.float(),
        inputs=inputs,
        masks=masks,
        generator=generator,
    )
    return _paste_into_photos(result, source, align, feather_fraction)


@torch.no_grad()
def random_styles(model: IntereStyleModel, count: int, *, seed: int = 0, truncation: float = 0.7) -> Tensor:
    """Random W+ latents for style mixing: ``count`` z ~ N(0, I) (seeded, drawn on the CPU) through the
    mapping network, each w repeated over the style vectors and truncated toward ``latent_avg``.

    Returns:
        (count, n_latent, style_dim) on the model's device and dtype; the i-th sample's z depends only
        on ``seed`` and i, not on ``count``.

    Raises:
        ValueError: a count below 1 or a truncation outside [0, 1].
        TypeError: a seed that is not an integer.
    """
    _check_model(model)
    count = check_positive_int(count, "count")
    seed = check_int(seed, "seed", error=TypeError)
    truncation = check_unit_interval(truncation, "truncation")
    gen = torch.Generator().manual_seed(seed)
    # one draw per sample, so the i-th z is the same whatever ``count`` is
    z = torch.stack([torch.randn(model.style_dim, generator=gen) for _ in range(count)]).to(model.device, model.dtype)
    w = repeat(model.generator.mapping(z), "b d -> b n d", n=model.n_latent)
    return model.latent_avg[None] + truncation * (w - model.latent_avg[None])


@torch.no_grad()
def style_mix(
    model: IntereStyleModel,
    content: LatentSource,
    style: LatentSource | None = None,
    *,
    layers: LayerSpec = "coarse",
    seed: int = 0,
    truncation: float = 0.7,
    batch_size: int = 8,
    progress: bool | None = None,
    align: bool = False,
    feather_fraction: float = DEFAULT_FEATHER_FRACTION,
) -> EditResult:
    """Replace the chosen style vectors of ``content`` with those of ``style`` and decode.

    Coarse layers carry pose and face shape, middle ones features and expression, fine ones colour and
    micro-structure (Karras et al. 2019, section 3.1).

    Args:
        model: the model both latents belong to.
        content: an [`InversionResult`][interestyle.InversionResult], an [`EditResult`][interestyle.editing.EditResult],
            or W+ latents (B, n_latent, style_dim); the photos and masks of a result are kept for
            [`EditResult.composite`][interestyle.editing.EditResult.composite], and the tuned generator of a refined one
            decodes the mix.
        style: the same kinds, or None to draw one random style per content item from the mapping network
            (seeded by ``seed``, truncated toward ``latent_avg`` by ``truncation``). Batches broadcast: equal
            sizes pair up, a batch of one is shared.
        layers: the style vectors taken from ``style``: a preset (``"coarse"``, ``"middle"``, ``"fine"``,
            ``"all"``), or any selection [`resolve_layers`][interestyle.editing.resolve_layers] accepts.
        seed: seed of the random styles (used only when ``style`` is None).
        truncation: psi of the random styles, in [0, 1] (used only when ``style`` is None).
        batch_size: latents per generator pass.
        progress: show a progress bar; by default only when there is more than one batch.
        align: paste every output back into its photo (``EditResult.photos``); ``content`` must come from
            ``invert(..., align=True)``.
        feather_fraction: the paste-back's blend band, as a fraction of the crop (with ``align=True``).

    Returns:
        An [`EditResult`][interestyle.editing.EditResult] with ``styles`` set and ``strengths`` None; N = max(B_content,
        B_style).

    Raises:
        ValueError: batches that do not broadcast, layers out of bounds, latents of the wrong shape.
    """
    _check_model(model)
    base, inputs, masks = _source(model, content, "content")
    chosen = resolve_layers(layers, model.n_latent)
    if style is None:
        styles = random_styles(model, base.shape[0], seed=seed, truncation=truncation)
    else:
        styles = _source(model, style, "style")[0]
    bc, bs = base.shape[0], styles.shape[0]
    if bc != bs and 1 not in (bc, bs):
        raise ValueError(
            f"content holds {bc} latents and style {bs}; they do not broadcast: give batches of equal size, or one "
            "of them a single item"
        )
    n = max(bc, bs)
    base, styles = base.expand(n, -1, -1), styles.expand(n, -1, -1)
    mixed = base.clone()
    mixed[:, chosen] = styles[:, chosen]
    generator = _generator(content)
    result = EditResult(
        latents=mixed,
        images=_decode(model, mixed, batch_size, progress, "style mix", generator),
        source_latents=base[:bc],
        styles=styles.clone(),
        inputs=inputs,
        masks=masks,
        generator=generator,
    )
    return _paste_into_photos(result, content, align, feather_fraction)
