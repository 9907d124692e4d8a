"""``interestyle convert --kind arcface|lpips``: the trainer's loss networks from their public checkpoints."""

import pytest
import torch

from interestyle.convert import convert_checkpoint
from interestyle.lossnets import load_arcface, load_lpips
from interestyle.lossnets.arcface import ArcFace
from interestyle.lossnets.lpips import LPIPS
from lossnet_setup import randomised


def test_arcface_checkpoint_converts_and_embeds_identically(tmp_path):
    net = randomised(ArcFace())
    # The public file predates BatchNorm's num_batches_tracked counters.
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "model_ir_se50.pth")
    result = convert_checkpoint(tmp_path / "model_ir_se50.pth", tmp_path / "arcface")
    assert result.kind == "arcface"
    loaded = load_arcface(tmp_path / "arcface")
    faces = torch.rand(2, 3, 112, 112) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(loaded(faces), net(faces))


def test_lpips_heads_and_alexnet_convert_into_one_network(tmp_path):
    net = randomised(LPIPS())
    state = net.state_dict()
    torch.save({k: v for k, v in state.items() if k.startswith("lin")}, tmp_path / "alex.pth")
    alexnet = {k: v for k, v in state.items() if k.startswith("features.")}
    alexnet["classifier.1.weight"] = torch.zeros(4096, 9216)  # dropped on purpose
    torch.save(alexnet, tmp_path / "alexnet-owt.pth")
    with pytest.raises(ValueError, match="--backbone"):
        convert_checkpoint(tmp_path / "alex.pth", tmp_path / "missing-backbone")
    result = convert_checkpoint(tmp_path / "alex.pth", tmp_path / "lpips", backbone=tmp_path / "alexnet-owt.pth")
    assert result.kind == "lpips"
    assert any("classifier" in line for line in result.dropped)
    loaded = load_lpips(tmp_path / "lpips")
    x, y = torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, y), net(x, y))
