import pytest
import torch
from safetensors.torch import save_file

from interestyle import WeightsError
from interestyle.lossnets.lpips import LPIPS, load_lpips
from training_setup import single_thread  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("single_thread")


def public_layout() -> dict[str, tuple]:
    """torchvision's ``alexnet().features`` convolutions and LPIPS v0.1's ``alex.pth`` heads."""
    keys: dict[str, tuple] = {}
    for index, (c_out, c_in, k) in {
        0: (64, 3, 11),
        3: (192, 64, 5),
        6: (384, 192, 3),
        8: (256, 384, 3),
        10: (256, 256, 3),
    }.items():
        keys[f"features.{index}.weight"] = (c_out, c_in, k, k)
        keys[f"features.{index}.bias"] = (c_out,)
    for i, c in enumerate((64, 192, 384, 256, 256)):
        keys[f"lin{i}.model.1.weight"] = (1, c, 1, 1)
    return keys


def random_lpips(seed: int = 0) -> LPIPS:
    torch.manual_seed(seed)
    net = LPIPS().eval()
    with torch.no_grad():
        for i in range(5):
            getattr(net, f"lin{i}").model[1].weight.abs_()  # the public heads are non-negative
    return net


def test_keys_and_shapes_match_the_public_layout():
    assert {k: tuple(v.shape) for k, v in LPIPS().state_dict().items()} == public_layout()


def test_distance_of_an_image_to_itself_is_zero_and_positive_otherwise():
    net = random_lpips()
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert torch.equal(net(x, x), torch.zeros(2))
    d = net(x, x.flip(-1))
    assert d.shape == (2,) and (d > 0).all()


def test_gradient_reaches_the_input():
    net = random_lpips()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    y = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_()
    net(x, y).sum().backward()
    assert y.grad is not None and y.grad.abs().sum() > 0


def test_load_from_a_safetensors_folder_is_exact_and_frozen(tmp_path):
    net = random_lpips(1)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "model.safetensors"))
    loaded = load_lpips(tmp_path)
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert torch.equal(loaded(x, -x), net(x, -x))


def test_wrong_weights_are_refused_naming_the_key(tmp_path):
    state = {k: v.contiguous() for k, v in LPIPS().state_dict().items()}
    state["lin0.model.1.weight"] = torch.zeros(1, 32, 1, 1)
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(WeightsError, match=r"lin0\.model\.1\.weight"):
        load_lpips(tmp_path)
    del state["lin0.model.1.weight"]
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(WeightsError, match="missing"):
        load_lpips(tmp_path)


def test_pickles_and_missing_paths_are_refused(tmp_path):
    (tmp_path / "alex.pth").write_bytes(b"not read")
    with pytest.raises(WeightsError, match="interestyle convert"):
        load_lpips(tmp_path / "alex.pth")
    with pytest.raises(WeightsError, match="interestyle convert"):
        load_lpips(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_lpips(tmp_path / "nothing")


def test_too_small_images_are_refused():
    with pytest.raises(ValueError, match="32x32"):
        LPIPS()(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16))


def lpips_by_the_formula(net: LPIPS, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Zhang et al.'s LPIPS written out: AlexNet's five ReLU outputs, unit-normalised over channels, squared
    differences weighted per channel by the linear heads, averaged over each layer's pixels (weighted by the
    mask averaged over each layer pixel's footprint), summed over layers."""
    w = net.state_dict()
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    convs = [(0, 4, 2), (3, 1, 2), (6, 1, 1), (8, 1, 1), (10, 1, 1)]  # (layer, stride, padding)

    def features(t: torch.Tensor) -> list[torch.Tensor]:
        out, h = [], (t - shift) / scale
        for i, (layer, stride, pad) in enumerate(convs):
            if i in (1, 2):
                h = torch.nn.functional.max_pool2d(h, 3, 2)
            h = torch.relu(
                torch.nn.functional.conv2d(h, w[f"features.{layer}.weight"], w[f"features.{layer}.bias"], stride, pad)
            )
            out.append(h / (h.square().sum(1, keepdim=True).sqrt() + 1e-10))
        return out

    total = torch.zeros(x.shape[0])
    for i, (fx, fy) in enumerate(zip(features(x), features(y), strict=True)):
        d = ((fx - fy) ** 2 * w[f"lin{i}.model.1.weight"].view(1, -1, 1, 1)).sum(1, keepdim=True)
        m = torch.ones_like(d) if mask is None else torch.nn.functional.adaptive_avg_pool2d(mask, d.shape[-2:])
        total += (d * m).sum((1, 2, 3)) / m.sum((1, 2, 3))
    return total


def test_distance_is_the_published_formula_whole_and_inside_a_mask():
    net = random_lpips(2)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 3, 80, 72, generator=g) * 2 - 1, torch.rand(2, 3, 80, 72, generator=g) * 2 - 1
    mask = torch.zeros(2, 1, 80, 72)
    mask[0, :, 10:50, 5:40] = 1
    mask[1, :, 30:, :] = 0.5
    with torch.no_grad():
        torch.testing.assert_close(net(x, y), lpips_by_the_formula(net, x, y, None))
        torch.testing.assert_close(net(x, y, mask), lpips_by_the_formula(net, x, y, mask))
        torch.testing.assert_close(net(x, y, torch.ones(2, 1, 80, 72)), net(x, y))
        assert not torch.allclose(net(x, y, mask), net(x, y))
        assert torch.isnan(net(x, y, torch.zeros(2, 1, 80, 72))).all()
    with pytest.raises(ValueError, match="mask must be"):
        net(x, y, torch.ones(2, 3, 80, 72))
