"""BiSeNet: the state-dict layout of zllrunning/face-parsing.PyTorch's 79999_iter.pth, and its forward pass."""

from __future__ import annotations

import pytest
import torch

from interestyle.errors import WeightsError
from interestyle.masks import BiSeNet, bisenet_layout, bisenet_state_dict_from_checkpoint


def upstream_layout(n_classes: int = 19) -> dict[str, tuple[int, ...]]:
    """The public checkpoint's keys and shapes, written out from upstream model.py / resnet.py."""
    keys: dict[str, tuple[int, ...]] = {}

    def bn(prefix, c):
        keys.update({f"{prefix}.{n}": (c,) for n in ("weight", "bias", "running_mean", "running_var")})
        keys[f"{prefix}.num_batches_tracked"] = ()

    def conv_bn_relu(prefix, cin, cout, k):  # ConvBNReLU: conv (no bias) + bn
        keys[f"{prefix}.conv.weight"] = (cout, cin, k, k)
        bn(f"{prefix}.bn", cout)

    keys["cp.resnet.conv1.weight"] = (64, 3, 7, 7)
    bn("cp.resnet.bn1", 64)
    for layer, (cin, cout) in enumerate([(64, 64), (64, 128), (128, 256), (256, 512)], start=1):
        for block in (0, 1):
            p = f"cp.resnet.layer{layer}.{block}"
            keys[f"{p}.conv1.weight"] = (cout, cin if block == 0 else cout, 3, 3)
            bn(f"{p}.bn1", cout)
            keys[f"{p}.conv2.weight"] = (cout, cout, 3, 3)
            bn(f"{p}.bn2", cout)
            if block == 0 and cin != cout:
                keys[f"{p}.downsample.0.weight"] = (cout, cin, 1, 1)
                bn(f"{p}.downsample.1", cout)
    for arm, cin in (("arm16", 256), ("arm32", 512)):
        conv_bn_relu(f"cp.{arm}.conv", cin, 128, 3)
        keys[f"cp.{arm}.conv_atten.weight"] = (128, 128, 1, 1)
        bn(f"cp.{arm}.bn_atten", 128)
    conv_bn_relu("cp.conv_head32", 128, 128, 3)
    conv_bn_relu("cp.conv_head16", 128, 128, 3)
    conv_bn_relu("cp.conv_avg", 512, 128, 1)
    conv_bn_relu("ffm.convblk", 256, 256, 1)
    keys["ffm.conv1.weight"] = (64, 256, 1, 1)
    keys["ffm.conv2.weight"] = (256, 64, 1, 1)
    for head, cin, mid in (("conv_out", 256, 256), ("conv_out16", 128, 64), ("conv_out32", 128, 64)):
        conv_bn_relu(f"{head}.conv", cin, mid, 3)
        keys[f"{head}.conv_out.weight"] = (n_classes, mid, 1, 1)
    return keys


@pytest.fixture(scope="module")
def net() -> BiSeNet:
    torch.manual_seed(0)
    return BiSeNet().eval()


def test_layout_matches_the_public_checkpoint():
    expected = upstream_layout()
    assert bisenet_layout() == expected
    assert not any(k.startswith("sp.") for k in expected)  # upstream removed the spatial path
    for key in ("cp.resnet.conv1.weight", "cp.resnet.layer1.0.conv1.weight", "conv_out.conv.conv.weight"):
        assert key in expected
    params = sum(torch.Size(s).numel() for k, s in expected.items() if not k.endswith("num_batches_tracked"))
    assert 13_000_000 < params < 13_500_000  # 79999_iter.pth is a ~53 MB float32 file


def test_built_network_has_that_layout(net):
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == upstream_layout()
    assert bisenet_layout(5)["conv_out32.conv_out.weight"] == (5, 64, 1, 1)


def test_forward_gives_logits_at_input_resolution(net):
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        logits = net(x)
        main, out16, out32 = net(x, auxiliary=True)
    assert logits.shape == main.shape == out16.shape == out32.shape == (2, 19, 64, 96)
    torch.testing.assert_close(logits, main)
    assert torch.isfinite(logits).all()


def test_batch_elements_are_independent_in_eval(net):
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(net(x)[1:], net(x[1:]), atol=1e-4, rtol=1e-4)


def test_checkpoint_round_trip(net):
    state = net.state_dict()
    converted = bisenet_state_dict_from_checkpoint(state)
    assert list(converted) == list(upstream_layout())
    fresh = BiSeNet()
    fresh.load_state_dict(converted)
    for key, value in state.items():
        torch.testing.assert_close(fresh.state_dict()[key], value)


def test_checkpoint_variants_are_accepted(net):
    state = net.state_dict()
    wrapped = {f"module.{k}": v for k, v in state.items()}  # a DataParallel save
    assert bisenet_state_dict_from_checkpoint(wrapped).keys() == state.keys()
    old = {k: v.half() if v.is_floating_point() else v for k, v in state.items() if "num_batches" not in k}
    converted = bisenet_state_dict_from_checkpoint(old)
    assert converted["cp.resnet.bn1.num_batches_tracked"].dtype == torch.int64
    assert converted["cp.resnet.conv1.weight"].dtype == torch.float32
    eight = BiSeNet(8).state_dict()
    assert bisenet_state_dict_from_checkpoint(eight)["conv_out.conv_out.weight"].shape == (8, 256, 1, 1)


def test_converted_state_is_a_copy(net):
    state = net.state_dict()
    converted = bisenet_state_dict_from_checkpoint(state)
    converted["cp.resnet.conv1.weight"].zero_()
    assert state["cp.resnet.conv1.weight"].abs().sum() > 0


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (lambda s: s.pop("cp.arm16.conv_atten.weight"), WeightsError, "1 missing .*cp.arm16.conv_atten.weight"),
        (lambda s: s.update({"sp.conv1.conv.weight": torch.zeros(64, 3, 7, 7)}), WeightsError, "1 unexpected"),
        (
            lambda s: s.update({"ffm.conv1.weight": torch.zeros(64, 256, 3, 3)}),
            WeightsError,
            "'ffm.conv1.weight' has shape",
        ),
        (lambda s: s.pop("conv_out.conv_out.weight"), WeightsError, "not a zllrunning"),
        (
            lambda s: s.update({"ffm.conv2.weight": torch.zeros(256, 64, 1, 1, dtype=torch.int32)}),
            WeightsError,
            "dtype",
        ),
        (lambda s: s.update({"ffm.conv2.weight": "weights"}), TypeError, "holds str"),
    ],
)
def test_bad_checkpoints(net, edit, error, message):
    state = dict(net.state_dict())
    edit(state)
    with pytest.raises(error, match=message):
        bisenet_state_dict_from_checkpoint(state)


def test_not_a_state_dict():
    with pytest.raises(TypeError, match="mapping"):
        bisenet_state_dict_from_checkpoint([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="training checkpoint"):
        bisenet_state_dict_from_checkpoint({"state_dict": {}, "epoch": 3})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="n_classes=1"):
        BiSeNet(1)
