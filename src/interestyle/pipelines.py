"""``IntereStylePipeline``: invert, edit and style-mix photos through the diffusers ``DiffusionPipeline`` API.

diffusers is slow to import, so only this module imports it; ``interestyle.IntereStylePipeline`` loads it on first use.
The pipeline reads and writes the same folders as [`interestyle.load_encoder`][interestyle.load_encoder]
(``config.json`` + ``model.safetensors``, plus ``directions.safetensors`` when it has named directions), not diffusers'
``model_index.json`` layout.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from torch import Tensor
from typing_extensions import Self

from .directions import Direction, DirectionInput, DirectionSet, as_direction, shipped_directions
from .editing import LayerSpec, style_mix
from .editing import edit as edit_latents
from .hub import load_encoder
from .images import ImageInput, MaskInput, to_pil
from .inversion import invert
from .locate import HubOptions, resolve_model_folder
from .models.model import IntereStyleModel
from .pivotal import DEFAULT_STEPS
from .pivotal import refine as refine_inversion
from .results import LatentResult

__all__ = ["IntereStylePipeline"]

OutputType = Literal["pil", "np", "pt", "latent"]
_OUTPUT_TYPES = ("pil", "np", "pt", "latent")


class IntereStylePipeline(DiffusionPipeline):  # type: ignore[misc]  # diffusers is untyped
    """Photo in, edited photo out: IntereStyle inversion, then an optional style mix and edit.

    Args:
        model: an [`IntereStyleModel`][interestyle.IntereStyleModel].
        directions: named directions for ``edit="name"`` (loaded with the model when its folder holds
            ``directions.safetensors``).

    Example:
        ```python
        pipe = IntereStylePipeline.from_pretrained("path/or/org-name").to("cuda")
        out = pipe("photo.png", mask="mask.png", edit="smile", strength=[-2, 0, 2])
        out.images[0].save("less-smile.png")
        ```
    """

    model: IntereStyleModel
    directions: DirectionSet | None
    _optional_components = ["directions"]  # noqa: RUF012 (diffusers' class attribute)

    def __init__(self, model: IntereStyleModel, directions: DirectionSet | None = None) -> None:
        super().__init__()
        if not isinstance(model, IntereStyleModel):
            raise TypeError(f"model must be an IntereStyleModel (see load_encoder), got {type(model).__name__}")
        if directions is not None and not isinstance(directions, DirectionSet):
            raise TypeError(f"directions must be a DirectionSet or None, got {type(directions).__name__}")
        self.register_modules(model=model, directions=directions)  # type: ignore[attr-defined]

    # -- persistence: the load_encoder folder layout ---------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike[str],
        *,
        torch_dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        **kwargs: Any,
    ) -> Self:
        """Load a model folder or Hub repo (the folders [`interestyle.load_encoder`][interestyle.load_encoder] reads).

        Named directions come along when the folder holds ``directions.safetensors``. ``revision``, ``cache_dir``,
        ``local_files_only`` and ``token`` say how to fetch a Hub repository (see
        [`HubOptions`][interestyle.locate.HubOptions]).

        Raises:
            TypeError: a diffusers loading option this pipeline does not support (``variant``, ``device_map``, ...).
            FileNotFoundError / WeightsError / ConfigError / HubError: as
                [`interestyle.load_encoder`][interestyle.load_encoder].
        """
        if kwargs:
            raise TypeError(
                f"IntereStylePipeline.from_pretrained got unsupported arguments {sorted(kwargs)}; accepted: "
                "torch_dtype, device, revision, cache_dir, local_files_only, token"
            )
        hub = HubOptions(revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token)
        folder = resolve_model_folder(pretrained_model_name_or_path, hub)
        model = load_encoder(folder, device=device, dtype=torch_dtype)
        return cls(model=model, directions=shipped_directions(folder))

    def save_pretrained(self, save_directory: str | os.PathLike[str], **kwargs: Any) -> None:
        """Write ``config.json`` + ``model.safetensors`` (and the named directions) into ``save_directory``.

        The folder loads with [`interestyle.load_encoder`][interestyle.load_encoder] as well as with
        [`from_pretrained`][interestyle.pipelines.IntereStylePipeline.from_pretrained].
        """
        if kwargs:
            raise TypeError(f"IntereStylePipeline.save_pretrained got unsupported arguments {sorted(kwargs)}")
        folder = Path(save_directory)
        self.model.save_pretrained(folder)
        if self.directions is not None:
            self.directions.save_pretrained(folder)

    # -- inference -------------------------------------------------------------------------------------
    def _direction(self, edit: DirectionInput) -> Direction:
        if isinstance(edit, str) and not Path(edit).is_file():
            if self.directions is None:
                raise FileNotFoundError(
                    f"edit={edit!r} is neither a file nor a named direction: this pipeline has no directions "
                    "(put directions.safetensors in the model folder, or pass directions=DirectionSet(...))"
                )
            return self.directions[edit]
        return as_direction(edit, what="edit")

    @torch.no_grad()
    def __call__(
        self,
        image: ImageInput,
        mask: MaskInput | None = None,
        edit: DirectionInput | None = None,
        strength: float | list[float] | Tensor | np.ndarray = 1.0,
        style: ImageInput | Literal["random"] | None = None,
        *,
        layers: LayerSpec = None,
        style_layers: LayerSpec = "coarse",
        seed: int = 0,
        iterations: int | None = None,
        refine: bool | int = False,
        paste: bool | None = None,
        feather_px: float | None = None,
        batch_size: int = 8,
        output_type: OutputType = "pil",
        return_dict: bool = True,
    ) -> ImagePipelineOutput | tuple[Any]:
        """Invert ``image``, mix in ``style``, move along ``edit``, and return the images.

        The steps are those of [`interestyle.invert`][interestyle.invert], [`interestyle.refine`][interestyle.refine]
        (when asked), [`interestyle.style_mix`][interestyle.style_mix] and [`interestyle.edit`][interestyle.edit], in
        that order; with neither ``style`` nor ``edit`` it returns the reconstruction.

        Args:
            image: one photo or several (PIL, numpy, tensor, path or a list; see
                [`interestyle.invert`][interestyle.invert]).
            mask: the interest mask(s) (see [`interestyle.invert`][interestyle.invert]).
            edit: a direction name from `directions`, a [`Direction`][interestyle.Direction], a tensor, or a
                ``.npy`` / ``.safetensors`` file.
            strength: edit strength, or a list for a sweep: outputs are strength-major (all photos at the
                first strength, then the next).
            style: photo(s) whose ``style_layers`` replace the input's (one, or one per photo), or
                ``"random"`` for random styles seeded by ``seed``.
            layers: the style vectors the edit touches (default all; see
                [`interestyle.editing.resolve_layers`][interestyle.editing.resolve_layers]).
            style_layers: the style vectors taken from ``style`` (default ``"coarse"``).
            seed: seed of ``style="random"``.
            iterations: refinement steps of the inversion (default: the model's).
            refine: pivotal tuning inside ``mask`` after the inversion ([`interestyle.refine`][interestyle.refine]):
                True for its default steps, or a number of steps; the mix and the edit then decode with the tuned
                generator. One generator is tuned for all the photos of a call: call once per photo for the sharpest
                fit. Needs ``mask``.
            paste: paste the result into the photo through the feathered mask; default True when ``mask``
                is given.
            feather_px: sigma in pixels of the paste's soft edge (default resolution / 64).
            batch_size: images per forward pass.
            output_type: ``"pil"`` (list of PIL images), ``"np"`` ((N, R, R, 3) float32 in [0, 1]), ``"pt"``
                ((N, 3, R, R) float in [0, 1]) or ``"latent"`` (the W+ latents, (N, n_latent, style_dim)).
            return_dict: return an ``ImagePipelineOutput`` (else a one-element tuple).

        Returns:
            ``ImagePipelineOutput(images=...)`` with N = len(strengths) * B images.
        """
        if output_type not in _OUTPUT_TYPES:
            raise ValueError(f"output_type={output_type!r} is invalid: expected one of {list(_OUTPUT_TYPES)}")
        if paste and mask is None:
            raise ValueError("paste=True needs a mask: the photo is kept outside the interest mask")
        if isinstance(refine, bool):
            refine_steps = DEFAULT_STEPS if refine else None
        elif isinstance(refine, int) and refine >= 1:
            refine_steps = refine
        else:
            raise ValueError(f"refine={refine!r} is invalid: expected True, False or a number of steps >= 1")
        if refine_steps is not None and mask is None:
            raise ValueError("refine needs a mask: pivotal tuning fits the photo inside the interest mask")
        model = self.model
        direction = None if edit is None else self._direction(edit)
        inversion = invert(model, image, mask=mask, iterations=iterations, batch_size=batch_size)
        result: LatentResult = (
            inversion
            if refine_steps is None
            else refine_inversion(model, inversion, steps=refine_steps, progress=False)
        )
        if isinstance(style, str) and style == "random":
            result = style_mix(model, result, None, layers=style_layers, seed=seed, batch_size=batch_size)
        elif style is not None:
            styles = invert(model, style, iterations=iterations, batch_size=batch_size)
            result = style_mix(model, result, styles, layers=style_layers, batch_size=batch_size)
        if direction is not None:
            result = edit_latents(model, result, direction, strength, layers=layers, batch_size=batch_size)
        images: Any
        if output_type == "latent":
            images = result.latents
        else:
            pasted = paste if paste is not None else mask is not None
            images = _format(result.composite(feather_px=feather_px) if pasted else result.images, output_type)
        if not return_dict:
            return (images,)
        return ImagePipelineOutput(images=images)


def _format(images: Tensor, output_type: str) -> Any:
    if output_type == "pil":
        return to_pil(images)
    unit = ((images.float().clamp(-1, 1) + 1) / 2).cpu()
    if output_type == "np":
        return unit.permute(0, 2, 3, 1).numpy()
    return unit
