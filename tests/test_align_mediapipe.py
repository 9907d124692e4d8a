"""The MediaPipe backend, run in its own environment (``.ci/run`` builds it: mediapipe pins numpy 1.26).

Two kinds of faces: the procedural faces of :mod:`interestyle.synthetic`, whose eye and mouth positions are
known exactly, and one real photo, the public-domain NASA portrait in ``tests/data`` (see its README),
checked against the crop stored beside it.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip(
    "mediapipe",
    reason="mediapipe==0.10.21 is not installed (optional extra, numpy 1.26; .ci/run tests it in its own venv)",
)

from interestyle.align import NoFaceError, align_face, align_faces, get_landmark_provider
from interestyle.align.mediapipe_backend import MESH_TO_68, MediaPipeFaceMask, MediaPipeLandmarks
from interestyle.synthetic import make_batch

pytestmark = pytest.mark.mediapipe
SIZE = 256


@pytest.fixture(scope="module")
def faces():
    return make_batch(8, size=SIZE, seed=0)


def truth(batch, i):
    """The rendered eye centres and mouth corners of face i, pixels (left eye, right eye, mouth corners)."""
    a = {k: float(v[i]) for k, v in batch.attributes.items()}

    def pixel(u):
        return (u + 1) / 2 * SIZE - 0.5

    eye_y = a["face_y"] - 0.12 * a["face_height"]
    eye_dx = a["eye_spacing"] * a["face_width"] * 1.05
    mouth_dx = a["mouth_width"] * a["face_width"] * 1.6
    mouth_y = a["face_y"] + 0.45 * a["face_height"] - 0.01
    points = [(a["face_x"] - eye_dx, eye_y), (a["face_x"] + eye_dx, eye_y)]
    points += [(a["face_x"] - mouth_dx, mouth_y), (a["face_x"] + mouth_dx, mouth_y)]
    return np.array([[pixel(x), pixel(y)] for x, y in points])


def test_the_mesh_finds_the_synthetic_faces_and_the_68_points_sit_on_eyes_and_mouth(faces):
    provider = get_landmark_provider("mediapipe")
    assert isinstance(provider, MediaPipeLandmarks) and len(set(MESH_TO_68)) == 68
    found = 0
    for i in range(len(faces)):
        points = provider(faces.image[i])
        assert points.ndim == 3 and points.shape[1:] == (68, 2) and points.dtype == torch.float32
        if points.shape[0] == 0:
            continue
        found += 1
        p = points[0].double().numpy()
        anchors = np.stack([p[36:42].mean(0), p[42:48].mean(0), p[48], p[54]])
        expected = truth(faces, i)
        eye_distance = expected[1, 0] - expected[0, 0]
        assert np.linalg.norm(anchors - expected, axis=1).max() < 0.2 * eye_distance, i
        # The jaw runs from the image's left to its right through the chin (8), below the mouth.
        assert p[0, 0] < p[8, 0] < p[16, 0] and p[8, 1] > p[57, 1] > p[51, 1]
    assert found >= 6, f"the face mesh found only {found} of {len(faces)} synthetic faces"


def test_five_points_are_eyes_nose_and_mouth_corners(faces):
    five = get_landmark_provider("mediapipe", points=5)(faces.image[0])
    assert five.shape == (1, 5, 2)
    eyes, nose, mouth = five[0, :2], five[0, 2], five[0, 3:]
    assert eyes[0, 0] < nose[0] < eyes[1, 0] and mouth[0, 0] < mouth[1, 0]
    assert eyes[:, 1].max() < nose[1] < mouth[:, 1].min()


def test_two_faces_in_one_photo_are_both_aligned_and_a_blank_photo_has_none(faces):
    photo = torch.cat([faces.image[0], faces.image[1]], dim=-1)  # 256 x 512
    aligned = align_faces(photo, "mediapipe", size=64)
    assert len(aligned) == 2
    centres = [np.asarray(f.transform.quad).mean(0)[0] for f in aligned]
    assert centres[0] < SIZE < centres[1]
    one = align_face(faces.image[0], "mediapipe", size=64)
    assert one.image.shape == (1, 3, 64, 64)
    with pytest.raises(NoFaceError, match="no face found"):
        align_faces(torch.zeros(3, 128, 128), "mediapipe", size=64)


def test_face_hull_mask_covers_the_face_and_not_the_background(faces):
    provider = MediaPipeFaceMask()
    masks = provider(faces.image[:4])
    assert masks.shape == (4, 1, SIZE, SIZE) and masks.min() >= 0 and masks.max() <= 1
    for i in range(4):
        if masks[i].max() == 0:
            continue  # not detected
        inside = (masks[i, 0] > 0.5).float()
        truth_mask = (faces.face_mask[i, 0] > 0.5).float()
        assert (inside * truth_mask).sum() / inside.sum() > 0.9  # the hull lies on the face (and hair)
        for x, y in truth(faces, i)[:2]:
            assert masks[i, 0, round(y), round(x)] > 0.99
    assert torch.equal(provider(torch.zeros(1, 3, 64, 64)), torch.zeros(1, 1, 64, 64))


def test_bad_options_and_inputs_are_refused():
    with pytest.raises(ValueError, match="points=7"):
        MediaPipeLandmarks(points=7)
    with pytest.raises(ValueError, match="max_faces"):
        MediaPipeLandmarks(max_faces=0)
    with pytest.raises(ValueError, match="grow"):
        MediaPipeFaceMask(grow=-1)
    with pytest.raises(ValueError, match=r"one \(3, H, W\) image"):
        MediaPipeLandmarks()(torch.zeros(1, 3, 32, 32))


DATA = Path(__file__).parent / "data"


def test_a_real_portrait_is_aligned_as_stored_with_its_eyes_level():
    expected = json.loads((DATA / "astronaut-aligned.json").read_text())
    size = expected["crop_size"]
    face = align_face(DATA / expected["photo"], "mediapipe", size=size)
    assert face.image.shape == (1, 3, size, size)
    quad, stored = np.asarray(face.transform.quad), np.asarray(expected["quad"])
    side = np.linalg.norm(stored[1] - stored[0])
    assert np.linalg.norm(quad - stored, axis=1).max() <= 0.01 * side
    # the crop itself: the eyes, found again in it, are level and either side of its centre line
    points = get_landmark_provider("mediapipe")(face.image[0])
    assert points.shape[0] == 1
    p = points[0].double().numpy()
    left, right = p[36:42].mean(0), p[42:48].mean(0)
    assert abs(right[1] - left[1]) <= 0.01 * size
    assert abs((left[0] + right[0]) / 2 - size / 2) <= 0.02 * size
    assert np.abs(np.stack([left, right]) - np.asarray(expected["eye_centres_in_crop"])).max() <= 0.01 * size
