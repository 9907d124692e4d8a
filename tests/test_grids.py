import numpy as np
import pytest
from PIL import Image

from interestyle.grids import image_grid, label_height


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


def test_column_and_row_labels_are_drawn_in_strips_of_their_own():
    grey = Image.new("RGB", (32, 32), (128, 128, 128))
    plain = image_grid([[grey, grey]], cell=32)
    labelled = image_grid([[grey, grey], [grey]], cell=32, column_labels=["photo", "+2"], row_labels=["a", "b"])
    top = label_height(32)
    assert top == 16 and label_height(128) == 16 and label_height(256) == 25
    left = labelled.width - plain.width
    assert labelled.height == top + 2 + 2 * 34 and left > 0
    pixels = np.asarray(labelled.convert("L"))
    for c in range(2):  # text over each column, not over the gaps' background only
        assert pixels[:top, left + 2 + c * 34 :][:, :32].min() < 100
    for r in range(2):
        assert pixels[top + 2 + r * 34 :][:32, :left].min() < 100
    # the cells are where they were, moved by the strips
    assert labelled.crop((left, top, labelled.width, labelled.height - 34)).tobytes() == plain.tobytes()


def test_a_label_too_long_for_its_cell_is_shrunk_or_cut_not_spilled_into_the_next():
    grey = Image.new("RGB", (32, 32), (128, 128, 128))
    sheet = image_grid([[grey, grey]], cell=32, column_labels=["a label far too long for a 32 pixel cell", ""])
    pixels = np.asarray(sheet.convert("L"))[: label_height(32)]
    assert pixels[:, 2:34].min() < 100 and pixels[:, 36:].min() > 200  # the second column's strip stays blank


def test_bad_labels_are_refused():
    grey = Image.new("RGB", (8, 8))
    with pytest.raises(ValueError, match="3 labels for 2 columns"):
        image_grid([[grey, grey]], column_labels=["a", "b", "c"])
    with pytest.raises(TypeError, match="sequence of strings"):
        image_grid([[grey]], row_labels="ab")
