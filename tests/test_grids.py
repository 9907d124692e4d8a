import pytest
from PIL import Image

from interestyle.grids import image_grid


def test_rows_of_images_become_one_sheet():
    red, blue = Image.new("RGB", (10, 10), "red"), Image.new("RGB", (10, 10), "blue")
    sheet = image_grid([[red, blue], [None, red]], pad=1)
    assert sheet.size == (1 + 2 * 11, 1 + 2 * 11)
    assert sheet.getpixel((5, 5)) == (255, 0, 0) and sheet.getpixel((16, 5)) == (0, 0, 255)
    assert sheet.getpixel((5, 16)) == (255, 255, 255)  # the empty cell


def test_images_are_fitted_into_square_cells_keeping_their_aspect():
    wide = Image.new("L", (40, 20), 0)
    sheet = image_grid([[wide]], cell=20, pad=0)
    assert sheet.size == (20, 20) and sheet.mode == "RGB"
    assert sheet.getpixel((10, 2)) == (255, 255, 255) and sheet.getpixel((10, 10)) == (0, 0, 0)


def test_an_empty_grid_is_refused():
    with pytest.raises(ValueError, match="at least one image"):
        image_grid([[None]])
