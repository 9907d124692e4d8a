import pytest
import torch

from interestyle import EncoderConfig
from interestyle.models.encoders import BackboneEncoder, Encoder4Editing, GradualStyleEncoder, build_encoder
from layouts import irse50_backbone


def irse50_layout(input_nc: int, n_styles: int, spatial: list[int], pyramid: bool) -> dict[str, tuple]:
    """pSp / ReStyle encoder keys and shapes for IR-SE50, written out from the published layout."""
    keys = irse50_backbone(input_nc)
    for s in range(n_styles):
        n_convs = {16: 4, 32: 5, 64: 6}[spatial[s]]
        for c in range(n_convs):
            keys[f"styles.{s}.convs.{2 * c}.weight"] = (512, 512, 3, 3)
            keys[f"styles.{s}.convs.{2 * c}.bias"] = (512,)
        keys[f"styles.{s}.linear.weight"] = (512, 512)
        keys[f"styles.{s}.linear.bias"] = (512,)
    if pyramid:
        keys["latlayer1.weight"] = (512, 256, 1, 1)
        keys["latlayer1.bias"] = (512,)
        keys["latlayer2.weight"] = (512, 128, 1, 1)
        keys["latlayer2.bias"] = (512,)
    return keys


def shapes(module: torch.nn.Module) -> dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


GRADUAL_SPATIAL = [16] * 3 + [32] * 4 + [64] * 11


@pytest.mark.parametrize(
    ("kind", "input_nc", "spatial", "pyramid"),
    [
        ("backbone", 6, [16] * 18, False),
        ("progressive-backbone", 6, [16] * 18, False),
        ("gradual", 3, GRADUAL_SPATIAL, True),
        ("e4e", 3, GRADUAL_SPATIAL, True),
    ],
)
def test_irse50_layout_matches_upstream(kind, input_nc, spatial, pyramid):
    with torch.device("meta"):
        encoder = build_encoder(EncoderConfig(kind=kind, input_nc=input_nc), 18, 512)
    assert shapes(encoder) == irse50_layout(input_nc, 18, spatial, pyramid)


def test_depth_100_and_152_have_their_unit_counts():
    for depth, n_units in [(100, 49), (152, 50)]:
        with torch.device("meta"):
            encoder = build_encoder(EncoderConfig(num_layers=depth), 18, 512)
        assert len(encoder.body) == n_units


TINY = {"units": (1, 1, 1, 1), "widths": (16, 16, 32, 32), "input_size": 32}


@pytest.mark.parametrize("kind", ["backbone", "progressive-backbone", "gradual", "e4e"])
@pytest.mark.parametrize("input_nc", [3, 6])
def test_output_is_w_plus(kind, input_nc):
    encoder = build_encoder(EncoderConfig(kind=kind, input_nc=input_nc, **TINY), 10, 24).eval()
    assert encoder(torch.randn(2, input_nc, 32, 32)).shape == (2, 10, 24)


def test_progressive_forms_are_a_base_plus_offsets():
    torch.manual_seed(0)
    config = EncoderConfig(**TINY)
    plain = BackboneEncoder(config, 6, 24).eval()
    progressive = BackboneEncoder(config, 6, 24, progressive=True).eval()
    progressive.load_state_dict(plain.state_dict())
    x = torch.randn(2, 6, 32, 32)
    styles = plain(x)
    torch.testing.assert_close(
        progressive(x), styles[:, :1] + torch.cat([torch.zeros_like(styles[:, :1]), styles[:, 1:]], 1)
    )


def test_e4e_and_psp_share_parameters_but_not_outputs():
    torch.manual_seed(0)
    config = EncoderConfig(kind="gradual", input_nc=3, **TINY)
    psp = GradualStyleEncoder(config, 9, 24).eval()
    e4e = Encoder4Editing(config, 9, 24).eval()
    e4e.load_state_dict(psp.state_dict(), strict=True)
    x = torch.randn(1, 3, 32, 32)
    s = psp(x)
    torch.testing.assert_close(e4e(x)[:, 0], s[:, 0])
    torch.testing.assert_close(e4e(x)[:, 5], s[:, 0] + s[:, 5])
