"""The fast path computes what the reference formulation computes, within 1e-4 in float32.

The reference (:mod:`interestyle.models.reference`) is the community's straightforward formulation; every
optimisation of the generator, the encoders, the resampling filters or ``invert`` must keep these tests
green. Timings live in ``benchmarks/speed.py``, never here.
"""

from __future__ import annotations

import pytest
import torch

from conftest import tiny_config, tiny_model
from interestyle import GeneratorConfig, IntereStyleModel, invert
from interestyle.models.generator import Generator
from interestyle.models.reference import (
    community_layout,
    reference_encode,
    reference_invert,
    reference_noise,
    reference_synthesis,
    use_reference_noise,
)
from interestyle.nn.resample import blur2d, make_kernel, upfirdn2d, upsample2d

TOLERANCE = 1e-4


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


def make_generator(blur_kernel=(1, 3, 3, 1), channels=(32, 32, 16, 16), seed=0) -> Generator:
    torch.manual_seed(seed)
    g = Generator(GeneratorConfig(resolution=32, style_dim=32, n_mlp=2, channels=channels, blur_kernel=blur_kernel))
    with torch.no_grad():
        for name, p in g.named_parameters():
            if name.endswith(("noise.weight", "bias")) and not name.startswith("style") and "modulation" not in name:
                p.normal_(0, 0.2)  # biases and noise strengths start at zero: make them count
    use_reference_noise(g, seed=3)
    return g.eval()


@pytest.mark.parametrize("batch", [1, 2, 5])
@pytest.mark.parametrize("blur_kernel", [(1, 3, 3, 1), (1, 2, 3, 4), (1, 1), (1, 2, 5, 5, 2, 1)])
def test_generator_matches_reference(batch, blur_kernel):
    g = make_generator(blur_kernel)
    w = torch.randn(batch, g.n_latent, 32)
    with torch.no_grad():
        fast = g(w)
        reference = reference_synthesis(g, w, noise_seed=3)
    assert fast.shape == reference.shape == (batch, 3, 32, 32)
    assert fast.is_contiguous()
    assert max_diff(fast, reference) < TOLERANCE


def test_generator_with_wide_layers_matches_reference():
    g = make_generator(channels=(256, 256, 128, 64))
    w = torch.randn(4, g.n_latent, 32)
    with torch.inference_mode():
        assert max_diff(g(w), reference_synthesis(g, w, noise_seed=3)) < TOLERANCE


def test_explicit_and_absent_noise_match_reference():
    g = make_generator()
    w = torch.randn(3, g.n_latent, 32)
    per_sample = [torch.randn(3, 1, n.shape[-2], n.shape[-1]) for n in g.const_noise()]
    zeros = [torch.zeros_like(n) for n in g.const_noise()]
    with torch.no_grad():
        assert max_diff(g(w, noise=per_sample), reference_synthesis(g, w, noise=per_sample)) < TOLERANCE
        assert max_diff(g(w, noise_mode="none"), reference_synthesis(g, w, noise=zeros)) < TOLERANCE


def test_reference_draws_the_noise_it_documents():
    g = make_generator()
    maps = reference_noise(g.config, seed=3)
    assert [tuple(m.shape) for m in maps] == [tuple(n.shape) for n in g.const_noise()]
    for stored, drawn in zip(g.const_noise(), maps, strict=True):
        assert torch.equal(stored, drawn)
    assert not torch.equal(reference_noise(g.config, seed=4)[0], maps[0])


def test_generator_gradients_match_reference():
    """Training backpropagates through the fast path (in-place activation, fused epilogue)."""
    g = make_generator()
    w = torch.randn(3, g.n_latent, 32)
    grads = []
    for synthesize in (lambda x: g(x), lambda x: reference_synthesis(g, x, noise_seed=3)):
        latents = w.clone().requires_grad_()
        g.zero_grad()
        synthesize(latents).square().mean().backward()
        grads.append((latents.grad, g.convs[0].conv.weight.grad.clone(), g.convs[1].activate.bias.grad.clone()))
    for fast, reference in zip(*grads, strict=True):
        torch.testing.assert_close(fast, reference, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("kind", ["backbone", "progressive-backbone", "gradual", "e4e"])
@pytest.mark.parametrize("batch", [1, 3])
def test_encoders_match_reference(kind, batch):
    model = tiny_model(kind)
    x = torch.rand(batch, model.config.encoder.input_nc, 32, 32) * 2 - 1
    twin = community_layout(model)
    with torch.no_grad():
        assert max_diff(model.encoder(x), reference_encode(twin.encoder, x)) < TOLERANCE
        assert max_diff(model.encoder(x), reference_encode(model.encoder, x)) < TOLERANCE


def test_community_layout_is_a_contiguous_copy():
    model = tiny_model()
    twin = community_layout(model)
    assert model.encoder.input_layer[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert twin.encoder.input_layer[0].weight.is_contiguous()
    for (name, a), b in zip(model.state_dict().items(), twin.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
        assert a.data_ptr() != b.data_ptr(), name


def test_reference_encode_refuses_unknown_modules():
    with pytest.raises(TypeError, match="no reference formulation for Linear"):
        reference_encode(torch.nn.Linear(2, 2), torch.zeros(1, 2))


def iterative_model(seed: int = 0) -> IntereStyleModel:
    model = tiny_model(seed=seed, iterations=5)
    use_reference_noise(model.decoder, seed=0)
    return model


@pytest.mark.parametrize("batch_size", [1, 2, 8])
def test_invert_matches_reference_over_five_steps(batch_size):
    model = iterative_model()
    images = torch.rand(3, 3, 32, 32) * 2 - 1
    result = invert(model, images, batch_size=batch_size)
    steps, reconstructions = reference_invert(community_layout(model), images, 5, batch_size=batch_size)
    assert result.step_latents.shape == steps.shape == (5, 3, model.n_latent, model.style_dim)
    assert max_diff(result.step_latents, steps) < TOLERANCE
    assert max_diff(result.images, reconstructions) < TOLERANCE


@pytest.mark.parametrize("kind", ["gradual", "e4e"])
def test_single_pass_invert_matches_reference(kind):
    model = tiny_model(kind)
    use_reference_noise(model.decoder)
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    result = invert(model, images)
    steps, reconstructions = reference_invert(model, images, 1)
    assert max_diff(result.latents, steps[-1]) < TOLERANCE
    assert max_diff(result.images, reconstructions) < TOLERANCE


def test_invert_inside_inference_mode_matches_reference():
    model = iterative_model()
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.inference_mode():
        fast = invert(model, images, batch_size=1).images
    _, reconstructions = reference_invert(model, images, 5, batch_size=1)
    assert max_diff(fast, reconstructions) < TOLERANCE


def test_different_encoder_and_generator_sizes_match_reference():
    model = IntereStyleModel(tiny_config(resolution=64, input_size=32, iterations=5))
    use_reference_noise(model.decoder)
    model.eval()
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    result = invert(model, images)
    steps, reconstructions = reference_invert(model, images, 5)
    assert result.images.shape == (2, 3, 64, 64)
    assert max_diff(result.step_latents, steps) < TOLERANCE
    assert max_diff(result.images, reconstructions) < TOLERANCE


@pytest.mark.parametrize("taps", [(1, 3, 3, 1), (1, 2, 3, 4), (1, 1), (1, 2, 5, 5, 2, 1)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_fast_resampling_is_upfirdn2d(taps, channels_last):
    kernel = make_kernel(taps) * 4
    x = torch.randn(2, 5, 9, 9)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    p = len(taps) - 2
    up_pad = ((p + 1) // 2 + 1, p // 2)
    assert max_diff(upsample2d(x, kernel, 2, up_pad), upfirdn2d(x, kernel, up=2, pad=up_pad)) < 1e-6
    for pad in [(1, 1), (2, 2), (0, 0), (2, 1), (-1, -1)]:
        assert max_diff(blur2d(x, kernel, pad), upfirdn2d(x, kernel, pad=pad)) < 1e-6
