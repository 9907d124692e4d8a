"""docs/figures/concepts.py draws the Concepts page's figures from any model pair, and the page shows them."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from conftest import tiny_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def concepts():
    spec = importlib.util.spec_from_file_location("concepts_figures", ROOT / "docs" / "figures" / "concepts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.MANY = 4
    return module


@pytest.fixture(scope="module")
def models():
    return tiny_model(resolution=64, input_size=64, seed=0), tiny_model(resolution=64, input_size=64, seed=1)


def test_refinement_figure_has_a_column_per_step(concepts, models):
    figure = concepts.refinement(*models)
    steps = models[0].config.iterations
    cell = concepts.CELL + concepts.PAD
    assert figure.size == (
        concepts.LABEL_W + concepts.PAD + (2 + steps) * cell,
        concepts.LABEL_H + concepts.PAD + 3 * cell,
    )


@pytest.mark.parametrize("name", ["disentanglement", "background"])
def test_comparison_figures_have_six_columns_and_a_footer(concepts, models, name):
    figure = getattr(concepts, name)(*models, n=2)
    cell = concepts.CELL + concepts.PAD
    assert figure.size == (concepts.LABEL_W + concepts.PAD + 6 * cell, 2 * concepts.LABEL_H + concepts.PAD + 2 * cell)


def test_the_page_shows_every_figure_the_script_writes():
    script = (ROOT / "docs" / "figures" / "concepts.py").read_text()
    written = set(re.findall(r'"(concepts-[\w-]+\.png)"', script))
    shown = set(re.findall(r"\(img/(concepts-[\w-]+\.png)\)", (ROOT / "docs" / "concepts.md").read_text()))
    assert written == shown and len(written) == 3
    for name in written:
        assert (ROOT / "docs" / "img" / name).stat().st_size < 400_000
