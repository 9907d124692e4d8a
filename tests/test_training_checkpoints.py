"""Checkpoint I/O on its own: the training state round-trips, writes are whole or absent, pruning, lookup."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from conftest import tiny_model
from interestyle.training.checkpoints import (
    STATE_JSON,
    STATE_TENSORS,
    checkpoint_name,
    find_latest_checkpoint,
    prune_checkpoints,
    read_checkpoint,
    resume_warnings,
    tidy_checkpoints,
    training_state,
    write_checkpoint,
)


class Scaler:
    """A stand-in gradient scaler: any object with ``state_dict`` / ``load_state_dict``."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def state_dict(self):
        return {"scale": self.scale, "growth_tracker": 3}

    def load_state_dict(self, state):
        self.scale = state["scale"]


def parts(seed: int):
    """A tiny model with an Adam optimiser and a warm-up schedule, two optimiser steps in."""
    model = tiny_model(seed=seed)
    params = list(model.encoder.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.9))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 4))
    for _ in range(2):
        loss = sum(p.square().sum() for p in params)
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    return model, optimizer, scheduler


def save(root: Path, step: int, model, optimizer, scheduler, scaler=None, **meta) -> Path:
    options = {"seed": 7, "num_processes": 1, "training_config": {"optim": {"lr": 1e-3}}} | meta
    tensors, state = training_state(step, optimizer, scheduler, scaler, **options)
    return write_checkpoint(root, step, model, tensors, state)


def test_the_training_state_round_trips(tmp_path):
    model, optimizer, scheduler = parts(seed=0)
    torch.manual_seed(123)
    folder = save(tmp_path, 2, model, optimizer, scheduler, Scaler(1024.0))
    after_save = torch.rand(4)
    assert folder == tmp_path / "step-00000002"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["config.json", "model.safetensors", STATE_JSON, STATE_TENSORS]
    )

    other, other_optimizer, other_scheduler = parts(seed=1)
    scaler = Scaler(1.0)
    torch.manual_seed(999)
    meta = read_checkpoint(folder, other, other_optimizer, other_scheduler, scaler)
    assert torch.equal(torch.rand(4), after_save)  # the RNG continues where the saved run was
    assert meta["step"] == 2 and meta["seed"] == 7 and scaler.scale == 1024.0
    for key, value in model.state_dict().items():
        assert torch.equal(other.state_dict()[key], value), key
    a, b = optimizer.state_dict(), other_optimizer.state_dict()
    assert a["param_groups"] == b["param_groups"] and b["param_groups"][0]["betas"] == (0.5, 0.9)
    assert a["state"].keys() == b["state"].keys()
    for index, state in a["state"].items():
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(b["state"][index][name]), torch.as_tensor(value)), (index, name)
    assert other_scheduler.state_dict() == scheduler.state_dict()
    assert other_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]


def test_the_json_half_holds_no_tensors(tmp_path):
    _, optimizer, scheduler = parts(seed=0)
    tensors, meta = training_state(5, optimizer, scheduler, None, seed=0, num_processes=2, training_config={"seed": 0})
    json.dumps(meta)  # raises on a tensor left in it
    assert meta["scaler"] is None and meta["num_processes"] == 2 and meta["interestyle_version"]
    assert "rng.torch" in tensors
    assert {k.split(".")[0] for k in tensors} <= {"optimizer", "rng"}
    assert all(t.device.type == "cpu" and t.is_contiguous() for t in tensors.values())


class FailingModel:
    """Writes part of a model folder, then fails, like a full disk or a Ctrl-C mid-write."""

    def save_pretrained(self, folder):
        (Path(folder) / "config.json").write_text("{}")
        raise KeyboardInterrupt


def test_an_interrupted_write_leaves_no_partial_checkpoint_and_the_previous_one_whole(tmp_path):
    model, optimizer, scheduler = parts(seed=0)
    first = save(tmp_path, 3, model, optimizer, scheduler)
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    tensors, meta = training_state(3, optimizer, scheduler, None, seed=0, num_processes=1, training_config={})
    for step in (3, 4):  # over an existing checkpoint, and a new one
        with pytest.raises(KeyboardInterrupt):
            write_checkpoint(tmp_path, step, FailingModel(), tensors, meta)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-00000003"]  # no temporary folder either
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before


def test_tidying_finishes_what_a_killed_write_or_prune_left(tmp_path):
    model, optimizer, scheduler = parts(seed=0)
    for step in (2, 4, 6):
        save(tmp_path, step, model, optimizer, scheduler)
    whole = {p.name: p.read_bytes() for p in (tmp_path / "step-00000004").iterdir()}
    (tmp_path / "step-00000004").rename(tmp_path / ".step-00000004.old")  # killed between the two renames
    (tmp_path / "step-00000002").rename(tmp_path / ".step-00000002.deleting")  # killed while pruning
    (tmp_path / ".step-00000006.ab12.tmp").mkdir()  # killed while writing
    shutil.copytree(tmp_path / "step-00000006", tmp_path / ".step-00000006.old")  # its replacement arrived
    tidy_checkpoints(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-00000004", "step-00000006"]
    assert {p.name: p.read_bytes() for p in (tmp_path / "step-00000004").iterdir()} == whole
    tidy_checkpoints(tmp_path / "none")  # no folder: nothing to do


def test_pruning_moves_a_checkpoint_aside_before_deleting_it(tmp_path, monkeypatch):
    model, optimizer, scheduler = parts(seed=0)
    for step in (1, 2):
        save(tmp_path, step, model, optimizer, scheduler)
    monkeypatch.setattr(shutil, "rmtree", lambda p, **kw: None)  # killed before the files go
    prune_checkpoints(tmp_path, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".step-00000001.deleting", "step-00000002"]


def test_a_checkpoint_of_the_same_step_is_replaced(tmp_path):
    model, optimizer, scheduler = parts(seed=0)
    save(tmp_path, 3, model, optimizer, scheduler, seed=1)
    folder = save(tmp_path, 3, model, optimizer, scheduler, seed=2)
    assert json.loads((folder / STATE_JSON).read_text())["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-00000003"]  # no .old folder left


def test_the_latest_checkpoint_is_the_highest_complete_step(tmp_path):
    assert find_latest_checkpoint(tmp_path) is None  # no checkpoints folder
    root = tmp_path / "checkpoints"
    model, optimizer, scheduler = parts(seed=0)
    for step in (9, 10):
        save(root, step, model, optimizer, scheduler)
    assert find_latest_checkpoint(tmp_path) == root / "step-00000010"
    (root / checkpoint_name(12)).mkdir()  # incomplete: no training state, no weights
    (root / "step-00000099.tmp").mkdir()
    (root / "step-00000011").mkdir()
    (root / "step-00000011" / STATE_JSON).write_text("{}")  # weights missing
    assert find_latest_checkpoint(tmp_path) == root / "step-00000010"


def test_pruning_keeps_the_newest(tmp_path):
    for step in (1, 2, 10, 3):
        (tmp_path / checkpoint_name(step)).mkdir()
    (tmp_path / "notes").mkdir()
    prune_checkpoints(tmp_path, 0)
    assert len(list(tmp_path.iterdir())) == 5  # 0 keeps every checkpoint
    prune_checkpoints(tmp_path, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "step-00000003", "step-00000010"]


def test_resume_warnings_name_what_changed(tmp_path):
    meta = {"num_processes": 2, "training_config": {"optim": {"lr": 1.0}, "seed": 0}}
    same = resume_warnings(tmp_path, meta, num_processes=2, training_config={"optim": {"lr": 1.0}, "seed": 0})
    assert same == []
    changed = resume_warnings(tmp_path, meta, num_processes=1, training_config={"optim": {"lr": 2.0}, "seed": 0})
    assert len(changed) == 2
    assert "2 process(es), this run has 1" in changed[0] and str(tmp_path) in changed[0]
    assert "sections ['optim']" in changed[1]


def test_resume_warnings_say_what_a_different_process_count_changes(tmp_path):
    meta = {"num_processes": 2, "training_config": {"optim": {"batch_size": 2, "lr": 1.0}}}
    kept = {"optim": {"batch_size": 2, "lr": 1.0, "gradient_accumulation_steps": 2}}
    (line, section) = resume_warnings(tmp_path, meta, num_processes=1, training_config=kept)
    assert "2 process(es), this run has 1: the global batch stays 4 images (2 x 1 process(es) x 2" in line
    assert "reads the images an uninterrupted run would" in line and "sections ['optim']" in section
    (line,) = resume_warnings(tmp_path, meta, num_processes=4, training_config=meta["training_config"])
    assert "global batch changes from 4 images (2 x 2 process(es) x 1 accumulation step(s)) to 8 images" in line
    assert "optim.lr=1.0 is not rescaled" in line and "gradient_accumulation_steps" in line
