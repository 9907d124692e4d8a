"""StyleGAN2 generator (config F) in the community state-dict layout.

Parameter and buffer names follow rosinality/stylegan2-pytorch's ``Generator`` (the layout of its
``g_ema`` checkpoints and of the pSp / e4e / ReStyle ``decoder``), so official weights load with
``strict=True``: ``style.{1..n_mlp}``, ``input.input``, ``conv1``, ``to_rgb1``, ``convs.N``, ``to_rgbs.N``,
``noises.noise_N``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from einops import repeat
from torch import Tensor, nn

from ..config import GeneratorConfig, check_complete
from ..devices import resolve_device
from ..errors import ConfigError
from ..nn.equalized import EqualLinear, FusedLeakyReLU
from ..nn.modulated import ModulatedConv2d, NoiseInjection
from ..nn.resample import Upsample
from ..serialization import CHECKSUM_KEY, read_model_folder, read_state_dict, save_model_folder

__all__ = ["Generator", "NoiseMode", "load_generator", "save_generator"]

_LRELU_GAIN = math.sqrt(2.0)

NoiseMode = Literal["const", "random", "none"]
NOISE_MODES: tuple[str, ...] = ("const", "random", "none")
INPUT_SPACES: tuple[str, ...] = ("z", "w", "w+")


class PixelNorm(nn.Module):
    """Normalises each latent vector to unit root-mean-square."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


class ConstantInput(nn.Module):
    """The learned 4x4 input; parameter ``input`` of shape (1, C, 4, 4)."""

    def __init__(self, channels: int, size: int = 4) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int) -> Tensor:
        return self.input.expand(batch, -1, -1, -1)


class StyledConv(nn.Module):
    """Modulated 3x3 convolution, noise, bias and leaky ReLU (keys ``conv``, ``noise``, ``activate``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        style_dim: int,
        *,
        upsample: bool,
        blur_kernel: tuple[int, ...],
    ) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, style_dim, upsample=upsample, blur_kernel=blur_kernel)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channels)

    def forward(self, x: Tensor, style: Tensor, noise: Tensor | None, *, inplace: bool = False) -> Tensor:
        """(B, C_in, H, W) -> (B, C_out, H', W'): ``lrelu(conv(x) * demod + noise_weight * noise + bias) * sqrt(2)``.

        One pass over the output does the demodulation, the bias and the activation gain (leaky ReLU is
        positively homogeneous, so the sqrt(2) gain moves inside it), one more adds the noise, a third
        activates. ``inplace=True`` (no gradients; the caller is done with ``x``) also reuses the buffers of
        ``x`` and of the convolution's output.
        """
        out, gain = self.conv.forward_with_gain(x, style, inplace=inplace)
        bias = (self.activate.bias * _LRELU_GAIN).view(1, -1, 1, 1)
        target = out if inplace else None
        if gain is None:
            y = torch.add(bias, out, alpha=_LRELU_GAIN, out=target)
        else:
            y = torch.addcmul(bias, out, (gain * _LRELU_GAIN)[:, :, None, None], out=target)
        if noise is not None:
            y.add_(noise * (self.noise.weight * _LRELU_GAIN))
        return F.leaky_relu(y, 0.2, inplace=True)


class ToRGB(nn.Module):
    """1x1 modulated convolution to RGB, plus the upsampled skip from the previous resolution."""

    def __init__(self, in_channels: int, style_dim: int, *, upsample: bool, blur_kernel: tuple[int, ...]) -> None:
        super().__init__()
        if upsample:
            self.upsample = Upsample(blur_kernel)
        self.conv = ModulatedConv2d(in_channels, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: Tensor, style: Tensor, skip: Tensor | None = None) -> Tensor:
        out = self.conv(x, style) + self.bias
        if skip is not None:
            out = out + self.upsample(skip)
        return out


class Generator(nn.Module):
    """StyleGAN2 generator.

    Call it with latents in Z, W or W+ (see [`forward`][interestyle.models.generator.Generator.forward]); images come
    out as (B, 3, R, R), roughly in [-1, 1] (not clipped), where R is ``config.resolution``.
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.style_dim
        widths = config.widths()
        kernel = config.blur_kernel

        layers: list[nn.Module] = [PixelNorm()]
        layers += [EqualLinear(dim, dim, lr_mul=config.lr_mlp, activation=True) for _ in range(config.n_mlp)]
        self.style = nn.Sequential(*layers)

        self.input = ConstantInput(widths[4])
        self.conv1 = StyledConv(widths[4], widths[4], dim, upsample=False, blur_kernel=kernel)
        self.to_rgb1 = ToRGB(widths[4], dim, upsample=False, blur_kernel=kernel)

        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for i in range(config.num_layers):
            res = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, res, res))
        in_ch = widths[4]
        for log_res in range(3, config.log_size + 1):
            out_ch = widths[2**log_res]
            self.convs.append(StyledConv(in_ch, out_ch, dim, upsample=True, blur_kernel=kernel))
            self.convs.append(StyledConv(out_ch, out_ch, dim, upsample=False, blur_kernel=kernel))
            self.to_rgbs.append(ToRGB(out_ch, dim, upsample=True, blur_kernel=kernel))
            in_ch = out_ch

    @property
    def n_latent(self) -> int:
        return self.config.n_latent

    def mapping(self, z: Tensor) -> Tensor:
        """Mapping network: z (B, style_dim) -> w (B, style_dim)."""
        return self.style(z)

    @torch.no_grad()
    def mean_latent(self, n: int = 4096, *, seed: int = 0) -> Tensor:
        """Average w of ``n`` samples of z ~ N(0, I): (1, style_dim). Used as ``latent_avg``."""
        p = next(self.parameters())
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.config.style_dim, generator=gen).to(p.device, p.dtype)
        return self.mapping(z).mean(0, keepdim=True)

    def const_noise(self) -> list[Tensor]:
        """The stored noise maps ``noises.noise_0 ...``, each (1, 1, r, r)."""
        return [getattr(self.noises, f"noise_{i}") for i in range(self.config.num_layers)]

    def to_w_plus(
        self,
        latents: Tensor,
        *,
        input_space: Literal["z", "w", "w+"] = "w+",
        truncation: float = 1.0,
        truncation_latent: Tensor | None = None,
    ) -> Tensor:
        """Turn z (B, D), w (B, D) or W+ (B, n_latent, D) into W+ (B, n_latent, D), with truncation."""
        if input_space not in INPUT_SPACES:
            raise ValueError(f"input_space={input_space!r} is invalid: expected one of {list(INPUT_SPACES)}")
        dim, n = self.config.style_dim, self.n_latent
        expected = (n, dim) if input_space == "w+" else (dim,)
        if not isinstance(latents, Tensor) or latents.ndim != len(expected) + 1 or latents.shape[1:] != expected:
            shape = tuple(latents.shape) if isinstance(latents, Tensor) else type(latents).__name__
            raise ValueError(f"{input_space} latents must have shape (B, {', '.join(map(str, expected))}), got {shape}")
        w = self.mapping(latents) if input_space == "z" else latents
        if truncation != 1.0:
            if truncation_latent is None:
                raise ValueError("truncation != 1 needs truncation_latent (the model's latent_avg)")
            w = truncation_latent + truncation * (w - truncation_latent)
        if w.ndim == 2:
            w = repeat(w, "b d -> b n d", n=n)  # the same style vector for every layer
        return w

    def forward(
        self,
        latents: Tensor,
        *,
        input_space: Literal["z", "w", "w+"] = "w+",
        truncation: float = 1.0,
        truncation_latent: Tensor | None = None,
        noise_mode: NoiseMode = "const",
        noise: list[Tensor] | None = None,
    ) -> Tensor:
        """Synthesize images.

        Args:
            latents: z or w (B, style_dim), or W+ (B, n_latent, style_dim), as ``input_space`` says.
            truncation: psi; w is moved toward ``truncation_latent`` (``(style_dim,)``, ``(1, style_dim)``
                or ``(n_latent, style_dim)``) by ``1 - psi``.
            noise_mode: ``"const"`` uses the stored maps ``noises.noise_N`` (deterministic, what inversion
                uses), ``"random"`` draws fresh noise, ``"none"`` adds none.
            noise: explicit noise maps, one per layer (overrides ``noise_mode``).

        Returns:
            (B, 3, R, R) images, roughly in [-1, 1].
        """
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode={noise_mode!r} is invalid: expected one of {list(NOISE_MODES)}")
        w = self.to_w_plus(latents, input_space=input_space, truncation=truncation, truncation_latent=truncation_latent)
        noises = self._noise(w, noise_mode, noise)
        # NHWC is the layout oneDNN and cuDNN convolve fastest, and the layout in which a transposed
        # convolution and a depthwise blur run at all fast on the CPU; every op below keeps it.
        nhwc = w.device.type in ("cpu", "cuda")
        out = self.input(w.shape[0]).clone(memory_format=torch.channels_last if nhwc else torch.contiguous_format)
        # Without autograd each layer may overwrite its input: every activation below is read by the next
        # convolution last (to_rgb reads it before the next layer runs).
        inplace = not torch.is_grad_enabled()
        out = self.conv1(out, w[:, 0], noises[0], inplace=inplace)
        skip = self.to_rgb1(out, w[:, 1])
        for j, to_rgb in enumerate(self.to_rgbs):
            i = 2 * j + 1
            out = self.convs[2 * j](out, w[:, i], noises[i], inplace=inplace)
            out = self.convs[2 * j + 1](out, w[:, i + 1], noises[i + 1], inplace=inplace)
            skip = to_rgb(out, w[:, i + 2], skip)
        return skip.contiguous()

    def _noise(self, w: Tensor, mode: str, noise: list[Tensor] | None) -> list[Tensor | None]:
        if noise is not None:
            if len(noise) != self.config.num_layers:
                raise ValueError(f"noise must hold {self.config.num_layers} maps, got {len(noise)}")
            return list(noise)
        if mode == "const":
            return list(self.const_noise())
        if mode == "none":
            return [None] * self.config.num_layers
        return [w.new_empty(w.shape[0], 1, *buf.shape[-2:]).normal_() for buf in self.const_noise()]


# -- generator-only model folders -------------------------------------------------------------------------
GENERATOR_CLASS_NAME = "Generator"


def save_generator(generator: Generator, latent_avg: Tensor, directory: str | os.PathLike[str]) -> Path:
    """Write a generator-only model folder: ``config.json`` + ``model.safetensors``.

    The weights file holds the generator's state dict (community key names) and ``latent_avg``
    (style_dim,), the average w used for truncation and as an encoder's starting point.
    """
    expected = (generator.config.style_dim,)
    if not isinstance(latent_avg, Tensor) or tuple(latent_avg.shape) != expected:
        shape = tuple(latent_avg.shape) if isinstance(latent_avg, Tensor) else type(latent_avg).__name__
        raise ValueError(f"latent_avg must have shape {expected}, got {shape}")
    config = {"_class_name": GENERATOR_CLASS_NAME, "generator": generator.config.to_dict()}
    return save_model_folder(config, {**generator.state_dict(), "latent_avg": latent_avg}, directory)


def load_generator(
    directory: str | os.PathLike[str],
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> tuple[Generator, Tensor]:
    """Load a generator-only model folder (what ``interestyle convert --kind stylegan2`` writes).

    Returns:
        The [`Generator`][interestyle.models.generator.Generator] in eval mode, and ``latent_avg`` (style_dim,).

    Raises:
        FileNotFoundError: no such folder, or it lacks ``config.json`` or weights.
        ConfigError: the folder holds something other than a generator, or an invalid config.
        WeightsError: a corrupt weights file, or weights that do not match the config.
    """
    device = None if device is None else resolve_device(device)
    config_dict, weights = read_model_folder(directory)
    class_name = config_dict.get("_class_name")
    if class_name != GENERATOR_CLASS_NAME:
        raise ConfigError(
            f"{directory} holds {class_name or 'a model without _class_name'!r}, not a generator-only folder "
            f"(_class_name {GENERATOR_CLASS_NAME!r}); load full models with interestyle.load_encoder"
        )
    unknown = sorted(k for k in config_dict if k not in ("generator",) and not k.startswith("_"))
    if unknown or "generator" not in config_dict:
        raise ConfigError(f"{directory}/config.json of a generator must hold only 'generator', got fields {unknown}")
    check_complete(config_dict["generator"], GeneratorConfig, f"{directory}/config.json", "generator.")
    config = GeneratorConfig.from_dict(config_dict["generator"])
    with torch.device("meta"):
        generator = Generator(config)
    expected = {k: tuple(v.shape) for k, v in generator.state_dict().items()}
    expected["latent_avg"] = (config.style_dim,)
    state = read_state_dict(weights, expected, config_dict.get(CHECKSUM_KEY))
    latent_avg = state.pop("latent_avg")
    generator.load_state_dict(state, strict=True, assign=True)
    if device is not None or dtype is not None:
        generator.to(device=device, dtype=dtype)
        latent_avg = latent_avg.to(device=device, dtype=dtype)
    return generator.eval(), latent_avg
