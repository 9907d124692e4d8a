import pytest
import torch

from interestyle import GeneratorConfig
from interestyle.models.generator import Generator
from interestyle.nn.modulated import ModulatedConv2d
from interestyle.nn.resample import Upsample, make_kernel, upfirdn2d


# StyleGAN2 upsamples only in 3x3 convolutions; 1x1 ones (to_rgb) are not demodulated.
@pytest.mark.parametrize(
    ("kernel_size", "upsample", "demodulate"),
    [(3, False, True), (3, True, True), (3, False, False), (3, True, False), (1, False, False), (1, False, True)],
)
def test_fast_path_matches_grouped_reference(kernel_size, upsample, demodulate):
    torch.manual_seed(0)
    conv = ModulatedConv2d(8, 12, kernel_size, 16, demodulate=demodulate, upsample=upsample)
    x, style = torch.randn(4, 8, 8, 8), torch.randn(4, 16)
    fast = conv(x, style)
    conv.use_reference = True
    reference = conv(x, style)
    assert fast.shape == (4, 12, 16, 16) if upsample else (4, 12, 8, 8)
    assert (fast - reference).abs().max() < 1e-4


def test_generator_fast_path_matches_reference():
    torch.manual_seed(0)
    generator = Generator(GeneratorConfig(resolution=32, style_dim=32, n_mlp=2, channels=(32, 32, 16, 16)))
    w = torch.randn(3, generator.n_latent, 32)
    fast = generator(w)
    for module in generator.modules():
        if isinstance(module, ModulatedConv2d):
            module.use_reference = True
    assert (fast - generator(w)).abs().max() < 1e-4


def test_upfirdn2d_is_the_published_filter():
    # Upsampling a constant image by 2 with a normalised kernel * 4 keeps it constant away from borders.
    up = Upsample((1, 3, 3, 1))
    out = up(torch.ones(1, 2, 6, 6))
    assert out.shape == (1, 2, 12, 12)
    torch.testing.assert_close(out[..., 2:-2, 2:-2], torch.ones(1, 2, 8, 8))
    # A true convolution (not a correlation): an impulse comes back as the kernel itself.
    impulse = torch.zeros(1, 1, 5, 5)
    impulse[0, 0, 2, 2] = 1
    kernel = make_kernel((1, 2, 3, 4))
    out = upfirdn2d(impulse, kernel, pad=(2, 1))
    torch.testing.assert_close(out[0, 0, 1:5, 1:5], kernel)
