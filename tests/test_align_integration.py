"""``align=True`` on invert, edit and style_mix: photos in, photos out with their faces replaced."""

import numpy as np
import pytest
import torch

from interestyle import NoFaceError, StretchWarning, edit, invert, style_mix, to_pil


class TwoFaces:
    """A landmark provider that finds two faces at fixed places (5-point convention), in any image."""

    def __call__(self, image):
        h, w = image.shape[-2:]
        faces = []
        for cx in (0.3 * w, 0.7 * w):
            eye_y, mouth_y, d = 0.4 * h, 0.6 * h, 0.1 * w
            faces.append(
                [[cx - d, eye_y], [cx + d, eye_y], [cx, 0.5 * h], [cx - 0.7 * d, mouth_y], [cx + 0.7 * d, mouth_y]]
            )
        return torch.tensor(faces)


class NoFace:
    def __call__(self, image):
        return torch.zeros(0, 5, 2)


@pytest.fixture
def photo():
    return np.random.default_rng(0).integers(0, 256, (96, 320, 3), dtype=np.uint8)


def test_invert_with_align_returns_photos_with_faces_replaced(model, photo):
    result = invert(model, [photo, photo], align=True, landmarks=TwoFaces())
    assert len(result) == 4  # two faces in each of two photos
    assert result.images.shape == (4, 3, model.resolution, model.resolution)
    assert len(result.photos) == 2 and result.photos[0].shape == (1, 3, 96, 320)
    original = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 127.5 - 1
    changed = (result.photos[0] - original).abs().amax(1)[0] > 1e-3
    assert changed[:, 96].any() and changed[:, 224].any()  # both faces were replaced
    for face in result.alignment[0].faces:  # nothing moved outside the faces' crops
        quad = torch.tensor(face.transform.to_dict()["quad"])
        (x0, y0), (x1, y1) = quad.amin(0).floor().int().tolist(), quad.amax(0).ceil().int().tolist()
        changed[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = False
    assert not changed.any()
    plain = invert(model, result.alignment[0].faces[0].image)
    torch.testing.assert_close(plain.latents[0], result.latents[0], atol=1e-5, rtol=1e-5)


def test_edit_and_style_mix_paste_back_into_the_photos(model, photo):
    result = invert(model, photo, align=True, landmarks=TwoFaces())
    direction = torch.randn(model.style_dim)
    edited = edit(model, result, direction, [0.0, 3.0], align=True)
    assert len(edited.photos) == 2  # one photo per strength
    torch.testing.assert_close(edited.photos[0], result.photos[0])  # strength 0 is the inversion
    assert not torch.allclose(edited.photos[1], result.photos[0])
    mixed = style_mix(model, result, None, layers="all", align=True)
    assert len(mixed.photos) == 1 and mixed.photos[0].shape == (1, 3, 96, 320)


def test_align_needs_an_aligned_source(model, photo):
    with pytest.warns(StretchWarning, match="320x96 pixels, not square"):  # the photo is wide; aligning crops it
        result = invert(model, photo)
    with pytest.raises(ValueError, match=r"invert\(\.\.\., align=True\)"):
        edit(model, result, torch.randn(model.style_dim), 1.0, align=True)


def test_no_face_anywhere_is_a_clear_error(model, photo):
    with pytest.warns(UserWarning), pytest.raises(NoFaceError, match="no face"):
        invert(model, photo, align=True, landmarks=NoFace())


def test_cli_invert_align_writes_photos_crops_and_transforms(tmp_path, model, photo):
    from PIL import Image

    from interestyle.align import register_landmark_provider
    from interestyle.align.landmarks import _REGISTERED
    from interestyle.cli import main

    model.save_pretrained(tmp_path / "model")
    Image.fromarray(photo).save(tmp_path / "group.png")
    register_landmark_provider("test-two-faces", TwoFaces)
    try:
        argv = ["invert", str(tmp_path / "group.png"), "-m", str(tmp_path / "model"), "-o", str(tmp_path / "out")]
        assert main([*argv, "--align", "--landmarks", "test-two-faces", "--keep-aligned", "--no-progress"]) == 0
    finally:
        _REGISTERED.pop("test-two-faces")
    out = tmp_path / "out"
    assert Image.open(out / "group.png").size == (320, 96)
    assert sorted(p.name for p in out.glob("group.face*")) == [
        "group.face0.aligned.png",
        "group.face0.json",
        "group.face0.png",
        "group.face1.aligned.png",
        "group.face1.json",
        "group.face1.png",
    ]
    # the aligned crops themselves (what the encoder saw), not only their reconstructions
    expected = invert(model, photo, align=True, landmarks=TwoFaces()).alignment[0].faces
    for k, face in enumerate(expected):
        crop = np.asarray(Image.open(out / f"group.face{k}.aligned.png"), dtype=np.int16)
        assert crop.shape == (model.resolution, model.resolution, 3)
        assert np.abs(crop - np.asarray(to_pil(face.image)[0], dtype=np.int16)).max() <= 1
        assert not np.array_equal(crop, np.asarray(Image.open(out / f"group.face{k}.png")))
    assert (
        main(["invert", str(tmp_path / "group.png"), "-m", str(tmp_path / "model"), "-o", str(out), "--keep-aligned"])
        == 2
    )


def test_cli_edit_align_pastes_each_strengths_edit_into_the_photo(tmp_path, model, photo):
    from PIL import Image
    from safetensors.torch import load_file

    from interestyle.align import register_landmark_provider
    from interestyle.align.landmarks import _REGISTERED
    from interestyle.cli import main

    model.save_pretrained(tmp_path / "model")
    Image.fromarray(photo).save(tmp_path / "group.png")
    torch.save(torch.randn(1, model.style_dim), tmp_path / "age.pt")
    assert main(["convert", str(tmp_path / "age.pt"), "--out", str(tmp_path / "directions")]) == 0
    register_landmark_provider("test-two-faces", TwoFaces)
    try:
        argv = ["edit", str(tmp_path / "group.png"), "-m", str(tmp_path / "model"), "-o", str(tmp_path / "out")]
        argv += ["--directions", str(tmp_path / "directions"), "--direction", "age", "--strength", "0", "3", "--grid"]
        assert main([*argv, "--align", "--landmarks", "test-two-faces", "--no-progress"]) == 0
    finally:
        _REGISTERED.pop("test-two-faces")
    out = tmp_path / "out"
    unchanged, edited = (np.asarray(Image.open(out / f"group_age_{s}.png"), dtype=float) for s in ("+0", "+3"))
    assert unchanged.shape == edited.shape == photo.shape
    assert np.abs(edited - unchanged).max() > 10  # the faces change with the strength, the corner stays the photo
    assert np.array_equal(edited[:4, :4], photo[:4, :4]) and np.array_equal(unchanged[:4, :4], photo[:4, :4])
    assert load_file(str(out / "group_age.safetensors"))["latents"].shape == (2, 2, model.n_latent, model.style_dim)
    assert (out / "grid.png").is_file()


def test_mediapipe_face_hull_is_a_mask_provider_by_name():
    import importlib.util

    from interestyle import available_mask_providers, get_mask_provider

    assert "mediapipe-face" in available_mask_providers()
    if importlib.util.find_spec("mediapipe") is None:
        with pytest.raises(ImportError, match=r"interestyle\[mediapipe\]"):
            get_mask_provider("mediapipe-face")
    else:
        provider = get_mask_provider("mediapipe-face")
        assert provider(torch.zeros(1, 3, 32, 32)).shape == (1, 1, 32, 32)


def test_the_demo_model_on_a_real_photo_warns_that_it_knows_only_synthetic_faces(model, photo):
    import warnings

    from interestyle import load_encoder

    demo = load_encoder("demo")
    assert demo.domain == "synthetic" and model.domain is None
    with pytest.warns(UserWarning, match=r"knows only the synthetic faces .* cartoon face"):
        invert(demo, photo, align=True, landmarks=TwoFaces())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        invert(model, photo, align=True, landmarks=TwoFaces())  # a model of unknown domain: no word
        invert(demo, torch.zeros(3, 64, 64))  # an aligned crop of its own domain: no word either
