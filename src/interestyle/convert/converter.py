"""``convert_checkpoint``: one official checkpoint in, one hub-ready safetensors model folder out."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..directions import Direction, DirectionSet
from ..validation import check_positive_int, check_positive_number
from .card import CardFacts, check_license, model_card
from .checkpoint import Checkpoint
from .output import check_output_folder, push_folder, write_folder
from .registry import Conversion, ConvertOptions, Kind, detect_kind, get_kind
from .sources import open_source

__all__ = ["ConversionResult", "convert_checkpoint"]


@dataclass
class ConversionResult:
    """What [`convert_checkpoint`][interestyle.convert.converter.convert_checkpoint] did.

    Attributes:
        folder: the written model folder (``config.json``, ``model.safetensors``, ``README.md``).
        kind: the kind converted.
        how_chosen: ``"given with --kind"`` or why auto-detection chose it.
        sha256: of the source file.
        config: the ``config.json`` content.
        n_tensors: tensors written.
        dropped: entries of the source left out on purpose, one line each.
        notes: what the user should know (values not in the tensors, warnings).
        repo_url: the Hub repository pushed to, or None.
        n_directions: for direction files, the directions written (the folder is a DirectionSet); else None.
    """

    folder: Path
    kind: str
    how_chosen: str
    sha256: str
    config: dict[str, Any]
    n_tensors: int
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repo_url: str | None = None
    n_directions: int | None = None

    def summary(self) -> str:
        """A few lines for the terminal."""
        wrote = f"{self.n_tensors} tensors" if self.n_directions is None else f"{self.n_directions} directions"
        lines = [f"kind: {self.kind} ({self.how_chosen})", f"wrote {wrote} to {self.folder}"]
        lines += [f"dropped {line}" for line in self.dropped]
        lines += [f"note: {line}" for line in self.notes]
        if self.repo_url:
            lines.append(f"pushed to {self.repo_url}")
        return "\n".join(lines)


def _units(value: Sequence[int] | None) -> tuple[int, int, int, int] | None:
    if value is None:
        return None
    units = tuple(value)
    if len(units) != 4:
        raise ValueError(f"encoder_units={value!r} is invalid: expected four integers >= 1 (units per stage)")
    a, b, c, d = (check_positive_int(u, f"encoder_units[{i}]", note="units per stage") for i, u in enumerate(units))
    return a, b, c, d


def _lr_mlp(value: float | None) -> float | None:
    if value is None:
        return None
    return check_positive_number(value, "lr_mlp", note="upstream uses 0.01")


def _source_paths(source: object) -> list[Path]:
    if isinstance(source, (str, os.PathLike)):
        return [Path(source)]
    if isinstance(source, Sequence) and source and all(isinstance(p, (str, os.PathLike)) for p in source):
        return [Path(p) for p in source]
    raise TypeError(f"source must be a path or a non-empty list of paths, got {source!r}")


def _convert_one(
    checkpoint: Checkpoint, chosen: Kind | None, options: ConvertOptions
) -> tuple[Checkpoint, Kind, str, Conversion]:
    """The checkpoint, its kind (``chosen``, or detected when None), how it was chosen, and its conversion."""
    if chosen is None:
        chosen, how = detect_kind(checkpoint)
    else:
        reason = chosen.why_not(checkpoint)
        if reason is not None:
            raise ValueError(
                f"{checkpoint.path} is not a {chosen.name} checkpoint: {reason}. It holds "
                f"{checkpoint.describe_keys()}; try --kind auto"
            )
        how = "given with --kind"
    return checkpoint, chosen, how, chosen.convert(checkpoint, options)


def _merged_directions(converted: list[tuple[Checkpoint, Kind, str, Conversion]]) -> Conversion:
    """Several direction files' conversions as one folder's (each file's names must be distinct)."""
    merged: dict[str, Direction] = {}
    for checkpoint, kind, _, conversion in converted:
        if conversion.directions is None:
            raise ValueError(
                f"{checkpoint.path} is a {kind.name} checkpoint: only direction files merge into one folder; "
                "convert it on its own"
            )
        for name, direction in conversion.directions.items():
            if name in merged:
                raise ValueError(f"two sources hold a direction named {name!r}; rename one of the files")
            merged[name] = direction
    directions = DirectionSet(merged)
    first = converted[0][3]
    return Conversion(
        config=directions.metadata(),
        tensors=directions.tensors(),
        dropped=[line for *_, c in converted for line in c.dropped],
        notes=[line for *_, c in converted for line in c.notes],
        usage=first.usage,
        sources={k: v for *_, c in converted for k, v in c.sources.items()},
        directions=directions,
    )


def convert_checkpoint(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    kind: str = "auto",
    generator: str | os.PathLike[str] | None = None,
    backbone: str | os.PathLike[str] | None = None,
    encoder_units: Sequence[int] | None = None,
    iterations: int | None = None,
    lr_mlp: float | None = None,
    license: str | None = None,
    overwrite: bool = False,
    push_to_hub: str | None = None,
    private: bool = False,
    token: str | bool | None = None,
    progress: bool = False,
) -> ConversionResult:
    """Convert an official PyTorch checkpoint into a safetensors model folder, and optionally publish it.

    A ``torch.save`` file is opened with ``torch.load(weights_only=True)`` only (see
    [`load_checkpoint`][interestyle.convert.checkpoint.load_checkpoint]), an NVlabs network pickle with a reader that
    runs none of its code ([`load_network_pickle`][interestyle.convert.nvlabs_pickle.load_network_pickle]); the
    configuration is read from the tensor shapes; every source tensor ends up in the model or is dropped on purpose and
    reported.

    Args:
        source: the ``.pt``/``.pth`` file, an NVlabs ``.pkl``, or a direction file (InterFaceGAN ``.pt`` /
            ``.npy``, GANSpace ``.pt`` / ``.npz``: the folder then holds a [`DirectionSet`][interestyle.DirectionSet]);
            a list of direction files merges their directions into one folder.
        out: the folder to write; it must not exist or be empty, unless ``overwrite``.
        kind: ``"auto"`` (detect from the keys; see [`detect_kind`][interestyle.convert.registry.detect_kind]) or
            one of ``stylegan2``, ``stylegan2-ada``, ``psp``, ``e4e``, ``restyle-psp``, ``restyle-e4e``,
            ``interestyle``, ``face-parsing``, ``arcface``, ``lpips``, ``interfacegan``, ``ganspace``.
        generator: a StyleGAN2 checkpoint (rosinality ``.pt`` or NVlabs ``.pkl``) or a converted generator
            folder, for an encoder checkpoint saved without its ``decoder.*`` weights.
        backbone: a second checkpoint some kinds need: torchvision's AlexNet for ``lpips``.
        encoder_units: IR-SE units per stage, needed only when the tensors cannot show the stage boundaries.
        iterations: default refinement steps stored in the config (5 for ReStyle/IntereStyle, else 1).
        lr_mlp: the generator's mapping-network learning-rate multiplier, which checkpoints do not store
            (default upstream's 0.01; the weights are the same, the equalized-lr scale is not).
        license: a Hub license id for the model card (left as a placeholder when None).
        overwrite: replace the converted files in a non-empty ``out``.
        push_to_hub: a Hub repo id (``"org/name"``) to create if needed and upload the folder to.
        private: create the Hub repository as private.
        token: Hub token (default: the one ``huggingface-cli login`` stored).
        progress: show progress bars.

    Returns:
        A [`ConversionResult`][interestyle.convert.converter.ConversionResult].

    Raises:
        FileNotFoundError: ``source``, ``generator`` or ``backbone`` does not exist.
        WeightsError: not a checkpoint, truncated, a disallowed pickled type, an unknown kind, or tensors
            missing / left over / of the wrong shape (named).
        ValueError: a bad option, an ambiguous kind, a missing ``generator``, a non-empty ``out``, or several
            sources that are not all direction files (or whose direction names collide).
        HubError: the push failed (the local folder is kept).
    """
    folder = Path(out)
    check_output_folder(folder, overwrite=overwrite)
    check_license(license)
    options = ConvertOptions(
        generator=None if generator is None else Path(generator),
        backbone=None if backbone is None else Path(backbone),
        encoder_units=_units(encoder_units),
        iterations=iterations,
        lr_mlp=_lr_mlp(lr_mlp),
        progress=progress,
    )
    for flag, path in (("--generator", options.generator), ("--backbone", options.backbone)):
        if path is not None and not path.exists():
            raise FileNotFoundError(f"{flag} {path} does not exist")
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a string, got {type(kind).__name__}")
    chosen = None if kind == "auto" else get_kind(kind)

    converted = [_convert_one(open_source(p, progress=progress), chosen, options) for p in _source_paths(source)]
    checkpoint, chosen, how, conversion = converted[0]
    if len(converted) > 1:
        conversion = _merged_directions(converted)
    facts = CardFacts(
        source_name=checkpoint.path.name,
        sha256=checkpoint.sha256,
        kind=chosen.name,
        how_chosen=how,
        license=license,
        location=push_to_hub or folder.resolve().name,
        folder_name=folder.resolve().name,
        also=tuple((c.path.name, c.sha256) for c, _, _, _ in converted[1:]),
    )
    write_folder(folder, conversion, model_card(facts, conversion))
    result = ConversionResult(
        folder=folder,
        kind=chosen.name,
        how_chosen=how,
        sha256=checkpoint.sha256,
        config=conversion.config,
        n_tensors=len(conversion.tensors),
        dropped=conversion.dropped,
        notes=conversion.notes,
        n_directions=None if conversion.directions is None else len(conversion.directions),
    )
    if push_to_hub is not None:
        result.repo_url = push_folder(folder, push_to_hub, private=private, token=token)
    return result
