"""face-parsing: labels to interest masks, the FaceParser provider and its safetensors folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import tiny_model
from interestyle import invert
from interestyle.errors import ConfigError, WeightsError
from interestyle.masks import (
    DEFAULT_INTEREST,
    LABELS,
    BiSeNet,
    FaceParser,
    get_mask_provider,
    interest_from_labels,
    interest_from_probabilities,
)
from interestyle.masks.face_parsing import FACE_PARSING_ENV, interest_indices


@pytest.fixture(scope="module")
def net() -> BiSeNet:
    torch.manual_seed(0)
    return BiSeNet().eval()


@pytest.fixture(scope="module")
def folder(net, tmp_path_factory):
    return FaceParser(net, input_size=64).save_pretrained(tmp_path_factory.mktemp("parser") / "face-parser")


def test_default_interest_is_face_and_hair():
    names = {LABELS[i] for i in DEFAULT_INTEREST}
    assert names == {
        "skin",
        "l_brow",
        "r_brow",
        "l_eye",
        "r_eye",
        "l_ear",
        "r_ear",
        "nose",
        "mouth",
        "u_lip",
        "l_lip",
        "hair",
    }
    assert LABELS[0] == "background" and LABELS[6] == "eye_g" and LABELS[17] == "hair" and LABELS[18] == "hat"


def test_label_map_to_mask():
    labels = torch.tensor(
        [
            [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17, 18, 0]],
        ]
    )
    mask = interest_from_labels(labels)
    expected = torch.tensor([[[0, 1, 1, 1, 1], [1, 0, 1, 1, 0], [1, 1, 1, 1, 0], [0, 0, 1, 0, 0]]]).float()
    assert mask.shape == (1, 1, 4, 5)
    torch.testing.assert_close(mask[:, 0], expected)


def test_synthetic_face_with_occluders():
    """A face (skin) with hair above, a hat over the hair and a 'microphone' (labelled cloth) over the chin."""
    labels = torch.zeros(2, 32, 32, dtype=torch.long)
    labels[:, 8:28, 8:24] = 1  # skin
    labels[:, 4:8, 8:24] = 17  # hair
    labels[:, 0:5, 6:26] = 18  # hat over the top of the hair
    labels[:, 22:28, 12:20] = 16  # occluder over the chin
    labels[1, 14:16, 10:22] = 6  # eyeglasses on the second face
    mask = interest_from_labels(labels)[:, 0]
    assert mask[0, 15, 15] == 1 and mask[0, 6, 15] == 1  # face and hair
    assert mask[0, 2, 15] == 0 and mask[0, 25, 15] == 0 and mask[0, 30, 2] == 0  # hat, occluder, background
    assert mask[1, 15, 15] == 0  # eyeglasses are uninterest by default...
    with_glasses = interest_from_labels(labels, [*DEFAULT_INTEREST, "eye_g"])[:, 0]
    assert with_glasses[1, 15, 15] == 1  # ...unless chosen
    assert int(mask[0].sum()) == 20 * 16 - 6 * 8 + 3 * 16  # skin - occluder + visible hair rows


def test_probabilities_to_soft_mask():
    probs = torch.zeros(1, 19, 2, 2)
    probs[0, 1, 0, 0] = 1.0  # skin
    probs[0, 0, 0, 1] = 1.0  # background
    probs[0, 17, 1, 0], probs[0, 18, 1, 0] = 0.7, 0.3  # hair or hat
    probs[0, 1, 1, 1], probs[0, 17, 1, 1] = 0.5, 0.5
    mask = interest_from_probabilities(probs)
    torch.testing.assert_close(mask[0, 0], torch.tensor([[1.0, 0.0], [0.7, 1.0]]))
    torch.testing.assert_close(
        interest_from_probabilities(probs, ["hat"])[0, 0], torch.tensor([[0.0, 0.0], [0.3, 0.0]])
    )


def test_interest_classes_by_index_or_name():
    assert interest_indices([17, "skin", 1]) == (1, 17)
    assert interest_indices(range(3)) == (0, 1, 2)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: interest_indices([]), ValueError, "empty"),
        (lambda: interest_indices([19]), ValueError, "outside the network's labels 0..18"),
        (lambda: interest_indices([-1]), ValueError, "outside"),
        (lambda: interest_indices(["beard"]), ValueError, "unknown face-parsing class 'beard'"),
        (lambda: interest_indices([1.0]), TypeError, "label index"),
        (lambda: interest_indices([True]), TypeError, "label index"),
        (lambda: interest_indices("skin"), TypeError, "collection"),
        (lambda: interest_from_labels(torch.zeros(1, 4, 4)), ValueError, "integer tensor"),
        (lambda: interest_from_labels(torch.zeros(1, 1, 4, 4, dtype=torch.long)), ValueError, r"\(B, H, W\)"),
        (lambda: interest_from_labels(torch.full((1, 4, 4), 19)), ValueError, r"values in \[19, 19\]"),
        (lambda: interest_from_probabilities(torch.zeros(19, 4, 4)), ValueError, r"\(B, C, H, W\)"),
    ],
)
def test_bad_label_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_parser_gives_valid_masks_at_input_size(net):
    parser = FaceParser(net, input_size=64)
    images = torch.rand(2, 3, 40, 48) * 2 - 1
    masks = parser(images)
    assert masks.shape == (2, 1, 40, 48) and masks.dtype == torch.float32
    assert masks.min() >= 0 and masks.max() <= 1 and torch.isfinite(masks).all()
    assert parser.resolution == 64 and parser.device == torch.device("cpu")
    assert parser.logits(images).shape == (2, 19, 64, 64)
    labels = parser.labels(images)
    assert labels.shape == (2, 40, 48) and labels.dtype == torch.int64
    hard = FaceParser(net, input_size=64, soft=False)(images)
    assert set(hard.unique().tolist()) <= {0.0, 1.0}


def test_parser_mask_is_the_interest_probability(net):
    parser = FaceParser(net, input_size=64, interest_classes=[1, 17])
    images = torch.rand(1, 3, 64, 64) * 2 - 1
    expected = parser.logits(images).softmax(1)[:, [1, 17]].sum(1, keepdim=True)
    torch.testing.assert_close(parser(images), expected)


def test_parser_normalises_like_upstream(net):
    parser = FaceParser(net, input_size=64)
    images = torch.rand(1, 3, 64, 64) * 2 - 1
    unit = (images + 1) / 2
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(parser.normalise(images), (unit - mean) / std)
    assert FaceParser(net).normalise(images).shape == (1, 3, 512, 512)  # upstream's training size by default


def test_dilate_and_feather_options(net):
    images = torch.rand(1, 3, 64, 64) * 2 - 1
    plain = FaceParser(net, input_size=64, soft=False)(images)
    grown = FaceParser(net, input_size=64, soft=False, dilate_px256=8)(images)
    assert (grown >= plain).all()
    smooth = FaceParser(net, input_size=64, soft=False, feather_px256=4)(images)
    assert smooth.min() >= 0 and smooth.max() <= 1


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"interest_classes": []}, ValueError, "empty"),
        ({"dilate_px256": -2}, ValueError, "dilate_px256=-2"),
        ({"feather_px256": "soft"}, ValueError, "feather_px256='soft'"),
        ({"input_size": 16}, ValueError, "input_size=16"),
    ],
)
def test_bad_parser_options(net, kwargs, error, message):
    with pytest.raises(error, match=message):
        FaceParser(net, **kwargs)


def test_bad_parser_inputs(net):
    parser = FaceParser(net, input_size=64)
    with pytest.raises(TypeError, match="BiSeNet"):
        FaceParser(torch.nn.Linear(2, 2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        parser(torch.zeros(3, 32, 32))
    with pytest.raises(TypeError, match="float images"):
        parser(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))


def test_save_and_load_round_trip(net, folder):
    config = json.loads((folder / "config.json").read_text())
    assert config["_class_name"] == "FaceParser" and config["n_classes"] == 19 and config["input_size"] == 64
    loaded = FaceParser.from_pretrained(folder, interest_classes=["skin"], dtype=torch.float64)
    assert loaded.interest_classes == (1,) and loaded.resolution == 64 and loaded.dtype == torch.float64
    for key, value in net.state_dict().items():
        torch.testing.assert_close(loaded.net.state_dict()[key].float(), value.float())
    images = torch.rand(1, 3, 64, 64) * 2 - 1
    expected = FaceParser(net, input_size=64, interest_classes=["skin"])(images)
    torch.testing.assert_close(loaded(images), expected, atol=1e-5, rtol=1e-5)


def test_saved_weights_use_upstream_key_names(folder):
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
        keys = set(f.keys())
    assert {"cp.resnet.conv1.weight", "cp.arm32.conv_atten.weight", "ffm.convblk.conv.weight"} <= keys
    assert not any(k.startswith("net.") for k in keys)


def test_loading_bad_folders(net, folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="no model folder"):
        FaceParser.from_pretrained(tmp_path / "missing")
    tiny_model().save_pretrained(tmp_path / "encoder")
    with pytest.raises(ConfigError, match="'IntereStyleModel' model, not a face parser"):
        FaceParser.from_pretrained(tmp_path / "encoder")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes())
    (bad / "config.json").write_text(json.dumps({"_class_name": "FaceParser", "n_classes": 5}))
    with pytest.raises(WeightsError, match=r"conv_out\.conv_out\.weight"):
        FaceParser.from_pretrained(bad)
    (bad / "config.json").write_text(json.dumps({"_class_name": "FaceParser", "input_size": 8}))
    with pytest.raises(ConfigError, match="input_size=8"):
        FaceParser.from_pretrained(bad)
    (bad / "model.safetensors").unlink()
    (bad / "79999_iter.pth").write_bytes(b"\x80\x02pickle")
    (bad / "config.json").write_text(json.dumps({"_class_name": "FaceParser"}))
    with pytest.raises(WeightsError, match="pickled"):
        FaceParser.from_pretrained(bad)


def test_registered_name_needs_weights(monkeypatch):
    monkeypatch.delenv(FACE_PARSING_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=FACE_PARSING_ENV) as caught:
        get_mask_provider("face-parsing")
    message = str(caught.value)
    assert "`interestyle convert 79999_iter.pth --out DIR`" in message and "`--option weights=DIR`" in message
    assert "bisenet_state_dict_from_checkpoint" not in message and "from_pretrained" not in message


def test_invert_with_face_parsing_by_name(folder, monkeypatch):
    monkeypatch.setenv(FACE_PARSING_ENV, str(folder))
    photo = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    model = tiny_model()
    result = invert(model, photo, mask="face-parsing")
    assert result.masks.shape == (1, 1, 32, 32)
    parser = FaceParser.from_pretrained(folder)
    expected = torch.nn.functional.interpolate(
        parser(result.inputs.new_tensor(photo).permute(2, 0, 1)[None] / 127.5 - 1),
        size=(32, 32),
        mode="bilinear",
        antialias=True,
    )
    assert float((result.masks - expected).abs().max()) < 0.05
    options = get_mask_provider("face-parsing", interest_classes=["hair"], dilate_px256=2)
    assert options.interest_classes == (17,) and options.dilate_px256 == 2
