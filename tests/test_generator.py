import math

import pytest
import torch

from interestyle import GeneratorConfig
from interestyle.errors import ConfigError, WeightsError
from interestyle.models.generator import Generator, load_generator, save_generator


def published_layout(resolution: int, style_dim: int, n_mlp: int, widths: dict[int, int]) -> dict[str, tuple]:
    """rosinality/stylegan2-pytorch ``Generator.state_dict()`` keys and shapes, written out from its layout."""
    d = style_dim
    keys: dict[str, tuple] = {}
    for i in range(1, n_mlp + 1):
        keys[f"style.{i}.weight"] = (d, d)
        keys[f"style.{i}.bias"] = (d,)

    def modconv(prefix: str, c_in: int, c_out: int, k: int, blur: bool) -> None:
        keys[f"{prefix}.weight"] = (1, c_out, c_in, k, k)
        if blur:
            keys[f"{prefix}.blur.kernel"] = (4, 4)
        keys[f"{prefix}.modulation.weight"] = (c_in, d)
        keys[f"{prefix}.modulation.bias"] = (c_in,)

    def styled(prefix: str, c_in: int, c_out: int, up: bool) -> None:
        modconv(f"{prefix}.conv", c_in, c_out, 3, up)
        keys[f"{prefix}.noise.weight"] = (1,)
        keys[f"{prefix}.activate.bias"] = (c_out,)

    def to_rgb(prefix: str, c_in: int, up: bool) -> None:
        keys[f"{prefix}.bias"] = (1, 3, 1, 1)
        if up:
            keys[f"{prefix}.upsample.kernel"] = (4, 4)
        modconv(f"{prefix}.conv", c_in, 3, 1, False)

    keys["input.input"] = (1, widths[4], 4, 4)
    styled("conv1", widths[4], widths[4], False)
    to_rgb("to_rgb1", widths[4], False)
    log_size = int(math.log2(resolution))
    stages = list(enumerate(range(3, log_size + 1)))
    for j, log_res in stages:
        c_in, c_out = widths[2 ** (log_res - 1)], widths[2**log_res]
        styled(f"convs.{2 * j}", c_in, c_out, True)
        styled(f"convs.{2 * j + 1}", c_out, c_out, False)
    for j, log_res in stages:
        to_rgb(f"to_rgbs.{j}", widths[2**log_res], True)
    for i in range(2 * (log_size - 2) + 1):
        r = 2 ** ((i + 5) // 2)
        keys[f"noises.noise_{i}"] = (1, 1, r, r)
    return keys


@pytest.mark.parametrize("resolution", [8, 16, 64, 256, 1024])
def test_state_dict_matches_the_community_layout(resolution):
    config = GeneratorConfig(resolution=resolution)
    with torch.device("meta"):
        generator = Generator(config)
    ours = {k: tuple(v.shape) for k, v in generator.state_dict().items()}
    assert ours == published_layout(resolution, 512, 8, config.widths())
    assert list(ours) == list(published_layout(resolution, 512, 8, config.widths()))  # same order too


def test_tiny_widths_follow_the_config():
    config = GeneratorConfig(resolution=16, style_dim=24, n_mlp=3, channels=(32, 16, 8))
    ours = {k: tuple(v.shape) for k, v in Generator(config).state_dict().items()}
    assert ours == published_layout(16, 24, 3, {4: 32, 8: 16, 16: 8})


def test_community_weights_load_strictly_and_reproduce_outputs():
    config = GeneratorConfig(resolution=16, style_dim=16, n_mlp=2, channels=(16, 16, 8))
    torch.manual_seed(0)
    source, target = Generator(config), Generator(config)
    target.load_state_dict(source.state_dict(), strict=True)
    w = torch.randn(2, config.n_latent, 16)
    assert torch.equal(source(w), target(w))


@pytest.fixture
def generator():
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(resolution=32, style_dim=32, n_mlp=2, channels=(32, 32, 16, 16)))
    with torch.no_grad():
        for name, p in g.named_parameters():
            if name.endswith("noise.weight"):
                p.fill_(0.3)
    return g.eval()


def test_output_shape_for_each_input_space(generator):
    z = torch.randn(3, 32)
    w = generator.mapping(z)
    assert generator(z, input_space="z").shape == (3, 3, 32, 32)
    torch.testing.assert_close(generator(z, input_space="z"), generator(w, input_space="w"))
    w_plus = w[:, None].expand(-1, generator.n_latent, -1)
    torch.testing.assert_close(generator(w, input_space="w"), generator(w_plus))


def test_noise_modes(generator):
    w = torch.randn(2, generator.n_latent, 32)
    assert torch.equal(generator(w, noise_mode="const"), generator(w, noise_mode="const"))
    assert not torch.equal(generator(w, noise_mode="random"), generator(w, noise_mode="random"))
    none = generator(w, noise_mode="none")
    zeros = [torch.zeros_like(n) for n in generator.const_noise()]
    torch.testing.assert_close(none, generator(w, noise=zeros))
    assert not torch.allclose(none, generator(w, noise_mode="const"))
    with pytest.raises(ValueError, match="noise_mode='fixed'"):
        generator(w, noise_mode="fixed")
    with pytest.raises(ValueError, match="7 maps, got 1"):
        generator(w, noise=zeros[:1])


def test_truncation_moves_w_toward_the_average(generator):
    z = torch.randn(2, 32)
    avg = generator.mean_latent(64)
    at_avg = generator(z, input_space="z", truncation=0.0, truncation_latent=avg)
    torch.testing.assert_close(at_avg, generator(avg.expand(2, -1), input_space="w"))
    half = generator.to_w_plus(z, input_space="z", truncation=0.5, truncation_latent=avg)
    torch.testing.assert_close(half[:, 0], avg + 0.5 * (generator.mapping(z) - avg))
    with pytest.raises(ValueError, match="truncation_latent"):
        generator(z, input_space="z", truncation=0.5)


def test_bad_latent_shapes_are_named(generator):
    with pytest.raises(ValueError, match=r"w\+ latents must have shape \(B, 8, 32\), got \(2, 7, 32\)"):
        generator(torch.randn(2, 7, 32))
    with pytest.raises(ValueError, match=r"z latents must have shape \(B, 32\)"):
        generator(torch.randn(2, 8, 32), input_space="z")
    with pytest.raises(ValueError, match="input_space='s'"):
        generator(torch.randn(2, 32), input_space="s")


def test_mean_latent_is_deterministic(generator):
    torch.testing.assert_close(generator.mean_latent(32, seed=1), generator.mean_latent(32, seed=1))


def test_generator_folder_round_trip(generator, tmp_path):
    latent_avg = generator.mean_latent(64)[0]
    save_generator(generator, latent_avg, tmp_path / "g")
    loaded, loaded_avg = load_generator(tmp_path / "g", dtype=torch.float64)
    assert loaded.config == generator.config and loaded_avg.dtype == torch.float64
    w = torch.randn(2, 32)
    torch.testing.assert_close(loaded(w.double(), input_space="w").float(), generator(w, input_space="w"))
    torch.testing.assert_close(loaded_avg.float(), latent_avg)


def test_generator_folder_refuses_other_folders(generator, tmp_path, model):
    with pytest.raises(ValueError, match=r"latent_avg must have shape \(32,\)"):
        save_generator(generator, torch.zeros(1, 32), tmp_path / "g")
    model.save_pretrained(tmp_path / "full")
    with pytest.raises(ConfigError, match="holds 'IntereStyleModel', not a generator-only folder"):
        load_generator(tmp_path / "full")
    save_generator(generator, torch.zeros(32), tmp_path / "g")
    other = Generator(GeneratorConfig(resolution=16, style_dim=32, n_mlp=2, channels=(32, 32, 32)))
    save_generator(other, torch.zeros(32), tmp_path / "g16")
    (tmp_path / "g" / "model.safetensors").replace(tmp_path / "g16" / "model.safetensors")
    with pytest.raises(WeightsError, match="does not match its config"):
        load_generator(tmp_path / "g16")


def test_noise_injection_and_fused_leaky_relu_are_parameter_holders_only(generator, monkeypatch):
    # Their docstrings say the generator (fast and reference) never runs their forward: check it.
    from interestyle.models.reference import reference_synthesis
    from interestyle.nn.equalized import FusedLeakyReLU
    from interestyle.nn.modulated import NoiseInjection

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"{type(self).__name__}.forward ran")

    monkeypatch.setattr(NoiseInjection, "forward", refuse)
    monkeypatch.setattr(FusedLeakyReLU, "forward", refuse)
    w = torch.randn(2, generator.n_latent, generator.config.style_dim)
    for noise_mode in ("const", "random", "none"):
        generator(w, noise_mode=noise_mode)
    reference_synthesis(generator, w)
