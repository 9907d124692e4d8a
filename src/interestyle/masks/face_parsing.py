"""``face-parsing``: interest masks from the BiSeNet face-parsing network and a choice of classes.

Labels are those of zllrunning/face-parsing.PyTorch (``79999_iter.pth``), not CelebAMask-HQ's own order:
0 background, 1 skin, 2-3 brows, 4-5 eyes, 6 eyeglasses, 7-8 ears, 9 earring, 10 nose, 11 mouth,
12-13 lips, 14 neck, 15 necklace, 16 cloth, 17 hair, 18 hat. IntereStyle's interest region is face + hair:
[`DEFAULT_INTEREST`][interestyle.masks.face_parsing.DEFAULT_INTEREST]. Whatever the network labels otherwise (hats,
glasses, hands and microphones, which it sees as background or cloth) is the uninterest region.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from typing_extensions import Self

from ..errors import ConfigError
from ..locate import HubOptions, resolve_model_folder
from ..serialization import CHECKSUM_KEY, read_model_folder, read_state_dict, save_model_folder
from ..validation import check_int
from .bisenet import BiSeNet
from .morphology import check_size, dilate_mask, feather_mask

__all__ = [
    "DEFAULT_INTEREST",
    "FACE_PARSING_ENV",
    "LABELS",
    "FaceParser",
    "face_parsing_provider",
    "interest_from_labels",
    "interest_from_probabilities",
    "interest_indices",
]

LABELS: tuple[str, ...] = (
    "background",
    "skin",
    "l_brow",
    "r_brow",
    "l_eye",
    "r_eye",
    "eye_g",
    "l_ear",
    "r_ear",
    "ear_r",
    "nose",
    "mouth",
    "u_lip",
    "l_lip",
    "neck",
    "neck_l",
    "cloth",
    "hair",
    "hat",
)
"""Class names of the face-parsing checkpoint, by label index (upstream's CelebAMask-HQ attribute names)."""

DEFAULT_INTEREST: tuple[int, ...] = (1, 2, 3, 4, 5, 7, 8, 10, 11, 12, 13, 17)
"""Face + hair: skin, brows, eyes, ears, nose, mouth, lips and hair, the interest region of the IntereStyle paper
(Moon & Park, WACV 2023; see docs/masks.md)."""

FACE_PARSING_ENV = "INTERESTYLE_FACE_PARSING"
"""Environment variable naming the weights (a local folder or a Hub repo id) for ``mask="face-parsing"``."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INPUT_SIZE = 512  # the public weights were trained on 512 x 512 crops


def interest_indices(classes: Iterable[int | str], n_classes: int = len(LABELS)) -> tuple[int, ...]:
    """Normalise a choice of interest classes (label indices or [`LABELS`][interestyle.masks.face_parsing.LABELS] names)
    to sorted indices.

    Raises:
        ValueError: an empty choice, an index outside [0, n_classes), or an unknown name.
        TypeError: an entry that is neither an int nor a str.
    """
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Iterable):
        raise TypeError(f"interest classes must be a collection of label indices or names, got {classes!r}")
    out = set()
    for c in classes:
        if isinstance(c, str):
            if c not in LABELS:
                raise ValueError(f"unknown face-parsing class {c!r}; known: {', '.join(LABELS)}")
            index = LABELS.index(c)
        elif isinstance(c, int) and not isinstance(c, bool):
            index = int(c)
        else:
            raise TypeError(f"interest class {c!r} must be a label index (int) or a name (str)")
        if not 0 <= index < n_classes:
            raise ValueError(f"interest class {c!r} is outside the network's labels 0..{n_classes - 1}")
        out.add(index)
    if not out:
        raise ValueError("interest classes are empty: choose at least one label (default: DEFAULT_INTEREST)")
    return tuple(sorted(out))


def interest_from_labels(
    labels: Tensor, classes: Iterable[int | str] = DEFAULT_INTEREST, *, n_classes: int = len(LABELS)
) -> Tensor:
    """Hard mask from a label map: 1 where the label is an interest class.

    Args:
        labels: (B, H, W) integer label map with values in [0, n_classes).
        classes: interest classes (indices or [`LABELS`][interestyle.masks.face_parsing.LABELS] names).
        n_classes: number of labels of the network.

    Returns:
        (B, 1, H, W) float32 in {0, 1}.

    Raises:
        ValueError: not an integer (B, H, W) tensor, or a label outside [0, n_classes).
    """
    if (
        not isinstance(labels, Tensor)
        or labels.ndim != 3
        or labels.dtype.is_floating_point
        or labels.dtype == torch.bool
    ):
        what = f"{tuple(labels.shape)} {labels.dtype}" if isinstance(labels, Tensor) else type(labels).__name__
        raise ValueError(f"labels must be an integer tensor of shape (B, H, W), got {what}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(
            f"labels hold values in [{int(labels.min())}, {int(labels.max())}], outside the network's labels "
            f"0..{n_classes - 1}"
        )
    table = torch.zeros(n_classes, dtype=torch.float32, device=labels.device)
    table[list(interest_indices(classes, n_classes=n_classes))] = 1.0
    return table[labels.long()][:, None]


def interest_from_probabilities(probabilities: Tensor, classes: Iterable[int | str] = DEFAULT_INTEREST) -> Tensor:
    """Soft mask: the total probability of the interest classes.

    Args:
        probabilities: (B, C, H, W), softmax over C.
        classes: interest classes (indices or [`LABELS`][interestyle.masks.face_parsing.LABELS] names).

    Returns:
        (B, 1, H, W) in [0, 1].
    """
    if not isinstance(probabilities, Tensor) or probabilities.ndim != 4:
        what = tuple(probabilities.shape) if isinstance(probabilities, Tensor) else type(probabilities).__name__
        raise ValueError(f"probabilities must have shape (B, C, H, W), got {what}")
    index = list(interest_indices(classes, n_classes=probabilities.shape[1]))
    return probabilities[:, index].sum(dim=1, keepdim=True).clamp(0.0, 1.0)


class FaceParser(nn.Module):
    """The ``face-parsing`` mask provider: BiSeNet, interest classes, then optional dilation and feathering.

    Calling it maps images (B, 3, H, W) in [-1, 1] to masks (B, 1, H, W) in [0, 1]. The images are
    resized to 512 x 512 and ImageNet-normalised as the network was trained; the mask comes back at
    (H, W). It declares ``resolution`` (512) and its parameters' ``device``, so ``invert`` hands it
    images already at that size and place.

    Args:
        net: the network with its weights loaded (usually via
            [`from_pretrained`][interestyle.masks.face_parsing.FaceParser.from_pretrained]).
        interest_classes: labels counted as interest (indices or [`LABELS`][interestyle.masks.face_parsing.LABELS]
            names); default face + hair.
        soft: True: the summed probability of the interest classes; False: 1 where the most likely
            label is an interest class, else 0 (kept binary when resized, unless feathered).
        dilate_px256: grow the mask by this many pixels at 256 x 256 (0: no dilation).
        feather_px256: Gaussian edge softening, sigma in pixels at 256 x 256 (0: none).
        input_size: the side the network sees (512, the training size of the public weights; smaller is
            faster and coarser).
    """

    name = "face-parsing"
    mean: Tensor
    std: Tensor

    def __init__(
        self,
        net: BiSeNet,
        *,
        interest_classes: Iterable[int | str] = DEFAULT_INTEREST,
        soft: bool = True,
        dilate_px256: float = 0.0,
        feather_px256: float = 0.0,
        input_size: int = INPUT_SIZE,
    ) -> None:
        super().__init__()
        self.resolution = check_int(input_size, "input_size", minimum=32, note="512 for public weights")
        if not isinstance(net, BiSeNet):
            raise TypeError(f"net must be a BiSeNet, got {type(net).__name__}")
        self.net = net.eval()
        self.interest_classes = interest_indices(interest_classes, n_classes=net.n_classes)
        self.soft = bool(soft)
        self.dilate_px256 = check_size(dilate_px256, "dilate_px256")
        self.feather_px256 = check_size(feather_px256, "feather_px256")
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.net.parameters()).dtype

    def normalise(self, images: Tensor) -> Tensor:
        """[-1, 1] RGB -> ImageNet-normalised, resized to ``resolution`` (bilinear, antialiased)."""
        x = (images.to(self.device, torch.float32) + 1.0) / 2.0
        if x.shape[-2:] != (self.resolution, self.resolution):
            x = F.interpolate(x, size=(self.resolution,) * 2, mode="bilinear", antialias=True, align_corners=False)
        return (x - self.mean) / self.std

    @torch.no_grad()
    def logits(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, n_classes, R, R) float32 logits, R = ``resolution``."""
        _check_images(images)
        x = self.normalise(images).to(self.dtype)
        out = self.net(x)
        assert isinstance(out, Tensor)
        return out.float()

    @torch.no_grad()
    def labels(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, H, W) int64 label map (argmax, resized to (H, W) by nearest)."""
        logits = self.logits(images)
        labels = logits.argmax(dim=1, keepdim=True).float()
        return F.interpolate(labels, size=images.shape[-2:], mode="nearest")[:, 0].long()

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, 1, H, W) float32 interest masks in [0, 1], on the images' device."""
        logits = self.logits(images)
        if self.soft:
            masks = interest_from_probabilities(logits.softmax(dim=1), self.interest_classes)
        else:
            masks = interest_from_labels(logits.argmax(dim=1), self.interest_classes, n_classes=self.net.n_classes)
        masks = dilate_mask(masks, self.dilate_px256) if self.dilate_px256 else masks
        masks = feather_mask(masks, self.feather_px256) if self.feather_px256 else masks
        if masks.shape[-2:] != images.shape[-2:]:
            if self.soft or self.feather_px256:
                masks = F.interpolate(masks, images.shape[-2:], mode="bilinear", antialias=True, align_corners=False)
            else:  # a hard mask stays hard
                masks = F.interpolate(masks, images.shape[-2:], mode="nearest")
        return masks.clamp(0.0, 1.0).to(images.device)

    # -- persistence -------------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """What ``config.json`` records: the network, not the mask options."""
        return {
            "_class_name": "FaceParser",
            "architecture": "bisenet",
            "n_classes": self.net.n_classes,
            "input_size": self.resolution,
            "labels": list(LABELS) if self.net.n_classes == len(LABELS) else None,
        }

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (upstream key names) into ``directory``."""
        return save_model_folder(self.config(), self.net.state_dict(), directory)

    @classmethod
    def from_pretrained(
        cls,
        repo_id_or_path: str | os.PathLike[str],
        *,
        interest_classes: Iterable[int | str] = DEFAULT_INTEREST,
        soft: bool = True,
        dilate_px256: float = 0.0,
        feather_px256: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
    ) -> Self:
        """Load the parser from a local folder or a Hub repository (``config.json`` + ``model.safetensors``).

        Such a folder is written by [`save_pretrained`][interestyle.masks.face_parsing.FaceParser.save_pretrained]; the
        public ``79999_iter.pth`` is converted to one with
        [`bisenet_state_dict_from_checkpoint`][interestyle.masks.bisenet.bisenet_state_dict_from_checkpoint]. Nothing is
        unpickled. ``interest_classes``, ``soft``, ``dilate_px256`` and ``feather_px256`` are
        [`FaceParser`][interestyle.masks.face_parsing.FaceParser]'s; ``device`` and ``dtype`` place the network;
        ``revision``, ``cache_dir``, ``local_files_only`` and ``token`` say how to fetch a Hub repository
        ([`HubOptions`][interestyle.locate.HubOptions]).

        Args:
            repo_id_or_path: a local folder or a Hub repo id.

        Raises:
            FileNotFoundError: no such folder, or it lacks ``config.json`` or weights.
            ConfigError: the folder holds another kind of model, or a bad ``n_classes``.
            WeightsError: pickled, corrupt or mismatched weights.
            HubError: a repository that cannot be fetched.
        """
        hub = HubOptions(revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token)
        folder = resolve_model_folder(repo_id_or_path, hub)
        config, weights = read_model_folder(folder)
        kind = config.get("_class_name")
        if kind != "FaceParser" or config.get("architecture", "bisenet") != "bisenet":
            raise ConfigError(
                f"{folder} holds a {kind!r} model, not a face parser (config.json needs "
                "'_class_name': 'FaceParser', 'architecture': 'bisenet')"
            )
        n_classes = config.get("n_classes", len(LABELS))
        input_size = config.get("input_size", INPUT_SIZE)
        where = folder / "config.json"
        n_classes = check_int(n_classes, f"{where}: n_classes", minimum=2, error=ConfigError)
        input_size = check_int(input_size, f"{where}: input_size", minimum=32, error=ConfigError)
        with torch.device("meta"):
            net = BiSeNet(n_classes)
        state = read_state_dict(
            weights, {k: tuple(v.shape) for k, v in net.state_dict().items()}, config.get(CHECKSUM_KEY)
        )
        net.load_state_dict(state, strict=True, assign=True)
        if device is not None or dtype is not None:
            net.to(device=device, dtype=dtype)
        parser = cls(
            net,
            interest_classes=interest_classes,
            soft=soft,
            dilate_px256=dilate_px256,
            feather_px256=feather_px256,
            input_size=input_size,
        )
        return parser.to(parser.device)

    def extra_repr(self) -> str:
        options = f"soft={self.soft}, dilate_px256={self.dilate_px256}, feather_px256={self.feather_px256}"
        return f"interest_classes={self.interest_classes}, {options}"


def _check_images(images: Tensor) -> None:
    if not isinstance(images, Tensor) or images.ndim != 4 or images.shape[1] != 3:
        what = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"face parser expects images of shape (B, 3, H, W) in [-1, 1], got {what}")
    if not images.dtype.is_floating_point:
        raise TypeError(f"face parser expects float images in [-1, 1], got dtype {images.dtype}")


def face_parsing_provider(
    weights: str | os.PathLike[str] | None = None,
    *,
    interest_classes: Iterable[int | str] = DEFAULT_INTEREST,
    soft: bool = True,
    dilate_px256: float = 0.0,
    feather_px256: float = 0.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> FaceParser:
    """Factory of the registered ``face-parsing`` provider:
    [`FaceParser.from_pretrained`][interestyle.masks.face_parsing.FaceParser.from_pretrained] of ``weights``.

    Args:
        weights: a local folder or Hub repo id holding converted weights; default: the environment variable
            ``INTERESTYLE_FACE_PARSING``.
        interest_classes: labels counted as interest (see [`FaceParser`][interestyle.masks.face_parsing.FaceParser]).
        soft: summed probabilities (True) or argmax (False).
        dilate_px256: growth in pixels at 256 x 256.
        feather_px256: edge sigma in pixels at 256 x 256.
        device: where to put the network.
        dtype: floating dtype of the weights.
        revision: Hub branch, tag or commit (these four: see [`HubOptions`][interestyle.locate.HubOptions]).
        cache_dir: Hugging Face cache folder.
        local_files_only: use the cache only, never the network.
        token: Hub token for private or gated repositories.

    Raises:
        FileNotFoundError: no weights given and the environment variable is unset.
    """
    source = weights if weights is not None else os.environ.get(FACE_PARSING_ENV)
    if not source:
        raise FileNotFoundError(
            "the 'face-parsing' mask provider needs BiSeNet weights: convert the public checkpoint of "
            "zllrunning/face-parsing.PyTorch once with `interestyle convert 79999_iter.pth --out DIR`, then give "
            f"DIR (or a Hub repo id holding such a folder): `--option weights=DIR` with interestyle masks, "
            f"{FACE_PARSING_ENV}=DIR in the environment for every command, or weights=DIR in Python"
        )
    hub = HubOptions(revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token)
    return FaceParser.from_pretrained(
        resolve_model_folder(source, hub),
        interest_classes=interest_classes,
        soft=soft,
        dilate_px256=dilate_px256,
        feather_px256=feather_px256,
        device=device,
        dtype=dtype,
    )
