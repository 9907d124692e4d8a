"""``interestyle invert`` over a dataset: split across processes by RANK / WORLD_SIZE (2 processes here, no
process group), ``--resume``, decoding read ahead on a thread, and the dataset's latents file (one file, or shards
with an index) that ``edit`` reads."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from conftest import tiny_model
from interestyle import DirectionSet
from interestyle.cli import main
from interestyle.cli.prefetch import prefetched
from interestyle.cli.shards import Shard, process_shard, shard_device
from interestyle.latents_file import (
    is_latents_file,
    latents_shard_name,
    read_latents_file,
    save_latents_file,
    write_latents_index,
)

PHOTOS = 7


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("dataset")
    tiny_model().save_pretrained(root / "model")
    DirectionSet({"smile": torch.randn(32, generator=torch.Generator().manual_seed(0))}).save_pretrained(root / "model")
    rng = np.random.default_rng(0)
    (root / "photos").mkdir()
    (root / "masks").mkdir()
    for i in range(PHOTOS):
        Image.fromarray(rng.integers(0, 256, (40, 38, 3), dtype=np.uint8)).save(root / "photos" / f"p{i}.png")
        mask = np.zeros((40, 38), np.uint8)
        mask[6 + i : 34, 6:30] = 255
        Image.fromarray(mask).save(root / "masks" / f"p{i}.png")
    return root


ARGS = ["photos", "--model", "model", "--mask", "masks", "--batch-size", "2", "--no-progress", "--grid"]


def invert_in_process(work, out, *extra) -> int:
    """One process, with one thread as the launched ones have (the thread count can change the rounding)."""
    previous, threads = os.getcwd(), torch.get_num_threads()
    os.chdir(work)
    torch.set_num_threads(1)
    try:
        return main(["invert", *ARGS, "--out", str(out), *extra])
    finally:
        os.chdir(previous)
        torch.set_num_threads(threads)


def files(folder) -> dict[str, object]:
    """Each file's bytes; for safetensors its tensors and metadata (the header's key order is not fixed)."""
    out: dict[str, object] = {}
    for p in sorted(folder.iterdir()):
        if p.suffix == ".safetensors":
            with safe_open(str(p), framework="pt") as f:
                out[p.name] = (f.metadata(), {k: f.get_tensor(k).numpy().tobytes() for k in f.keys()})  # noqa: SIM118
        elif p.is_file():
            out[p.name] = p.read_bytes()
    return out


@pytest.fixture(scope="module")
def single(work):
    """One process, reading ahead (the default), with a dataset latents file."""
    assert invert_in_process(work, work / "single", "--latents-file", "latents.safetensors") == 0
    return files(work / "single")


@pytest.fixture(scope="module")
def sharded(work):
    """Two processes at once, RANK 0 and 1 of WORLD_SIZE 2, into one folder."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WORLD_SIZE": "2"}
    command = [sys.executable, "-m", "interestyle", "invert", *ARGS, "--out", "sharded"]
    command += ["--latents-file", "latents.safetensors"]
    procs = [
        subprocess.Popen(command, cwd=work, env={**env, "RANK": str(r)}, stdout=subprocess.PIPE, text=True)
        for r in range(2)
    ]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    return outs


def test_two_processes_write_what_one_writes_exactly(work, single, sharded):
    # batches of 2: [p0 p1] [p4 p5] on process 0, [p2 p3] [p6] on process 1, as one process batches them
    assert "process 0 of 2: inverted 4 photo(s)" in sharded[0] and "process 1 of 2: inverted 3 photo(s)" in sharded[1]
    two = files(work / "sharded")
    per_photo = {n for n in single if n.startswith("p")}
    assert len(per_photo) == 3 * PHOTOS  # NAME.png, NAME.composite.png, NAME.safetensors
    for name in per_photo:
        assert two[name] == single[name], name
    assert {"grid-00000-of-00002.png", "grid-00001-of-00002.png"} <= two.keys() and "grid.png" not in two


def test_the_sharded_latents_file_reads_as_the_single_one(work, single, sharded):
    one = read_latents_file(work / "single" / "latents.safetensors")
    index = work / "sharded" / "latents.safetensors.index.json"
    two = read_latents_file(index)
    assert list(one) == [f"p{i}" for i in range(PHOTOS)] and sorted(two) == sorted(one)
    assert all(torch.equal(one[k], two[k]) for k in one)
    assert '"complete": true' in index.read_text()
    shard = work / "sharded" / "latents-00001-of-00002.safetensors"
    assert sorted(read_latents_file(shard)) == ["p2", "p3", "p6"]
    assert is_latents_file(index) and is_latents_file(shard)
    assert not is_latents_file(work / "single" / "p0.safetensors")  # one photo's file is not a dataset's


def test_reading_ahead_changes_nothing(work, single):
    assert invert_in_process(work, work / "plain", "--prefetch", "0", "--latents-file", "latents.safetensors") == 0
    assert files(work / "plain") == single


def test_resume_skips_the_photos_whose_files_are_complete(work, capsys):
    """Batches of 1, so that a photo inverted again is computed as it was the first time (a smaller batch than the
    first run's could change the rounding)."""
    out = work / "resumed"
    extra = ["--batch-size", "1", "--latents-file", "latents.safetensors"]
    assert invert_in_process(work, out, *extra) == 0
    first = files(out)
    (out / "p2.png").unlink()  # p2 and p5 lack a file: inverted again
    (out / "p5.safetensors").unlink()
    (out / "latents.safetensors").unlink()
    kept = {n: (out / n).stat().st_ino for n in ("p0.png", "p0.safetensors", "p6.composite.png")}
    capsys.readouterr()
    assert invert_in_process(work, out, "--resume", *extra) == 0
    printed = capsys.readouterr().out
    assert "--resume: 5 of 7 photo(s) already inverted" in printed and "inverted 2 photo(s)" in printed
    assert {n: (out / n).stat().st_ino for n in kept} == kept  # not rewritten
    now = files(out)
    assert now.keys() == first.keys()
    assert all(now[n] == first[n] for n in first if n != "grid.png")  # the latents file holds all 7 again


def test_edit_reads_a_datasets_latents_file_and_its_index(work, single, sharded):
    common = ["--model", "model", "--direction", "smile", "--strength", "2", "--no-progress"]
    previous = os.getcwd()
    os.chdir(work)
    try:
        assert main(["edit", "single/p0.safetensors", "single/p4.safetensors", *common, "--out", "e-files"]) == 0
        assert main(["edit", "single/latents.safetensors", *common, "--out", "e-file"]) == 0
        assert main(["edit", "sharded/latents.safetensors.index.json", *common, "--out", "e-index"]) == 0
    finally:
        os.chdir(previous)
    by_file, by_dataset, by_index = (files(work / n) for n in ("e-files", "e-file", "e-index"))
    assert len(by_dataset) == len(by_index) == 2 * PHOTOS  # NAME_smile_+2.png and NAME_smile.safetensors each
    for name in ("p0_smile_+2.png", "p4_smile_+2.png"):
        assert by_dataset[name] == by_index[name] == by_file[name]


def test_process_shard_reads_the_launchers_environment():
    assert process_shard({}) == Shard(0, 1)
    assert process_shard({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}) == Shard(3, 4)
    assert process_shard({"LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}) == Shard(1, 2)
    assert Shard(1, 3).select(list(range(8))) == [1, 4, 7]
    with pytest.raises(ValueError, match=r"RANK=4 and WORLD_SIZE=4"):
        process_shard({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(ValueError, match=r"WORLD_SIZE='two'"):
        process_shard({"RANK": "0", "WORLD_SIZE": "two"})
    assert shard_device("cpu", {"LOCAL_RANK": "1"}) == "cpu"
    if not torch.cuda.is_available():
        assert shard_device("auto", {"LOCAL_RANK": "1"}) == "auto"


def test_prefetched_keeps_the_order_reads_ahead_and_passes_errors_on():
    started = []

    def items():
        for i in range(5):
            started.append(i)
            yield i

    stream = prefetched(items(), 2)
    assert next(stream) == 0
    deadline = time.monotonic() + 5
    while len(started) < 3 and time.monotonic() < deadline:  # the thread reads ahead while we wait
        time.sleep(0.01)
    assert len(started) >= 3
    assert list(stream) == [1, 2, 3, 4]

    def failing():
        yield 1
        raise OSError("disk gone")

    stream = prefetched(failing(), 1)
    assert next(stream) == 1
    with pytest.raises(OSError, match="disk gone"):
        next(stream)
    before = threading.active_count()
    stream = prefetched(iter(range(100)), 1)
    next(stream)
    stream.close()  # stops the thread
    assert threading.active_count() <= before
    assert list(prefetched(iter("ab"), 0)) == ["a", "b"]
    with pytest.raises(ValueError, match="depth=-1"):
        list(prefetched([], -1))


def test_latents_file_round_trip_shards_and_errors(tmp_path):
    torch.manual_seed(0)
    latents = {f"n{i}": torch.randn(8, 32) for i in range(5)}
    path = tmp_path / "latents.safetensors"
    save_latents_file(path, latents)
    back = read_latents_file(path)
    assert list(back) == list(latents) and all(torch.equal(back[k], latents[k]) for k in latents)
    names = list(latents)
    save_latents_file(tmp_path / latents_shard_name(path, 0, 3), {k: latents[k] for k in names[0::3]})
    index = write_latents_index(path, 3)
    assert '"complete": false' in index.read_text() and "latents-00002-of-00003.safetensors" in index.read_text()
    save_latents_file(tmp_path / latents_shard_name(path, 1, 3), {k: latents[k] for k in names[1::3]})
    save_latents_file(tmp_path / latents_shard_name(path, 2, 3), {k: latents[k] for k in names[2::3]})
    write_latents_index(path, 3)
    assert '"complete": true' in index.read_text()
    back = read_latents_file(index)
    assert sorted(back) == sorted(latents) and all(torch.equal(back[k], latents[k]) for k in latents)
    (tmp_path / latents_shard_name(path, 2, 3)).unlink()
    with pytest.raises(FileNotFoundError, match="latents-00002-of-00003"):
        read_latents_file(index)
    with pytest.raises(ValueError, match="expected 0 <= rank < count"):
        latents_shard_name(path, 3, 3)
    with pytest.raises(ValueError, match=r"'bad' is \(3,\)"):
        save_latents_file(path, {"bad": torch.zeros(3)})
    with pytest.raises(ValueError, match="no latents"):
        save_latents_file(path, {})
    one_photo = tmp_path / "photo.safetensors"
    from safetensors.torch import save_file

    save_file({"latents": torch.zeros(8, 32)}, str(one_photo))
    with pytest.raises(ValueError, match="is not a latents file"):
        read_latents_file(one_photo)
