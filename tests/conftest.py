"""Shared fixtures: tiny model configurations built on the spot, no network."""

from __future__ import annotations

import os

# Tests never touch the network: any accidental Hub call fails fast instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import pytest
import torch

from interestyle import EncoderConfig, GeneratorConfig, IntereStyleModel, ModelConfig

torch.set_num_threads(min(2, torch.get_num_threads()))


def tiny_config(kind: str = "backbone", *, resolution: int = 32, input_size: int = 32, **overrides) -> ModelConfig:
    """A model of a few hundred thousand parameters: milliseconds per forward pass."""
    log = resolution.bit_length() - 1
    generator = GeneratorConfig(resolution=resolution, style_dim=32, n_mlp=2, channels=(32,) * 2 + (16,) * (log - 3))
    iterative = kind in ("backbone", "progressive-backbone") and overrides.pop("input_nc", 6) == 6
    encoder = EncoderConfig(
        kind=kind, units=(1, 1, 1, 1), widths=(16, 16, 32, 32), input_size=input_size, input_nc=6 if iterative else 3
    )
    defaults = {"iterations": 3 if iterative else 1, "method": "interestyle" if iterative else kind}
    return ModelConfig(generator=generator, encoder=encoder, **{**defaults, **overrides})


def tiny_model(kind: str = "backbone", *, seed: int = 0, **kwargs) -> IntereStyleModel:
    """A randomly initialised tiny model, with non-trivial noise weights, biases and BatchNorm statistics."""
    torch.manual_seed(seed)
    model = IntereStyleModel(tiny_config(kind, **kwargs))
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith(("noise.weight", "activate.bias", "running_mean")) or name.endswith("to_rgb1.bias"):
                tensor.normal_(0, 0.1)
            elif name.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
        model.latent_avg.copy_(model.decoder.mean_latent(256).expand(model.n_latent, -1))
    return model.eval()


@pytest.fixture
def model() -> IntereStyleModel:
    return tiny_model()
