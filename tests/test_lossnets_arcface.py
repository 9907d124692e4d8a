import pytest
import torch
from safetensors.torch import save_file

from interestyle import EncoderConfig
from interestyle.lossnets.arcface import ArcFace, IdentityLoss, face_crop, init_encoder_backbone, load_arcface
from interestyle.models.encoders import build_encoder
from layouts import batchnorm, irse50_backbone
from training_setup import single_thread  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("single_thread")


def public_layout() -> dict[str, tuple]:
    """pSp's ``model_ir_se50.pth`` (ArcFace IR-SE50 ``Backbone(112, 50, 'ir_se')``), BatchNorm step counters aside."""
    keys = irse50_backbone(3, counters=False)
    batchnorm(keys, "output_layer.0", 512, counters=False)
    keys["output_layer.3.weight"] = (512, 512 * 7 * 7)
    keys["output_layer.3.bias"] = (512,)
    batchnorm(keys, "output_layer.4", 512, counters=False)
    return keys


@pytest.fixture(scope="module")
def arcface() -> ArcFace:
    torch.manual_seed(0)
    return ArcFace().eval()


def test_keys_and_shapes_match_the_public_layout(arcface):
    state = {k: tuple(v.shape) for k, v in arcface.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert state == public_layout()


def test_embeddings_are_unit_vectors_and_identity_loss_of_an_image_with_itself_is_zero(arcface):
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        e = arcface(face_crop(torch.cat([x, x.flip(-2)])))
        assert e.shape == (2, 512)
        assert torch.allclose(e.norm(dim=1), torch.ones(2), atol=1e-5)
        assert 1 - (e[0] * e[1]).sum() > 1e-4
        assert torch.allclose(IdentityLoss(arcface)(x, x), torch.zeros(1), atol=1e-5)


def test_face_crop_is_psp_crop_scaled_to_the_resolution():
    x = torch.zeros(1, 3, 256, 256)
    x[:, :, 35:223, 32:220] = 1
    assert torch.equal(face_crop(x), torch.ones(1, 3, 112, 112))
    small = torch.nn.functional.avg_pool2d(x, 8)  # 32x32: the crop is rows 4:28, columns 4:28
    assert face_crop(small).shape == (1, 3, 112, 112)
    with pytest.raises(ValueError, match="112"):
        ArcFace()(torch.zeros(1, 3, 64, 64))


def test_load_accepts_the_public_file_without_batchnorm_counters(tmp_path, arcface):
    state = {k: v.contiguous() for k, v in arcface.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_file(state, str(tmp_path / "model.safetensors"))
    loaded = load_arcface(tmp_path)
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in state.items())


def test_encoder_backbone_initialisation_copies_the_ir_se50_layers(arcface):
    torch.manual_seed(0)
    encoder = build_encoder(EncoderConfig(input_size=32), n_styles=2, style_dim=8)  # IR-SE50 body, tiny heads
    init_encoder_backbone(encoder, arcface)
    mine, theirs = encoder.state_dict(), arcface.state_dict()
    assert torch.equal(mine["input_layer.0.weight"][:, :3], theirs["input_layer.0.weight"])
    assert mine["input_layer.0.weight"].shape == (64, 6, 3, 3)
    for key in ("body.23.res_layer.3.weight", "body.3.shortcut_layer.1.running_var", "input_layer.2.weight"):
        assert torch.equal(mine[key], theirs[key]), key
    small = build_encoder(EncoderConfig(units=(1, 1, 1, 1), widths=(16, 16, 32, 32), input_size=32), 2, 8)
    with pytest.raises(ValueError, match=r"input_layer\.0\.weight.*in the encoder"):
        init_encoder_backbone(small, arcface)
