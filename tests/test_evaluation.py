"""``interestyle.evaluate`` and ``interestyle eval``: the field's metrics, whole and inside the interest mask."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import interestyle as its
from conftest import tiny_model
from interestyle.cli import main
from interestyle.convert import convert_checkpoint
from interestyle.evaluation import EMPTY_MASK_NOTE, EVAL_SIZE, METRIC_NAMES, build_metrics
from interestyle.images import load_masks, stack_resized
from interestyle.lossnets import load_arcface, load_lpips
from interestyle.lossnets.lpips import LPIPS
from interestyle.metrics import masked_mse, ms_ssim, restrict_to_mask, ssim
from interestyle.synthetic import make_batch
from lossnet_setup import calibrated_arcface, randomised
from training_setup import single_thread  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> dict[str, object]:
    """Randomly initialised LPIPS and ArcFace IR-SE50, pickled as the public files are and converted with
    ``interestyle convert`` (the folders eval reads), with the networks they hold."""
    root = tmp_path_factory.mktemp("lossnets")
    lpips_net = randomised(LPIPS())
    with torch.no_grad():
        for i in range(5):
            getattr(lpips_net, f"lin{i}").model[1].weight.abs_()  # the public heads are non-negative
    state = lpips_net.state_dict()
    torch.save({k: v for k, v in state.items() if k.startswith("lin")}, root / "alex.pth")
    torch.save({k: v for k, v in state.items() if k.startswith("features.")}, root / "alexnet-owt.pth")
    convert_checkpoint(root / "alex.pth", root / "lpips", backbone=root / "alexnet-owt.pth")
    arcface_net = calibrated_arcface()
    arc_state = {k: v for k, v in arcface_net.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(arc_state, root / "model_ir_se50.pth")
    convert_checkpoint(root / "model_ir_se50.pth", root / "arcface")
    (root / "alex.pth").unlink()
    (root / "alexnet-owt.pth").unlink()
    (root / "model_ir_se50.pth").unlink()
    return {"lpips": root / "lpips", "arcface": root / "arcface"}


@pytest.fixture
def faces():
    """Four held-out occluded synthetic faces (48x48) and their interest masks."""
    batch = make_batch(4, size=48, seed=900_001, condition="occluded")
    return batch.image, batch.interest_mask


def save_pngs(folder, images, names=None):
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(its.to_pil(images)):
        image.save(folder / f"{names[i] if names else f'{i:04d}'}.png")
    return folder


def test_values_are_the_metrics_of_the_reconstructions_resized_to_256(faces):
    images, masks = faces
    model = tiny_model()  # 32x32 reconstructions of the 48x48 images
    report = its.evaluate(model, images, mask=masks, metrics="l2,ssim,ms-ssim", batch_size=3)
    made = its.invert(model, images).images.clamp(-1, 1)
    recon = stack_resized([made], EVAL_SIZE)
    target = stack_resized([images], EVAL_SIZE)
    m = load_masks(masks, EVAL_SIZE, sizes=[(48, 48)] * 4)
    # inside the region: what lies outside the mask replaced by the image at 32x32, then resized and pasted
    m32 = load_masks(masks, 32, sizes=[(48, 48)] * 4)
    inside = stack_resized([torch.where(m32 > 0, made, stack_resized([images], 32))], EVAL_SIZE)
    pasted = restrict_to_mask(inside, target, m)
    expected = {
        ("whole", "l2"): masked_mse(recon, target),
        ("whole", "ssim"): ssim(recon, target),
        ("whole", "ms-ssim"): ms_ssim(recon, target),
        ("interest", "l2"): masked_mse(inside, target, m),
        ("interest", "ssim"): ssim(pasted, target, m),
        ("interest", "ms-ssim"): ms_ssim(pasted, target, m),
    }
    assert report.metrics == ("l2", "ssim", "ms-ssim") and report.size == 256
    for (region, name), values in expected.items():
        got = [getattr(s, region)[name] for s in report.images]
        np.testing.assert_allclose(got, values.numpy(), rtol=1e-4, atol=1e-6, err_msg=f"{region} {name}")
        summary = report.summary(name, region)
        assert summary.count == 4
        assert summary.mean == pytest.approx(float(np.mean(got))) and summary.std == pytest.approx(float(np.std(got)))
    assert report.summary("l2", "interest").mean != pytest.approx(report.summary("l2").mean)
    assert [s.name for s in report.images] == ["0", "1", "2", "3"]


def test_interest_metrics_ignore_what_is_drawn_outside_the_mask(faces, weights):
    # 48x48 reconstructions resized to 256: the resize must not carry the outside into the mask's edge
    images, masks = faces
    recon = (images.flip(-1) * 0.8).clamp(-1, 1)
    elsewhere = torch.where(masks > 0, recon, torch.rand_like(recon) * 2 - 1)  # the outside redrawn at random
    kwargs = {"mask": masks, "metrics": METRIC_NAMES, "lpips": weights["lpips"], "arcface": weights["arcface"]}
    first = its.evaluate(None, images, reconstructions=recon, **kwargs)
    second = its.evaluate(None, images, reconstructions=elsewhere, **kwargs)
    assert first.metrics == METRIC_NAMES and not first.skipped
    for name in METRIC_NAMES:
        a, b = first.summary(name, "interest").mean, second.summary(name, "interest").mean
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6), name
        assert first.summary(name).mean != pytest.approx(second.summary(name).mean, rel=1e-4), name


def test_at_the_evaluation_size_the_interest_values_are_the_metrics_own(weights):
    # Nothing is resized at 256: replacing the outside first changes no value, so eval's interest region is
    # exactly Metric.interest (what the occlusion benchmark calls at 64x64); a full mask gives the whole image.
    batch = make_batch(2, size=EVAL_SIZE, seed=900_003, condition="occluded")
    images, masks = batch.image, batch.interest_mask
    recon = (images.flip(-1) * 0.8).clamp(-1, 1)
    metrics, _ = build_metrics(METRIC_NAMES, lpips=weights["lpips"], arcface=weights["arcface"])
    for mask in (masks, torch.ones_like(masks)):
        report = its.evaluate(None, images, reconstructions=recon, mask=mask, metrics=METRIC_NAMES, **weights)
        for metric in metrics:
            expected = metric.interest(recon, images, mask)
            got = [s.interest[metric.name] for s in report.images]
            np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-6, err_msg=metric.name)
            if mask is not masks:
                whole = [s.whole[metric.name] for s in report.images]
                np.testing.assert_allclose(got, whole, rtol=1e-5, atol=1e-6, err_msg=metric.name)


def test_lpips_and_identity_use_the_converted_networks_at_256(faces, weights):
    images, _ = faces
    recon = (images * 0.7).clamp(-1, 1)
    report = its.evaluate(
        None, images, reconstructions=recon, metrics="lpips,id", lpips=weights["lpips"], arcface=weights["arcface"]
    )
    lpips_net, arcface_net = load_lpips(weights["lpips"]), load_arcface(weights["arcface"])
    x, y = stack_resized([recon], 256), stack_resized([images], 256)
    with torch.no_grad():
        expected_lpips = lpips_net(x, y)

        def embed(t):  # pSp's crop at 256, pooled to 112x112, written out
            return arcface_net(torch.nn.functional.adaptive_avg_pool2d(t[:, :, 35:223, 32:220], 112))

        expected_id = (embed(x) * embed(y)).sum(1)
    np.testing.assert_allclose([s.whole["lpips"] for s in report.images], expected_lpips.numpy(), rtol=1e-4)
    np.testing.assert_allclose([s.whole["id"] for s in report.images], expected_id.numpy(), rtol=1e-4, atol=1e-6)
    same = its.evaluate(None, images, reconstructions=images, metrics="l2,lpips,id", **weights)
    assert same.summary("l2").mean == 0 and same.summary("lpips").mean == pytest.approx(0, abs=1e-6)
    assert same.summary("id").mean == pytest.approx(1, abs=1e-5)


def test_metrics_without_weights_are_skipped_with_the_file_to_convert(faces):
    images, _ = faces
    report = its.evaluate(None, images, reconstructions=images, metrics="l2,lpips,id")
    assert report.metrics == ("l2",) and set(report.skipped) == {"lpips", "id"}
    assert "alex.pth" in report.skipped["lpips"] and "--kind lpips" in report.skipped["lpips"]
    assert "model_ir_se50.pth" in report.skipped["id"] and "--kind arcface" in report.skipped["id"]
    text = report.to_markdown()
    assert report.skipped["lpips"] in text.splitlines() and report.skipped["id"] in text.splitlines()
    assert "LPIPS" not in text.split("\n\n")[1]  # no row, never a made-up value
    with pytest.raises(ValueError, match=r"was not measured.*alex\.pth"):
        report.summary("lpips")
    with pytest.raises(ValueError, match="nothing to measure: lpips skipped"):
        its.evaluate(None, images, reconstructions=images, metrics="lpips")


def test_an_empty_mask_is_said_per_image_never_nan(faces, tmp_path):
    images, masks = faces
    masks = masks.clone()
    masks[2] = 0
    report = its.evaluate(None, images, reconstructions=images.flip(-1), mask=masks, metrics="l2,ssim")
    noted = report.images[2]
    assert noted.interest == {"l2": None, "ssim": None} and noted.note == EMPTY_MASK_NOTE
    assert all(s.note is None and None not in s.interest.values() for i, s in enumerate(report.images) if i != 2)
    assert report.summary("l2", "interest").count == 3 and report.summary("l2").count == 4
    assert "1 left out of the interest region" in report.to_markdown()

    def refuse(constant):
        raise AssertionError(f"{constant} in the JSON")

    data = json.loads(report.save(tmp_path / "r.json").read_text(), parse_constant=refuse)
    assert data["images"][2]["interest"]["l2"] is None and data["images"][2]["note"] == EMPTY_MASK_NOTE
    assert data["summary"]["interest"]["ssim"]["count"] == 3
    assert data["definitions"]["ssim"].startswith("SSIM on [0, 1]")


def test_files_pair_by_name_and_other_files_are_ignored(faces, tmp_path):
    images, masks = faces
    names = ["b", "a", "d", "c"]
    save_pngs(tmp_path / "images", images, names)
    save_pngs(tmp_path / "masks", masks * 2 - 1, names)
    recons = save_pngs(tmp_path / "recons", images, names)
    Image.new("RGB", (48, 48)).save(recons / "a.composite.png")  # what `interestyle invert --mask` writes beside
    report = its.evaluate(None, tmp_path / "images", mask=tmp_path / "masks", reconstructions=recons, metrics="l2")
    assert [s.name for s in report.images] == ["a", "b", "c", "d"]
    assert all(s.whole["l2"] == 0 and s.interest["l2"] == 0 for s in report.images)  # each with its own copy
    assert report.masks == f"the folder {tmp_path / 'masks'}"


def test_a_mask_provider_by_name_gives_the_interest_region(faces):
    images, _ = faces
    report = its.evaluate(None, images, reconstructions=images.flip(-1), mask="aligned-face", metrics="l2")
    assert report.masks == "the aligned-face provider"
    assert report.summary("l2", "interest").mean != pytest.approx(report.summary("l2").mean)


@pytest.mark.parametrize(
    ("setup", "error", "message"),
    [
        ("empty-folder", FileNotFoundError, r"images: the folder .* holds no images \(.png"),
        (
            "mask-missing",
            ValueError,
            r"masks do not pair with the images: .* has no file named 0003\.\* for .*0003\.png",
        ),
        ("mask-shape", ValueError, r"0001\.png is 48x96 \(HxW\) but its image .*0001\.png is 48x48"),
        ("recon-count", ValueError, "3 reconstructions for 4 images"),
        ("same-stem", ValueError, r"have one name, '0000'"),
        ("unreadable", ValueError, r"cannot read .*0002\.png as an image"),
        ("metric", ValueError, r"metric 'psnr' does not exist; known: l2, lpips, ssim, ms-ssim, id"),
        ("fid", ValueError, "Inception weights"),
        ("both", ValueError, "exactly one of the two"),
        ("neither", ValueError, "exactly one of the two"),
        ("size", ValueError, "size=128 is too small for ms-ssim"),
    ],
)
def test_bad_input_is_one_clear_error(faces, tmp_path, monkeypatch, setup, error, message):
    images, masks = faces
    folder = save_pngs(tmp_path / "images", images)
    mask_folder = save_pngs(tmp_path / "masks", masks * 2 - 1)
    kwargs: dict = {"reconstructions": images, "metrics": "l2,ssim"}
    model = None
    if setup == "empty-folder":
        folder = tmp_path / "nothing"
        folder.mkdir()
        (folder / "notes.txt").write_text("not an image")
    elif setup == "mask-missing":
        (mask_folder / "0003.png").unlink()
        kwargs["mask"] = mask_folder
    elif setup == "mask-shape":
        Image.new("L", (96, 48)).save(mask_folder / "0001.png")
        kwargs["mask"] = mask_folder
    elif setup == "recon-count":
        kwargs["reconstructions"] = images[:3]
    elif setup == "same-stem":
        Image.new("RGB", (48, 48)).save(folder / "0000.jpg")
    elif setup == "unreadable":
        (folder / "0002.png").write_bytes(b"not a png")
        model, kwargs["reconstructions"], kwargs["batch_size"] = tiny_model(), None, 1

        def never(*args, **kwargs):
            raise AssertionError("inverted before the unreadable file was found")

        monkeypatch.setattr("interestyle.evaluation.loop.invert", never)
    elif setup == "metric":
        kwargs["metrics"] = "l2,psnr"
    elif setup == "fid":
        kwargs["metrics"] = "l2,fid"
    elif setup == "both":
        model = tiny_model()
    elif setup == "neither":
        kwargs["reconstructions"] = None
    elif setup == "size":
        kwargs.update(metrics="ms-ssim", size=128)
    with pytest.raises(error, match=message):
        its.evaluate(model, folder, **kwargs)


def test_metric_names_are_checked_before_any_weights_load():
    with pytest.raises(TypeError, match="comma-separated string or a list"):
        build_metrics(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="names no metric"):
        build_metrics(" , ")
    metrics, skipped = build_metrics(["ms-ssim", "l2", "l2"])
    assert [m.name for m in metrics] == ["l2", "ms-ssim"] and skipped == {}


# -- the command --------------------------------------------------------------------------------------------
def test_the_command_on_the_demo_model_prints_the_table_and_writes_the_json(faces, tmp_path, capsys, weights):
    images, masks = faces
    save_pngs(tmp_path / "images", images)
    save_pngs(tmp_path / "masks", masks * 2 - 1)
    out = tmp_path / "results.json"
    argv = ["eval", "--data", str(tmp_path / "images"), "--mask", str(tmp_path / "masks"), "--out", str(out)]
    code = main([*argv, "--lpips", str(weights["lpips"]), "--device", "cpu", "--no-progress", "--batch-size", "3"])
    stdout = capsys.readouterr().out
    assert code == 0
    assert stdout.startswith("model demo: 4 images at 256x256; interest masks: the folder")
    for row in ("| L2 (MSE) (lower is better) |", "| LPIPS (AlexNet) (lower is better) |", "| MS-SSIM (higher"):
        assert row in stdout
    assert "id skipped: no ArcFace weights given" in stdout and "ms per image" in stdout
    data = json.loads(out.read_text())
    assert data["source"] == "model demo" and data["metrics"] == ["l2", "lpips", "ssim", "ms-ssim"]
    assert len(data["images"]) == 4 and set(data["images"][0]["interest"]) == set(data["metrics"])
    whole = data["summary"]["whole"]["l2"]
    assert whole["count"] == 4 and whole["mean"] > 0 and data["seconds"]["per_image"] > 0


def test_the_command_measures_what_invert_wrote(faces, tmp_path, capsys):
    images, _ = faces
    save_pngs(tmp_path / "images", images)
    assert main(["invert", str(tmp_path / "images"), "--model", "demo", "--out", str(tmp_path / "inv")]) == 0
    argv = ["eval", "--data", str(tmp_path / "images"), "--reconstructions", str(tmp_path / "inv")]
    assert main([*argv, "--metrics", "l2", "--no-progress"]) == 0
    stdout = capsys.readouterr().out
    assert f"reconstructions {tmp_path / 'inv'}: 4 images" in stdout and "no interest masks given" in stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--metrics", "l2,psnr"], "metric 'psnr' does not exist"),
        (["--reconstructions", "REC", "--model", "demo"], "give --model or --reconstructions, not both"),
        (["--mask", "no-such-provider"], "no-such-provider"),
    ],
)
def test_command_errors_are_one_line_and_exit_2(faces, tmp_path, capsys, extra, message):
    images, _ = faces
    save_pngs(tmp_path / "images", images)
    extra = [str(tmp_path / "images") if e == "REC" else e for e in extra]
    code = main(["eval", "--data", str(tmp_path / "images"), "--no-progress", *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
