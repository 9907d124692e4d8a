"""The run's log: ``LOG_DIR/log.csv`` (one row per logged step) and TensorBoard scalars when installed."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..serialization import atomic_write

__all__ = ["CSV_FIELDS", "RunLog"]

CSV_FIELDS = (
    "step",
    "lr",
    "loss",
    "loss_last",
    "l2",
    "lpips",
    "ssim",
    "id",
    "w_norm",
    "ind",
    "val_full_mse",
    "val_interest_mse",
    "seconds",
)


def _kept(row: dict[str, str | None], resumed_step: int) -> bool:
    """A whole row of a step up to ``resumed_step``: later steps are run again after the checkpoint being
    resumed, and a row with fields missing (None) was cut short by a killed run."""
    step = row.get("step") or ""
    return step.isdigit() and int(step) <= resumed_step and None not in row.values()


def _tensorboard(log_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(log_dir=str(log_dir / "tensorboard"))


class RunLog:
    """``log.csv`` and TensorBoard writers of a run folder; close it when the run ends.

    Args:
        log_dir: the run folder.
        resumed_step: the step the run continues from: rows the CSV holds for later steps (run again
            after the checkpoint being resumed) are dropped, and so is a row cut short by a killed run;
            0 starts a new CSV. The kept rows are rewritten atomically, so a run killed while it starts
            loses none of them.
    """

    def __init__(self, log_dir: str | os.PathLike[str], resumed_step: int = 0) -> None:
        self.log_dir = Path(log_dir)
        path = self.log_dir / "log.csv"
        rows: list[dict[str, str]] = []
        if path.is_file():
            with path.open(newline="", encoding="utf-8") as f:
                rows = [r for r in csv.DictReader(f) if _kept(r, resumed_step)]
        text = io.StringIO()
        kept = csv.DictWriter(text, fieldnames=CSV_FIELDS, extrasaction="ignore")
        kept.writeheader()
        kept.writerows(rows)
        atomic_write(path, lambda tmp: tmp.write_text(text.getvalue(), encoding="utf-8", newline=""))
        self._handle = path.open("a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
        self._board = _tensorboard(self.log_dir)

    @property
    def tensorboard(self) -> bool:
        """Whether TensorBoard scalars are written (``torch.utils.tensorboard`` importable)."""
        return self._board is not None

    def write(self, row: Mapping[str, float], step: int) -> None:
        """One CSV row (``step`` as an integer, other values to 6 significant digits; columns the CSV does
        not know are dropped) and the same values as TensorBoard scalars (``val/...`` for the ``val_``
        figures, ``train/...`` for the rest; not ``step`` or ``seconds``)."""
        self._writer.writerow({k: (int(v) if k == "step" else f"{v:.6g}") for k, v in row.items()})
        self._handle.flush()
        if self._board is not None:
            for k, v in row.items():
                if k not in ("step", "seconds"):
                    self._board.add_scalar(f"{'val' if k.startswith('val_') else 'train'}/{k}", v, step)

    def close(self) -> None:
        """Close the CSV file and the TensorBoard writer."""
        self._handle.close()
        if self._board is not None:
            self._board.close()
