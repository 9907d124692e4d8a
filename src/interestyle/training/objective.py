"""The IntereStyle objective (and the baseline, by switches) and one training step.

One step (the method of Moon & Park, "IntereStyle", WACV 2023; see docs/training.md, "What one step does"): for ``t`` in
``0 .. T-1`` the encoder sees ``[UnF(x, m, r_t), y_{t-1}]`` (``y_{-1}`` the average image), ``w_t = w_{t-1}.detach() +
E(...)``, ``y_t = G(w_t)``, and the masked loss of ``y_t`` against the sharp ``x`` is back-propagated (every step, or
the last only). Then Interest Disentanglement encodes ``[x, m * x]`` from the detached ``w_T`` and adds ``0.05 *`` the
masked loss of ``G(w_T + D)``. The caller steps the optimiser. The generator is frozen; the refinement arithmetic is
[`IntereStyleModel.refine`][interestyle.models.model.IntereStyleModel.refine]'s.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..models.model import IntereStyleModel
from ..uninterest_filter import UninterestFilter
from .losses import ReconstructionLoss

__all__ = ["Objective", "training_step"]


@dataclass
class Objective:
    """What one training step optimises (built from a `TrainingConfig` by `build_objective`).

    Attributes:
        loss: the weighted terms.
        iterations: refinement steps T.
        masked: image terms on ``m * image`` (false: whole images, the baseline).
        every_step: loss and backward at every refinement step; false: the last step only.
        uninterest_filter: the Uninterest Filter, or None.
        disentanglement_weight: weight of Interest Disentanglement; 0 switches it off.
        noise_mode: the generator's noise, ``"random"`` or ``"const"``.
    """

    loss: ReconstructionLoss
    iterations: int = 5
    masked: bool = True
    every_step: bool = True
    uninterest_filter: UninterestFilter | None = None
    disentanglement_weight: float = 0.05
    noise_mode: str = "random"

    @property
    def needs_masks(self) -> bool:
        f = self.uninterest_filter
        return self.masked or self.disentanglement_weight > 0 or (f is not None and f.variant == "uninterest")


def training_step(
    model: IntereStyleModel,
    images: Tensor,
    masks: Tensor | None,
    objective: Objective,
    *,
    encoder: Callable[[Tensor], Tensor] | None = None,
    backward: Callable[[Tensor], None] | None = None,
    pass_context: Callable[[bool], AbstractContextManager[Any]] | None = None,
    autocast: Callable[[], AbstractContextManager[Any]] | None = None,
) -> dict[str, float]:
    """Forward and backward passes of one training step; the caller steps the optimiser.

    Args:
        model: encoder + frozen generator.
        images: (B, 3, S, S) in [-1, 1] at the encoder's input size: the sharp input and the target.
        masks: (B, 1, S, S) in [0, 1], 1 = interest; None only when the objective reads no mask.
        objective: the losses and switches.
        encoder: the callable to train (e.g. the DDP-wrapped ``model.encoder``); default ``model.encoder``.
        backward: ``f(loss)`` (e.g. ``accelerator.backward``); default ``loss.backward()``.
        pass_context: ``f(final)`` -> context around each backward-carrying pass; ``final`` is true for the
            last one of the step (the trainer gives ``no_sync`` to the others, so DDP reduces once).
        autocast: context factory for the forward passes (mixed precision).

    Returns:
        The step's figures by name: ``loss`` (sum of everything back-propagated), ``loss_last`` (the last refinement
        step's objective), that step's unweighted terms (``l2``, ``lpips``, ``ssim``, ``id``, ``w_norm``) and ``ind``
        (the unweighted disentanglement objective) when it is on.
    """
    if masks is None and objective.needs_masks:
        raise ValueError("this objective reads interest masks (masked loss, 'uninterest' filter or disentanglement)")
    encode = model.encoder if encoder is None else encoder
    run_backward = backward or (lambda loss: loss.backward())
    context = pass_context or (lambda final: nullcontext())
    amp = autocast or nullcontext
    latent_avg = model.latent_avg if model.config.start_from_latent_avg else None
    loss_mask = masks if objective.masked else None
    step_input = None if objective.uninterest_filter is None else objective.uninterest_filter.step_input(masks)
    noise = objective.noise_mode
    ind = objective.disentanglement_weight > 0
    iterations = objective.iterations
    logs: dict[str, float] = {"loss": 0.0}

    steps = model.refine(images, iterations, step_input=step_input, noise_mode=noise, encoder=encode)  # type: ignore[arg-type]
    latents = images.new_zeros(())
    for t in range(iterations):
        tracked = objective.every_step or t == iterations - 1
        final = t == iterations - 1 and not ind
        with context(final) if tracked else nullcontext():
            with torch.set_grad_enabled(tracked), amp():
                latents, reconstruction = next(steps)
                if tracked:
                    out = objective.loss(model.to_encoder_size(reconstruction), images, loss_mask, latents, latent_avg)
            if tracked:
                run_backward(out.total)
                logs["loss"] += float(out.total.detach())
    logs["loss_last"] = float(out.total.detach())
    logs.update({k: float(v) for k, v in out.terms.items()})

    if ind:
        assert masks is not None
        with context(True):
            with amp():
                offset = encode(torch.cat([images, masks.to(images.dtype) * images], dim=1))
                shifted = latents.detach() + offset
                reconstruction = model.decode(shifted, noise_mode=noise)  # type: ignore[arg-type]
                out = objective.loss(model.to_encoder_size(reconstruction), images, masks, shifted, latent_avg)
            run_backward(objective.disentanglement_weight * out.total)
        logs["ind"] = float(out.total.detach())
        logs["loss"] += objective.disentanglement_weight * logs["ind"]
    return logs
