"""An IR-SE encoder's configuration, read from the shapes of its tensors (pSp / e4e / ReStyle layout).

The stem ``input_layer.0.weight`` (W0, input_nc, 3, 3) gives the input channels; the units ``body.N`` give
the depth, the stage widths and the squeeze-excitation reduction; the style heads ``styles.N`` give the
number of style vectors and, by their count of stride-2 convolutions, the input size; ``latlayer1/2``
(present in pSp and e4e, absent in ReStyle's backbone encoders) give the family.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from torch import Tensor

from ..config import IRSE_DEPTHS, EncoderConfig
from ..errors import WeightsError
from .matching import require

__all__ = ["EncoderShape", "infer_encoder_shape"]

_UNIT = re.compile(r"^body\.(\d+)\.res_layer\.1\.weight$")
_STYLE = re.compile(r"^styles\.(\d+)\.linear\.weight$")
_UPSTREAM_SE_REDUCTION = 16


@dataclass(frozen=True)
class EncoderShape:
    """What the tensors say about an encoder; `config` adds the kind, which they cannot say."""

    pyramid: bool
    input_nc: int
    units: tuple[int, int, int, int]
    widths: tuple[int, int, int, int]
    mode: str
    se_reduction: int
    input_size: int
    n_styles: int

    def config(self, kind: str) -> EncoderConfig:
        depth = next((d for d, u in IRSE_DEPTHS.items() if u == self.units), None)
        return EncoderConfig(
            kind=kind,  # type: ignore[arg-type]
            num_layers=depth or 50,
            units=None if depth else self.units,
            widths=self.widths,
            mode=self.mode,  # type: ignore[arg-type]
            input_nc=self.input_nc,
            input_size=self.input_size,
            se_reduction=self.se_reduction,
        )


def infer_encoder_shape(
    tensors: Mapping[str, Tensor], where: str, *, units: Sequence[int] | None = None
) -> EncoderShape:
    """Read an encoder's structure from its tensors (names without the ``encoder.`` prefix).

    Args:
        tensors: the encoder's state dict.
        where: names the source in messages.
        units: units per stage; needed only when two adjacent stages have the same width, as the first
            unit of such a stage has no parameters that show it.

    Raises:
        WeightsError: a tensor needed to read the structure is missing or inconsistent.
        ValueError: ``units`` is needed but not given, or does not fit the tensors.
    """
    stem = tuple(require(tensors, "input_layer.0.weight", where, "read the input channels").shape)
    if len(stem) != 4:
        raise WeightsError(f"{where}: 'input_layer.0.weight' has shape {stem}; expected (W0, input_nc, 3, 3)")
    width0, input_nc = int(stem[0]), int(stem[1])

    indices = sorted(int(m.group(1)) for k in tensors if (m := _UNIT.match(k)))
    if not indices or indices != list(range(len(indices))):
        raise WeightsError(f"{where} has IR-SE units {indices or 'none'}; expected body.0 ... body.N without gaps")
    ins, outs = [], []
    for i in indices:
        shape = tensors[f"body.{i}.res_layer.1.weight"].shape
        outs.append(int(shape[0]))
        ins.append(int(shape[1]))
    previous = [width0, *outs[:-1]]
    for i, (a, b) in enumerate(zip(ins, previous, strict=True)):
        if a != b:
            raise WeightsError(f"{where}: unit body.{i} takes {a} channels but is fed {b}")
    stage_units = _stage_units(ins, outs, where, units)
    starts = [sum(stage_units[:s]) for s in range(4)]
    widths = tuple(outs[i] for i in starts)

    mode, reduction = _squeeze_excitation(tensors, outs, where)

    heads = sorted(int(m.group(1)) for k in tensors if (m := _STYLE.match(k)))
    if not heads or heads != list(range(len(heads))):
        raise WeightsError(f"{where} has style heads {heads or 'none'}; expected styles.0 ... styles.N without gaps")
    # styles.0 maps the input/16 feature map down to 1x1 with log2(input/16) stride-2 convolutions.
    n_down = sum(1 for k in tensors if re.match(r"^styles\.0\.convs\.\d+\.weight$", k))
    if n_down < 1:
        raise WeightsError(f"{where}: 'styles.0' has no convolutions ('styles.0.convs.0.weight')")
    return EncoderShape(
        pyramid="latlayer1.weight" in tensors or "latlayer2.weight" in tensors,
        input_nc=input_nc,
        units=stage_units,
        widths=(int(widths[0]), int(widths[1]), int(widths[2]), int(widths[3])),
        mode=mode,
        se_reduction=reduction,
        input_size=16 * 2**n_down,
        n_styles=len(heads),
    )


def _stage_units(ins: list[int], outs: list[int], where: str, given: Sequence[int] | None) -> tuple[int, int, int, int]:
    """Units per stage. A stage starts where the width changes (its first unit has a 1x1-conv shortcut);
    the first stage starts at unit 0."""
    changes = [i for i, (a, b) in enumerate(zip(ins, outs, strict=True)) if a != b and i > 0]
    starts = [0, *changes]
    if len(starts) > 4:
        raise WeightsError(f"{where}: the width changes at units {changes}; an IR-SE body has 4 stages")
    if given is None:
        if len(starts) < 4:
            raise ValueError(
                f"{where}: the IR-SE body has {len(ins)} units and its width changes only at units {changes}, so "
                f"the {4 - len(starts)} stage boundary(ies) between equal widths cannot be read from the tensors; "
                "pass the units per stage with --encoder-units (e.g. 3,4,14,3 for IR-SE-50)"
            )
        bounds = [*starts, len(ins)]
        return tuple(bounds[s + 1] - bounds[s] for s in range(4))  # type: ignore[return-value]
    units = tuple(int(u) for u in given)
    if len(units) != 4 or any(u < 1 for u in units) or sum(units) != len(ins):
        raise ValueError(
            f"encoder_units={list(given)} does not fit {where}: expected four positive integers summing to "
            f"its {len(ins)} units"
        )
    given_starts = {sum(units[:s]) for s in range(4)}
    if not set(starts) <= given_starts:
        raise ValueError(
            f"encoder_units={list(units)} does not fit {where}: stages must start where the width changes "
            f"(units {changes}), but these units start stages at {sorted(given_starts)}"
        )
    return units  # type: ignore[return-value]


def _squeeze_excitation(tensors: Mapping[str, Tensor], outs: list[int], where: str) -> tuple[str, int]:
    """``("ir_se", reduction)`` when every unit has an SE module (``res_layer.5.fc1``), ``("ir", 16)`` when
    none has."""
    reduced = [tensors.get(f"body.{i}.res_layer.5.fc1.weight") for i in range(len(outs))]
    if all(r is None for r in reduced):
        return "ir", _UPSTREAM_SE_REDUCTION
    if any(r is None for r in reduced):
        missing = [f"body.{i}.res_layer.5.fc1.weight" for i, r in enumerate(reduced) if r is None]
        raise WeightsError(f"{where}: some units have a squeeze-excitation module and some do not: {missing[:4]}")
    rows = [int(r.shape[0]) for r in reduced if r is not None]
    for reduction in (_UPSTREAM_SE_REDUCTION, *range(1, max(outs) + 1)):
        if all(w // reduction == n for w, n in zip(outs, rows, strict=True)):
            return "ir_se", reduction
    raise WeightsError(f"{where}: squeeze-excitation widths {rows} fit no single reduction of the unit widths")
