"""Crash safety (``benchmarks/crash_safety.py``): writes killed with SIGKILL at their kill points, and a
training run killed and resumed, in forked children.

The benchmark kills at every kill point and runs 20 training tries; here the model saves and the run log
are swept whole, checkpoint writes and conversions at every few kill points, and two training tries run
(one killed inside a checkpoint write, one at a random time). docs/robustness.md has the figures.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import crash_safety  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked children: needs os.fork")


def failures(sweeps: dict) -> list[str]:
    return [f"{name}: {verdict}" for name, c in sweeps.items() for verdict in c if verdict.startswith("FAIL")]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "sweep").mkdir()
    return tmp_path / "sweep"


def test_kill_points_are_the_writers_lines_and_a_child_is_killed_before_the_chosen_one(tmp_path):
    model = crash_safety.tiny_model(0)
    finished = crash_safety.run_forked(lambda: model.save_pretrained(tmp_path / "m"))
    assert not finished.killed and finished.count == len(finished.where) > 5
    assert {name for name, _ in finished.where} == {"save_model_folder", "writing_folder"}
    killed = crash_safety.run_forked(lambda: model.save_pretrained(tmp_path / "n"), kill_at=1)
    assert killed.killed and not (tmp_path / "n").exists()


def test_checkpoint_writes_and_prunes_killed_anywhere_leave_only_whole_checkpoints(root):
    sweeps = crash_safety.checkpoint_sweeps(root, every=4)
    assert failures(sweeps) == []
    written = sweeps["checkpoint write + prune"]
    # killed before, during and after the rename, and during the prune
    for verdict in ("steps 2, 4 kept, newest 4 (seed 0)", "steps 2, 4, 6 kept, newest 6", "steps 4, 6 kept, newest 6"):
        assert written[verdict] > 0, (verdict, written)
    rewritten = sweeps["checkpoint rewritten over itself"]
    assert rewritten["steps 2, 4 kept, newest 4 (seed 0)"] > 0 and rewritten["steps 2, 4 kept, newest 4 (seed 1)"] > 0


def test_the_run_log_keeps_its_rows_when_a_resume_is_killed_while_it_starts(root):
    """Before, the CSV was truncated and rewritten in place: a kill in between lost every row."""
    sweep = crash_safety.run_log_sweep(root)["run log reopened on resume"]
    assert failures({"log": sweep}) == []
    assert sweep["steps 1, 2, 3, 4, 5"] > 0 and sweep["steps 1, 2, 3"] > 0


def test_a_model_save_killed_anywhere_leaves_the_old_model_the_new_one_none_or_an_incomplete_error(root):
    """Before, a save over another model could load new weights with the old config, and one into a new
    folder left weights without a config."""
    sweeps = crash_safety.model_save_sweeps(root)
    assert failures(sweeps) == []
    over, new = sweeps["model save over another"], sweeps["model save, new folder"]
    assert over["old"] > 0 and over["incomplete"] > 0 and over["finished: new"] == 1
    assert new["absent"] > 0 and set(new) <= {"absent", "new", "finished: new"}


def test_a_conversion_killed_anywhere_in_its_write_leaves_no_folder_that_loads_something_else(root):
    sweeps = crash_safety.conversion_sweeps(root, every=5)
    assert failures(sweeps) == []
    assert set(sweeps["conversion over another"]) <= {"old", "incomplete", "new", "finished: new"}
    assert set(sweeps["conversion, new folder"]) <= {"absent", "new", "finished: new"}


def test_training_killed_in_a_checkpoint_write_or_at_a_random_time_resumes_to_the_same_bits(tmp_path):
    result = crash_safety.training_tries(tmp_path, tries=2, kills=1, seed=3, steps=4)
    assert result.failures == []
    assert result.tries == 2 and result.runs == 4
    assert sum(n for kind, n in result.kills.items() if kind.startswith("in a checkpoint write")) == 1
    assert result.kills["at a random time"] + result.kills["missed (the run had finished)"] == 1
