"""Train the demo model's StyleGAN2 generator on the procedural face domain, on the CPU.

Objective (non-adversarial, chosen because it converges on a CPU in hours): the first 20 dimensions of
z ~ N(0, I) parameterise a face through ``interestyle.synthetic.attributes_from_latent``; the generator
learns to draw ``render(attributes_from_latent(z))`` from z, with an L1 loss plus an L1 loss at half
resolution. Samples from z ~ N(0, I) are then faces of the domain by construction, and the mapping
network, the styles and W+ are those of an ordinary StyleGAN2.

The batch and the noise of every step are a pure function of (seed, step), so a resumed run computes
exactly what an uninterrupted one would. The state (weights, Adam moments, step) is saved atomically as
safetensors every ``checkpoint_every`` steps; rerunning the command resumes from it. ``--export DIR``
writes the generator as a generator-only folder (``load_generator``; the trainer's ``generator:``) with
latent_avg = mean w.

    python recipes/demo_generator.py [--config recipes/demo_generator.json] [--run recipes/runs/demo-generator]
    python recipes/demo_generator.py --export recipes/runs/demo-generator/generator
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

import interestyle as its
from interestyle.editing import layer_groups
from interestyle.metrics import ssim
from interestyle.models.generator import Generator, save_generator
from interestyle.serialization import atomic_write
from interestyle.synthetic import attributes_from_latent, render
from interestyle.synthetic.faces_v2 import attributes_v2_from_latent, mix_attributes

HERE = Path(__file__).resolve().parent


def batch_for_step(
    step: int, batch_size: int, style_dim: int, size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first domain's batch: z (B, style_dim) and the renderer's clean faces (B, 3, size, size)."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
    z = torch.randn(batch_size, style_dim, generator=gen)
    target = render(attributes_from_latent(z), size=size).clean
    return z, target


# The six ways to take some but not all of the coarse / middle / fine groups from the second latent.
_MIX_PATTERNS = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=torch.bool)


@dataclass
class MixedBatch:
    """A v2 batch: two latents per face, which layer group comes from the second, and the known target.

    ``z`` and ``z_style`` are (B, style_dim); ``take`` maps ``"coarse"``, ``"middle"``, ``"fine"`` to (B,)
    bools (all false for an unmixed face); ``target`` (B, 3, size, size) in [-1, 1] and ``face_mask``
    (B, 1, size, size) are the renderer's image and face+hair mask of the mixed attributes.
    """

    z: torch.Tensor
    z_style: torch.Tensor
    take: dict[str, torch.Tensor]
    target: torch.Tensor
    face_mask: torch.Tensor

    def w_plus(self, generator: Generator) -> torch.Tensor:
        """(B, n_latent, style_dim): each layer's w from ``z``, or from ``z_style`` where its group is taken."""
        w = generator.mapping(torch.cat([self.z, self.z_style]))
        w_base, w_style = w.chunk(2)
        from_style = torch.zeros(len(self.z), generator.n_latent, dtype=torch.bool)
        for group, layers in layer_groups(generator.n_latent).items():
            if group in self.take:
                from_style[:, layers] |= self.take[group][:, None]
        return torch.where(from_style[..., None], w_style[:, None], w_base[:, None])


def mixed_batch_for_step(
    step: int, batch_size: int, style_dim: int, size: int, seed: int, mix_prob: float
) -> MixedBatch:
    """The v2 batch of ``step``: a fraction ``mix_prob`` of the faces mixes groups of two latents."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
    z = torch.randn(batch_size, style_dim, generator=gen)
    z_style = torch.randn(batch_size, style_dim, generator=gen)
    mixed = torch.rand(batch_size, generator=gen) < mix_prob
    pattern = _MIX_PATTERNS[torch.randint(0, len(_MIX_PATTERNS), (batch_size,), generator=gen)]
    take = {group: pattern[:, i] & mixed for i, group in enumerate(("coarse", "middle", "fine"))}
    attributes = mix_attributes(attributes_v2_from_latent(z), attributes_v2_from_latent(z_style), take)
    batch = render(attributes, size=size)
    return MixedBatch(z, z_style, take, batch.clean, batch.face_mask)


def edge_l1(image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 distance between the horizontal and vertical finite differences of two (B, C, H, W) images."""
    loss = F.l1_loss(image.diff(dim=-1), target.diff(dim=-1))
    return loss + F.l1_loss(image.diff(dim=-2), target.diff(dim=-2))


def loss_weights_at(cfg: dict, step: int) -> dict[str, float]:
    """The edge and SSIM weights in force at ``step``: the config's, overridden by each of its ``phases``
    (``[{"from_step": N, "edge_weight": ...}, ...]``) whose ``from_step`` has been reached, in order."""
    weights = {"edge_weight": float(cfg.get("edge_weight", 0.0)), "ssim_weight": float(cfg.get("ssim_weight", 0.0))}
    for phase in cfg.get("phases", []):
        if step >= phase["from_step"]:
            weights.update({k: float(v) for k, v in phase.items() if k in weights})
    return weights


def save_state(path: Path, generator: Generator, optimizer: torch.optim.Adam, step: int, cpu_seconds: float) -> None:
    tensors = {f"g.{k}": v.detach().contiguous() for k, v in generator.state_dict().items()}
    names = dict(generator.named_parameters())
    for name, p in names.items():
        state = optimizer.state.get(p)
        if state:
            tensors[f"adam.exp_avg.{name}"] = state["exp_avg"].contiguous()
            tensors[f"adam.exp_avg_sq.{name}"] = state["exp_avg_sq"].contiguous()
    meta = {"step": str(step), "cpu_seconds": f"{cpu_seconds:.1f}"}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def load_state(path: Path, generator: Generator, optimizer: torch.optim.Adam) -> tuple[int, float]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    tensors = load_file(path)
    generator.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("g.")}, strict=True)
    step = int(meta["step"])
    for name, p in generator.named_parameters():
        if f"adam.exp_avg.{name}" in tensors:
            optimizer.state[p] = {
                "step": torch.tensor(float(step)),
                "exp_avg": tensors[f"adam.exp_avg.{name}"],
                "exp_avg_sq": tensors[f"adam.exp_avg_sq.{name}"],
            }
    return step, float(meta["cpu_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=HERE / "demo_generator.json")
    parser.add_argument("--run", type=Path, default=HERE / "runs" / "demo-generator")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in this call")
    parser.add_argument("--export", type=Path, help="write the current generator as a generator folder and exit")
    args = parser.parse_args()
    cfg = json.loads(args.config.read_text())
    torch.set_num_threads(cfg.get("threads", torch.get_num_threads()))
    gcfg = its.GeneratorConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg["generator"].items()})
    domain = cfg.get("domain", "v1")
    args.run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg["seed"])
    generator = Generator(gcfg)
    optimizer = torch.optim.Adam(generator.parameters(), lr=cfg["lr"], betas=tuple(cfg["betas"]))
    state_path = args.run / "state.safetensors"
    step, cpu_seconds = (0, 0.0)
    if state_path.exists():
        step, cpu_seconds = load_state(state_path, generator, optimizer)
        print(f"resumed at step {step} ({cpu_seconds / 3600:.2f} CPU hours so far)")
    if args.export is not None:
        generator.eval()
        save_generator(generator, generator.mean_latent(10_000)[0], args.export)
        print(f"wrote the generator of step {step} to {args.export}")
        return
    log_path = args.run / "log.csv"
    if log_path.exists():  # rows past the resumed step were logged by a run that stopped before its checkpoint
        rows = [r for r in log_path.read_text().splitlines() if r and int(r.split(",", 1)[0]) <= step]
        atomic_write(log_path, lambda tmp: tmp.write_text("".join(f"{r}\n" for r in rows)))
    log = log_path.open("a", newline="")
    writer = csv.writer(log)
    end = cfg["steps"] if args.max_steps is None else min(cfg["steps"], step + args.max_steps)
    t0 = time.process_time()
    while step < end:
        lr = cfg["lr"] * (
            1.0
            if step < cfg["lr_decay_from"]
            else 0.1 ** ((step - cfg["lr_decay_from"]) / (cfg["steps"] - cfg["lr_decay_from"]))
        )
        for group in optimizer.param_groups:
            group["lr"] = lr
        torch.manual_seed(cfg["seed"] * 1_000_003 + step)  # the generator's random noise, per step
        if domain == "v2":
            batch = mixed_batch_for_step(
                step, cfg["batch_size"], gcfg.style_dim, gcfg.resolution, cfg["seed"], cfg.get("mix_prob", 0.5)
            )
            target = batch.target
            image = generator(batch.w_plus(generator), input_space="w+", noise_mode="random")
        else:
            z, target = batch_for_step(step, cfg["batch_size"], gcfg.style_dim, gcfg.resolution, cfg["seed"])
            image = generator(z, input_space="z", noise_mode="random")
        loss = F.l1_loss(image, target) + F.l1_loss(F.avg_pool2d(image, 2), F.avg_pool2d(target, 2))
        weights = loss_weights_at(cfg, step)
        if weights["edge_weight"]:
            loss = loss + weights["edge_weight"] * edge_l1(image, target)
        if weights["ssim_weight"] and domain == "v2":
            loss = loss + weights["ssim_weight"] * (1 - ssim(image, target, batch.face_mask)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        writer.writerow([step, f"{loss.item():.5f}", f"{lr:.6f}"])
        if step % 50 == 0:
            log.flush()
            print(f"step {step} loss {loss.item():.4f}", flush=True)
        if step % cfg["checkpoint_every"] == 0 or step == end:
            save_state(state_path, generator, optimizer, step, cpu_seconds + time.process_time() - t0)
        if step % cfg["sample_every"] == 0:
            with torch.no_grad():
                if domain == "v2":
                    batch = mixed_batch_for_step(10**9, 8, gcfg.style_dim, gcfg.resolution, cfg["seed"], 0.5)
                    target, w = batch.target, batch.w_plus(generator)
                    drawn = generator(w, input_space="w+", noise_mode="const")
                else:
                    z, target = batch_for_step(10**9, 8, gcfg.style_dim, gcfg.resolution, cfg["seed"])
                    drawn = generator(z, input_space="z", noise_mode="const")
                grid = torch.cat([torch.cat(list(target), 2), torch.cat(list(drawn), 2)], 1)
            its.to_pil(grid)[0].save(args.run / f"samples-{step:06d}.png")
    log.close()


if __name__ == "__main__":
    main()
