"""Run on every process of a 2-process launch by tests/test_training_distributed.py (not a test module itself).

``python distributed_train.py CONFIG.json OUT``: trains the config straight through (log dir ``OUT/straight``), then
to step 2 and resumed to the end (``OUT/resumed``), and saves each rank's final encoder weights as
``OUT/{straight,resumed}-rank{R}.safetensors``. Every call of what writes into a run folder (checkpoints, samples,
the run log, the resolved config) is recorded in ``OUT/writes-rank{R}.txt``, so the test sees which process wrote.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from safetensors.torch import save_file

from interestyle.training import TrainingConfig, trainer
from interestyle.training.run_log import RunLog


def main(config_path: str, out: str) -> None:
    base = TrainingConfig.from_dict(json.loads(Path(config_path).read_text(encoding="utf-8")))
    root = Path(out)
    rank = None
    writes: list[str] = []

    def recorded(name, function):
        def call(*args, **kwargs):
            writes.append(name)
            return function(*args, **kwargs)

        return call

    trainer.write_checkpoint = recorded("checkpoint", trainer.write_checkpoint)
    trainer.atomic_write = recorded("file", trainer.atomic_write)
    RunLog.write = recorded("log", RunLog.write)

    def run(name: str, *calls: dict) -> None:
        nonlocal rank
        config = dataclasses.replace(base, log=dataclasses.replace(base.log, dir=str(root / name)))
        for kwargs in calls:
            t = trainer.Trainer(config, progress=False)
            t.run(**kwargs)
        rank = t.accelerator.process_index
        weights = {k: v.detach().contiguous() for k, v in t.model.encoder.state_dict().items()}
        save_file(weights, str(root / f"{name}-rank{rank}.safetensors"))

    run("straight", {})
    run("resumed", {"max_steps": 2}, {"resume": True})
    (root / f"writes-rank{rank}.txt").write_text("\n".join(writes) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
