import subprocess
import sys

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from PIL import Image

from conftest import tiny_model
from interestyle import DirectionSet, UnknownDirectionError, edit, invert, load_encoder, style_mix
from interestyle.pipelines import IntereStylePipeline


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("model")
    tiny_model().save_pretrained(path)
    gen = torch.Generator().manual_seed(0)
    DirectionSet({"smile": torch.randn(32, generator=gen), "age": torch.randn(8, 32, generator=gen)}).save_pretrained(
        path
    )
    return path


@pytest.fixture(scope="module")
def pipe(folder):
    return IntereStylePipeline.from_pretrained(folder)


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (40, 40, 3), dtype=np.uint8) for _ in range(2)]


@pytest.fixture(scope="module")
def mask() -> np.ndarray:
    m = np.zeros((40, 40), np.uint8)
    m[6:34, 8:32] = 255
    return m


def unit(images: torch.Tensor) -> torch.Tensor:
    return (images.float().clamp(-1, 1) + 1) / 2


def test_it_is_a_diffusers_pipeline(pipe):
    assert isinstance(pipe, DiffusionPipeline)
    assert list(pipe.directions) == ["smile", "age"]
    assert pipe.device == torch.device("cpu") and pipe.dtype == torch.float32


def test_output_equals_invert_then_edit(pipe, photos, mask):
    out = pipe(photos, mask=mask, edit="smile", strength=[-1.0, 2.0], output_type="pt")
    assert isinstance(out, ImagePipelineOutput)
    inversion = invert(pipe.model, photos, mask=mask)
    expected = edit(pipe.model, inversion, pipe.directions["smile"], [-1.0, 2.0]).composite()
    assert torch.equal(out.images, unit(expected))


def test_output_without_a_mask_is_the_edited_image(pipe, photos):
    out = pipe(photos[0], edit="age", strength=1.5, layers="coarse", output_type="pt")
    expected = edit(pipe.model, invert(pipe.model, photos[0]), pipe.directions["age"], 1.5, layers="coarse")
    assert torch.equal(out.images, unit(expected.images))


def test_style_then_edit_equals_style_mix_then_edit(pipe, photos):
    out = pipe(photos[0], style=photos[1], style_layers="fine", edit="smile", output_type="latent")
    mixed = style_mix(pipe.model, invert(pipe.model, photos[0]), invert(pipe.model, photos[1]), layers="fine")
    assert torch.equal(out.images, edit(pipe.model, mixed, pipe.directions["smile"]).latents)
    random = pipe(photos[0], style="random", seed=3, output_type="latent").images
    assert torch.equal(random, style_mix(pipe.model, invert(pipe.model, photos[0]), None, seed=3).latents)


def test_no_edit_returns_the_reconstruction(pipe, photos):
    out = pipe(photos, output_type="np")
    assert out.images.shape == (2, 32, 32, 3) and out.images.dtype == np.float32
    np.testing.assert_array_equal(out.images, unit(invert(pipe.model, photos).images).permute(0, 2, 3, 1).numpy())


def test_output_types(pipe, photos):
    images = pipe(photos[0]).images
    assert len(images) == 1 and isinstance(images[0], Image.Image) and images[0].size == (32, 32)
    (latents,) = pipe(photos[0], output_type="latent", return_dict=False)
    assert latents.shape == (1, 8, 32)
    with pytest.raises(ValueError, match="output_type"):
        pipe(photos[0], output_type="jpeg")


def test_an_unknown_direction_name_lists_the_known_ones(pipe, photos):
    with pytest.raises(UnknownDirectionError, match="known directions: smile, age"):
        pipe(photos[0], edit="smiel")


def test_direction_objects_and_files_work_too(pipe, photos, folder, tmp_path):
    direction = pipe.directions["smile"]
    by_object = pipe(photos[0], edit=direction, output_type="latent").images
    direction.save(tmp_path / "smile.npy")
    by_file = pipe(photos[0], edit=str(tmp_path / "smile.npy"), output_type="latent").images
    torch.testing.assert_close(by_file, by_object)
    with pytest.raises(ValueError, match="several directions"):
        pipe(photos[0], edit=str(folder / "directions.safetensors"))


def test_save_pretrained_writes_a_load_encoder_folder(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "saved")
    names = sorted(p.name for p in (tmp_path / "saved").iterdir())
    assert names == ["config.json", "directions.json", "directions.safetensors", "model.safetensors"]
    model = load_encoder(tmp_path / "saved")
    for key, value in pipe.model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
    again = IntereStylePipeline.from_pretrained(tmp_path / "saved")
    assert list(again.directions) == ["smile", "age"]


def test_a_model_folder_without_directions(tmp_path, photos):
    tiny_model().save_pretrained(tmp_path)
    pipe = IntereStylePipeline.from_pretrained(tmp_path, torch_dtype=torch.float64)
    assert pipe.directions is None and pipe.dtype == torch.float64
    with pytest.raises(FileNotFoundError, match="no directions"):
        pipe(photos[0], edit="smile")


def test_to_moves_the_model(folder, photos):
    pipe = IntereStylePipeline.from_pretrained(folder)
    assert pipe.to("cpu") is pipe and pipe.device == torch.device("cpu")
    pipe.to(torch.float64)
    assert pipe.model.dtype == torch.float64
    assert pipe(photos[0], output_type="pt").images.shape == (1, 3, 32, 32)


def test_unsupported_loading_options_are_refused(folder):
    with pytest.raises(TypeError, match="variant"):
        IntereStylePipeline.from_pretrained(folder, variant="fp16")


def test_importing_interestyle_does_not_import_diffusers():
    code = (
        "import sys, interestyle; assert 'diffusers' not in sys.modules; "
        "assert interestyle.IntereStylePipeline.__name__ == 'IntereStylePipeline'; assert 'diffusers' in sys.modules"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_diffusers_page_example_runs(folder, photos, mask, tmp_path, monkeypatch):
    import re
    import shutil
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "diffusers.md"
    (block,) = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    shutil.copytree(folder, tmp_path / "path/to/model-folder")
    Image.fromarray(photos[0]).save(tmp_path / "photo.png")
    Image.fromarray(mask).save(tmp_path / "mask.png")
    monkeypatch.chdir(tmp_path)
    exec(compile(block, str(page), "exec"), {})
    assert Image.open(tmp_path / "less-smile.png").size == Image.open(tmp_path / "more-smile.png").size == (32, 32)


def test_with_a_mask_and_no_edit_the_output_is_the_inversions_composite(pipe, photos, mask):
    out = pipe(photos, mask=mask, output_type="pt")
    expected = unit(invert(pipe.model, photos, mask=mask).composite())
    assert torch.equal(out.images, expected.cpu())
