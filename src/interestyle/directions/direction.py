"""Editing directions in W: the [`Direction`][interestyle.directions.direction.Direction] type, named
[`DirectionSet`][interestyle.directions.direction.DirectionSet] folders and their file format, and the directions a
model ships ([`shipped_directions`][interestyle.directions.direction.shipped_directions]).

A direction is a vector ``(style_dim,)`` applied to every style vector, or a per-layer array ``(n_latent, style_dim)``.
It is normalised so that its longest style vector has unit length: an edit of strength ``s`` moves each style vector by
at most ``s * unit`` in W (``unit`` is 1 unless the direction's source measures strengths otherwise, as GANSpace does in
standard deviations). A direction may also carry the style vectors it applies to by default (``layers``, GANSpace's
layer range) and an ``origin``: then its strength is not an offset but the coordinate to set, e4e's GANSpace edits (see
[`Direction.offsets`][interestyle.directions.direction.Direction.offsets]).

A folder of named directions holds ``directions.safetensors`` (one tensor per name, plus
``NAME/origin`` for a direction with an origin) and ``directions.json`` (format, names, descriptions, and
``unit`` / ``layers`` / ``origin`` where they are not the defaults). The JSON is also embedded in the
safetensors header, because a Hub snapshot fetched by `interestyle.hub.resolve_model_folder` brings
``*.safetensors`` files only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor
from typing_extensions import Self

from ..errors import InterestyleError, WeightsError
from ..locate import HubOptions, resolve_model_folder
from ..serialization import PICKLE_SUFFIXES, atomic_write, check_complete_folder, writing_folder
from ..validation import check_int, check_non_negative_int, check_positive_number

__all__ = [
    "DIRECTIONS_METADATA",
    "DIRECTIONS_WEIGHTS",
    "Direction",
    "DirectionInput",
    "DirectionSet",
    "UnknownDirectionError",
    "as_direction",
    "shipped_directions",
]

DIRECTIONS_WEIGHTS = "directions.safetensors"
DIRECTIONS_METADATA = "directions.json"
_FORMAT = "interestyle-directions"
_HEADER_KEY = "interestyle.directions"
_ORIGIN = "/origin"  # key suffix of a direction's origin ("/" is never part of a direction's name)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")


class UnknownDirectionError(InterestyleError, KeyError):
    """A direction name that a [`DirectionSet`][interestyle.directions.direction.DirectionSet] does not hold; the
    message lists the ones it does."""

    def __str__(self) -> str:  # KeyError would print the repr of its message
        return str(self.args[0]) if self.args else ""


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"direction name {name!r} is invalid: use 1-64 letters, digits, '_', '.', '+' or '-', starting with a "
            "letter or digit"
        )
    return name


def _as_tensor(vector: Any, what: str) -> Tensor:
    if isinstance(vector, Tensor):
        t = vector.detach().to("cpu")
    elif isinstance(vector, np.ndarray):
        if not (np.issubdtype(vector.dtype, np.floating) or np.issubdtype(vector.dtype, np.integer)):
            raise TypeError(f"{what}: numpy dtype {vector.dtype} is not accepted; use a float array")
        t = torch.from_numpy(np.ascontiguousarray(vector, dtype=np.float64))
    elif isinstance(vector, (list, tuple)):
        t = torch.tensor(vector, dtype=torch.float64)
    else:
        raise TypeError(f"{what} of type {type(vector).__name__} is not accepted; pass a tensor or a numpy array")
    if t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"{what}: dtype {t.dtype} is not accepted; use a float tensor")
    return t.to(torch.float64)


class Direction:
    """A unit editing direction in W (or W+), kept as float32 on the CPU, with how its strength is measured.

    Args:
        vector: ``(style_dim,)`` (also ``(1, style_dim)``, InterFaceGAN's boundary files) for one direction
            shared by every style vector, or ``(n_latent, style_dim)`` per layer; tensor, numpy array or
            nested list. It is rescaled so that its longest row has unit length.
        name: a short name (letters, digits, ``_ . + -``), used in file names.
        description: free text kept in a [`DirectionSet`][interestyle.directions.direction.DirectionSet]'s metadata.
        unit: the W distance of one unit of strength (a positive number; 1: strengths are W distances).
            GANSpace measures strengths in standard deviations of W along the component: its ``std``.
        origin: None (the strength is an offset), or a ``(style_dim,)`` point of W: the strength is then
            the coordinate along the direction, measured from ``origin`` in units of ``unit``, that an edit
            sets (e4e's GANSpace edits; needs a ``(style_dim,)`` vector).
        layers: the style vectors ``(start, stop)`` (stop excluded) an edit changes when it is not told
            which; None: all of them.
        strength: the recommended strength, in units of strength (``edit(strength=)``): the step that
            produces the named change, when the direction's maker measured one (the embedded demo models'
            directions record it); [`edit`][interestyle.edit] uses it when no strength is given. None: not known.

    Raises:
        ValueError: a wrong rank, an empty or zero vector, NaN or infinite values, an invalid name, a unit
            that is not a positive number, an origin of another size, an empty or negative layer range, a strength
            that is not a finite positive number.
        TypeError: an unsupported type or dtype.
    """

    __slots__ = ("description", "layers", "name", "origin", "strength", "unit", "vector")

    def __init__(
        self,
        vector: Tensor | np.ndarray | list[Any],
        *,
        name: str = "direction",
        description: str = "",
        unit: float = 1.0,
        origin: Tensor | np.ndarray | None = None,
        layers: tuple[int, int] | None = None,
        strength: float | None = None,
    ) -> None:
        what = f"direction {name!r}"
        t = _as_tensor(vector, what)
        if t.ndim == 2 and t.shape[0] == 1:
            t = t[0]
        if t.ndim not in (1, 2) or t.numel() == 0:
            raise ValueError(
                f"{what} has shape {tuple(t.shape)}; a direction is (style_dim,) or per layer (n_latent, style_dim)"
            )
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{what} contains NaN or infinite values")
        longest = float(t.norm(dim=-1).max())
        if longest == 0.0:
            raise ValueError(f"{what} is all zeros; a direction needs a non-zero vector")
        self.vector: Tensor = (t / longest).float()
        self.name: str = _check_name(name)
        self.description: str = str(description)
        self.unit: float = check_positive_number(unit, f"{what}: unit", note="the W distance of one unit of strength")
        self.origin: Tensor | None = None if origin is None else _origin(origin, self.vector, what)
        self.layers: tuple[int, int] | None = None if layers is None else _layer_range(layers, what)
        self.strength: float | None = None if strength is None else check_positive_number(strength, f"{what}: strength")

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.vector.shape)

    @property
    def per_layer(self) -> bool:
        """True for a ``(n_latent, style_dim)`` direction."""
        return self.vector.ndim == 2

    def __repr__(self) -> str:
        return f"Direction(name={self.name!r}, shape={self.shape})"

    def __neg__(self) -> Direction:
        negated = self.renamed(self.name)
        negated.vector = -negated.vector
        return negated

    def renamed(self, name: str) -> Direction:
        """The same direction under another name."""
        return Direction(
            self.vector,
            name=name,
            description=self.description,
            unit=self.unit,
            origin=self.origin,
            layers=self.layers,
            strength=self.strength,
        )

    def for_model(self, n_latent: int, style_dim: int) -> Tensor:
        """The unit direction per style vector, ``(n_latent, style_dim)`` float32 (one unit of strength moves
        a style vector by ``unit`` times its row).

        Raises:
            ValueError: the direction's size, or its layer range, does not fit the model.
        """
        if self.layers is not None and self.layers[1] > n_latent:
            raise ValueError(
                f"direction {self.name!r} edits style vectors {self.layers[0]}:{self.layers[1]}, but this model has "
                f"{n_latent} (0 to {n_latent - 1})"
            )
        if self.vector.shape == (style_dim,):
            return self.vector[None].expand(n_latent, -1).clone()
        if self.vector.shape == (n_latent, style_dim):
            return self.vector.clone()
        raise ValueError(
            f"direction {self.name!r} has shape {self.shape}, which does not fit this model: it accepts "
            f"({style_dim},) (style_dim) or ({n_latent}, {style_dim}) (n_latent, style_dim)"
        )

    def offsets(self, latents: Tensor, strengths: Tensor, layers: Iterable[int] | None = None) -> Tensor:
        """What an edit adds to W+ latents at each strength: ``(S, B, n_latent, style_dim)``.

        Without an origin (InterFaceGAN, GANSpace's own edits) the strength is an offset: ``s * unit * d``
        on each chosen style vector. With an origin (e4e's GANSpace edits, ``editings/ganspace.py``) it is
        the coordinate to set: ``(s * unit - <w_0 - origin, d>) * d``, where ``w_0`` is the latent's first
        style vector, so that after the edit ``<w_0' - origin, d> = s * unit`` when style vector 0 is edited.

        Args:
            latents: ``(B, n_latent, style_dim)``; the result has their device and dtype.
            strengths: ``(S,)``.
            layers: the style vectors to change; None: the direction's own ``layers``, else all.

        Raises:
            ValueError: the direction does not fit the latents.
        """
        _, n_latent, style_dim = latents.shape
        rows = self.for_model(n_latent, style_dim).to(latents.device, latents.dtype)
        chosen = list(range(*self.layers)) if layers is None and self.layers is not None else layers
        if chosen is not None:
            keep = torch.zeros(n_latent, 1, device=latents.device, dtype=latents.dtype)
            keep[list(chosen)] = 1.0
            rows = rows * keep
        steps = strengths.to(latents.device, latents.dtype).view(-1, 1, 1, 1) * self.unit
        if self.origin is None:
            return (steps * rows[None, None]).expand(-1, latents.shape[0], -1, -1)
        origin = self.origin.to(latents.device, latents.dtype)
        coordinate = ((latents[:, 0] - origin) * self.vector.to(latents.device, latents.dtype)).sum(-1)
        return (steps - coordinate.view(1, -1, 1, 1)) * rows[None, None]

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, name: str | None = None) -> Direction:
        """Read a direction from a ``.npy`` file or a ``.safetensors`` file (one tensor, or pick one by ``name``).

        The name defaults to the file's stem (``.npy``, or a one-tensor file) or the tensor's key.

        Raises:
            FileNotFoundError: no such file.
            WeightsError: a pickle (``.pt``, ...) or an unreadable file.
            ValueError: an unknown suffix, or a safetensors file with several tensors and no ``name``.
            UnknownDirectionError: ``name`` is not in the safetensors file.
        """
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"direction file {p} does not exist")
        suffix = p.suffix.lower()
        if suffix == ".npy":
            try:
                array = np.load(p, allow_pickle=False)
            except (ValueError, OSError) as exc:
                raise WeightsError(f"cannot read {p} as a .npy array (object arrays are refused): {exc}") from None
            return cls(array, name=name or _stem_name(p))
        if suffix == ".safetensors":
            directions = DirectionSet.load(p)
            if name is not None:
                return directions[name]
            if len(directions) == 1:
                only = next(iter(directions.values()))
                return only
            raise ValueError(f"{p} holds several directions {list(directions)}; pick one with name=")
        if suffix in PICKLE_SUFFIXES:
            raise WeightsError(
                f"{p} is a pickle, which interestyle never loads; save the tensor with numpy.save (.npy) or "
                "safetensors instead"
            )
        raise ValueError(f"direction file {p} has suffix {p.suffix!r}; accepted: .npy, .safetensors")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the direction to ``path`` (``.npy`` or ``.safetensors``, replaced atomically); returns it."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix == ".npy":
            if self.unit != 1.0 or self.origin is not None or self.layers is not None:
                raise ValueError(
                    f"direction {self.name!r} has a unit, origin or layer range, which a .npy cannot hold; save it "
                    "as .safetensors"
                )
            array = self.vector.numpy()

            def write(tmp: Path) -> None:
                with open(tmp, "wb") as f:
                    np.save(f, array, allow_pickle=False)

            atomic_write(p, write)
            return p
        if suffix == ".safetensors":
            DirectionSet([self]).save(p)
            return p
        raise ValueError(f"cannot save a direction as {p.name!r}; accepted suffixes: .npy, .safetensors")


def _origin(origin: Tensor | np.ndarray, vector: Tensor, what: str) -> Tensor:
    t = _as_tensor(origin, f"{what}: origin").reshape(-1)
    if vector.ndim != 1 or t.shape != vector.shape:
        raise ValueError(
            f"{what}: an origin of shape {tuple(t.shape)} needs a direction of the same (style_dim,) shape, "
            f"not {tuple(vector.shape)}"
        )
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{what}: the origin contains NaN or infinite values")
    return t.float()


def _layer_range(layers: Any, what: str) -> tuple[int, int]:
    if not isinstance(layers, (tuple, list)) or len(layers) != 2:
        raise ValueError(f"{what}: layers={layers!r} is invalid: expected (start, stop) with 0 <= start < stop")
    start = check_non_negative_int(layers[0], f"{what}: layers[0]", note="the first style vector edited")
    stop = check_int(layers[1], f"{what}: layers[1]", minimum=start + 1, note="the style vector after the last")
    return start, stop


def _stem_name(path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.+-]", "_", path.stem)[:64]
    return stem if _NAME.match(stem) else "direction"


DirectionInput = Union[Direction, Tensor, np.ndarray, str, os.PathLike]  # noqa: UP007 (runtime alias)
"""What [`as_direction`][interestyle.directions.direction.as_direction] (and so [`interestyle.edit`][interestyle.edit])
accepts: a [`Direction`][interestyle.directions.direction.Direction], a tensor or array
(style_dim,) / (n_latent, style_dim), or the path of a ``.npy`` / ``.safetensors`` file."""


def as_direction(direction: DirectionInput, *, what: str = "direction") -> Direction:
    """A [`Direction`][interestyle.directions.direction.Direction] from a Direction, a tensor or array, or the path of a
    ``.npy`` / ``.safetensors``.

    Names are looked up in a [`DirectionSet`][interestyle.directions.direction.DirectionSet] (``directions[name]``), not
    here: a string must be a file.
    """
    if isinstance(direction, Direction):
        return direction
    if isinstance(direction, (Tensor, np.ndarray)):
        return Direction(direction)
    if isinstance(direction, (str, os.PathLike)):
        p = Path(direction)
        if not p.is_file():
            raise FileNotFoundError(
                f"{what} {str(direction)!r} is not a file; pass a .npy or .safetensors file, a tensor, or a named "
                "direction from a DirectionSet (DirectionSet.from_pretrained(folder)[name])"
            )
        return Direction.load(p)
    raise TypeError(
        f"{what} of type {type(direction).__name__} is not accepted; pass a Direction, a tensor, a numpy array "
        "or the path of a .npy / .safetensors file"
    )


class DirectionSet(Mapping[str, Direction]):
    """Named directions, read from and written to a folder (``directions.safetensors`` + ``directions.json``).

    ``directions[name]`` raises [`UnknownDirectionError`][interestyle.directions.direction.UnknownDirectionError] (a
    ``KeyError``) listing the known names.

    Args:
        directions: [`Direction`][interestyle.directions.direction.Direction] objects (their names are the keys), or a
            mapping from names to directions, tensors or arrays.
    """

    def __init__(self, directions: Mapping[str, Direction | Tensor | np.ndarray] | Iterable[Direction]) -> None:
        items: dict[str, Direction] = {}
        if isinstance(directions, Mapping):
            for key, value in directions.items():
                _check_name(key)
                if isinstance(value, Direction):
                    items[key] = value if value.name == key else value.renamed(key)
                else:
                    items[key] = Direction(value, name=key)
        else:
            for value in directions:
                if not isinstance(value, Direction):
                    raise TypeError(f"DirectionSet takes Direction objects or a mapping, got {type(value).__name__}")
                if value.name in items:
                    raise ValueError(f"two directions are named {value.name!r}")
                items[value.name] = value
        if not items:
            raise ValueError("a DirectionSet needs at least one direction")
        self._items = items

    def __getitem__(self, name: str) -> Direction:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownDirectionError(
                f"unknown direction {name!r}; known directions: {', '.join(self._items)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"DirectionSet({list(self._items)})"

    def metadata(self) -> dict[str, Any]:
        """What ``directions.json`` holds: format, and per name the shape, the description and, where they are
        not the defaults, ``unit``, ``layers`` and ``origin: true``."""
        return {
            "format": _FORMAT,
            "version": 1,
            "directions": {name: _entry(d) for name, d in self._items.items()},
        }

    def tensors(self) -> dict[str, Tensor]:
        """What ``directions.safetensors`` holds: each vector under its name, each origin as ``NAME/origin``."""
        out = {name: d.vector.contiguous().clone() for name, d in self._items.items()}
        out.update({f"{n}{_ORIGIN}": d.origin.clone() for n, d in self._items.items() if d.origin is not None})
        return out

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write all directions into one safetensors file (metadata in its header); returns the path."""
        p = Path(path)
        tensors = self.tensors()
        header = {"format": "pt", _HEADER_KEY: json.dumps(self.metadata())}
        atomic_write(p, lambda tmp: save_file(tensors, str(tmp), metadata=header))
        return p

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``directions.safetensors`` and ``directions.json`` into ``directory`` (created); returns it.

        The folder may also be a model folder: the files sit beside ``config.json`` and ``model.safetensors``.
        """
        text = json.dumps(self.metadata(), indent=2) + "\n"
        with writing_folder(directory) as staging:  # both files or neither: they describe the same set
            self.save(staging / DIRECTIONS_WEIGHTS)
            (staging / DIRECTIONS_METADATA).write_text(text, encoding="utf-8")
        return Path(directory)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read a safetensors file of named directions (descriptions from its header, when present).

        Raises:
            FileNotFoundError: no such file.
            WeightsError: a corrupt file.
        """
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"directions file {p} does not exist")
        try:
            with safe_open(str(p), framework="pt", device="cpu") as f:
                tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
                header = f.metadata() or {}
        except SafetensorError as exc:
            raise WeightsError(f"{p} is not a readable safetensors file (corrupt or truncated?): {exc}") from None
        meta = _parse_metadata(header.get(_HEADER_KEY), f"the header of {p}")
        return cls._from_parts(tensors, meta, p)

    @classmethod
    def from_pretrained(
        cls,
        repo_id_or_path: str | os.PathLike[str],
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
    ) -> Self:
        """Load named directions from a local folder, a ``.safetensors`` file, or a Hugging Face Hub repo id.

        ``directions.json`` beside the weights, when present, supplies the descriptions; otherwise the
        copy in the safetensors header does.

        Args:
            repo_id_or_path: a folder, a ``.safetensors`` file or a Hub repo id.
            revision: Hub branch, tag or commit (these four: see [`HubOptions`][interestyle.locate.HubOptions]).
            cache_dir: Hugging Face cache folder.
            local_files_only: use the cache only, never the network.
            token: Hub token for private or gated repositories.

        Raises:
            FileNotFoundError: no such folder or file, or the folder has no ``directions.safetensors``.
            HubError: a repo id that cannot be fetched.
            WeightsError / ValueError: corrupt files, or metadata that disagrees with the weights.
        """
        hub = HubOptions(revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token)
        folder = resolve_model_folder(repo_id_or_path, hub)
        if folder.is_file():
            return cls.load(folder)
        check_complete_folder(folder)
        weights = folder / DIRECTIONS_WEIGHTS
        if not weights.is_file():
            raise FileNotFoundError(
                f"{folder} has no {DIRECTIONS_WEIGHTS}; a directions folder holds {DIRECTIONS_WEIGHTS}"
            )
        directions = cls.load(weights)
        meta_path = folder / DIRECTIONS_METADATA
        if meta_path.is_file():
            try:
                meta = _parse_metadata(meta_path.read_text(encoding="utf-8"), str(meta_path))
            except UnicodeDecodeError as exc:
                raise ValueError(f"{meta_path} is not UTF-8 text: {exc}") from None
            directions = cls._from_parts(directions.tensors(), meta, meta_path)
        return directions

    @classmethod
    def _from_parts(cls, tensors: dict[str, Tensor], meta: dict[str, Any] | None, source: Path) -> Self:
        origins = {k.removesuffix(_ORIGIN): v for k, v in tensors.items() if k.endswith(_ORIGIN)}
        vectors = {k: v for k, v in tensors.items() if not k.endswith(_ORIGIN)}
        if not vectors:
            raise ValueError(f"{source} holds no directions")
        described: dict[str, Any] = {}
        if meta is not None:
            described = meta.get("directions", {})
            if not isinstance(described, dict) or set(described) != set(vectors):
                names = sorted(described) if isinstance(described, dict) else described
                raise ValueError(
                    f"{source} describes directions {names} but the weights hold {sorted(vectors)}; they must match"
                )
        out = []
        for name in described or vectors:  # the metadata keeps the saved order; safetensors sorts its keys
            entry = described.get(name) or {}
            entry = entry if isinstance(entry, dict) else {}
            layers = entry.get("layers")
            out.append(
                Direction(
                    vectors[name],
                    name=name,
                    description=entry.get("description", ""),
                    unit=entry.get("unit", 1.0),
                    origin=origins.get(name),
                    layers=None if layers is None else tuple(layers),
                    strength=entry.get("strength"),
                )
            )
        return cls(out)


def _entry(direction: Direction) -> dict[str, Any]:
    """A direction's ``directions.json`` entry: shape and description, and what is not the default (unit,
    layers, origin, recommended strength)."""
    entry: dict[str, Any] = {"shape": list(direction.shape), "description": direction.description}
    if direction.unit != 1.0:
        entry["unit"] = direction.unit
    if direction.layers is not None:
        entry["layers"] = list(direction.layers)
    if direction.origin is not None:
        entry["origin"] = True
    if direction.strength is not None:
        entry["strength"] = direction.strength
    return entry


def _parse_metadata(text: str | None, where: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ValueError(f"{where} is not directions metadata (expected a JSON object with format {_FORMAT!r})")
    return meta


def shipped_directions(
    repo_id_or_path: str | os.PathLike[str], *, hub: HubOptions | None = None
) -> DirectionSet | None:
    """The directions a model folder, embedded model or Hub repository ships beside its weights
    (``directions.safetensors``), or None when it ships none.

    Args:
        repo_id_or_path: what [`interestyle.load_encoder`][interestyle.load_encoder] takes.
        hub: how to fetch a Hub repository (default: [`HubOptions`][interestyle.locate.HubOptions] ``()``).

    Raises:
        FileNotFoundError / HubError: the model itself cannot be found (see
            [`DirectionSet.from_pretrained`][interestyle.directions.direction.DirectionSet.from_pretrained]).
    """
    folder = resolve_model_folder(repo_id_or_path, hub)
    if not (folder / DIRECTIONS_WEIGHTS).is_file():
        return None
    return DirectionSet.from_pretrained(folder)
