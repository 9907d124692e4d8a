"""``refine`` from the command line, the app and the diffusers pipeline, on tiny models and a few steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from conftest import tiny_model
from interestyle import RefinedResult, edit, invert, refine
from interestyle.app import Editor
from interestyle.cli import main
from interestyle.images import to_pil
from interestyle.pivotal import load_tuned_generator


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: a second thread on a shared machine only waits
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("refine-cli")
    tiny_model().save_pretrained(root / "model")
    rng = np.random.default_rng(0)
    for folder in ("photos", "masks"):
        (root / folder).mkdir()
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(root / "photos" / f"{name}.png")
        mask = np.zeros((32, 32), np.uint8)
        mask[4:28, 6:26] = 255
        Image.fromarray(mask).save(root / "masks" / f"{name}.png")
    return root


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


# -- interestyle invert --refine ---------------------------------------------------------------------------
def test_invert_refine_writes_each_photos_reconstruction_and_tuned_generator(work, capsys):
    out = work / "refined"
    args = ["invert", str(work / "photos"), "--model", str(work / "model"), "--mask", str(work / "masks")]
    assert main([*args, "--out", str(out), "--refine", "4", "--refine-lr", "0.003", "--no-progress"]) == 0
    assert main([*args, "--out", str(work / "plain"), "--no-progress"]) == 0
    model = tiny_model()
    generators = []
    for name in ("a", "b"):
        with safe_open(str(out / f"{name}.safetensors"), framework="pt") as f:
            latents = f.get_tensor("latents")[None]
        tuned = load_tuned_generator(out / f"{name}.generator.safetensors", model.generator)
        with torch.no_grad():
            drawn = to_pil(tuned(latents))[0]
        assert np.abs(pixels(out / f"{name}.png") - np.asarray(drawn, dtype=np.int16)).max() <= 1
        assert not np.array_equal(pixels(out / f"{name}.png"), pixels(work / "plain" / f"{name}.png"))
        assert (out / f"{name}.composite.png").is_file()
        generators.append(tuned)
    # one generator per photo, each tuned to its own
    assert not torch.equal(generators[0].to_rgbs[-1].bias, generators[1].to_rgbs[-1].bias)
    assert "refine" not in capsys.readouterr().err  # --no-progress


def test_invert_refine_without_a_mask_is_one_line(work, capsys, monkeypatch):
    monkeypatch.chdir(work)
    assert main(["invert", "photos/a.png", "--model", "model", "--out", "bad", "--refine", "3"]) == 2
    err = capsys.readouterr().err
    assert (
        "--refine fits each photo inside its interest mask: give --mask" in err and len(err.strip().splitlines()) == 1
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--refine", "0"], "--refine: 0 must be >= 1"),
        (["--refine", "3", "--refine-lr", "-1"], "--refine-lr: -1 must be a finite number > 0"),
        (["--refine", "3", "--refine-lr", "nan"], "--refine-lr: nan must be a finite number > 0"),
    ],
)
def test_invert_refine_takes_positive_steps_and_lr(work, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(work)
    with pytest.raises(SystemExit) as info:
        main(["invert", "photos/a.png", "--model", "model", "--out", "bad", "--mask", "masks", *extra])
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_invert_refine_that_diverges_names_the_step_and_writes_nothing_for_the_photo(work, capsys):
    out = work / "diverged"
    args = ["invert", str(work / "photos" / "a.png"), "--model", str(work / "model"), "--out", str(out)]
    code = main([*args, "--mask", str(work / "masks"), "--refine", "50", "--refine-lr", "1e30", "--no-progress"])
    assert code == 2
    assert "refine diverged at step" in capsys.readouterr().err
    assert list(out.iterdir()) == []


# -- the app -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def editor():
    return Editor(tiny_model(), baseline=tiny_model(seed=1), refine_steps=4)


def test_the_app_refines_inside_the_mask_and_edits_with_the_tuned_generator(editor):
    photo = editor.sample(2)
    mask = editor.mask(photo, "aligned-face")
    plain = editor.invert(photo, mask)
    seen = []
    inv = editor.invert(photo, mask, refine=True, progress=lambda f, t: seen.append(t))
    assert isinstance(inv.result, RefinedResult) and inv.result.settings.steps == 4
    assert set(inv.errors) == {"IntereStyle", "IntereStyle, refined", "baseline"}
    assert inv.errors["IntereStyle, refined"] < inv.errors["IntereStyle"] == plain.errors["IntereStyle"]
    assert "refining (4 steps)" in seen
    name = next(iter(editor.directions))
    edited = editor.edit(inv, {name: 2.0})
    assert edited.generator is inv.result.generator
    with torch.no_grad():
        torch.testing.assert_close(edited.images, inv.result.generator(edited.latents), atol=1e-5, rtol=0)
    mixed = editor.mix(inv, editor.sample(5), "coarse")
    assert mixed.generator is inv.result.generator


def test_the_app_refuses_to_refine_without_a_mask_or_with_bad_steps(editor):
    with pytest.raises(ValueError, match="pick or paint a mask first"):
        editor.invert(editor.sample(1), None, refine=True)
    with pytest.raises(ValueError, match=r"refine_steps=0 is invalid"):
        Editor(tiny_model(), refine_steps=0)


def test_the_app_page_has_the_refine_box(editor):
    pytest.importorskip("gradio")
    from interestyle.app.ui import build_app

    page = build_app(editor)
    boxes = [b for b in page.blocks.values() if getattr(b, "elem_id", None) == "refine"]
    assert len(boxes) == 1 and "4 steps" in boxes[0].label and boxes[0].value is False


# -- the diffusers pipeline ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pipe():
    pytest.importorskip("diffusers")
    from interestyle.pipelines import IntereStylePipeline

    return IntereStylePipeline(tiny_model())


def test_the_pipeline_refines_then_edits_with_the_tuned_generator(pipe):
    photo = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    mask = np.zeros((32, 32), np.uint8)
    mask[4:28, 6:26] = 255
    direction = torch.randn(32, generator=torch.Generator().manual_seed(4))
    out = pipe(photo, mask=mask, refine=3, edit=direction, strength=2.0, output_type="pt", paste=False)
    refined = refine(pipe.model, invert(pipe.model, photo, mask=mask), steps=3, progress=False)
    expected = edit(pipe.model, refined, direction, 2.0).images
    torch.testing.assert_close(out.images, (expected.clamp(-1, 1) + 1) / 2, atol=1e-6, rtol=0)
    plain = pipe(photo, mask=mask, edit=direction, strength=2.0, output_type="pt", paste=False)
    assert (plain.images - out.images).abs().mean() > 1e-3


@pytest.mark.parametrize(("refine_arg", "message"), [(0, "refine=0 is invalid"), ("yes", "refine='yes' is invalid")])
def test_the_pipeline_refuses_bad_refine_arguments(pipe, refine_arg, message):
    photo = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match=message):
        pipe(photo, mask=np.ones((32, 32), np.uint8), refine=refine_arg)
    with pytest.raises(ValueError, match="refine needs a mask"):
        pipe(photo, refine=True)
