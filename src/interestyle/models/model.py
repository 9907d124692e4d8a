"""The inversion model: an encoder, a StyleGAN2 generator and the average latent, saved as safetensors.

State-dict names are those of the upstream pSp / e4e / ReStyle checkpoints: ``encoder.*``, ``decoder.*``
(the generator) and ``latent_avg``, so their weights map one-to-one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from einops import repeat
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from typing_extensions import Self

from ..config import ModelConfig, check_complete
from ..devices import resolve_device
from ..errors import ConfigError
from ..serialization import CHECKSUM_KEY, read_model_folder, read_state_dict, save_model_folder
from .encoders import build_encoder, use_channels_last
from .generator import GENERATOR_CLASS_NAME, Generator, NoiseMode

__all__ = ["IntereStyleModel", "avg_pool_resize"]


class _ShapesOnly(TorchFunctionMode):
    """For building a model on the meta device, where only shapes matter: ``torch.randn`` becomes
    ``torch.empty`` and in-place initialisers (``div_``, ``uniform_``, ...) of meta tensors do nothing.

    On the meta device these run Python decompositions whose argument checks import sympy: more than half a
    second of a first ``load_encoder``. The weights are loaded over these tensors anyway.
    """

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = dict(kwargs or {})
        if func is torch.randn:
            kwargs.pop("generator", None)
            return torch.empty(*args, **kwargs)
        name = getattr(func, "__name__", "")
        in_place = name.endswith("_") and not name.startswith("_")
        if in_place and args and isinstance(args[0], Tensor) and args[0].is_meta:
            return args[0]
        return func(*args, **kwargs)


def avg_pool_resize(images: Tensor, size: int) -> Tensor:
    """Square-resize (B, C, H, W) to (B, C, size, size).

    Downsampling by an integer factor is an average pool (ReStyle's ``face_pool``); anything else is
    antialiased bilinear interpolation.
    """
    h, w = images.shape[-2:]
    if (h, w) == (size, size):
        return images
    if h == w and h > size and h % size == 0:
        return F.avg_pool2d(images, h // size)
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


class IntereStyleModel(nn.Module):
    """Encoder + generator + ``latent_avg`` (n_latent, style_dim), built from a
    [`ModelConfig`][interestyle.config.ModelConfig].

    Images in and out are (B, 3, H, W) in [-1, 1]. The encoder sees them at ``config.encoder.input_size``;
    the generator makes them at ``config.generator.resolution``.

    Attributes:
        domain: what the model knows when that is narrower than photos of faces, or None: ``"synthetic"``
            for the embedded demo models ([`load_encoder`][interestyle.load_encoder] sets it), which know only the
            procedural faces of `interestyle.synthetic`; ``invert(..., align=True)`` then warns that a
            real photo will come back as a cartoon face.
    """

    latent_avg: Tensor
    domain: str | None = None

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        g = config.generator
        self.encoder = build_encoder(config.encoder, g.n_latent, g.style_dim)
        self.decoder = Generator(g)
        self.register_buffer("latent_avg", torch.zeros(g.n_latent, g.style_dim))
        self._average_image: tuple[tuple[object, ...], Tensor] | None = None

    # -- properties --------------------------------------------------------------------------------------
    @property
    def generator(self) -> Generator:
        """The StyleGAN2 generator (stored as ``decoder``, the upstream name)."""
        return self.decoder

    @property
    def n_latent(self) -> int:
        return self.config.generator.n_latent

    @property
    def style_dim(self) -> int:
        return self.config.generator.style_dim

    @property
    def resolution(self) -> int:
        """Side of the generated images."""
        return self.config.generator.resolution

    @property
    def input_size(self) -> int:
        """Side of the images the encoder sees."""
        return self.config.encoder.input_size

    @property
    def device(self) -> torch.device:
        return self.latent_avg.device

    @property
    def dtype(self) -> torch.dtype:
        return self.latent_avg.dtype

    # -- building blocks of inversion --------------------------------------------------------------------
    def decode(self, latents: Tensor, *, noise_mode: NoiseMode = "const") -> Tensor:
        """W+ latents (B, n_latent, style_dim) -> images (B, 3, R, R), roughly in [-1, 1]."""
        return self.decoder(latents, noise_mode=noise_mode)

    def to_encoder_size(self, images: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, S, S) with S the encoder's input size."""
        return avg_pool_resize(images, self.input_size)

    def initial_latents(self, batch: int) -> Tensor:
        """``latent_avg`` repeated: (batch, n_latent, style_dim)."""
        return repeat(self.latent_avg, "n d -> b n d", b=batch)

    def average_image(self) -> Tensor:
        """The generator's image of ``latent_avg`` at the encoder's size: (1, 3, S, S).

        Without gradients it is computed once and kept until a weight, buffer, device or dtype of the
        generator or ``latent_avg`` changes, so that inverting many batches does not decode it again for
        each one.
        """
        key = None if torch.is_grad_enabled() else self._average_image_key()
        if key is None:
            return self.to_encoder_size(self.decode(self.latent_avg[None]))
        if self._average_image is None or self._average_image[0] != key:
            # Computed outside inference mode: a cached inference tensor could not be used outside it later.
            with torch.inference_mode(False), torch.no_grad():
                image = self.to_encoder_size(self.decode(self.latent_avg[None]))
            self._average_image = (key, image)
        return self._average_image[1]

    def _average_image_key(self) -> tuple[object, ...] | None:
        """What the average image depends on; None when that cannot be tracked (inference tensors)."""
        tensors = [self.latent_avg, *self.decoder.parameters(), *self.decoder.buffers()]
        if any(t.is_inference() for t in tensors):
            return None
        return tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in tensors)

    def refine(
        self,
        images: Tensor,
        iterations: int,
        *,
        step_input: Callable[[int, Tensor], Tensor] | None = None,
        noise_mode: NoiseMode = "const",
        encoder: Callable[[Tensor], Tensor] | None = None,
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """Run the encoder ``iterations`` times and yield ``(latents, reconstruction)`` after each step.

        ReStyle's scheme: step 0 encodes ``[x, G(latent_avg)]`` and adds the result to ``latent_avg``;
        step t encodes ``[x, y_{t-1}]`` and adds it to ``w_{t-1}``. Latents and reconstructions fed back
        are detached, so a caller may take a loss at every step. A single-pass encoder (3 input channels)
        encodes ``x`` alone, once.

        Args:
            images: (B, 3, S, S) in [-1, 1] at the encoder's input size.
            iterations: refinement steps (1 for single-pass encoders).
            step_input: optional ``f(step, images) -> images`` giving what the encoder sees at each step
                (IntereStyle's Uninterest Filter blurs early steps); the target stays ``images``.
            noise_mode: generator noise (``"const"`` for deterministic inversion).
            encoder: the callable to run in place of ``self.encoder`` (a trainer's DDP-wrapped copy of it).

        Yields:
            latents (B, n_latent, style_dim) and reconstruction (B, 3, R, R) in roughly [-1, 1].
        """
        b = images.shape[0]
        if not self.config.iterative and iterations != 1:
            raise ValueError(f"a single-pass encoder (input_nc=3) runs 1 iteration, got iterations={iterations}")
        start = self.initial_latents(b) if self.config.start_from_latent_avg else None
        previous: Tensor | None = None
        feedback = self.average_image().expand(b, -1, -1, -1) if self.config.iterative else None
        for step in range(iterations):
            x = step_input(step, images) if step_input is not None else images
            if feedback is not None:
                x = torch.cat([x, feedback], dim=1)
            offset = (self.encoder if encoder is None else encoder)(x)
            base = previous if previous is not None else start
            latents = offset if base is None else offset + base
            reconstruction = self.decode(latents, noise_mode=noise_mode)
            yield latents, reconstruction
            previous = latents.detach()
            feedback = self.to_encoder_size(reconstruction.detach())

    def compile(self, *args: Any, **kwargs: Any) -> None:
        """Compile the encoder and the generator with `torch.compile`, in place (off by default).

        Arguments go to `torch.nn.Module.compile`. Everything that calls them (``refine``, ``decode``,
        [`interestyle.invert`][interestyle.invert]) then runs the compiled code. The first call at each new batch size
        compiles (a minute or more on a small CPU; the CPU backend needs a C++ compiler) and later calls reuse it: worth
        it for long runs only. Outputs stay within the parity tolerance of the eager path.
        """
        self.encoder.compile(*args, **kwargs)
        self.decoder.compile(*args, **kwargs)

    # -- persistence -------------------------------------------------------------------------------------
    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``directory`` (created), both or neither: an
        interrupted save leaves the old files, or a folder that refuses to load as incomplete. Returns the
        folder."""
        return save_model_folder(self.config.to_dict(), self.state_dict(), directory)

    @classmethod
    def from_pretrained(
        cls,
        directory: str | os.PathLike[str],
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> Self:
        """Load a local model folder (``config.json`` + ``*.safetensors``), in eval mode.

        Weights keep the dtype they were saved in unless ``dtype`` is given. For Hub repositories use
        [`interestyle.load_encoder`][interestyle.load_encoder].
        """
        device = None if device is None else resolve_device(device)
        config_dict, weights = read_model_folder(directory)
        if config_dict.get("_class_name") == GENERATOR_CLASS_NAME:
            raise ConfigError(
                f"{directory} holds a StyleGAN2 generator only, no encoder: load it with "
                "interestyle.models.generator.load_generator, or pair it with an encoder checkpoint: "
                f"interestyle convert ENCODER.pt --generator {directory} --out MODEL_DIR"
            )
        check_complete(config_dict, ModelConfig, f"{directory}/config.json")
        config = ModelConfig.from_dict(config_dict)
        with torch.device("meta"), _ShapesOnly():
            model = cls(config)
        expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        state = read_state_dict(weights, expected, config_dict.get(CHECKSUM_KEY))
        model.load_state_dict(state, strict=True, assign=True)
        use_channels_last(model.encoder)  # assign=True brought the file's NCHW tensors
        if device is not None or dtype is not None:
            model.to(device=device, dtype=dtype)
        return model.eval()
