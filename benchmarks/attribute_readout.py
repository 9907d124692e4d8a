"""An attribute read-out network for the v2 demo domain: a small CNN that reads every attribute of
:data:`interestyle.synthetic.faces_v2.ATTRIBUTES_V2` back from a 64x64 face, trained on the renderer's own
images. It measures what an edit or a style mix did to a generated face; it is a measuring instrument of
the benchmarks, never shipped with a model.

Outputs are attributes normalised to [0, 1] over their ranges (0 = low end, 1 = high end), so a change of
0.5 is half an attribute's range.

    python benchmarks/attribute_readout.py [--steps 8000] [--blur 1.0] [--out benchmarks/results/readout-v2.safetensors]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from interestyle.blur import gaussian_blur
from interestyle.serialization import atomic_write
from interestyle.synthetic import render
from interestyle.synthetic.faces_v2 import ATTRIBUTES_V2, attributes_v2_from_uniform

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_WEIGHTS = RESULTS / "readout-v2.safetensors"
NAMES: tuple[str, ...] = tuple(a[0] for a in ATTRIBUTES_V2)
STEPS = 8000  # the shipped read-out's training recipe
BLUR_SIGMA = 1.0
_LOW = torch.tensor([a[1] for a in ATTRIBUTES_V2])
_HIGH = torch.tensor([a[2] for a in ATTRIBUTES_V2])


def normalise(attributes: dict[str, Tensor]) -> Tensor:
    """Attribute dict (each (B,)) -> (B, A) values in [0, 1] over each attribute's range, in NAMES order."""
    values = torch.stack([attributes[name].float() for name in NAMES], 1)
    return (values - _LOW) / (_HIGH - _LOW)


class AttributeReadout(nn.Module):
    """(B, 3, 64, 64) images in [-1, 1] -> (B, A) normalised attributes (four stride-2 conv blocks, a head)."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for out in (width, width * 2, width * 4, width * 4):
            layers += [nn.Conv2d(channels, out, 3, stride=2, padding=1), nn.GroupNorm(8, out), nn.SiLU()]
            layers += [nn.Conv2d(out, out, 3, padding=1), nn.SiLU()]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * 16, 256), nn.SiLU(), nn.Linear(256, len(NAMES)))

    def forward(self, image: Tensor) -> Tensor:
        if image.shape[-2:] != (64, 64):
            image = nn.functional.interpolate(image, size=(64, 64), mode="bilinear", align_corners=False)
        return self.head(self.features(image))


def training_batch(step: int, batch_size: int, seed: int, blur_sigma: float = 0.0) -> tuple[Tensor, Tensor]:
    """Renderer faces of uniformly drawn attributes and their normalised values, a function of (seed, step).

    ``blur_sigma`` > 0: the second half of the batch is blurred with a Gaussian of a standard deviation drawn
    from [0.25, 1] x ``blur_sigma`` pixels, so that the read-out reads a generator's softer faces as it reads
    the renderer's sharp ones."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
    u = torch.rand(batch_size, len(NAMES), generator=gen)
    attributes = attributes_v2_from_uniform(u)
    image = render(attributes, size=64).clean
    if blur_sigma > 0:
        sigma = blur_sigma * (0.25 + 0.75 * torch.rand((), generator=gen).item())
        half = batch_size // 2
        image = torch.cat([image[:half], gaussian_blur(image[half:], sigma)])
    return image, normalise(attributes)


def train_readout(
    steps: int = STEPS, *, batch_size: int = 64, seed: int = 11, blur_sigma: float = BLUR_SIGMA, log_every: int = 250
) -> AttributeReadout:
    """Train a read-out from scratch (deterministic for a seed); Adam 1e-3, cosine decay; ``blur_sigma``:
    see `training_batch`."""
    torch.manual_seed(seed)
    net = AttributeReadout()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for step in range(steps):
        image, target = training_batch(step, batch_size, seed, blur_sigma)
        loss = nn.functional.mse_loss(net(image), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if log_every and (step + 1) % log_every == 0:
            print(f"read-out step {step + 1}/{steps}: mse {loss.item():.5f}", flush=True)
    return net.eval()


def load_readout(path: str | Path = DEFAULT_WEIGHTS) -> AttributeReadout:
    """The read-out saved at ``path`` (``python benchmarks/attribute_readout.py`` writes it)."""
    if not Path(path).is_file():
        raise SystemExit(f"{path} is missing: train the read-out first (python benchmarks/attribute_readout.py)")
    net = AttributeReadout()
    net.load_state_dict(load_file(str(path)))
    return net.eval()


@torch.no_grad()
def readout_error(net: AttributeReadout, n: int = 512, seed: int = 123_457) -> dict[str, float]:
    """Mean absolute error per attribute (normalised units) on ``n`` held-out renderer faces."""
    gen = torch.Generator().manual_seed(seed)
    attributes = attributes_v2_from_uniform(torch.rand(n, len(NAMES), generator=gen))
    predicted = net(render(attributes, size=64).clean)
    error = (predicted - normalise(attributes)).abs().mean(0)
    return dict(zip(NAMES, error.tolist(), strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {STEPS})")
    parser.add_argument(
        "--blur",
        type=float,
        default=BLUR_SIGMA,
        help=f"blur half of each batch, sigma up to this in pixels (default {BLUR_SIGMA})",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS, help="where to write the weights")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")
    torch.set_num_threads(1)
    t0 = time.process_time()
    net = train_readout(args.steps, blur_sigma=args.blur)
    cpu_seconds = time.process_time() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(
        args.out,
        lambda tmp: save_file(net.state_dict(), str(tmp), metadata={"steps": str(args.steps), "blur": str(args.blur)}),
    )
    errors = readout_error(net)
    print(f"wrote {args.out} ({cpu_seconds:.0f} CPU s); held-out mean absolute error (fraction of range):")
    for name, value in errors.items():
        print(f"  {name:15s} {value:.3f}")
    print(f"  {'mean':15s} {sum(errors.values()) / len(errors):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
