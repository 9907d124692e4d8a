import io
import itertools
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from interestyle import ImageError
from interestyle.cli.inputs import Reader
from interestyle.images import load_images, load_masks, read_images, to_pil


@pytest.fixture
def rgb() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)


def test_every_form_of_one_image_gives_the_same_tensor(tmp_path, rgb):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    reference = load_images(rgb, 16)
    forms = [
        Image.fromarray(rgb),
        rgb.astype(np.float32) / 255,
        rgb[None],
        torch.from_numpy(rgb).permute(2, 0, 1),  # uint8 CHW
        torch.from_numpy(rgb).permute(2, 0, 1).float() / 127.5 - 1,
        tmp_path / "a.png",
        str(tmp_path / "a.png"),
        [Image.fromarray(rgb)],
    ]
    for form in forms:
        torch.testing.assert_close(load_images(form, 16), reference, atol=1e-5, rtol=0)
    assert reference.shape == (1, 3, 16, 16) and reference.dtype == torch.float32
    assert reference.min() >= -1 and reference.max() <= 1


def test_modes_are_converted_to_rgb(rgb):
    gray = Image.fromarray(rgb).convert("L")
    out = load_images(gray, 8)
    torch.testing.assert_close(out[:, 0], out[:, 2])
    rgba = Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]))
    torch.testing.assert_close(load_images(rgba, 8), load_images(rgb, 8))
    sixteen = Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)
    assert sixteen.mode.startswith("I;16")
    torch.testing.assert_close(load_images(sixteen, 8)[:, 0], load_images(rgb[..., 0], 8)[:, 0], atol=1e-5, rtol=0)
    assert load_images(Image.fromarray(rgb).convert("CMYK"), 8).shape == (1, 3, 8, 8)


def test_lists_of_mixed_sizes_are_batched(rgb):
    items = read_images([rgb, rgb[:10], torch.zeros(2, 3, 5, 5)])
    assert [tuple(t.shape) for t in items] == [(1, 3, 20, 24), (1, 3, 10, 24), (2, 3, 5, 5)]
    assert load_images([rgb, rgb[:10], torch.zeros(2, 3, 5, 5)], 8).shape == (4, 3, 8, 8)


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (np.zeros((4, 4, 2), np.uint8), ValueError, r"shape \(4, 4, 2\)"),
        (np.zeros((4, 4, 3), np.int32), TypeError, "int32"),
        (np.full((4, 4, 3), 2.0), ValueError, r"outside the accepted \[0, 1\]"),
        (np.full((4, 4, 3), np.nan), ValueError, "NaN"),
        (torch.full((3, 4, 4), 5.0), ValueError, r"outside the accepted \[-1, 1\]"),
        (torch.zeros(3, 4, 4, dtype=torch.int64), TypeError, "int64"),
        (torch.zeros(2, 5, 4, 4), ValueError, "5 channels"),
        (torch.zeros(4, 4), ValueError, r"shape \(4, 4\)"),
        (12, TypeError, "int is not accepted"),
        ([], ValueError, "empty"),
        ("no/such/file.png", FileNotFoundError, "does not exist"),
    ],
)
def test_bad_images_are_clear_errors(bad, error, message):
    with pytest.raises(error, match=message):
        load_images(bad, 8)


def test_unreadable_file_is_a_value_error(tmp_path):
    (tmp_path / "x.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot read"):
        load_images(tmp_path / "x.png", 8)


def png_chunks(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, type) of each chunk of a PNG file."""
    out, pos = [], 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        out.append((pos, data[pos + 4 : pos + 8]))
        pos += length + 12
    return out


def with_chunk(data: bytes, before: bytes, kind: bytes, body: bytes) -> bytes:
    """``data`` with a chunk (a valid CRC) inserted before the first chunk of type ``before``."""
    pos = next(offset for offset, k in png_chunks(data) if k == before)
    crc = zlib.crc32(body, zlib.crc32(kind)).to_bytes(4, "big")
    return data[:pos] + len(body).to_bytes(4, "big") + kind + body + crc + data[pos:]


@pytest.fixture
def png(tmp_path) -> bytes:
    """A smooth 20x24 gradient as PNG (it compresses, as photos do)."""
    yy, xx = np.mgrid[0:20, 0:24]
    Image.fromarray(np.stack([xx * 5, yy * 6, (xx + yy) * 3], axis=-1).astype(np.uint8)).save(tmp_path / "good.png")
    return (tmp_path / "good.png").read_bytes()


def decoded(data: bytes) -> np.ndarray | None:
    """What Pillow makes of ``data``, or None when it raises."""
    try:
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    except Exception:
        return None


def test_a_png_pillow_decodes_into_other_pixels_is_refused(tmp_path, png):
    """Pillow checks neither the image data's CRC nor, always, zlib's checksum: some flipped bits decode into
    other pixels without a word. Those, and a flip in the CRC itself, are refused."""
    offset, _ = next(c for c in png_chunks(png) if c[1] == b"IDAT")
    length = int.from_bytes(png[offset : offset + 4], "big")
    original = decoded(png)
    silent = []
    crc = offset + 8 + length
    for pos, bit in itertools.product([*range(offset + 8, crc), crc], range(8)):  # the data, then the CRC
        damaged = bytearray(png)
        damaged[pos] ^= 1 << bit
        pixels = decoded(bytes(damaged))
        if pixels is not None and (pos == crc or not np.array_equal(pixels, original)):
            silent.append(bytes(damaged))
    assert len(silent) > 8  # flips in the data, and the 8 in the CRC's first byte
    for data in silent:
        (tmp_path / "flipped.png").write_bytes(data)
        with pytest.raises(ImageError, match=r"flipped\.png is a damaged PNG file: its 'IDAT' chunk at byte 33 fails"):
            read_images(tmp_path / "flipped.png")


def test_a_png_cut_before_its_end_chunk_is_refused(tmp_path, png):
    (tmp_path / "cut.png").write_bytes(png[:-12])  # all the pixels, no IEND: Pillow reads it
    Image.open(tmp_path / "cut.png").load()
    with pytest.raises(ImageError, match=r"cut\.png is a truncated PNG file: it ends at byte \d+, before its IEND"):
        read_images(tmp_path / "cut.png")
    (tmp_path / "cut.png").write_bytes(png[:60])
    with pytest.raises(ImageError, match="truncated PNG file: its 'IDAT' chunk at byte 33 is cut off"):
        read_images(tmp_path / "cut.png")


@pytest.mark.parametrize(
    ("before", "kind", "body", "raised"),
    [(b"IDAT", b"eXIf", b"garbage", SyntaxError), (b"IEND", b"gAMA", b"\x00", struct.error)],
)
def test_any_decoder_failure_is_an_image_error_that_the_cli_skips(tmp_path, png, capsys, before, kind, body, raised):
    """A chunk Pillow cannot parse (its CRC right) raised SyntaxError or struct.error, past the CLI's reader."""
    path = tmp_path / "odd.png"
    path.write_bytes(with_chunk(png, before, kind, body))
    with pytest.raises(raised):
        ImageOps.exif_transpose(Image.open(path))
    with pytest.raises(ImageError, match=r"cannot read .*odd\.png as an image: "):
        read_images(path)
    reader = Reader("invert")
    assert reader.read(path) is None and reader.skipped == [path]
    assert f"warning: skipped {path}: cannot read" in capsys.readouterr().err


def test_masks_in_every_form(tmp_path):
    m = np.zeros((20, 24), bool)
    m[5:15, 6:18] = True
    Image.fromarray(m).save(tmp_path / "m.png")
    reference = load_masks(m, 16, sizes=[(20, 24)])
    assert reference.shape == (1, 1, 16, 16)
    for form in [
        m.astype(np.float32),
        m.astype(np.uint8) * 255,
        m[..., None],
        torch.from_numpy(m),
        torch.from_numpy(m)[None, None].float(),
        Image.fromarray(m.astype(np.uint8) * 255),
        tmp_path / "m.png",
    ]:
        torch.testing.assert_close(load_masks(form, 16, sizes=[(20, 24)]), reference, atol=1e-5, rtol=0)
    shared = load_masks(m, 16, sizes=[(20, 24), (40, 48)])
    assert shared.shape == (2, 1, 16, 16)


@pytest.mark.parametrize(
    ("mask", "sizes", "message"),
    [
        (np.zeros((2, 20, 24)), [(20, 24)] * 3, "2 masks for 3 images"),
        (np.zeros((10, 30)), [(20, 24)], "does not match image 0"),
        (np.full((20, 24), 1.5), [(20, 24)], "outside the accepted"),
        (np.full((20, 24), np.nan), [(20, 24)], "NaN"),
        (torch.zeros(1, 2, 20, 24), [(20, 24)], "one channel"),
        (torch.zeros(1, 1, 1, 20, 24), [(20, 24)], "not a mask"),
    ],
)
def test_bad_masks_are_clear_errors(mask, sizes, message):
    with pytest.raises(ValueError, match=message):
        load_masks(mask, 16, sizes=sizes)


def test_to_pil_clips_and_rounds():
    x = torch.tensor([-2.0, -1.0, 0.0, 1.0, 3.0]).view(1, 1, 1, 5).expand(1, 3, 1, 5)
    (img,) = to_pil(x)
    assert img.mode == "RGB" and np.asarray(img)[0, :, 0].tolist() == [0, 0, 128, 255, 255]


def test_every_folder_scan_takes_the_same_images_and_a_named_gif_is_still_read(tmp_path, rgb):
    from interestyle.cli.inputs import expand_inputs
    from interestyle.cli.masks import expand_images
    from interestyle.images import IMAGE_SUFFIXES
    from interestyle.training.config import image_stems

    for name in ("a.png", "b.JPG", "c.gif", "d.webp"):
        Image.fromarray(rgb).save(tmp_path / name, format="GIF" if name.endswith("gif") else None)
    (tmp_path / "notes.txt").write_text("not an image")
    taken = ["a.png", "b.JPG", "d.webp"]
    assert [p.name for p in expand_inputs([str(tmp_path)])] == taken
    assert [p.name for p in expand_images([str(tmp_path)])] == taken
    assert sorted(image_stems(tmp_path, "data.images").values()) == taken
    assert ".gif" not in IMAGE_SUFFIXES
    gif = read_images(expand_inputs([str(tmp_path / "c.gif")]))[0]
    assert gif.shape == (1, 3, 20, 24)


def test_mask_to_pil_takes_masks_in_0_1_as_they_come_out_of_results():
    from interestyle import mask_to_pil

    mask = torch.tensor([[0.0, 0.5], [1.0, 1.2]])
    for shaped in (mask, mask[None], mask[None, None]):
        (image,) = mask_to_pil(shaped)
        assert image.mode == "L" and np.asarray(image).ravel().tolist() == [0, 128, 255, 255]
    assert len(mask_to_pil(torch.zeros(3, 1, 4, 4))) == 3
    with pytest.raises(ValueError, match="for images in \\[-1, 1\\] use to_pil"):
        mask_to_pil(torch.zeros(1, 3, 4, 4))
