"""``interestyle mix`` from saved latents (one photo's ``NAME.safetensors``, a dataset's latents file or the index of
its shards): the same mixes as from the photos, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from conftest import tiny_model
from interestyle.cli import main
from interestyle.editing import resolve_layers
from interestyle.latents_file import latents_shard_name, read_latents_file, save_latents_file, write_latents_index

NAMES = ("a", "b", "c")
QUIET = ["--model", "model", "--batch-size", "2", "--no-progress"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Three photos with masks, inverted with and without the masks, each with a dataset latents file; the
    masked one's latents also as two shards and their index."""
    root = tmp_path_factory.mktemp("mix-latents")
    tiny_model().save_pretrained(root / "model")
    rng = np.random.default_rng(0)
    for folder in ("photos", "masks"):
        (root / folder).mkdir()
    for i, name in enumerate(NAMES):
        Image.fromarray(rng.integers(0, 256, (40, 38, 3), dtype=np.uint8)).save(root / "photos" / f"{name}.png")
        mask = np.zeros((40, 38), np.uint8)
        mask[4 + 2 * i : 34, 6:30] = 255
        Image.fromarray(mask).save(root / "masks" / f"{name}.png")
    at(root, "invert", "photos", *QUIET, "--out", "inv", "--latents-file", "latents.safetensors")
    at(
        root,
        "invert",
        "photos",
        "--mask",
        "masks",
        *QUIET,
        "--out",
        "inv-masked",
        "--latents-file",
        "latents.safetensors",
    )
    dataset = read_latents_file(root / "inv-masked" / "latents.safetensors")
    (root / "shards").mkdir()
    for rank, names in enumerate((["a", "b"], ["c"])):
        save_latents_file(
            root / "shards" / latents_shard_name("latents.safetensors", rank, 2), {n: dataset[n] for n in names}
        )
    write_latents_index(root / "shards" / "latents.safetensors", 2)
    return root


def at(root, *argv: str) -> int:
    import os

    previous = os.getcwd()
    os.chdir(root)
    try:
        return main(list(argv))
    finally:
        os.chdir(previous)


def outputs(folder) -> dict[str, object]:
    """Each PNG's pixels and each safetensors file's tensors (the metadata names the inputs, which differ)."""
    out: dict[str, object] = {}
    for p in sorted(folder.iterdir()):
        if p.suffix == ".png":
            out[p.name] = np.asarray(Image.open(p)).tobytes()
        elif p.suffix == ".safetensors":
            with safe_open(str(p), framework="pt") as f:
                out[p.name] = {k: f.get_tensor(k).numpy().tobytes() for k in f.keys()}  # noqa: SIM118
    return out


def test_mixing_the_latents_invert_wrote_equals_mixing_the_photos(work):
    """Bit for bit: the photos are inverted in the same batches as invert inverted them ([a b] [c]; the style c
    alone), so their latents are invert's, and the rest is the same computation on the same numbers."""
    photos = [f"photos/{n}.png" for n in NAMES]
    mix = ["mix", "--layers", "fine", *QUIET, "--grid"]
    assert at(work, *mix, *photos, "--style", "photos/c.png", "--out", "from-photos") == 0
    assert at(work, *mix, "inv/latents.safetensors", "--style", "inv/c.safetensors", "--out", "from-latents") == 0
    by_photos, by_latents = outputs(work / "from-photos"), outputs(work / "from-latents")
    assert (
        sorted(by_photos)
        == sorted(by_latents)
        == sorted([f"{n}_c.{ext}" for n in NAMES for ext in ("png", "safetensors")] + ["grid.png"])
    )
    for name in by_photos:
        if name != "grid.png":  # its content column: the photo, or for latents the image they decode to
            assert by_latents[name] == by_photos[name], name
    with safe_open(str(work / "from-latents" / "b_c.safetensors"), framework="pt") as f:
        meta = f.metadata()
    assert meta["content"] == "inv/latents.safetensors[b]" and meta["style"] == "inv/c.safetensors"


def test_random_styles_for_the_shards_index_equal_the_masked_photos_latents(work, capsys):
    """With --mask the photos' mixes are pasted into them and saved latents have none: the latents written are
    equal, the PNGs are not (the mix of saved latents is written as decoded, and a warning says so).

    One random style each, so that the photos are inverted in invert's batches ([a b] [c]); with ``--random 2``
    mix inverts one photo at a time and the latents differ from invert's batched ones in the last bits (2.4e-7)."""
    mix = ["mix", "--seed", "3", *QUIET]
    assert at(work, *mix, "photos", "--mask", "masks", "--out", "rnd-photos") == 0
    capsys.readouterr()
    index = "shards/latents.safetensors.index.json"
    assert at(work, *mix, index, "--mask", "masks", "--out", "rnd-latents") == 0
    assert (
        "warning: --mask: 3 content input(s) are saved latents, with no photo to paste into" in capsys.readouterr().err
    )
    by_photos, by_latents = outputs(work / "rnd-photos"), outputs(work / "rnd-latents")
    assert sorted(by_photos) == sorted(by_latents) and len(by_photos) == 2 * len(NAMES)
    for name in by_photos:
        if name.endswith(".safetensors"):
            assert by_latents[name] == by_photos[name], name
    # the index's entries come shard by shard, here a b | c: the order of the photos, so random style k goes
    # to the same content
    unpasted = at(work, *mix, "inv-masked/latents.safetensors", "--out", "rnd-file")
    assert unpasted == 0 and outputs(work / "rnd-file") == by_latents


def test_faces_of_an_aligned_inversion_are_one_input_each(work):
    latents = torch.randn(2, 8, 32, generator=torch.Generator().manual_seed(1))
    save_latents_file(work / "group.safetensors", {"group": latents})
    assert at(work, "mix", "group.safetensors", "--style", "inv/a.safetensors", *QUIET, "--out", "faces") == 0
    names = sorted(p.name for p in (work / "faces").glob("*.safetensors"))
    assert names == ["group-0_a.safetensors", "group-1_a.safetensors"]
    with safe_open(str(work / "faces" / "group-1_a.safetensors"), framework="pt") as f:
        mixed = f.get_tensor("latents")
    kept = [k for k in range(8) if k not in resolve_layers("coarse", 8)]
    assert torch.equal(mixed[kept], latents[1, kept])  # all but the coarse vectors (the style's) are face 1's


def one_line_error(capsys, work, *argv: str) -> str:
    assert at(work, *argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("interestyle mix: error:"), err
    return err


def test_latents_of_another_model_and_align_with_latents_are_one_line_errors(work, capsys, tmp_path):
    other = tmp_path / "other.safetensors"
    save_latents_file(other, {"x": torch.zeros(4, 16)})
    err = one_line_error(capsys, work, "mix", "photos/a.png", "--style", str(other), *QUIET, "--out", "never")
    assert f"{other}[x] holds latents of shape (4, 16), and the model model takes (8, 32)" in err
    err = one_line_error(capsys, work, "mix", "inv/a.safetensors", "--align", *QUIET, "--out", "never")
    assert (
        "--align pastes each face's mix back into its content photo, and inv/a.safetensors holds saved latents" in err
    )
    assert not (work / "never").exists()  # both refused before any output
    (work / "broken.safetensors").write_bytes(b"not a safetensors file")
    assert at(work, "mix", "photos/a.png", "--style", "broken.safetensors", *QUIET, "--out", "unmixed") == 2
    why, error = capsys.readouterr().err.strip().splitlines()  # as for a shared photo: why, then the error
    assert why.startswith("interestyle mix: warning: skipped broken.safetensors: cannot read W+ latents")
    assert error == "interestyle mix: error: broken.safetensors cannot be read, and every pair needs it"


def test_a_damaged_latents_file_is_skipped_with_its_pairs(work, capsys):
    (work / "broken.safetensors").write_bytes(b"not a safetensors file")
    (work / "broken.safetensors.index.json").write_text("{not json")
    argv = ["mix", "broken.safetensors", "inv/a.safetensors", "broken.safetensors.index.json", "--style"]
    argv += ["photos/a.png", "photos/b.png", "photos/c.png", *QUIET, "--out", "skipping"]
    assert at(work, *argv) == 1
    err = capsys.readouterr().err
    assert "warning: skipped broken.safetensors: cannot read W+ latents" in err
    assert "warning: skipped broken.safetensors.index.json: cannot read its latents" in err
    assert "2 input(s) could not be read" in err
    # the pairs keep their places: a (second content) goes with b (second style)
    assert sorted(p.name for p in (work / "skipping").iterdir()) == ["a_b.png", "a_b.safetensors"]


class CentreFace:
    """One face in the middle of any photo (5-point landmarks: eyes, nose, mouth corners)."""

    def __call__(self, image):
        h, w = image.shape[-2:]
        x, y, d = 0.5 * w, 0.5 * h, 0.12 * w
        return torch.tensor([[[x - d, y - d], [x + d, y - d], [x, y], [x - 0.7 * d, y + d], [x + 0.7 * d, y + d]]])


def test_align_takes_a_style_from_saved_latents(work):
    from interestyle.align import register_landmark_provider
    from interestyle.align.landmarks import _REGISTERED

    register_landmark_provider("test-mix-centre-face", CentreFace)
    try:
        argv = ["mix", "photos/a.png", "--style", "inv/latents.safetensors", "--align", "--landmarks"]
        argv += ["test-mix-centre-face", *QUIET, "--out", "aligned", "--grid"]
        assert at(work, *argv) == 0  # a photo shared by the three styles a, b, c of the dataset's file
    finally:
        _REGISTERED.pop("test-mix-centre-face")
    styles = read_latents_file(work / "inv" / "latents.safetensors")
    coarse = resolve_layers("coarse", 8)  # the default --layers, taken from the style
    for name in NAMES:
        with safe_open(str(work / "aligned" / f"a_{name}.safetensors"), framework="pt") as f:
            saved = f.get_tensor("latents")
        assert saved.shape == (1, 8, 32) and torch.equal(saved[0, coarse], styles[name][coarse])
        assert Image.open(work / "aligned" / f"a_{name}.png").size == (38, 40)  # pasted back into the photo
    assert (work / "aligned" / "grid.png").is_file()
