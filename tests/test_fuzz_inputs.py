"""``benchmarks/fuzz_inputs.py`` on a fixed seeded subset: every damaged model folder and image file ends
in a named interestyle error (images: also the CLI's skipped-file warning) or loads what the file says.

The full count (60 cases per category by default) is the benchmark's; docs/robustness.md has its figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import fuzz_inputs  # noqa: E402

CASES = 20


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory):
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield fuzz_inputs.Fuzzer(tmp_path_factory.mktemp("fuzz"), bound_seconds=20.0)
    torch.set_num_threads(previous)


def test_a_seeded_subset_of_every_category_ends_in_a_named_error_or_the_files_content(fuzzer):
    report = fuzzer.run(cases=CASES, seed=0)
    assert [(o.category, o.case, o.kind, o.detail) for o in report.defects] == []
    counts = report.counts()
    assert list(counts) == list(fuzz_inputs.CATEGORIES)
    assert all(sum(c.values()) == CASES for c in counts.values())
    for category, c in counts.items():  # each category damages something the loader notices
        assert any(label.startswith("named error") for label in c), category
    assert all(o.seconds < 20.0 for o in report.outcomes)


def test_the_cases_are_seeded(fuzzer):
    first = [o.case for o in fuzzer.run(("config-type", "png-flip"), cases=3, seed=5).outcomes]
    again = [o.case for o in fuzzer.run(("config-type", "png-flip"), cases=3, seed=5).outcomes]
    other = [o.case for o in fuzzer.run(("config-type", "png-flip"), cases=3, seed=6).outcomes]
    assert first == again and first != other


def test_the_harness_reports_what_it_is_there_to_find(fuzzer, monkeypatch):
    """A loader that ignores the file, or raises an unnamed exception, is reported as a defect."""
    monkeypatch.setattr(fuzz_inputs.interestyle, "load_encoder", lambda folder: fuzzer.reference)
    kinds = {o.kind for o in fuzzer.run(("config-missing", "header-bytes"), cases=3).outcomes}
    assert kinds == {"DEFECT: config differs from the file", "no effect"}

    def broken(*args, **kwargs):
        raise RuntimeError("not a named error")

    monkeypatch.setattr(fuzz_inputs, "invert", broken)
    outcomes = fuzzer.run(("png-flip",), cases=2).outcomes
    assert [(o.kind, o.detail) for o in outcomes] == [("DEFECT: RuntimeError", "not a named error")] * 2
