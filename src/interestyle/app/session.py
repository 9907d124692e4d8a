"""What the editor does, as plain functions over the public API: no Gradio here, so it is easy to test.

[`Editor`][interestyle.app.session.Editor] holds the loaded model (and an optional baseline) and its edit directions;
every method takes and returns PIL images, tensors or text, and raises ValueError / TypeError / an InterestyleError with
a message fit for the page.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..directions import DirectionSet, principal_directions, shipped_directions
from ..editing import EditResult, edit, layer_groups, style_mix
from ..hub import load_encoder
from ..images import mask_to_pil, read_images, to_pil
from ..inversion import InversionResult, invert
from ..masks import available_mask_providers
from ..masks.resolve import resolve_mask
from ..metrics import masked_mse
from ..models.model import IntereStyleModel
from ..pivotal import DEFAULT_STEPS
from ..pivotal import refine as refine_inversion
from ..results import LatentResult
from ..serialization import atomic_write
from ..synthetic import DEMO_DOMAIN, make_batch
from ..validation import check_non_negative_int, check_positive_int

__all__ = ["DEFAULT_MODEL", "KEEP_RESULT_FOLDERS", "MIX_LAYERS", "REFINE_STEPS", "Editor", "Inversion", "ResultFolders"]

DEFAULT_MODEL: str | None = "demo"
"""The model the editor loads when none is given: the embedded demo model (None would make ``--model``
required)."""
MIX_LAYERS: tuple[str, ...] = ("coarse", "middle", "fine")
REFINE_STEPS = DEFAULT_STEPS
"""Steps of the pivotal tuning the "Refine" box runs ([`interestyle.refine`][interestyle.refine]'s default)."""
PCA_COUNT = 5
KEEP_RESULT_FOLDERS = 64
"""Result folders the page keeps on disk; older ones are deleted (see `ResultFolders`)."""

Progress = Callable[[float, str], None]


def _no_progress(fraction: float, text: str) -> None:
    del fraction, text


@dataclass
class Inversion:
    """One photo inverted by the model and, when there is one, the baseline.

    Attributes:
        result: the model's [`InversionResult`][interestyle.InversionResult] (one image); a
            [`RefinedResult`][interestyle.RefinedResult] when it was refined, whose tuned generator the edits then use.
        baseline: the baseline's, or None.
        errors: the interest-region MSE per name (``"IntereStyle"``, ``"IntereStyle, refined"``,
            ``"baseline"``), in [-1, 1] units.
    """

    result: InversionResult
    baseline: InversionResult | None = None
    errors: dict[str, float] = field(default_factory=dict)

    def error_text(self) -> str:
        """The errors as one line of Markdown."""
        parts = [f"**{name}** {value:.4f}" for name, value in self.errors.items()]
        return "Interest-region MSE (lower is better): " + " · ".join(parts)


def mask_from_pil(image: Image.Image) -> np.ndarray:
    """A painted mask (any mode; white = interest region) -> (H, W) float32 in [0, 1]."""
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


class Editor:
    """The state of the app that is shared by every visitor: models and directions, loaded once.

    Args:
        model: the inversion model.
        baseline: a second model to compare against (e.g. plain ReStyle), or None.
        directions: the sliders' edit directions; None computes ``PCA 1..5`` (GANSpace) from the model.
        refine_steps: the steps of [`interestyle.refine`][interestyle.refine] when a visitor asks for a refined
            inversion.
        name: what the page calls the model (its folder or repo id); ``baseline_name`` likewise.

    Attributes:
        labels: each direction's slider label, by direction name.
    """

    def __init__(
        self,
        model: IntereStyleModel,
        *,
        baseline: IntereStyleModel | None = None,
        directions: DirectionSet | None = None,
        refine_steps: int = REFINE_STEPS,
        name: str | None = None,
        baseline_name: str | None = None,
    ) -> None:
        if not isinstance(model, IntereStyleModel):
            raise TypeError(f"model must be an IntereStyleModel (see load_encoder), got {type(model).__name__}")
        self.refine_steps = check_positive_int(refine_steps, "refine_steps")
        if baseline is not None and baseline.resolution != model.resolution:
            raise ValueError(
                f"the baseline makes {baseline.resolution}px images and the model {model.resolution}px; "
                "compare models of one resolution"
            )
        self.model = model
        self.baseline = baseline
        self.name = name or f"a {model.config.method} model given in Python"
        self.baseline_name = None if baseline is None else baseline_name or "a second model given in Python"
        if directions is None:
            directions = principal_directions(model, min(PCA_COUNT, model.style_dim), progress=False)
            self.labels = {f"pc{k}": f"PCA {k + 1}" for k in range(len(directions))}
        else:
            self.labels = {name: name for name in directions}
        self.directions = directions

    @classmethod
    def load(
        cls,
        model: str | os.PathLike[str] | None = DEFAULT_MODEL,
        *,
        baseline: str | os.PathLike[str] | None = None,
        device: torch.device | str | None = None,
        refine_steps: int = REFINE_STEPS,
    ) -> Editor:
        """Load the model (and baseline) with [`interestyle.load_encoder`][interestyle.load_encoder], and the directions
        it ships.

        The directions are a ``directions.safetensors`` set in the model's folder or repository
        (`DirectionSet.from_pretrained`); without one, the sliders are the model's first principal
        directions, named ``PCA 1`` ... ``PCA 5``.
        """
        if model is None:
            raise ValueError("no model given: pass --model with a model folder or Hugging Face Hub repo id")
        loaded = load_encoder(model, device=device)
        other = None if baseline is None else load_encoder(baseline, device=device)
        return cls(
            loaded,
            baseline=other,
            directions=shipped_directions(model),
            refine_steps=refine_steps,
            name=str(model),
            baseline_name=None if baseline is None else str(baseline),
        )

    def describe(self) -> str:
        """Which model (and baseline) the page runs, as one line of Markdown."""
        text = f"**Model:** `{self.name}` ({self.resolution} px)"
        if self.model.domain == "synthetic":
            text += (
                ", the embedded demo model: it knows only synthetic faces, so a real photo comes back as a "
                "cartoon face; start the app with `--model` for real photos"
            )
        if self.baseline is not None:
            text += f". **Baseline:** `{self.baseline_name}`"
        return text + "."

    @property
    def resolution(self) -> int:
        return self.model.resolution

    @staticmethod
    def mask_providers() -> list[str]:
        """The registered interest-mask providers
        ([`interestyle.available_mask_providers`][interestyle.available_mask_providers])."""
        return available_mask_providers()

    def sample(self, seed: int) -> Image.Image:
        """A synthetic occluded face at the model's resolution
        ([`interestyle.synthetic.make_batch`][interestyle.synthetic.make_batch])."""
        seed = check_non_negative_int(seed, "sample number")
        batch = make_batch(1, size=self.resolution, seed=seed, condition="occluded", domain=DEMO_DOMAIN)
        return to_pil(batch.image)[0]

    def mask(self, image: Image.Image, provider: str) -> Image.Image:
        """The interest mask of ``image`` from a registered provider, grayscale, at the image's size.

        The provider runs at the model's resolution; the mask is resized back so that it lies over the photo, whatever
        its aspect ratio, and can be painted on and passed to [`invert`][interestyle.app.session.Editor.invert] as is.
        """
        masks = resolve_mask(provider, read_images(image, what="image"), self.resolution)
        assert masks is not None
        return mask_to_pil(masks[0])[0].resize(image.size, Image.Resampling.BILINEAR)

    def invert(
        self,
        image: Image.Image,
        mask: Image.Image | None,
        *,
        align: bool = False,
        refine: bool = False,
        progress: Progress = _no_progress,
    ) -> Inversion:
        """Invert ``image`` (with ``mask``, white = interest) with the model and the baseline.

        With ``align`` the photo's first face is found and aligned first (``invert(..., align=True)``); the mask then
        applies to the aligned crop. With ``refine`` the model's inversion is then refined inside the mask
        ([`interestyle.refine`][interestyle.refine] for `refine_steps`, a progress bar over the steps); the baseline's
        is left as it is, for comparison. The errors are
        [`interestyle.metrics.masked_mse`][interestyle.metrics.masked_mse] of each reconstruction against the input
        inside the mask (the whole image without one).

        Raises:
            ValueError: ``refine`` without a mask (refining fits the inside of the mask).
        """
        if refine and mask is None:
            raise ValueError("refining fits the photo inside its interest mask: pick or paint a mask first")
        spec = None if mask is None else mask_from_pil(mask)
        models = [("IntereStyle", self.model)] + ([("baseline", self.baseline)] if self.baseline else [])
        results: dict[str, InversionResult] = {}
        for k, (name, model) in enumerate(models):
            progress(k / len(models), f"inverting with {name}")
            results[name] = invert(model, image, mask=spec, align=align, progress=False)
            if align:
                results[name] = _first_face(results[name])
        if refine:
            progress(len(models) / (len(models) + 1), f"refining ({self.refine_steps} steps)")
            inverted = results["IntereStyle"]
            results["IntereStyle, refined"] = refine_inversion(
                self.model, inverted, steps=self.refine_steps, progress=True
            )
        progress(1.0, "done")
        errors = {}
        for name, r in results.items():
            errors[name] = float(masked_mse(r.images.clamp(-1, 1), r.inputs, r.masks)[0])
        shown = results.get("IntereStyle, refined", results["IntereStyle"])
        return Inversion(result=shown, baseline=results.get("baseline"), errors=errors)

    def edit(self, inversion: Inversion, strengths: Mapping[str, float]) -> InversionResult | EditResult:
        """Apply the sliders: the sum of each named direction's offset at its strength, as [`edit`][interestyle.edit]
        applies it (from the inversion's latents), one decode.

        With every strength at zero the inversion itself is returned (there is nothing to edit).

        Raises:
            UnknownDirectionError: a name the model does not ship.
        """
        model = self.model
        latents = inversion.result.latents[:1].detach().cpu().float()
        total = torch.zeros(model.n_latent, model.style_dim)
        for name, strength in strengths.items():
            direction = self.directions[name]
            if strength:  # a slider at zero is no edit, also for a direction whose strength is a coordinate
                total += direction.offsets(latents, torch.tensor([float(strength)]))[0, 0]
        longest = float(total.norm(dim=-1).max())
        if longest == 0.0:
            return inversion.result
        # edit() rescales a direction to unit length (longest row): the strength carries the length back
        return edit(model, inversion.result, total, longest, progress=False)

    def mix(self, inversion: Inversion, style: Image.Image, layers: str) -> EditResult:
        """Style-mix the inverted photo with a second image on the coarse, middle or fine style vectors."""
        if layers not in MIX_LAYERS:
            raise ValueError(f"layers={layers!r} is invalid: expected one of {list(MIX_LAYERS)}")
        other = invert(self.model, style, progress=False)
        return style_mix(self.model, inversion.result, other, layers=layers, progress=False)

    def slider_range(self, name: str) -> tuple[float, float, float]:
        """(minimum, maximum, step) of the slider of direction ``name``, in the direction's units: twice its
        recommended strength either way when it records one (the demo model's grey hair: 2 x 0.9 = 1.8 ranges of
        the attribute), else -5 to 5.

        Raises:
            KeyError: ``name`` is not one of the editor's directions.
        """
        recommended = self.directions[name].strength
        if recommended is None:
            return -5.0, 5.0, 0.1
        top = float(f"{2 * recommended:.2g}")
        return -top, top, top / 50

    def layer_help(self) -> str:
        """Which style vectors coarse / middle / fine mean for this model, as text."""
        groups = layer_groups(self.model.n_latent)
        return ", ".join(f"{k} {r.start}-{r.stop - 1}" for k, r in groups.items() if k != "all")

    @staticmethod
    def shown(result: LatentResult) -> Image.Image:
        """What the page shows of a result: pasted into the photo through the mask when there is one."""
        images = result.composite() if result.masks is not None and result.inputs is not None else result.images
        return to_pil(images[:1])[0]

    @staticmethod
    def save(image: Image.Image, latents: Tensor, folder: str | os.PathLike[str] | None = None) -> tuple[Path, Path]:
        """Write ``image`` as PNG and ``latents`` (1, n_latent, style_dim) as safetensors (tensor ``latents``).

        Returns:
            (the PNG path, the safetensors path), in a new temporary folder unless ``folder`` is given.
        """
        from safetensors.torch import save_file

        out = Path(tempfile.mkdtemp(prefix="interestyle-app-") if folder is None else folder)
        png, weights = out / "interestyle.png", out / "interestyle-latents.safetensors"
        atomic_write(png, lambda tmp: image.save(tmp, format="PNG"))
        data = {"latents": latents.detach().float().cpu().contiguous()}
        atomic_write(weights, lambda tmp: save_file(data, str(tmp), metadata={"format": "pt"}))
        return png, weights


class ResultFolders:
    """A fresh folder per request for the files it returns (the images shown, the downloads), under one
    temporary folder, of which only the newest ``keep`` stay on disk (all go when this object does).

    Gradio serves copies it makes as soon as a request ends, so an older folder is only disk space: without
    a bound, a server left running fills its temporary folder, several files per click.

    Args:
        keep: how many folders to keep, >= 1.
    """

    def __init__(self, keep: int = KEEP_RESULT_FOLDERS) -> None:
        self.keep = check_positive_int(keep, "keep")
        self.root = Path(tempfile.mkdtemp(prefix="interestyle-app-"))
        self._made: deque[Path] = deque()
        self._lock = threading.Lock()  # requests of different events run in different threads
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.root, ignore_errors=True)

    def new(self) -> Path:
        """A new empty folder; the oldest beyond ``keep`` is deleted."""
        with self._lock:
            folder = Path(tempfile.mkdtemp(dir=self.root))
            self._made.append(folder)
            while len(self._made) > self.keep:
                shutil.rmtree(self._made.popleft(), ignore_errors=True)
        return folder


def _first_face(result: InversionResult) -> InversionResult:
    """The first aligned face of a one-photo ``invert(..., align=True)``: the editor shows one face."""
    return InversionResult(
        latents=result.latents[:1],
        step_latents=result.step_latents[:, :1],
        images=result.images[:1],
        inputs=result.inputs[:1],
        masks=None if result.masks is None else result.masks[:1],
    )
