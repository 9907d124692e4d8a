"""How faithfully the demo generators draw their procedural domain, and whether W+ layers mean what
``style_mix`` says.

For each generator folder and its domain it samples N held-out z (seed far from training), draws G(z) with
constant noise and compares it with the renderer's clean image of ``attributes(z)`` inside the face+hair
mask:

* face SSIM: mean SSIM over the mask (``interestyle.metrics.ssim``), per image, then averaged;
* face L1: mean absolute difference on [-1, 1] over the mask;
* gradient-energy ratio: sum over the mask of the squared horizontal and vertical finite differences of
  G(z), divided by the same sum for the renderer's image (1.0 = as sharp as the target; a blurry
  generator scores low); its square root, the ratio of RMS gradients, is printed beside it;
* for a domain with layer groups (v2), each style-mixing preset: W+ taking the preset's layers from a second
  latent, against the renderer's image of the attributes mixed the same way (``mix_attributes``); the
  ratio of its whole-image L1 to the unmixed whole-image L1 (1.0 = mixing is as faithful as plain
  sampling).

    python benchmarks/demo_generator.py                                   # v1 (committed) and v2 (recipes/runs)
    python benchmarks/demo_generator.py --generator v2=DIR [-n 256] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from machine import describe

from interestyle.editing import layer_groups
from interestyle.metrics import ssim
from interestyle.models.generator import Generator, load_generator
from interestyle.synthetic import attributes_from_latent, render
from interestyle.synthetic.faces_v2 import attributes_v2_from_latent, mix_attributes

RUNS = Path(__file__).resolve().parents[1] / "recipes" / "runs"
HELD_OUT_SEED = 700_001  # no training batch uses it (they are seeded seed * 1_000_003 + step)
DEFAULT_GENERATORS = (f"v1={RUNS / 'demo-generator' / 'generator'}", f"v2={RUNS / 'demo-generator-v2' / 'generator'}")
PRESETS = ("coarse", "middle", "fine")


def gradient_energy(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per image (B,): the sum over ``mask`` (B, 1, H, W) of squared finite differences of (B, C, H, W)."""
    dx = image.diff(dim=-1).square().sum(1, keepdim=True) * mask[..., :, 1:]
    dy = image.diff(dim=-2).square().sum(1, keepdim=True) * mask[..., 1:, :]
    return dx.flatten(1).sum(1) + dy.flatten(1).sum(1)


def face_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per image (B,): mean absolute difference over the pixels of ``mask``, channels averaged."""
    err = (a - b).abs().mean(1, keepdim=True) * mask
    return err.flatten(1).sum(1) / mask.flatten(1).sum(1).clamp(min=1e-8)


def draw(generator: Generator, w_plus: torch.Tensor, batch: int = 64) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([generator(c, input_space="w+", noise_mode="const") for c in w_plus.split(batch)]).clamp(-1, 1)


def measure(generator: Generator, domain: str, n: int, seed: int = HELD_OUT_SEED) -> dict[str, float]:
    """The figures of one generator on ``n`` held-out latents of its ``domain`` (``"v1"`` or ``"v2"``)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator.config.style_dim, generator=gen)
    z_style = torch.randn(n, generator.config.style_dim, generator=gen)
    to_attributes = attributes_v2_from_latent if domain == "v2" else attributes_from_latent
    size = generator.config.resolution
    with torch.no_grad():
        w, w_style = generator.mapping(z), generator.mapping(z_style)
    w_plus = w[:, None].expand(-1, generator.n_latent, -1)
    target = render(to_attributes(z), size=size)
    image = draw(generator, w_plus)
    mask = target.face_mask
    energy = (gradient_energy(image, mask).sum() / gradient_energy(target.clean, mask).sum()).item()
    out = {
        "face_ssim": ssim(image, target.clean, mask).mean().item(),
        "face_l1": face_l1(image, target.clean, mask).mean().item(),
        "gradient_energy_ratio": energy,
        "gradient_rms_ratio": math.sqrt(energy),
        "image_l1": (image - target.clean).abs().mean().item(),
    }
    if domain != "v2":
        return out
    base, style = to_attributes(z), to_attributes(z_style)
    style_image = draw(generator, w_style[:, None].expand(-1, generator.n_latent, -1))
    style_target = render(style, size=size).clean
    for preset in PRESETS:
        layers = layer_groups(generator.n_latent)[preset]
        mixed_w = w_plus.clone()
        mixed_w[:, layers] = w_style[:, None]
        take = {preset: torch.ones(n, dtype=torch.bool)}
        mixed_target = render(mix_attributes(base, style, take), size=size).clean
        mixed = draw(generator, mixed_w)
        mixed_l1 = (mixed - mixed_target).abs().mean().item()
        out[f"mix_{preset}_l1"] = mixed_l1
        out[f"mix_{preset}_ratio"] = mixed_l1 / out["image_l1"]
        # a mix must differ from both of its sources as much as the renderer's mixed face does
        for source, drawn, truth in (("content", image, target.clean), ("style", style_image, style_target)):
            change = (mixed - drawn).abs().mean().item()
            out[f"mix_{preset}_vs_{source}_l1"] = change
            out[f"mix_{preset}_vs_{source}_of_truth"] = change / (mixed_target - truth).abs().mean().item()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--generator",
        action="append",
        metavar="DOMAIN=DIR",
        help="a generator folder and its domain (v1 or v2); repeatable (default: the v1 and v2 demo generators)",
    )
    parser.add_argument("-n", type=int, default=256, help="held-out latents per generator (default 256)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"-n must be >= 1, got {args.n}")
    torch.set_num_threads(1)
    results = {}
    for spec in args.generator or DEFAULT_GENERATORS:
        domain, sep, folder = spec.partition("=")
        if not sep or domain not in ("v1", "v2"):
            parser.error(f"--generator {spec!r}: expected v1=DIR or v2=DIR")
        if not Path(folder).is_dir():
            parser.error(
                f"--generator {spec!r}: {folder} is not a folder (export the run first, see recipes/README.md)"
            )
        generator, _ = load_generator(folder)
        t0 = time.perf_counter()
        results[domain] = measure(generator, domain, args.n)
        results[domain]["seconds"] = time.perf_counter() - t0
    names = sorted({k for r in results.values() for k in r})
    print(f"# demo generators, n={args.n} held-out z (seed {HELD_OUT_SEED}); {describe()}")
    print("| figure | " + " | ".join(results) + " |")
    print("| --- |" + " --- |" * len(results))
    for name in names:
        cells = [f"{r[name]:.4f}" if name in r and math.isfinite(r[name]) else "-" for r in results.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if "v1" in results and "v2" in results:
        for name in ("face_ssim", "gradient_energy_ratio"):
            print(f"v2 / v1 {name}: {results['v2'][name] / results['v1'][name]:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "seed": HELD_OUT_SEED, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
