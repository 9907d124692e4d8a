import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from align_setup import Fixed, five_points
from interestyle.align import (
    NoFaceError,
    align_faces,
    align_photos,
    face_batch,
    paste_photos,
    register_landmark_provider,
    unalign,
)
from interestyle.align import landmarks as landmarks_module


class OnlyBright:
    """Finds one face in photos that are not black."""

    def __call__(self, image):
        faces = [five_points(50, 30)] if image.mean() > -1 else []
        return torch.from_numpy(np.asarray(faces, np.float32)).reshape(-1, 5, 2)


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(landmarks_module, "_REGISTERED", {})


def test_align_faces_aligns_every_face_left_to_right():
    photo = np.zeros((120, 200, 3), np.uint8)
    faces = align_faces(photo, Fixed([five_points(150, 50), five_points(50, 50)]), size=16)
    assert [f.image.shape for f in faces] == [(1, 3, 16, 16)] * 2
    centres = [np.asarray(f.transform.quad).mean(0)[0] for f in faces]
    assert centres == sorted(centres) and centres[0] == pytest.approx(50, abs=1)


def test_unusable_detections_are_skipped_with_a_warning():
    mirrored = five_points(150, 50)[[1, 0, 2, 4, 3]]
    with pytest.warns(UserWarning, match="skipped 1 face"):
        faces = align_faces(np.zeros((120, 200, 3), np.uint8), Fixed([five_points(50, 50), mirrored]), size=16)
    assert len(faces) == 1
    with pytest.raises(NoFaceError, match="unusable landmarks"):
        align_faces(np.zeros((120, 200, 3), np.uint8), Fixed([mirrored]), size=16)


def test_no_face_is_an_error_naming_the_file_and_the_batch_goes_on(tmp_path):
    empty, full = tmp_path / "empty.jpg", tmp_path / "full.png"
    Image.new("RGB", (100, 80)).save(empty)
    Image.new("RGB", (100, 80), "white").save(full)

    with pytest.raises(NoFaceError, match=r"empty\.jpg"):
        align_faces(empty, OnlyBright(), size=16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        photos = align_photos([empty, full, np.zeros((2, 40, 40, 3), np.uint8)], OnlyBright(), size=16, progress=False)
    assert [p.name for p in photos] == [f"image {empty}", f"image {full}", "images[2][0]", "images[2][1]"]
    assert [len(p.faces) for p in photos] == [0, 1, 0, 0]
    assert isinstance(photos[0].error, NoFaceError) and photos[1].error is None
    assert photos[1].photo.shape == (1, 3, 80, 100)
    assert any("empty.jpg" in str(w.message) for w in caught)


def test_a_provider_built_once_serves_every_photo(registry):
    made = []

    def factory():
        made.append(Fixed([five_points(50, 50)]))
        return made[-1]

    register_landmark_provider("counted", factory)
    photos = align_photos([np.zeros((100, 100, 3), np.uint8)] * 3, "counted", size=16, progress=False)
    assert len(made) == 1 and made[0].calls == 3 and all(len(p.faces) == 1 for p in photos)


def test_faces_of_several_photos_go_back_to_their_own_photos():
    gray = np.full((80, 100, 3), 128, np.uint8)
    with pytest.warns(UserWarning, match=r"no face found in images\[1\]"):
        photos = align_photos([gray, np.zeros((60, 60, 3), np.uint8), gray], OnlyBright(), size=16, progress=False)
    batch = face_batch(photos)
    assert batch.shape == (2, 3, 16, 16)
    results = torch.stack([torch.full((3, 16, 16), 0.5), torch.full((3, 16, 16), -0.5)])
    masks = torch.ones(2, 1, 16, 16)
    out = paste_photos(photos, results, masks=masks)
    assert [tuple(o.shape) for o in out] == [(1, 3, 80, 100), (1, 3, 60, 60), (1, 3, 80, 100)]
    assert torch.equal(out[1], photos[1].photo)
    expected = unalign(results[1:], photos[2].faces[0].transform, photos[2].photo, mask=masks[1])
    torch.testing.assert_close(out[2], expected)
    with pytest.raises(ValueError, match=r"one row per face \(2\)"):
        paste_photos(photos, results[:1])
    with pytest.raises(NoFaceError, match=r"images\[1\]"):
        face_batch(photos[1:2])
