"""``interestyle convert --kind face-parsing``: a bare BiSeNet state dict becomes a FaceParser folder."""

import pytest
import torch

from interestyle.convert import convert_checkpoint
from interestyle.masks import BiSeNet, FaceParser


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    net = BiSeNet()
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if name.endswith("running_mean"):
                tensor.normal_(0, 0.1)
            elif name.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
    return net.eval()


@pytest.mark.parametrize("as_saved", ["plain", "data-parallel"])
def test_upstream_state_dict_converts_and_parses_identically(tmp_path, net, as_saved):
    state = net.state_dict()
    if as_saved == "data-parallel":  # a DataParallel save, without BatchNorm counters
        state = {f"module.{k}": v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "79999_iter.pth")
    result = convert_checkpoint(tmp_path / "79999_iter.pth", tmp_path / "out")
    assert result.kind == "face-parsing"
    parser = FaceParser.from_pretrained(tmp_path / "out")
    images = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(parser(images), FaceParser(net)(images))
    card = (tmp_path / "out" / "README.md").read_text()
    assert "face-parsing" in card


def test_a_training_checkpoint_is_not_taken_for_a_parser(tmp_path, net):
    torch.save({"state_dict": net.state_dict()}, tmp_path / "wrapped.pth")
    with pytest.raises(ValueError, match="face-parsing"):
        convert_checkpoint(tmp_path / "wrapped.pth", tmp_path / "out", kind="face-parsing")
