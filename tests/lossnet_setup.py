"""Loss networks (LPIPS, ArcFace IR-SE50) with random weights of the public layouts, built on the spot: no
published weights are ever available to the tests."""

from __future__ import annotations

import torch

from interestyle.lossnets.arcface import ArcFace
from interestyle.synthetic import make_batch


def randomised(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Every float tensor of ``module`` drawn from N(0, 0.05) (BatchNorm variances from U(0.5, 1.5)); eval mode."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if name.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
            elif tensor.is_floating_point():
                tensor.normal_(0, 0.05)
    return module.eval()


def calibrated_arcface(seed: int = 1) -> ArcFace:
    """ArcFace IR-SE50 with PyTorch's initialisation and BatchNorm statistics measured on synthetic faces, so
    that its embeddings tell faces apart (with untouched statistics every image embeds alike)."""
    torch.manual_seed(seed)
    net = ArcFace()
    for module in net.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.reset_running_stats()
            module.momentum = None  # a plain average over the batches seen
    net.train()
    with torch.no_grad():
        net(make_batch(8, size=112, seed=5, condition="mixed").image)
    return net.eval()
