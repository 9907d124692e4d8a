"""Reading NVlabs network pickles (stylegan2-ada-pytorch, stylegan3) without running anything they hold.

A snapshot is ``pickle.dump`` of a dict (``G``, ``D``, ``G_ema``, ``augment_pipe``, ``training_set_kwargs``).
Every network in it is a *persistent class* (``torch_utils/persistence.py``): it pickles as a call of
``torch_utils.persistence._reconstruct_persistent_obj(meta)``, where ``meta`` holds the whole source of the
class's module (``module_src``), the class name and the object's ``__dict__``; an ordinary ``pickle.load``
runs ``exec(module_src)``. Here each global the pickle names is looked up in
[`NVLABS_GLOBALS`][interestyle.convert.nvlabs_pickle.NVLABS_GLOBALS], a table of this module's own small functions and
plain containers; any other name is refused, so nothing is imported from the file and none of its code runs:

- a persistent-class record becomes an inert [`PersistentRecord`][interestyle.convert.nvlabs_pickle.PersistentRecord]
(class name, source text, state);
- a tensor becomes a [`StoredTensor`][interestyle.convert.nvlabs_pickle.StoredTensor] that keeps its storage's bytes
until asked for, then reads them
  with ``torch.load(weights_only=True)`` (torch's own ``_load_from_bytes`` passes ``weights_only=False``);
- numpy scalars become Python numbers, numeric numpy arrays a `NumpyArray`, ``dnnlib.EasyDict`` a
  plain dict.
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..errors import WeightsError
from ..validation import check_flag
from .checkpoint import Checkpoint, sha256_file

__all__ = [
    "NVLABS_GLOBALS",
    "NumpyArray",
    "PersistentRecord",
    "StoredTensor",
    "is_plain_pickle",
    "load_network_pickle",
]

# torch.save's legacy format starts with this number, pickled: such a file is a torch checkpoint.
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_NUMERIC_DTYPE_KINDS = "biufc"


class _PlainDict(dict):  # type: ignore[type-arg]
    """What ``dnnlib.EasyDict`` becomes: a dict (its attributes are its items, so its state is empty)."""

    def __setstate__(self, state: object) -> None:
        if state:
            raise pickle.UnpicklingError(f"an EasyDict with instance state {type(state).__name__} is not expected")


class _Inert:
    """Refuses the pickle BUILD opcode: what the restricted unpickler makes takes no state from the file."""

    __slots__ = ()

    def __setstate__(self, state: object) -> None:
        raise pickle.UnpicklingError(f"state given to a {type(self).__name__}, which takes none")


class _StorageBytes(_Inert):
    """A tensor storage as ``torch.save`` wrote it (legacy format), read on first use."""

    __slots__ = ("_storage", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._storage: torch.TypedStorage | None = None

    def storage(self) -> torch.TypedStorage:
        if self._storage is None:
            loaded = torch.load(io.BytesIO(self.data), map_location="cpu", weights_only=True)
            if not isinstance(loaded, torch.TypedStorage):
                raise WeightsError(f"a tensor storage in the pickle holds a {type(loaded).__name__}, not a storage")
            self._storage = loaded
        return self._storage


@dataclass(frozen=True)
class StoredTensor(_Inert):
    """A tensor of the pickle, not yet read: its storage and the view into it.

    Attributes:
        storage: the storage's bytes (read with ``torch.load(weights_only=True)`` by
            [`load`][interestyle.convert.nvlabs_pickle.StoredTensor.load]).
        offset: the view's first element in the storage.
        shape: the view's shape.
        stride: the view's strides, in elements.
    """

    storage: _StorageBytes
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def load(self) -> Tensor:
        """The tensor, float32 or as stored, on the CPU (a copy: it shares nothing with the pickle).

        Raises:
            WeightsError: the storage is not a tensor storage, or the view does not fit in it.
        """
        typed = self.storage.storage()
        out = torch.empty(0, dtype=typed.dtype)
        try:
            # ``_untyped_storage`` is what ``TypedStorage.untyped()`` returns, without its deprecation warning
            out.set_(typed._untyped_storage, self.offset, self.shape, self.stride)
        except RuntimeError as exc:
            raise WeightsError(f"a tensor view {self.shape} does not fit its storage: {exc}") from None
        return out.clone()


@dataclass(frozen=True)
class PersistentRecord(_Inert):
    """One NVlabs persistent-class object, as data: nothing of its class is imported or run.

    Attributes:
        class_name: the class's name in its module (``"Generator"``, ``"SynthesisLayer"``).
        module_src: the source of the module that defined it, as text (never executed).
        version: ``torch_utils.persistence``'s format version (6 in both repositories).
        state: the object's ``__dict__``: ``_parameters``, ``_buffers``, ``_modules``, ``_init_kwargs`` and
            its own attributes.
    """

    class_name: str
    module_src: str
    version: int
    state: Mapping[str, Any]

    def attribute(self, name: str, default: Any = None) -> Any:
        """An attribute of the object (from its ``__dict__``)."""
        return self.state.get(name, default)

    def children(self) -> dict[str, Any]:
        """The sub-modules by name (``_modules``): records, or None for an unset sub-module."""
        modules = self.state.get("_modules")
        return dict(modules) if isinstance(modules, Mapping) else {}

    def child(self, name: str) -> PersistentRecord | None:
        """The sub-module ``name`` when it is a persistent record, else None."""
        value = self.children().get(name)
        return value if isinstance(value, PersistentRecord) else None

    def tensors(self, prefix: str = "") -> dict[str, StoredTensor]:
        """Parameters and buffers of the object and its sub-modules, named as ``state_dict`` names them."""
        out: dict[str, StoredTensor] = {}
        for table in ("_parameters", "_buffers"):
            entries = self.state.get(table)
            if isinstance(entries, Mapping):
                for key, value in entries.items():
                    if isinstance(value, StoredTensor):
                        out[f"{prefix}{key}"] = value
        for key, child in self.children().items():
            if isinstance(child, PersistentRecord):
                out.update(child.tensors(f"{prefix}{key}."))
        return out

    def __repr__(self) -> str:
        return f"PersistentRecord({self.class_name!r}, {len(self.tensors())} tensors)"


def _reconstruct_persistent_obj(meta: object) -> PersistentRecord:
    if not isinstance(meta, Mapping) or meta.get("type") != "class":
        kind = meta.get("type") if isinstance(meta, Mapping) else type(meta).__name__
        raise pickle.UnpicklingError(f"a persistent object of type {kind!r}; only persistent classes are read")
    class_name, module_src, state = meta.get("class_name"), meta.get("module_src"), meta.get("state")
    if not isinstance(class_name, str) or not isinstance(module_src, str) or not isinstance(state, Mapping):
        raise pickle.UnpicklingError("a persistent-class record without class_name, module_src and state")
    version = meta.get("version")
    return PersistentRecord(class_name, module_src, version if isinstance(version, int) else -1, state)


def _load_from_bytes(data: object) -> _StorageBytes:
    if not isinstance(data, bytes):
        raise pickle.UnpicklingError(f"a tensor storage given as {type(data).__name__}, not bytes")
    return _StorageBytes(data)


def _ints(value: object, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, int) and v >= 0 for v in value):
        raise pickle.UnpicklingError(f"a tensor {what} {value!r} is not a tuple of non-negative integers")
    return tuple(value)


def _rebuild_tensor_v2(
    storage: object, offset: object, size: object, stride: object, *_requires_grad_hooks_metadata: object
) -> StoredTensor:
    if not isinstance(storage, _StorageBytes) or not isinstance(offset, int) or offset < 0:
        raise pickle.UnpicklingError("a tensor whose storage or offset is not what torch writes")
    return StoredTensor(storage, offset, _ints(size, "size"), _ints(stride, "stride"))


def _rebuild_parameter(data: object, *_requires_grad_hooks: object) -> StoredTensor:
    if not isinstance(data, StoredTensor):
        raise pickle.UnpicklingError(f"a parameter holding a {type(data).__name__}, not a tensor")
    return data


class _DtypeName:
    """What ``numpy.dtype(name, align, copy)`` becomes: the name, plus the byte order its state gives."""

    __slots__ = ("byteorder", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.byteorder = "|"

    def __setstate__(self, state: object) -> None:
        if not isinstance(state, tuple) or len(state) < 2 or state[1] not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError(f"a numpy dtype state {state!r} is not understood")
        self.byteorder = state[1]

    def numpy(self) -> np.dtype:  # type: ignore[type-arg]
        """The dtype, in the byte order the pickle gave ('|' and '=' mean native)."""
        base = np.dtype(self.name)
        if self.byteorder == "<":
            return base.newbyteorder("<")
        if self.byteorder == ">":
            return base.newbyteorder(">")
        return base


def _dtype(name: object, *_align_copy: object) -> _DtypeName:
    if not isinstance(name, str):
        raise pickle.UnpicklingError(f"a numpy dtype named by a {type(name).__name__}")
    try:
        kind = np.dtype(name).kind
    except TypeError:
        raise pickle.UnpicklingError(f"numpy dtype {name!r} is not understood") from None
    if kind not in _NUMERIC_DTYPE_KINDS:
        raise pickle.UnpicklingError(f"numpy dtype {name!r} is not numeric: only numeric scalars are read")
    return _DtypeName(name)


def _scalar(dtype: object, data: object) -> int | float | complex | bool:
    if not isinstance(dtype, _DtypeName) or not isinstance(data, bytes):
        raise pickle.UnpicklingError("a numpy scalar that is not a numeric dtype and its bytes")
    array = np.frombuffer(data, dtype=dtype.numpy())
    if array.size != 1:
        raise pickle.UnpicklingError(f"a numpy scalar of {len(data)} bytes for dtype {dtype.name!r}")
    return array[0].item()  # type: ignore[no-any-return]


class _NdarrayClass(_Inert):
    """What ``numpy.ndarray`` becomes: only a marker that ``_reconstruct`` checks for."""


class NumpyArray:
    """A numeric numpy array of the pickle, rebuilt from its raw bytes (NVlabs' StyleGAN3 layers keep a few
    sizes as arrays). Attribute ``array``: the values, or None until the pickle's BUILD gave them."""

    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state: object) -> None:
        if self.array is not None or not isinstance(state, tuple) or len(state) != 5:
            raise pickle.UnpicklingError("a numpy array state that numpy does not write")
        _, shape, dtype, fortran, raw = state
        if not isinstance(dtype, _DtypeName) or not isinstance(raw, bytes):
            raise pickle.UnpicklingError("a numpy array that is not numeric data (object arrays are refused)")
        fortran = check_flag(fortran, "a numpy array's fortran_order", error=pickle.UnpicklingError)
        values = np.frombuffer(raw, dtype=dtype.numpy())
        try:
            self.array = values.reshape(_ints(shape, "shape"), order="F" if fortran else "C").copy()
        except ValueError as exc:
            raise pickle.UnpicklingError(f"a numpy array whose bytes do not fit its shape: {exc}") from None


def _reconstruct(cls: object, *_shape_typecode: object) -> NumpyArray:
    if cls is not _NdarrayClass:
        raise pickle.UnpicklingError("numpy's _reconstruct called for something other than an ndarray")
    return NumpyArray()


NVLABS_GLOBALS: dict[str, Callable[..., Any]] = {
    "torch_utils.persistence._reconstruct_persistent_obj": _reconstruct_persistent_obj,
    "dnnlib.util.EasyDict": _PlainDict,
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "torch.storage._load_from_bytes": _load_from_bytes,
    "collections.OrderedDict": OrderedDict,
    "builtins.set": set,
    "builtins.frozenset": frozenset,
    "numpy.dtype": _dtype,
    "numpy.core.multiarray.scalar": _scalar,
    "numpy._core.multiarray.scalar": _scalar,
    "numpy.ndarray": _NdarrayClass,
    "numpy.core.multiarray._reconstruct": _reconstruct,
    "numpy._core.multiarray._reconstruct": _reconstruct,
}
"""The only globals an NVlabs pickle may name, each mapped to what it becomes here (never the original)."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves globals through [`NVLABS_GLOBALS`][interestyle.convert.nvlabs_pickle.NVLABS_GLOBALS] only; remembers
    which ones the file used."""

    def __init__(self, file: io.BufferedReader, path: Path) -> None:
        super().__init__(file)
        self.path = path
        self.used: set[str] = set()

    def find_class(self, module: str, name: str) -> Any:
        qualified = f"{module}.{name}"
        if qualified in NVLABS_GLOBALS:
            self.used.add(qualified)
            return NVLABS_GLOBALS[qualified]
        if module.startswith("dnnlib.tflib"):
            raise WeightsError(
                f"{self.path} is a TensorFlow-era StyleGAN pickle (it holds {qualified}); interestyle reads the "
                "PyTorch pickles of stylegan2-ada-pytorch and stylegan3: convert it to one with their legacy.py first"
            )
        raise WeightsError(
            f"{self.path} is a pickle naming {qualified}, which is outside the allow-list of NVlabs network "
            "pickles; interestyle runs no pickled code and refuses it"
        )


def is_plain_pickle(path: str | os.PathLike[str]) -> bool:
    """True for a file that is a bare pickle and not one of ``torch.save``'s formats (zip, or legacy)."""
    with Path(path).open("rb") as f:
        head = f.read(64)
    if len(head) < 2 or head[0] != pickle.PROTO[0]:
        return False
    try:
        for opcode, arg, _ in pickletools.genops(io.BytesIO(head)):
            if opcode.name in ("PROTO", "FRAME"):
                continue
            return not (opcode.name in ("LONG1", "LONG4") and arg == _TORCH_LEGACY_MAGIC)
    except (ValueError, EOFError):  # genops stops at the end of the 64 bytes read
        return True
    return True


def load_network_pickle(path: str | os.PathLike[str], *, progress: bool = False) -> Checkpoint:
    """Read an NVlabs network pickle with the restricted unpickler: nothing in it is imported or run.

    Returns:
        A [`Checkpoint`][interestyle.convert.checkpoint.Checkpoint] whose content is the pickled object (a snapshot's
        dict, with [`PersistentRecord`][interestyle.convert.nvlabs_pickle.PersistentRecord] networks and
        [`StoredTensor`][interestyle.convert.nvlabs_pickle.StoredTensor] tensors) and whose ``allowed`` lists the
        globals of [`NVLABS_GLOBALS`][interestyle.convert.nvlabs_pickle.NVLABS_GLOBALS] the file used.

    Raises:
        FileNotFoundError: no such file.
        WeightsError: a TensorFlow-era pickle, a global outside
            [`NVLABS_GLOBALS`][interestyle.convert.nvlabs_pickle.NVLABS_GLOBALS] (named), or a truncated or corrupt
            file.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"checkpoint {file} does not exist or is not a file")
    digest = sha256_file(file, progress=progress)
    with file.open("rb") as f:
        unpickler = _RestrictedUnpickler(f, file)
        try:
            content = unpickler.load()
        except WeightsError:
            raise
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError, IndexError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise WeightsError(f"{file} is not a readable network pickle (corrupt or truncated: {reason})") from None
    return Checkpoint(path=file, sha256=digest, content=content, allowed=sorted(unpickler.used))
