"""Training on several processes: one 2-process launch (``accelerate launch``, CPU, gloo) of a tiny run, compared
with the same global batch on one process; gradient accumulation; bf16 autocast on the CPU."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from accelerate.state import AcceleratorState
from safetensors.torch import load_file

from interestyle import ConfigError
from interestyle.training import Trainer, TrainingConfig, train
from training_setup import (
    single_thread,  # noqa: F401 (fixture)
    tiny_run,
)

pytestmark = pytest.mark.usefixtures("single_thread")

ACCELERATE = Path(sys.executable).with_name("accelerate")
# Float32 sums in another order (DDP's all-reduce against accumulation in one process), through 4 Adam steps.
TOLERANCE = 1e-5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parameters(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The trained values (BatchNorm's running statistics are buffers, each process keeps its own)."""
    return {k: v for k, v in weights.items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))}


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


def encoder_weights(result_or_checkpoint) -> dict[str, torch.Tensor]:
    """The encoder's tensors in a checkpoint (a folder, or a training result's newest)."""
    folder = getattr(result_or_checkpoint, "checkpoint", result_or_checkpoint)
    weights = load_file(Path(folder) / "model.safetensors")
    return {k.removeprefix("encoder."): v for k, v in weights.items() if k.startswith("encoder.")}


def config(tmp_path: Path, name: str, **optim) -> dict:
    """4 steps of 4 images (3 training images, so epochs wrap), flips on, a checkpoint/sample/validation at 2."""
    log = {"dir": str(tmp_path / name), "checkpoint_every": 2, "sample_every": 2, "val_every": 2}
    return tiny_run(tmp_path, optim={"batch_size": 2, **optim}, log=log)


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """One ``accelerate launch --multi_gpu --num_processes 2`` of tests/distributed_train.py on the CPU (gloo): batch 2
    on each process. (``--cpu`` alone would start one process: Accelerate's multi-CPU launch goes through MPI.)"""
    if not ACCELERATE.is_file():
        pytest.skip("the accelerate launcher is not installed beside this Python")
    tmp = tmp_path_factory.mktemp("ddp")
    path = tmp / "config.json"
    path.write_text(json.dumps(config(tmp, "unused")), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([*sys.path])}
    command = [
        str(ACCELERATE),
        "launch",
        "--multi_gpu",  # torchrun's launcher; with no GPU here the trainer's Accelerator(cpu=True) runs gloo
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(free_port()),
        str(Path(__file__).with_name("distributed_train.py")),
        str(path),
        str(tmp),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return tmp, done.stdout


def test_both_processes_hold_the_same_weights(launched):
    tmp, _ = launched
    for name in ("straight", "resumed"):
        rank0, rank1 = (parameters(load_file(tmp / f"{name}-rank{r}.safetensors")) for r in (0, 1))
        assert all(torch.equal(rank0[k], rank1[k]) for k in rank0), name


def test_only_the_main_process_writes(launched):
    tmp, _ = launched
    rank0 = (tmp / "writes-rank0.txt").read_text().split()
    rank1 = (tmp / "writes-rank1.txt").read_text().split()
    assert rank1 == []
    assert {"checkpoint", "file", "log"} <= set(rank0)
    run = tmp / "straight"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-00000002", "step-00000004"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-00000002.png", "step-00000004.png"]
    rows = (run / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["step", "1", "2", "3", "4"]


def test_two_processes_equal_one_with_the_same_global_batch(launched, tmp_path):
    """Batch 2 on each of 2 processes = batch 2 accumulated twice on one: the same micro-batches (so the same
    BatchNorm statistics) and the same global batch of 4 images a step."""
    tmp, stdout = launched
    assert "global batch 4 = 2 x 2 process(es) x 1 accumulation step(s)" in stdout
    two = parameters(load_file(tmp / "straight-rank0.safetensors"))
    one = train(config(tmp_path, "one", gradient_accumulation_steps=2), progress=False)
    diff = max_difference(two, parameters(encoder_weights(one)))
    print(f"max |2 processes - 1 process x 2 accumulation| = {diff:.3g}")
    assert diff < TOLERANCE
    checkpoint = parameters(encoder_weights(tmp / "straight" / "checkpoints" / "step-00000004"))
    assert all(torch.equal(checkpoint[k], two[k]) for k in two)  # rank 0 saved its own weights


def test_a_resumed_two_process_run_equals_an_uninterrupted_one(launched):
    tmp, _ = launched
    straight, resumed = (parameters(load_file(tmp / f"{n}-rank0.safetensors")) for n in ("straight", "resumed"))
    diff = max_difference(straight, resumed)
    print(f"max |2-process resumed - uninterrupted| = {diff:.3g}")
    assert diff == 0


def test_resuming_on_one_process_names_what_changes_and_keeps_the_global_batch(launched, tmp_path, capsys):
    """The step-2 checkpoint of the 2-process run, resumed on 1 process with 2 accumulation steps: the same global
    batch, so the same result; the message says so."""
    tmp, _ = launched
    run = tmp_path / "one"
    shutil.copytree(tmp / "resumed" / "checkpoints" / "step-00000002", run / "checkpoints" / "step-00000002")
    result = train(config(tmp_path, "one", gradient_accumulation_steps=2), resume=True, progress=False)
    out = capsys.readouterr().out
    assert "written by 2 process(es), this run has 1: the global batch stays 4 images (2 x 1 process(es) x 2" in out
    straight = parameters(load_file(tmp / "straight-rank0.safetensors"))
    diff = max_difference(straight, parameters(encoder_weights(result)))
    print(f"max |resumed on 1 process x 2 accumulation - 2 processes| = {diff:.3g}")
    assert diff < TOLERANCE


def test_accumulation_is_a_larger_batch_up_to_batchnorm(tmp_path):
    """Batch 2 accumulated twice against batch 4: the same images and loss scale; only BatchNorm's statistics
    (over 2 images, not 4) differ. Accumulating twice with the same data as one micro-batch is exact."""
    big = train(config(tmp_path, "big", batch_size=4), progress=False)
    split = train(config(tmp_path, "split", gradient_accumulation_steps=2), progress=False)
    other_seed = train({**config(tmp_path, "seed", batch_size=4), "seed": 1}, progress=False)
    diff = max_difference(parameters(encoder_weights(big)), parameters(encoder_weights(split)))
    baseline = max_difference(parameters(encoder_weights(big)), parameters(encoder_weights(other_seed)))
    print(f"max |batch 4 - batch 2 x 2 accumulation| = {diff:.3g} (another seed: {baseline:.3g})")
    assert 0 < diff < baseline / 10


@pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")  # the optimiser step is switched off
def test_accumulation_divides_each_loss_so_the_gradient_is_the_mean(tmp_path):
    """With one image a micro-batch and BatchNorm out of the way (eval mode), 2 accumulation steps of 1 image give
    the gradient of a batch of 2 images."""
    grads = {}
    for name, optim in (("whole", {"batch_size": 2}), ("split", {"batch_size": 1, "gradient_accumulation_steps": 2})):
        trainer = Trainer(TrainingConfig.from_dict(config(tmp_path, name, **optim, lr=1e-12)), progress=False)
        trainer.model.encoder.eval()  # BatchNorm from its running statistics: the same for any split
        trainer.encoder.eval()
        trainer.optimizer.step = lambda: None  # keep the gradients for the comparison
        trainer.optimizer.zero_grad = lambda set_to_none=True: None
        (micro_batches,) = list(trainer._batches(0, 1))
        assert sum(len(b.images) for b in micro_batches) == 2
        trainer._step(micro_batches)
        grads[name] = {n: p.grad.clone() for n, p in trainer.model.encoder.named_parameters() if p.grad is not None}
    assert grads["whole"].keys() == grads["split"].keys()
    diff = max_difference(grads["whole"], grads["split"])
    scale = max(float(g.abs().max()) for g in grads["whole"].values())
    assert diff < 1e-5 * scale


@pytest.fixture
def fresh_accelerate_state():
    """Accelerate keeps one mixed-precision setting per Python process; these tests change it."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state()
    yield
    AcceleratorState._reset_state()


@pytest.mark.usefixtures("fresh_accelerate_state")
def test_bf16_autocast_trains_on_the_cpu(tmp_path):
    trainer = Trainer(TrainingConfig.from_dict({**config(tmp_path, "bf16"), "mixed_precision": "bf16"}), progress=False)
    with trainer.accelerator.autocast():
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    result = trainer.run(max_steps=2)
    AcceleratorState._reset_state()
    plain = train(config(tmp_path, "fp32"), max_steps=2, progress=False)
    assert all(torch.isfinite(torch.tensor(result.losses)))
    assert result.losses != plain.losses  # bf16 rounding changed the figures
    assert all(v.dtype == torch.float32 for v in parameters(encoder_weights(result)).values())  # weights stay float32


@pytest.mark.usefixtures("fresh_accelerate_state")
@pytest.mark.skipif(torch.cuda.is_available(), reason="fp16 is accepted where CUDA is")
def test_fp16_is_refused_without_cuda(tmp_path):
    with pytest.raises(ConfigError, match=r"fp16.*needs a CUDA GPU"):
        Trainer(TrainingConfig.from_dict({**config(tmp_path, "fp16"), "mixed_precision": "fp16"}), progress=False)


@pytest.mark.parametrize("value", [0, -1, 1.5, "2"])
def test_bad_accumulation_steps_are_named(tmp_path, value):
    with pytest.raises(ConfigError, match=r"optim\.gradient_accumulation_steps"):
        TrainingConfig.from_dict(config(tmp_path, "bad", gradient_accumulation_steps=value))
