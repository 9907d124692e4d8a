"""What pivotal tuning minimises: the photo inside the interest mask, the pivot's own image outside it, and
PTI's locality regularisation around the pivot.

Pivotal tuning (Roich et al., "Pivotal Tuning for Latent-based Editing of Real Images", 2021) keeps the
encoder's latents (the pivots) fixed and tunes the generator until it draws the photo from them. Here the
photo counts only inside the interest mask ``m``:

* **reconstruction**: L2 between ``G'(w_p)`` and the photo ``x`` over the pixels of ``m`` (a mean over
  the mask's area), plus a perceptual term on ``m * G'(w_p)`` against ``m * x``: LPIPS when its weights are
  given (weight 1, as PTI), else the trainer's substitute ``1 - SSIM`` (weight 0.5, as
  ``interestyle train``);
* **uninterest anchor** (weight 10): L2 between ``G'(w_p)`` and the original generator's ``G(w_p)`` over
  ``1 - m``: outside the mask the tuned generator keeps drawing what it drew before (the photo's pixels
  there never enter the objective). Without it, sharpening the face drags the hidden part of the face
  along and the leak under the occluder grows; the weight is the smallest of 1, 3, 5 and 10 that kept
  the leak 10% below the encoder's on validation faces (docs/refine.md);
* **locality** (PTI's, weight 0.1): for a latent ``w_r`` a fixed distance from the pivot towards a random
  sample of the mapping network, L2 plus the perceptual term between ``G'(w_r)`` and ``G(w_r)`` over the
  whole image, so that the tuned generator behaves as the original one around the pivot and edits keep
  working.

Plain PTI, the baseline, is ``masked=False``: ``m`` is 1 everywhere and the anchor has no pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from ..lossnets.lpips import LPIPS
from ..metrics import ssim

__all__ = ["PERCEPTUAL_TERMS", "PivotalObjective", "PivotalTerms", "locality_latents", "region_mse"]

PERCEPTUAL_TERMS: tuple[str, ...] = ("lpips", "ssim")
"""The perceptual terms [`PivotalObjective`][interestyle.pivotal.objective.PivotalObjective] can use: LPIPS, or ``1 -
SSIM`` without LPIPS weights."""
PerceptualTerm = Literal["lpips", "ssim"]


def region_mse(a: Tensor, b: Tensor, weight: Tensor) -> Tensor:
    """Squared error averaged over the pixels ``weight`` (B, 1, H, W) in [0, 1] covers, then over the batch.

    Images (B, 3, H, W). An image whose weight is all zero contributes 0 (nothing to compare there).
    """
    err = (a - b).square().mean(1, keepdim=True) * weight
    area = weight.flatten(1).sum(1)
    return (err.flatten(1).sum(1) / area.clamp_min(1e-8)).mean()


@dataclass(frozen=True)
class PivotalTerms:
    """One evaluation of the objective.

    Attributes:
        total: the weighted sum, what is back-propagated (a 0-d tensor).
        fit: the weighted reconstruction terms alone (L2 and perceptual against the photos): the part that
            starts high and falls; the anchor and the locality terms start at 0 and rise a little.
        terms: each unweighted term, detached.
    """

    total: Tensor
    fit: float
    terms: dict[str, float]


@dataclass(frozen=True)
class PivotalObjective:
    """The weights of pivotal tuning, and the perceptual network when there is one.

    Attributes:
        masked: fit the photo inside the interest mask only (False: plain PTI, every pixel counts).
        regularize: add PTI's locality regularisation.
        l2: weight of the reconstruction L2.
        lpips: weight of LPIPS (used when ``lpips_net`` is given).
        ssim: weight of ``1 - SSIM`` (used when ``lpips_net`` is None).
        anchor: weight of the uninterest anchor (masked tuning only).
        locality: weight of the locality regularisation (PTI's lambda_R).
        lpips_net: a loaded [`LPIPS`][interestyle.lossnets.LPIPS], or None.
    """

    masked: bool = True
    regularize: bool = True
    l2: float = 1.0
    lpips: float = 1.0
    ssim: float = 0.5
    anchor: float = 10.0
    locality: float = 0.1
    lpips_net: LPIPS | None = None

    @property
    def perceptual(self) -> PerceptualTerm:
        """``"lpips"`` when LPIPS weights were given, else ``"ssim"``."""
        return "ssim" if self.lpips_net is None else "lpips"

    def _perceptual(self, prediction: Tensor, target: Tensor, weight: Tensor) -> Tensor:
        a, b = prediction * weight, target * weight
        if self.lpips_net is not None:
            return self.lpips * self.lpips_net(a.float(), b.float()).mean()
        return self.ssim * (1 - ssim(a, b, weight).mean())

    def __call__(
        self, tuned: Tensor, photos: Tensor, masks: Tensor, pivot_images: Tensor, around: tuple[Tensor, Tensor] | None
    ) -> PivotalTerms:
        """The objective of one step.

        Args:
            tuned: the tuned generator's images of the pivots, (B, 3, R, R).
            photos: the targets, (B, 3, R, R) in [-1, 1].
            masks: the interest masks, (B, 1, R, R) in [0, 1] (ones for plain PTI).
            pivot_images: the original generator's images of the pivots, (B, 3, R, R) (for the anchor).
            around: (tuned, original) images of the locality latents, each (K, 3, R, R); None: no locality term.
        """
        reconstruction = region_mse(tuned, photos, masks)
        perceptual = self._perceptual(tuned, photos, masks)
        total = self.l2 * reconstruction + perceptual
        fit = float(total.detach())
        terms = {"l2": float(reconstruction.detach()), self.perceptual: float(perceptual.detach())}
        if self.masked and self.anchor > 0:
            anchor = region_mse(tuned, pivot_images, 1 - masks)
            total = total + self.anchor * anchor
            terms["anchor"] = float(anchor.detach())
        if around is not None:
            near, original = around
            whole = torch.ones_like(near[:, :1])
            locality = self.l2 * region_mse(near, original, whole) + self._perceptual(near, original, whole)
            total = total + self.locality * locality
            terms["locality"] = float(locality.detach())
        return PivotalTerms(total, fit, terms)


def locality_latents(pivots: Tensor, samples: Tensor, radius: float) -> Tensor:
    """PTI's regularisation latents: each pivot moved ``radius`` towards a sample, style vector by style vector.

    Args:
        pivots: (B, n_latent, style_dim).
        samples: mapped random latents w, (B, style_dim).
        radius: the distance moved, in W units.

    Returns:
        (B, n_latent, style_dim): ``w_p + radius * (w_s - w_p) / ||w_s - w_p||``.
    """
    towards = samples[:, None, :] - pivots
    return pivots + radius * towards / towards.norm(dim=-1, keepdim=True).clamp_min(1e-8)
