"""``refine``: pivotal tuning of a copy of the generator, inside the interest mask, around an inversion.

The loop: the inversion's latents are the pivots; each step decodes them (and, with the locality regularisation, one
latent near each pivot) with the tuned copy, evaluates
[`PivotalObjective`][interestyle.pivotal.objective.PivotalObjective] and takes an Adam step on the synthesis network's
weights. The mapping network, the noise maps and the loaded model are never touched.
"""

from __future__ import annotations

import copy
import math
import os

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..align import DEFAULT_FEATHER_FRACTION, paste_photos
from ..errors import DivergenceError
from ..inversion import InversionResult
from ..lossnets.lpips import LPIPS, load_lpips
from ..masks.protocol import MaskSpec
from ..masks.resolve import resolve_mask
from ..models.generator import Generator
from ..models.model import IntereStyleModel
from ..validation import check_flag, check_int, check_positive_int, check_positive_number
from .objective import PivotalObjective, locality_latents
from .result import RefinedResult, RefineSettings
from .storage import generator_sha256

__all__ = ["DEFAULT_LR", "DEFAULT_STEPS", "DIVERGENCE_FACTOR", "DIVERGENCE_MARGIN", "locality_radius", "refine"]

DEFAULT_STEPS = 100
"""Optimiser steps of [`refine`][interestyle.pivotal.tuning.refine]: 7-10 s of one CPU core per image for the demo
model."""
DEFAULT_LR = 1e-3
"""Adam's learning rate of [`refine`][interestyle.pivotal.tuning.refine]."""
DIVERGENCE_FACTOR = 3.0
"""A step whose reconstruction loss (``PivotalTerms.fit``) exceeds ``DIVERGENCE_FACTOR * first +
DIVERGENCE_MARGIN`` (``first``: the first step's) stops the tuning: an optimisation that works brings it
down from there. (The anchor and locality terms start at 0 and are left out of the bound.)"""
DIVERGENCE_MARGIN = 0.05
"""The absolute part of the divergence bound (see [`DIVERGENCE_FACTOR`][interestyle.pivotal.tuning.DIVERGENCE_FACTOR]),
so that a first loss near 0
(a result refined again) does not make the bound tighter than Adam's first steps can keep."""
_RADIUS_SAMPLES = 1000
# mean |G(w) - result.images| above which the result is taken for another model's (images in [-1, 1])
_SAME_MODEL_TOLERANCE = {torch.float32: 1e-3, torch.float64: 1e-3}
_LOW_PRECISION_TOLERANCE = 2e-2


@torch.no_grad()
def locality_radius(generator: Generator, *, seed: int = 0) -> float:
    """PTI's regularisation distance for ``generator``: the mean distance of a mapped sample w from the mean w.

    PTI uses a fixed 30 for FFHQ's W; measured on the generator's own mapping network the distance carries
    over to any W space. ``_RADIUS_SAMPLES`` samples, seeded.
    """
    p = next(generator.parameters())
    z = torch.randn(_RADIUS_SAMPLES, generator.config.style_dim, generator=torch.Generator().manual_seed(seed))
    w = generator.mapping(z.to(p.device, p.dtype)).float()
    return float((w - w.mean(0)).norm(dim=1).mean())


def _check_arguments(model: object, result: object) -> None:
    if not isinstance(model, IntereStyleModel):
        raise TypeError(f"model must be an IntereStyleModel (see load_encoder), got {type(model).__name__}")
    if not isinstance(result, InversionResult):
        raise TypeError(
            f"result of type {type(result).__name__} is not accepted: refine tunes the generator to the photos of "
            "an inversion; pass the InversionResult that invert() returned (an edit's images are not photos)"
        )


def _check_result(model: IntereStyleModel, result: InversionResult, start: Generator) -> Tensor:
    """The result's pivots on the model, after checking that ``start`` (the model's generator, or the
    tuned one of a refined result) drew its images from them."""
    expected = (model.n_latent, model.style_dim)
    latents, inputs = result.latents, result.inputs
    if latents.ndim != 3 or tuple(latents.shape[1:]) != expected:
        raise ValueError(
            f"the result comes from another model: its latents are {tuple(latents.shape)}, this model's W+ latents "
            f"are (B, {expected[0]}, {expected[1]})"
        )
    r = model.resolution
    if tuple(inputs.shape) != (latents.shape[0], 3, r, r):
        raise ValueError(
            f"the result comes from another model: its photos are {tuple(inputs.shape)}, this model inverts "
            f"({latents.shape[0]}, 3, {r}, {r})"
        )
    for name, tensor in (("latents", latents), ("inputs", inputs), ("images", result.images)):
        if not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"the result's {name} contain NaN or infinite values")
    pivots = latents.detach().to(model.device, model.dtype)
    with torch.no_grad():
        drawn = start(pivots, noise_mode="const")
    gap = float((drawn.float() - result.images.to(drawn.device).float()).abs().mean())
    if gap > _SAME_MODEL_TOLERANCE.get(model.dtype, _LOW_PRECISION_TOLERANCE):
        raise ValueError(
            f"the result comes from another model: this model's generator draws its latents {gap:.3g} away (mean "
            "absolute difference) from its images; refine a result with the model that inverted it"
        )
    return pivots


def _masks(model: IntereStyleModel, result: InversionResult, mask: MaskSpec | None, masked: bool) -> Tensor | None:
    """The interest masks to fit inside, (B, 1, R, R) on the model's device; None for plain PTI."""
    if not masked:
        if mask is not None:
            raise ValueError("masked=False is plain PTI, which fits every pixel: it takes no mask (pass mask=None)")
        return None
    if mask is None:
        if result.masks is None:
            raise ValueError(
                "refine fits the photo inside the interest mask, and this result has none: invert with mask=..., "
                "pass refine(..., mask=...), or masked=False for plain PTI"
            )
        masks = result.masks.detach().float()
    else:
        resolved = resolve_mask(mask, result.inputs.detach().float().cpu(), model.resolution)
        assert resolved is not None
        masks = resolved
    b = result.latents.shape[0]
    if tuple(masks.shape) != (b, 1, model.resolution, model.resolution):
        raise ValueError(
            f"the masks are {tuple(masks.shape)}; refine needs one per photo, ({b}, 1, {model.resolution}, "
            f"{model.resolution})"
        )
    empty = [i for i in range(b) if float(masks[i].sum()) == 0.0]
    if empty:
        raise ValueError(f"the interest mask of photo {empty[0]} is empty: there is nothing of it to fit")
    return masks.to(model.device)


def _lpips(lpips: str | os.PathLike[str] | LPIPS | None, device: torch.device) -> LPIPS | None:
    if lpips is None or isinstance(lpips, LPIPS):
        return None if lpips is None else lpips.to(device).eval().requires_grad_(False)
    if isinstance(lpips, (str, os.PathLike)):
        return load_lpips(lpips, device=device)
    raise TypeError(f"lpips of type {type(lpips).__name__} is not accepted; pass a weights path, an LPIPS or None")


def _diverged(step: int, loss: float, first: float, lr: float) -> DivergenceError:
    what = (
        "is not finite"
        if not math.isfinite(loss)
        else f"rose to {loss:.4g} (the reconstruction terms) from {first:.4g} at the first step"
    )
    return DivergenceError(
        f"refine diverged at step {step}: the loss {what}; try a smaller lr (e.g. lr={lr / 10:g})", step=step, loss=loss
    )


def _tune(
    model: IntereStyleModel,
    start: Generator,
    pivots: Tensor,
    inputs: Tensor,
    masks: Tensor | None,
    objective: PivotalObjective,
    steps: int,
    lr: float,
    seed: int,
    progress: bool | None,
) -> tuple[Generator, list[float]]:
    """The optimisation: a float32 copy of ``start`` tuned for ``steps`` steps; returns it (frozen, in the model's
    dtype) and the loss of each step. Raises [`DivergenceError`][interestyle.errors.DivergenceError] as
    [`refine`][interestyle.pivotal.tuning.refine] says."""
    device, f32 = model.device, torch.float32
    original = model.generator
    tuned = copy.deepcopy(start).to(f32).requires_grad_(False)
    weights = [p for name, p in tuned.named_parameters() if not name.startswith("style.")]
    for p in weights:
        p.requires_grad_(True)
    optimiser = torch.optim.Adam(weights, lr=lr)
    pivots = pivots.clone()  # an inference tensor could not be saved for backward
    pivots32 = pivots.to(f32)
    photos = inputs.detach().to(device, f32).clone()
    weight = torch.ones_like(photos[:, :1]) if masks is None else masks.to(f32).clone()
    # The photo's pixels outside the mask are dropped before anything reads them: even the sign of the
    # zero that ``0 * x`` leaves would otherwise reach the optimiser.
    photos = torch.where(weight > 0, photos, 0.0)
    with torch.no_grad():
        pivot_images = start(pivots, noise_mode="const").to(f32)
    radius = locality_radius(original, seed=seed) if objective.regularize else 0.0
    draws = torch.Generator().manual_seed(seed)
    b = pivots.shape[0]

    losses: list[float] = []
    first_fit = math.nan
    bar = tqdm(range(steps), desc="refine", unit="step", disable=None if progress is None else not progress)
    for step in bar:
        around = None
        if objective.regularize:
            z = torch.randn(b, model.style_dim, generator=draws).to(device, model.dtype)
            with torch.no_grad():
                near = locality_latents(pivots, original.mapping(z), radius)
                near_original = original(near, noise_mode="const").to(f32)
            both = tuned(torch.cat([pivots32, near.to(f32)]), noise_mode="const")
            images, around = both[:b], (both[b:], near_original)
        else:
            images = tuned(pivots32, noise_mode="const")
        out = objective(images, photos, weight, pivot_images, around)
        loss = float(out.total.detach())
        if step == 0:
            first_fit = out.fit
        if not math.isfinite(loss) or out.fit > DIVERGENCE_FACTOR * first_fit + DIVERGENCE_MARGIN:
            bar.close()
            raise _diverged(step + 1, loss if not math.isfinite(loss) else out.fit, first_fit, lr)
        losses.append(loss)
        optimiser.zero_grad(set_to_none=True)
        out.total.backward()
        optimiser.step()
        bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
    bar.close()
    return tuned.eval().requires_grad_(False).to(model.dtype), losses


def refine(
    model: IntereStyleModel,
    result: InversionResult,
    *,
    steps: int = DEFAULT_STEPS,
    lr: float = DEFAULT_LR,
    mask: MaskSpec | None = None,
    masked: bool = True,
    regularize: bool = True,
    lpips: str | os.PathLike[str] | LPIPS | None = None,
    seed: int = 0,
    feather_fraction: float = DEFAULT_FEATHER_FRACTION,
    progress: bool | None = None,
) -> RefinedResult:
    """Pivotal tuning inside the interest mask: a copy of the generator tuned until it draws the photos.

    The inversion's latents are the pivots; a copy of the generator's synthesis network is tuned so that
    its images of the pivots match the photos inside the interest mask, keep what the original generator
    drew outside it, and stay close to the original generator for latents around the pivots (see
    `interestyle.pivotal.objective`). One tuned generator serves all the photos of ``result``: refine
    photo by photo for the sharpest fit. ``model`` is never modified.

    Args:
        model: the model that inverted ``result``.
        result: from [`interestyle.invert`][interestyle.invert] (or a
            [`RefinedResult`][interestyle.pivotal.result.RefinedResult], tuned further from its generator).
        steps: optimiser steps.
        lr: Adam's learning rate.
        mask: the interest region to fit, as [`interestyle.invert`][interestyle.invert] takes it (a provider, a provider
            name, or explicit masks of the photos' aspect ratio, one for all or one per photo); default the result's own
            masks.
        masked: False for plain PTI (every pixel counts; the baseline, which also learns occluders).
        regularize: PTI's locality regularisation (keeps edits working; costs about half the time).
        lpips: LPIPS weights (a path for [`interestyle.lossnets.load_lpips`][interestyle.lossnets.load_lpips], or a
            loaded [`LPIPS`][interestyle.lossnets.LPIPS]) for the perceptual term; None uses ``1 - SSIM`` instead.
        seed: seed of the regularisation's random latents; equal seeds give equal results on one machine.
        feather_fraction: the paste-back's blend band, as a fraction of the crop (results of
            ``invert(..., align=True)``).
        progress: a progress bar over the steps; by default when stderr is a terminal.

    Returns:
        A [`RefinedResult`][interestyle.pivotal.result.RefinedResult]: the pivots, the tuned generator's images of them,
        and the tuned generator.

    Raises:
        TypeError: a model or result of the wrong type.
        ValueError: ``steps < 1``; a negative, zero or non-finite ``lr``; a result another model made; a
            mask that does not fit the photos (wrong aspect ratio or count) or is empty; ``masked=False``
            with a mask.
        DivergenceError: the loss became NaN or rose past its bound; the message names the step and
            suggests a smaller ``lr``. Nothing is returned and nothing has changed.
    """
    _check_arguments(model, result)
    steps = check_positive_int(steps, "steps")
    lr = check_positive_number(lr, "lr", note=f"a learning rate; default {DEFAULT_LR:g}")
    seed = check_int(seed, "seed", error=TypeError)
    masked = check_flag(masked, "masked", error=TypeError)
    regularize = check_flag(regularize, "regularize", error=TypeError)
    original = model.generator
    if result.generator is not None and not isinstance(result.generator, Generator):
        raise TypeError(
            f"result.generator of type {type(result.generator).__name__} is not accepted: expected a Generator (a "
            "refined result's, or load_tuned_generator's) or None"
        )
    start = result.generator if result.generator is not None else original
    pivots = _check_result(model, result, start)
    masks = _masks(model, result, mask, masked)
    objective = PivotalObjective(masked=masked, regularize=regularize, lpips_net=_lpips(lpips, model.device))
    # Callers may hold gradients off (a pipeline's no_grad) or run in inference mode: tuning needs both.
    with torch.inference_mode(False), torch.enable_grad():
        tuned, losses = _tune(model, start, pivots, result.inputs, masks, objective, steps, lr, seed, progress)
    with torch.no_grad():
        refined = tuned(pivots, noise_mode="const")
    if not bool(torch.isfinite(refined).all()):
        raise _diverged(steps, math.nan, math.nan, lr)
    kept_masks = result.masks if masks is None else masks.to(model.dtype)
    photos_out = None
    if result.alignment is not None:
        photos_out = paste_photos(
            result.alignment, refined.clamp(-1, 1), masks=kept_masks, feather_fraction=feather_fraction
        )
    settings = RefineSettings(
        steps=steps, lr=float(lr), masked=masked, regularize=regularize, perceptual=objective.perceptual, seed=seed
    )
    return RefinedResult(
        latents=result.latents,
        step_latents=result.step_latents,
        images=refined,
        inputs=result.inputs,
        masks=kept_masks,
        alignment=result.alignment,
        photos=photos_out,
        generator=tuned,
        encoder_images=result.images,
        base_sha256=generator_sha256(original),
        settings=settings,
        losses=torch.tensor(losses, dtype=torch.float32),
    )
