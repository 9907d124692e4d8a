"""Large, huge and tiny images: decoded at the size the model needs, bombs refused by name, tiny ones warned about."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_model
from interestyle import ImageTooLargeError, UpscaleWarning, invert
from interestyle.cli import main
from interestyle.images import MAX_IMAGE_PIXELS, MAX_UPSCALE, load_masks, read_images, stack_resized


def smooth(h: int, w: int) -> np.ndarray:
    """A smooth RGB image (compresses well, so writing a large one is quick)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([np.sin(x / 97 + y / 53), np.cos(y / 71 - x / 89), np.sin(x * y / 9e5)], -1)
    return ((rgb * 0.4 + 0.5) * 255).astype(np.uint8)


@pytest.mark.parametrize(("suffix", "options"), [(".png", {"compress_level": 1}), (".jpg", {"quality": 90})])
def test_a_large_file_is_decoded_at_a_reduced_size_that_still_covers_the_model(tmp_path, suffix, options):
    path = tmp_path / f"large{suffix}"
    Image.fromarray(smooth(1500, 2000)).save(path, **options)
    (full,) = read_images(path)
    (reduced,) = read_images(path, min_side=128)
    assert full.shape == (1, 3, 1500, 2000)
    h, w = reduced.shape[-2:]
    assert 128 <= min(h, w) <= 1.5 * 128 and abs(w / h - 2000 / 1500) < 0.02  # the aspect ratio is kept
    # what the model sees is the same (within 8-bit rounding and JPEG's own decoding at 1/4 scale)
    difference = (stack_resized([reduced], 64) - stack_resized([full], 64)).abs()
    assert float(difference.mean()) < 2 / 255 and float(difference.max()) < 12 / 255
    (small,) = read_images(path, min_side=400)  # less than REDUCE_FROM (4) times what is asked: as it is
    assert torch.equal(small, full)


def read_in_a_fresh_process(call: str, path) -> tuple[tuple[int, ...], float, int]:
    """Run ``x = CALL`` (``PATH`` standing for ``path``) in a new Python: (x's shape, x's mean, MB the peak resident
    memory grew by)."""
    script = (
        "import resource, sys\n"
        "from interestyle.images import load_masks, read_images\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"x = {call.replace('PATH', 'sys.argv[1]')}\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(list(x.shape), float(x.mean()), (after - before) // 1024)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    shape, mean, grown_mb = proc.stdout.rsplit(" ", 2)
    return tuple(json.loads(shape)), float(mean), int(grown_mb)


def test_reading_a_6000_pixel_file_for_a_64_pixel_model_keeps_memory_small(tmp_path):
    # 6000 x 6000 read at full size needs gigabytes (float64 copies); reduced, a few megabytes
    path = tmp_path / "huge.jpg"
    Image.fromarray(np.full((6000, 6000, 3), 127, np.uint8)).save(path, quality=50)
    shape, _, grown_mb = read_in_a_fresh_process("read_images(PATH, min_side=128)[0]", path)
    assert shape == (1, 3, 150, 150)  # decoded at 1/8 scale (750 x 750), then box-filtered by 5
    assert grown_mb < 100  # at full size: 108 MB decoded, then 864 MB per float64 copy


def test_a_mask_file_the_size_of_a_huge_photo_is_decoded_at_a_reduced_size(tmp_path):
    path = tmp_path / "mask.png"
    mask = np.zeros((6000, 6000), np.uint8)
    mask[1000:5000, 1500:4500] = 255
    Image.fromarray(mask).save(path, compress_level=1)
    shape, mean, grown_mb = read_in_a_fresh_process("load_masks(PATH, 64, sizes=[(6000, 6000)])", path)
    assert shape == (1, 1, 64, 64) and abs(mean - 4000 * 3000 / 6000**2) < 0.01
    assert grown_mb < 150  # decoded (36 MB), box-reduced by 46; at full size 36 MB + 288 MB (float64) + 144 MB
    # the same mask as a smaller file gives the same 64 x 64 mask
    Image.fromarray(mask).resize((600, 600), Image.Resampling.BOX).save(tmp_path / "small.png")
    small = load_masks(tmp_path / "small.png", 64, sizes=[(6000, 6000)])
    assert abs(float(small.mean()) - mean) < 0.01


def test_the_command_line_names_each_enlarged_file_once(tmp_path, capsys):
    model = tiny_model()  # 32 pixels
    model.save_pretrained(tmp_path / "model")
    Image.new("RGB", (4, 3), (90, 60, 40)).save(tmp_path / "tiny.png")
    Image.new("RGB", (40, 40), (90, 60, 40)).save(tmp_path / "fine.png")
    argv = ["invert", str(tmp_path / "fine.png"), str(tmp_path / "tiny.png"), "--model", str(tmp_path / "model")]
    assert main([*argv, "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "enlarged" in line]
    assert lines == [
        f"interestyle invert: warning: {tmp_path / 'tiny.png'} is 4x3 pixels and is enlarged 10.7x to 32x32: the "
        "model sees little of it beyond its colours; give images of at least 8 pixels a side"
    ]


def test_a_decompression_bomb_is_refused_by_name_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20_000, 10_000)).save(bomb)  # 200 megapixels in a few kilobytes
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ImageTooLargeError, match=r"bomb\.png is 200 megapixels, more than the 179 megapixels") as e:
        read_images(bomb)
    assert isinstance(e.value, ValueError) and "MAX_IMAGE_PIXELS" in str(e.value)
    over = Image.new("1", (13_400, 13_400))  # just over the limit, already in memory
    assert MAX_IMAGE_PIXELS < 13_400**2
    with pytest.raises(ImageTooLargeError, match=r"photo is 13400x13400 \(180 megapixels\), more than the 179"):
        read_images(over, what="photo", min_side=64)


def test_a_tiny_image_is_inverted_with_one_warning_naming_the_upscale():
    model = tiny_model()  # 32 pixels
    with pytest.warns(UpscaleWarning, match=r"is 1x1 pixels and is enlarged 32x to 32x32") as caught:
        invert(model, [torch.zeros(3, 1, 1), torch.zeros(3, 2, 2), torch.zeros(3, 32, 32)])
    assert len(caught) == 1 and "2 of 3 are enlarged more than 4x" in str(caught[0].message)
    side = int(32 / MAX_UPSCALE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        invert(model, torch.zeros(3, side, side))  # exactly 4x: no warning
