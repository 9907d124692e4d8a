import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from interestyle.align import AlignmentTransform, NoFaceError, align_face, ffhq_quad

SIZE = 256
EYES = 80.0  # eye-to-eye distance of the drawn faces, pixels
MOUTH_WIDTH = 50.0


def face_points(centre, angle_deg, ratio=1.0, eyes=EYES):
    """5 landmarks of an upright face (eye-to-mouth = ratio * eye-to-eye) rotated by angle_deg about its eyes."""
    a = math.radians(angle_deg)
    rotation = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    d, m, w = eyes, ratio * eyes, MOUTH_WIDTH * eyes / EYES
    canonical = np.array([[-d / 2, 0], [d / 2, 0], [0, m / 2], [-w / 2, m], [w / 2, m]])
    return canonical @ rotation.T + np.asarray(centre, dtype=np.float64)


def as_68(five):
    """68 points with the same FFHQ anchors: eye rings around the eye centres, mouth corners at 48 and 54."""
    rng = np.random.default_rng(0)
    out = rng.uniform(0, 100, (68, 2))
    ring = np.array([[-6, 0], [-3, -3], [3, -3], [6, 0], [3, 3], [-3, 3]], dtype=np.float64)
    out[36:42], out[42:48] = five[0] + ring, five[1] + ring
    out[48], out[54] = five[3], five[4]
    return out


def dots(h, w, points, sigma=2.0):
    """Black photo with a red dot on the left eye, green on the right, blue on both mouth corners."""
    img = np.zeros((h, w, 3), np.float32)
    r = int(5 * sigma) + 1
    for p, channel in zip(points[[0, 1, 3, 4]], (0, 1, 2, 2), strict=True):
        x0, y0 = int(p[0]) - r, int(p[1]) - r
        yy, xx = np.mgrid[y0 : y0 + 2 * r + 1, x0 : x0 + 2 * r + 1]
        img[y0 : y0 + 2 * r + 1, x0 : x0 + 2 * r + 1, channel] += np.exp(
            -((xx - p[0]) ** 2 + (yy - p[1]) ** 2) / (2 * sigma**2)
        )
    return img.clip(0, 1)


def template(ratio, size=SIZE):
    """Where the FFHQ procedure puts the eyes and mouth corners, in aligned pixels (centres at integers).

    For eye distance d and eye-to-mouth m = ratio * d at right angles, the crop is a square of side
    2 * max(2 d, 1.8 m) centred 0.1 m below the eye midpoint. For ratio 1 (side 4 d): eyes at (0.375, 0.475)
    and (0.625, 0.475) of the side, mouth midpoint at (0.5, 0.725): at 256, eyes (95.5, 121.1) and
    (159.5, 121.1), mouth midpoint (127.5, 185.1). For ratio 1.25 (side 3.6 m): eye line at 0.4722,
    mouth line at 0.75.
    """
    d, m = EYES, ratio * EYES
    side = 2 * max(2 * d, 1.8 * m)
    eye_y, mouth_y = 0.5 - 0.1 * m / side, 0.5 + 0.9 * m / side
    unit = [
        (0.5 - d / 2 / side, eye_y),
        (0.5 + d / 2 / side, eye_y),
        (0.5 - MOUTH_WIDTH / 2 / side, mouth_y),
        (0.5 + MOUTH_WIDTH / 2 / side, mouth_y),
    ]
    return np.array(unit) * size - 0.5


def found_points(aligned, expected):
    """Centroids of the four dots of an aligned (1, 3, S, S) image, each searched within 15 px of ``expected``.

    (Reflection padding may mirror a dot into the crop further away; the window ignores such copies.)
    """
    img = ((aligned[0] + 1) / 2).double().numpy()
    yy, xx = np.mgrid[0 : img.shape[1], 0 : img.shape[2]]
    out = []
    for channel, e in zip((0, 1, 2, 2), expected, strict=True):
        window = ((xx - e[0]) ** 2 + (yy - e[1]) ** 2 < 15**2) * img[channel]
        out.append([(window * xx).sum() / window.sum(), (window * yy).sum() / window.sum()])
    return np.array(out)


@pytest.mark.parametrize(
    ("centre", "angle", "ratio", "photo"),
    [
        ((300, 240), 20.0, 1.0, (480, 600)),  # crop inside the photo
        ((300, 240), 170.0, 1.0, (480, 600)),  # upside down
        ((110, 200), -35.0, 1.0, (480, 600)),  # crop leaves the photo: reflection padding
        ((300, 240), 0.0, 1.25, (480, 600)),  # long face: the mouth distance sets the scale
        ((800, 600), 10.0, 1.0, (1200, 1600)),  # large photo: shrunk before the crop
    ],
)
def test_eyes_and_mouth_land_on_the_ffhq_template(centre, angle, ratio, photo):
    eyes = EYES * 3 if photo[0] > 1000 else EYES
    points = face_points(centre, angle, ratio, eyes=eyes)
    image = dots(*photo, points, sigma=2.0 * eyes / EYES)
    aligned, transform = align_face(image, points, size=SIZE)
    assert aligned.shape == (1, 3, SIZE, SIZE) and aligned.dtype == torch.float32
    expected = template(ratio)
    np.testing.assert_allclose(found_points(aligned, expected), expected, atol=1.0)
    # The transform maps the template back onto the landmarks.
    np.testing.assert_allclose(transform.to_original(expected), points[[0, 1, 3, 4]], atol=1e-6)


def test_68_points_align_like_the_equivalent_5_points():
    five = face_points((300, 240), 15.0)
    image = dots(480, 600, five)
    a5, t5 = align_face(image, five, size=64)
    a68, t68 = align_face(image, as_68(five).tolist(), size=64)  # a plain list works too
    np.testing.assert_allclose(np.array(t5.quad), np.array(t68.quad), atol=1e-9)
    torch.testing.assert_close(a5, a68)


def test_quad_follows_the_ffhq_formula():
    quad = ffhq_quad(face_points((200, 150), 0.0))
    # Upright face, d = 80, m = 80: square of side 4 d = 320 centred 8 px below the eye midpoint.
    expected = np.array([[40, -2], [40, 318], [360, 318], [360, -2]], dtype=np.float64)
    np.testing.assert_allclose(quad, expected, atol=1e-9)


def test_every_image_form_gives_the_same_crop(tmp_path):
    points = face_points((120, 100), 5.0, eyes=40)
    rgb = (dots(200, 240, points) * 255).round().astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "photo.png")
    reference, _ = align_face(rgb, points, size=32)
    for form in (Image.fromarray(rgb), tmp_path / "photo.png", torch.from_numpy(rgb).permute(2, 0, 1)):
        torch.testing.assert_close(align_face(form, torch.from_numpy(points), size=32).image, reference)


def test_padding_off_leaves_black_outside_the_photo():
    points = face_points((40, 100), 0.0, eyes=40)
    aligned, _ = align_face(np.full((200, 200, 3), 1.0, np.float32), points, size=32, padding=False)
    assert aligned[0, :, :, 0].max() == -1  # the crop's left edge lies outside the photo
    padded, _ = align_face(np.full((200, 200, 3), 1.0, np.float32), points, size=32)
    assert padded.min() > 0.99  # a white photo reflects to white


def test_transform_round_trips_points_and_json():
    _, transform = align_face(np.zeros((300, 400, 3), np.uint8), face_points((200, 150), 30.0), size=128)
    points = np.array([[0.0, 0.0], [127.0, 5.0], [64.0, 64.0]])
    np.testing.assert_allclose(transform.to_aligned(transform.to_original(points)), points, atol=1e-9)
    # Another output size maps the same crop: pixel centres scale about the edges.
    np.testing.assert_allclose(
        transform.to_original([[-0.5, -0.5]], size=32), transform.to_original([[-0.5, -0.5]]), atol=1e-9
    )
    again = AlignmentTransform.from_dict(json.loads(json.dumps(transform.to_dict())))
    assert again == transform and again.original_size == (300, 400) and again.size == 128
    assert transform.scale == pytest.approx(320 / 128)


@pytest.mark.parametrize(
    ("landmarks", "message"),
    [
        (None, "no landmarks given"),
        (np.zeros((3, 2)), r"shape \(3, 2\)"),
        (np.zeros((68, 3)), r"shape \(68, 3\)"),
        (np.zeros((2, 68, 2)), r"shape \(2, 68, 2\)"),
        (np.full((5, 2), np.nan), "NaN"),
        ([[1, 2], [3]], "must be numbers"),
    ],
)
def test_bad_landmarks_are_refused(landmarks, message):
    with pytest.raises((ValueError, TypeError), match=message):
        align_face(np.zeros((64, 64, 3), np.uint8), landmarks, size=32)


def test_landmarks_of_an_unsupported_type_are_refused():
    with pytest.raises(TypeError, match="dict is not accepted"):
        align_face(np.zeros((64, 64, 3), np.uint8), {"eyes": 1}, size=32)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (np.tile([[30.0, 30.0]], (5, 1)), "degenerate landmarks: eye-to-eye distance 0"),
        (np.array([[20, 30], [40, 30], [30, 30], [50, 30], [70, 30]], dtype=float), "mouth lies on the eye line"),
        (face_points((100, 100), 0.0)[[1, 0, 2, 4, 3]], "mirrored landmarks"),
    ],
)
def test_degenerate_quads_are_refused(points, message):
    with pytest.raises(ValueError, match=message):
        align_face(np.zeros((200, 200, 3), np.uint8), points, size=32)


def test_a_crop_outside_the_photo_is_refused():
    with pytest.raises(ValueError, match="lies outside"):
        align_face(np.zeros((100, 100, 3), np.uint8), face_points((2000, 2000), 0.0), size=32)


def test_bad_sizes_and_batches_are_refused():
    points = face_points((100, 100), 0.0)
    with pytest.raises(ValueError, match="size=4 is invalid"):
        align_face(np.zeros((200, 200, 3), np.uint8), points, size=4)
    with pytest.raises(ValueError, match="holds 2 images"):
        align_face(np.zeros((2, 200, 200, 3), np.uint8), points, size=32)


def test_transform_validation():
    square = ((0.0, 0.0), (0.0, 10.0), (10.0, 10.0), (10.0, 0.0))
    with pytest.raises(ValueError, match="not a parallelogram"):
        AlignmentTransform(quad=((0, 0), (0, 10), (12, 10), (10, 0)), size=8, original_size=(20, 20))
    with pytest.raises(ValueError, match="collinear"):
        AlignmentTransform(quad=((0, 0), (0, 0), (10, 0), (10, 0)), size=8, original_size=(20, 20))
    with pytest.raises(ValueError, match="original_size"):
        AlignmentTransform(quad=square, size=8, original_size=(20,))
    with pytest.raises(ValueError, match="do not match"):
        AlignmentTransform.from_dict({"quad": square, "size": 8})
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        AlignmentTransform(quad=square, size=8, original_size=(20, 20)).to_original([1.0, 2.0, 3.0])


class FixedProvider:
    def __init__(self, faces):
        self.faces = faces

    def __call__(self, image):
        assert image.shape[0] == 3 and image.ndim == 3
        return torch.as_tensor(np.asarray(self.faces, dtype=np.float32)).reshape(len(self.faces), 5, 2)


def test_a_provider_supplies_the_landmarks_and_the_largest_face_wins():
    small, large = face_points((80, 80), 0.0, eyes=30), face_points((300, 240), 20.0)
    image = dots(480, 600, large)
    by_provider = align_face(image, FixedProvider([small, large]), size=64)
    direct = align_face(image, large, size=64)
    np.testing.assert_allclose(np.array(by_provider.transform.quad), np.array(direct.transform.quad), atol=1e-3)


def test_a_provider_that_finds_no_face_names_the_file(tmp_path):
    path = tmp_path / "empty.png"
    Image.new("RGB", (64, 64)).save(path)
    with pytest.raises(NoFaceError, match=r"empty\.png"):
        align_face(path, FixedProvider([]), size=32)


def test_a_provider_returning_a_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"must return \(F, K, 2\)"):
        align_face(np.zeros((64, 64, 3), np.uint8), lambda image: torch.zeros(1, 7, 2), size=32)
