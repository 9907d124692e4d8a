"""The training objective: interest-masked L2, LPIPS, identity and w-norm terms (SSIM as the fallback).

Every image term compares ``m * y_hat`` with ``m * x`` (the IntereStyle objective, Moon & Park, WACV 2023;
see docs/training.md, "What one step does"): pixels where the mask is 0 cannot change the loss. With
``mask=None`` the whole image counts (the baseline).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch.nn.functional as F
from torch import Tensor, nn

from ..lossnets.arcface import IdentityLoss
from ..lossnets.lpips import LPIPS
from ..metrics import ssim

__all__ = ["LossTerms", "ReconstructionLoss", "masked_l2_loss", "ssim", "w_norm"]


def _apply_mask(images: Tensor, mask: Tensor | None) -> Tensor:
    return images if mask is None else images * mask.to(images.dtype)


def masked_l2_loss(prediction: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """The objective's ``l2`` term: ``mean((m * prediction - m * target) ** 2)`` over every pixel of the
    batch, a scalar (upstream's ``F.mse_loss`` of the masked images).

    The value scales with the mask's area, so it is a training signal, not a figure to compare across
    masks: for that, [`interestyle.metrics.masked_mse`][interestyle.metrics.masked_mse] gives the MSE per image over the
        mask's pixels.
    Images (B, C, H, W), mask (B, 1, H, W) in [0, 1] or None (every pixel).
    """
    return F.mse_loss(_apply_mask(prediction, mask), _apply_mask(target, mask))


def w_norm(latents: Tensor, latent_avg: Tensor | None = None) -> Tensor:
    """pSp's ``WNormLoss``: mean over the batch of ``||w - latent_avg||_2`` over (n_latent, style_dim).

    ``latents`` (B, n_latent, style_dim); ``latent_avg`` (n_latent, style_dim) or None (norm of ``w``).
    """
    delta = latents if latent_avg is None else latents - latent_avg
    return delta.flatten(1).norm(dim=1).mean()


@dataclass
class LossTerms:
    """One evaluation of the objective: the weighted total and each unweighted term (detached, for logs)."""

    total: Tensor
    terms: dict[str, Tensor] = field(default_factory=dict)


class ReconstructionLoss(nn.Module):
    """``l2 * MSE + lpips * LPIPS + id * (1 - cos) + w_norm * ||w - w_avg||`` (+ ``ssim * (1 - SSIM)``).

    A term whose weight is 0 or whose network is None is skipped; which are active is the caller's
    decision (the trainer prints it). Image terms are computed on ``mask * image``.

    Args:
        l2: weight of the MSE.
        lpips: weight of LPIPS.
        identity: weight of ``1 - cos`` of ArcFace embeddings.
        w_norm: weight of ``||w - latent_avg||``.
        ssim: weight of ``1 - SSIM``.
        lpips_net: a loaded [`LPIPS`][interestyle.lossnets.lpips.LPIPS], required when ``lpips > 0``.
        identity_loss: an [`IdentityLoss`][interestyle.lossnets.arcface.IdentityLoss], required when ``identity > 0``.
    """

    def __init__(
        self,
        *,
        l2: float = 1.0,
        lpips: float = 0.0,
        identity: float = 0.0,
        w_norm: float = 0.0,
        ssim: float = 0.0,
        lpips_net: LPIPS | None = None,
        identity_loss: IdentityLoss | None = None,
    ) -> None:
        super().__init__()
        if lpips > 0 and lpips_net is None:
            raise ValueError("an LPIPS weight > 0 needs lpips_net (see load_lpips)")
        if identity > 0 and identity_loss is None:
            raise ValueError("an identity weight > 0 needs identity_loss (see load_arcface)")
        self.weights = {"l2": l2, "lpips": lpips, "id": identity, "w_norm": w_norm, "ssim": ssim}
        self.lpips_net = lpips_net
        self.identity_loss = identity_loss

    @property
    def active(self) -> dict[str, float]:
        """The terms that contribute, with their weights."""
        return {k: w for k, w in self.weights.items() if w > 0}

    def forward(
        self,
        prediction: Tensor,
        target: Tensor,
        mask: Tensor | None = None,
        latents: Tensor | None = None,
        latent_avg: Tensor | None = None,
    ) -> LossTerms:
        """Evaluate the objective.

        Args:
            prediction: reconstruction (B, 3, S, S), roughly in [-1, 1].
            target: the sharp input (B, 3, S, S) in [-1, 1].
            mask: interest mask (B, 1, S, S) in [0, 1], or None for the whole image.
            latents: W+ (B, n_latent, style_dim), for the w-norm term.
            latent_avg: (n_latent, style_dim), subtracted from ``latents`` in the w-norm term.
        """
        pred = _apply_mask(prediction, mask).float()
        tgt = _apply_mask(target, mask).float()
        total = pred.new_zeros(())
        terms: dict[str, Tensor] = {}
        w = self.weights
        if w["l2"] > 0:
            value = masked_l2_loss(pred, tgt)  # pred and tgt are masked already
            total = total + w["l2"] * value
            terms["l2"] = value.detach()
        if w["lpips"] > 0 and self.lpips_net is not None:
            value = self.lpips_net(pred, tgt).mean()
            total = total + w["lpips"] * value
            terms["lpips"] = value.detach()
        if w["id"] > 0 and self.identity_loss is not None:
            value = self.identity_loss(pred, tgt).mean()
            total = total + w["id"] * value
            terms["id"] = value.detach()
        if w["ssim"] > 0:
            value = 1 - ssim(pred, tgt).mean()
            total = total + w["ssim"] * value
            terms["ssim"] = value.detach()
        if w["w_norm"] > 0:
            if latents is None:
                raise ValueError("the w-norm term needs latents")
            value = w_norm(latents.float(), None if latent_avg is None else latent_avg.float())
            total = total + w["w_norm"] * value
            terms["w_norm"] = value.detach()
        return LossTerms(total, terms)
