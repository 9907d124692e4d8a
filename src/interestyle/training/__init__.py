"""Training IntereStyle encoders (and the no-mask baseline) on Hugging Face Accelerate.

``interestyle.training.train(config)`` or ``interestyle train CONFIG``; see ``docs/training.md``. Needs the
``train`` extra (``pip install 'interestyle[train]'``: accelerate, pyyaml). Nothing in the rest of the
package imports this one.
"""

from ..uninterest_filter import UninterestFilter, step_radii
from .builders import build_model, build_objective
from .config import (
    DataConfig,
    DisentanglementConfig,
    FilterConfig,
    LogConfig,
    LossConfig,
    OptimConfig,
    TrainingConfig,
    load_training_config,
)
from .data import MaskProviderFn
from .losses import ReconstructionLoss, masked_l2_loss, ssim, w_norm
from .objective import Objective, training_step
from .trainer import Trainer, TrainingResult, train

__all__ = [
    "DataConfig",
    "DisentanglementConfig",
    "FilterConfig",
    "LogConfig",
    "LossConfig",
    "MaskProviderFn",
    "Objective",
    "OptimConfig",
    "ReconstructionLoss",
    "Trainer",
    "TrainingConfig",
    "TrainingResult",
    "UninterestFilter",
    "build_model",
    "build_objective",
    "load_training_config",
    "masked_l2_loss",
    "ssim",
    "step_radii",
    "train",
    "training_step",
    "w_norm",
]
