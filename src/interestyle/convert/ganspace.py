"""Kind ``ganspace``: GANSpace principal components into a [`DirectionSet`][interestyle.DirectionSet] folder.

Two files hold them, and their projects edit with them differently; each keeps its own semantics here:

- e4e's ``editings/ganspace_pca/{ffhq,cars}_pca.pt`` (``comp`` (80, 1, 512), ``mean`` (1, 512), ``std``
  (80,)). An edit ``(component, start, end, strength)`` *sets* the latent's coordinate along the component,
  read on its first style vector and measured from ``mean`` in units of ``std``, to ``strength``, on style
  vectors ``start:end`` (``editings/ganspace.py``). Here: direction ``pc{k}`` with ``origin=mean`` and
  ``unit=std[k]``; the layer range is the edit's ``layers``.
- GANSpace's own ``.npz`` (harskish/ganspace ``decomposition.py``: ``lat_comp`` (N, 1, 512), ``lat_mean``,
  ``lat_stdev`` (N,), plus activation-space arrays not used here). Its edits *move* the latent by
  ``sigma * lat_stdev[k] * lat_comp[k]`` on a layer range (``interactive.py``). Here: ``pc{k}`` with
  ``unit=lat_stdev[k]`` and no origin, so strength = sigma.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from ..directions import Direction, DirectionSet
from ..errors import WeightsError
from .checkpoint import Checkpoint
from .registry import Conversion, ConvertOptions, Kind

__all__ = ["E4E_KEYS", "GANSPACE_KEYS", "KIND"]

E4E_KEYS = ("comp", "mean", "std")
GANSPACE_KEYS = ("lat_comp", "lat_mean", "lat_stdev")
_UNIT_TOLERANCE = 1e-3

USAGE = """from interestyle import DirectionSet, edit

directions = DirectionSet.from_pretrained("MODEL")
result = edit(model, inversion, directions["pc0"], [-2, 0, 2], layers="0:5")  # STRENGTHS"""


def _arrays(checkpoint: Checkpoint) -> tuple[str, dict[str, Tensor]] | None:
    """(which layout, its three tensors) or None."""
    content = checkpoint.content
    if not isinstance(content, Mapping):
        return None
    for layout, keys in (("e4e", E4E_KEYS), ("ganspace", GANSPACE_KEYS)):
        if all(isinstance(content.get(k), Tensor) for k in keys):
            return layout, {k: content[k] for k in keys}
    return None


def _why_not(checkpoint: Checkpoint) -> str | None:
    if _arrays(checkpoint) is None:
        return f"neither e4e's PCA {list(E4E_KEYS)} nor GANSpace's {list(GANSPACE_KEYS)}"
    return None


def _evidence(checkpoint: Checkpoint) -> str | None:
    found = _arrays(checkpoint)
    return None if found is None else f"it holds {found[0]}'s PCA tensors"


def _components(comp: Tensor, mean: Tensor, std: Tensor, where: str) -> tuple[Tensor, Tensor, Tensor]:
    """(N, D) components, (D,) mean, (N,) standard deviations, float64; WeightsError on other shapes."""
    n = comp.shape[0] if comp.ndim >= 2 else 0
    flat = comp.detach().to(torch.float64).reshape(n, -1) if n else comp
    if not n or comp.ndim not in (2, 3) or (comp.ndim == 3 and comp.shape[1] != 1):
        raise WeightsError(f"{where}: components of shape {tuple(comp.shape)}; expected (N, 1, D) or (N, D)")
    d = flat.shape[1]
    if mean.numel() != d:
        raise WeightsError(f"{where}: a mean of shape {tuple(mean.shape)} for components of size {d}")
    if std.reshape(-1).shape != (n,) or not bool((std > 0).all()):
        raise WeightsError(f"{where}: standard deviations of shape {tuple(std.shape)}; expected ({n},), all positive")
    return flat, mean.detach().to(torch.float64).reshape(d), std.detach().to(torch.float64).reshape(n)


def _convert(checkpoint: Checkpoint, options: ConvertOptions) -> Conversion:
    found = _arrays(checkpoint)
    assert found is not None  # why_not said so
    layout, arrays = found
    keys = E4E_KEYS if layout == "e4e" else GANSPACE_KEYS
    name = checkpoint.path.name
    comp, mean, std = _components(arrays[keys[0]], arrays[keys[1]], arrays[keys[2]], name)
    lengths = comp.norm(dim=1)
    if layout == "e4e" and not bool(((lengths - 1).abs() <= _UNIT_TOLERANCE).all()):
        worst = int((lengths - 1).abs().argmax())
        raise WeightsError(
            f"{name}: component {worst} has length {float(lengths[worst]):.6g}; e4e's coordinate edits need unit "
            "components (GANSpace normalises them)"
        )
    out = []
    for k in range(comp.shape[0]):
        sd = float(std[k])
        if layout == "e4e":
            description = (
                f"GANSpace component {k} of {name} (e4e): strength s sets the coordinate along it, from the PCA "
                f"mean, to s standard deviations ({sd:.4g} in W); pick the style vectors with layers"
            )
            out.append(Direction(comp[k], name=f"pc{k}", description=description, unit=sd, origin=mean))
        else:
            description = (
                f"GANSpace component {k} of {name}: strength s moves w by s standard deviations ({sd:.4g} in W) "
                "along it; pick the style vectors with layers"
            )
            # GANSpace moves by sigma * stdev * comp: the component's own length is part of the unit
            out.append(Direction(comp[k], name=f"pc{k}", description=description, unit=sd * float(lengths[k])))
    directions = DirectionSet(out)
    semantics = (
        "e4e's semantics: strength is the coordinate to set, in standard deviations from the PCA mean"
        if layout == "e4e"
        else "GANSpace's semantics: strength is an offset, in standard deviations"
    )
    notes = [f"{len(out)} components pc0 ... pc{len(out) - 1} of size {comp.shape[1]}; {semantics}"]
    dropped = [
        f"{k}: {_UNUSED.get(k, 'not used by the latent-space edits')}" for k in checkpoint.entries if k not in keys
    ]
    strengths = "coordinate 2 std from the mean" if layout == "e4e" else "2 std either way"
    return Conversion(
        config=directions.metadata(),
        tensors=directions.tensors(),
        dropped=dropped,
        notes=notes,
        usage=USAGE.replace("STRENGTHS", strengths),
        sources={f"pc{k}": f"{name}/{keys[0]}[{k}]" for k in range(len(out))},
        directions=directions,
    )


_UNUSED = {
    "act_comp": "components in the activation space (GANSpace's edits of intermediate features)",
    "act_mean": "the activation-space mean",
    "act_stdev": "the activation-space standard deviations",
    "var_ratio": "each component's share of the variance",
    "random_stdevs": "standard deviations along random directions (GANSpace's baseline)",
}


KIND = Kind(
    name="ganspace",
    summary="GANSpace principal components (e4e's ffhq_pca.pt, GANSpace's .npz): a DirectionSet folder",
    why_not=_why_not,
    evidence=_evidence,
    convert=_convert,
)
