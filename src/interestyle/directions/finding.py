"""Ways of finding editing directions in W: a linear boundary between labelled latents (InterFaceGAN,
Shen et al. 2020) and the principal components of the mapping network's output (GANSpace, Härkönen et
al. 2020). Both return the types of `interestyle.directions.direction`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..models.model import IntereStyleModel
from ..validation import check_int, check_non_negative_number, check_positive_int
from .direction import Direction, DirectionSet, _as_tensor

__all__ = ["fit_direction", "principal_directions"]


def _float_array(x: Any, what: str) -> Tensor:
    t = _as_tensor(x, what)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{what} contains NaN or infinite values")
    return t


def _labels_as_numbers(labels: Any) -> Any:
    if isinstance(labels, Tensor) and labels.dtype == torch.bool:
        return labels.double()
    if isinstance(labels, np.ndarray) and labels.dtype == np.bool_:
        return labels.astype(np.float64)
    if isinstance(labels, (list, tuple)):
        return [float(v) if isinstance(v, (bool, np.bool_)) else v for v in labels]
    return labels


def fit_direction(
    latents: Tensor | np.ndarray,
    labels: Tensor | np.ndarray | list[Any],
    *,
    name: str = "direction",
    l2: float = 1e-3,
    steps: int = 200,
) -> Direction:
    """InterFaceGAN-style direction: the unit normal of a linear boundary separating labelled latents.

    Fits an L2-regularised logistic regression (torch L-BFGS, float64, deterministic) on the latents and
    returns the normal of its hyperplane, pointing toward the positive label.

    Args:
        latents: W latents (N, style_dim), or W+ latents (N, n_latent, style_dim) for a per-layer direction.
        labels: (N,) binary labels: bool, or numbers that are all 0 or 1 (1 = has the attribute).
        name: the direction's name.
        l2: weight of the L2 penalty on the normal, relative to the mean logistic loss (latents are
            centred and scaled to unit variance first, so it does not depend on their scale).
        steps: L-BFGS iterations.

    Returns:
        A [`Direction`][interestyle.directions.direction.Direction] of shape (style_dim,) or (n_latent, style_dim); its
        description records the training accuracy.

    Raises:
        ValueError: shapes that disagree, labels that are not binary or hold one class only, NaNs.
    """
    x = _float_array(latents, "latents")
    if x.ndim not in (2, 3) or x.shape[0] < 2:
        raise ValueError(
            f"latents have shape {tuple(x.shape)}; expected (N, style_dim) or (N, n_latent, style_dim), N >= 2"
        )
    y = _float_array(_labels_as_numbers(labels), "labels").flatten()
    if y.numel() != x.shape[0]:
        raise ValueError(f"{y.numel()} labels for {x.shape[0]} latents; give one label per latent")
    if not bool(((y == 0) | (y == 1)).all()):
        raise ValueError("labels must be binary: bool, or numbers that are all 0 or 1")
    positives = int(y.sum())
    if positives in (0, y.numel()):
        raise ValueError(f"labels hold one class only ({positives} positives of {y.numel()}); both are needed")
    l2 = check_non_negative_number(l2, "l2")
    steps = check_positive_int(steps, "steps")

    shape = x.shape[1:]
    flat = x.reshape(x.shape[0], -1)
    flat = flat - flat.mean(0)
    flat = flat / flat.std().clamp_min(1e-12)  # one scalar: the normal's direction is unchanged
    weight = torch.zeros(flat.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        logits = flat @ weight + bias
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y) + 0.5 * l2 * weight.square().sum()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    w = weight.detach()
    if float(w.norm()) == 0.0:
        raise ValueError("the fitted boundary is degenerate (zero normal); the labels do not depend on the latents")
    accuracy = float((((flat @ w + bias.detach()) > 0).double() == y).double().mean())
    description = f"linear boundary fitted on {x.shape[0]} latents; training accuracy {accuracy:.1%}"
    return Direction(w.reshape(shape), name=name, description=description)


@torch.no_grad()
def principal_directions(
    model: IntereStyleModel,
    n: int,
    *,
    samples: int = 10_000,
    seed: int = 0,
    batch_size: int = 1024,
    progress: bool | None = None,
) -> DirectionSet:
    """GANSpace-style directions: the top ``n`` principal components of the mapping network's W.

    Samples ``z ~ N(0, I)`` (seeded, on the CPU), maps each to ``w`` on the model's device, and takes the
    eigenvectors of the covariance of ``w`` (accumulated in float64), largest variance first. Each
    component's sign is fixed so that its largest-magnitude coordinate is positive.

    Args:
        model: supplies the mapping network (``model.generator.mapping``).
        n: how many components, 1 to ``style_dim``.
        samples: number of ``w`` samples (more than ``n``).
        seed: seed of the ``z`` samples.
        batch_size: samples per mapping-network pass.
        progress: show a progress bar; by default only when there is more than one batch.

    Returns:
        A [`DirectionSet`][interestyle.directions.direction.DirectionSet] named ``pc0`` ... ``pc{n-1}``, each
        (style_dim,); the descriptions give each component's standard deviation in W and its share of the variance
        (GANSpace edits in units of that standard deviation).
    """
    if not isinstance(model, IntereStyleModel):
        raise TypeError(f"model must be an IntereStyleModel (see load_encoder), got {type(model).__name__}")
    dim = model.style_dim
    n = check_int(n, "n", minimum=1, maximum=dim, note=f"style_dim={dim}")
    samples = check_int(samples, "samples", minimum=n + 1, note=f"more samples than n={n} components")
    batch_size = check_positive_int(batch_size, "batch_size")
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros(dim, dtype=torch.float64)
    outer = torch.zeros(dim, dim, dtype=torch.float64)
    starts = range(0, samples, batch_size)
    show = len(starts) > 1 if progress is None else progress
    for start in tqdm(starts, desc="principal directions", unit="batch", disable=not show):
        count = min(batch_size, samples - start)
        z = torch.randn(count, dim, generator=gen).to(model.device, model.dtype)
        w = model.generator.mapping(z).double().cpu()
        total += w.sum(0)
        outer += w.T @ w
    mean = total / samples
    cov = (outer - samples * torch.outer(mean, mean)) / (samples - 1)
    eigenvalues, eigenvectors = torch.linalg.eigh(cov)
    order = torch.argsort(eigenvalues, descending=True)[:n]
    variance = eigenvalues.clamp_min(0).sum()
    out = []
    for k, idx in enumerate(order.tolist()):
        v = eigenvectors[:, idx]
        v = v * torch.sign(v[v.abs().argmax()])
        value = float(eigenvalues[idx].clamp_min(0))
        share = value / float(variance) if float(variance) > 0 else 0.0
        description = f"principal component {k} of W: std {math.sqrt(value):.4g}, {share:.1%} of the variance"
        out.append(Direction(v, name=f"pc{k}", description=description))
    return DirectionSet(out)
