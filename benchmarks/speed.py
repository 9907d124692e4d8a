"""Inference speed of interestyle's fast path against the reference formulation, measured in one run.

For the generator, the encoder and a full ``invert`` (iterative, 5 steps) this prints images/s at several
batch sizes for the fast path (the package's public API) and for the reference formulation
(:mod:`interestyle.models.reference`: grouped modulated convolutions, transposed convolution then a
separate pad + filter blur, zero-insertion upsampling of the RGB skip, noise drawn on every call, NCHW),
the speed-up, the maximum absolute difference between their outputs (same weights, latents and noise),
achieved GFLOP/s (FLOPs counted analytically per layer, see ``generator_flops`` / ``encoder_flops``) next to
the fp32 matmul GFLOP/s this machine reaches in the same run, and the peak memory of one call.

Peak memory on the CPU is the growth of the resident set (``VmHWM`` after resetting it through
``/proc/self/clear_refs``, else ``ru_maxrss``) during one call in a fresh subprocess that has already built
the model; on CUDA it is ``torch.cuda.max_memory_allocated`` during the call.

Timings interleave the two paths in one process (alternating which goes first), repeat, and report medians,
so that other load on the machine hits both alike; the load average is printed beside each row. Before each
timed call a gate waits (``--quiet-wait``) until other processes leave the CPUs alone. On a shared machine
two-thread wall-clock timings can still be ruined (threads stall at every operator while another process,
even a niced one, holds a core): ``--clock cpu --threads 1`` measures this process's CPU time on one thread
instead, which other processes barely disturb.

Usage::

    python benchmarks/speed.py                       # demo, 256 and 1024 configs, wall clock, 2 threads
    python benchmarks/speed.py --clock cpu --threads 1   # the same on one thread, CPU time (busy machines)
    python benchmarks/speed.py --quick               # demo config only, 3 repeats (a few minutes)
    python benchmarks/speed.py --configs demo,256 --batches 1,8 --repeats 5 --no-memory
    python benchmarks/speed.py --device cuda --dtypes fp32,fp16,bf16

The CUDA path (``--device cuda``; chosen by default when a GPU is present) is written to work but has not
been run: the machine these numbers come from has no GPU.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from machine import describe

import interestyle
from interestyle import EncoderConfig, GeneratorConfig, IntereStyleModel, ModelConfig, invert
from interestyle.models.reference import (
    community_layout,
    reference_encode,
    reference_invert,
    reference_synthesis,
    use_reference_noise,
)

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
BENCHES = ("generator", "encoder", "invert")
STEPS = 5
SEED = 0


# -- configurations ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setup:
    """A model shape to benchmark, and the batch sizes each benchmark runs at (None: all requested)."""

    name: str
    description: str
    config: ModelConfig
    batches: dict[str, tuple[int, ...] | None] = field(default_factory=dict)
    repeats: int | None = None  # cap on repeats for slow shapes


def _setups() -> dict[str, Setup]:
    irse50_256 = EncoderConfig(kind="backbone", num_layers=50, input_size=256, input_nc=6)
    return {
        "tiny": Setup(
            "tiny",
            "G 32px (32,32,16,16) style 32 + IR-SE units (1,1,1,1) widths (16,16,32,32) at 32px (smoke test)",
            ModelConfig(
                generator=GeneratorConfig(resolution=32, style_dim=32, n_mlp=2, channels=(32, 32, 16, 16)),
                encoder=EncoderConfig(units=(1, 1, 1, 1), widths=(16, 16, 32, 32), input_size=32),
                iterations=STEPS,
            ),
        ),
        "demo": Setup(
            "demo",
            "the embedded demo model's shape: G 64px (128,128,128,64,32) style 128 + IR-SE units (1,2,2,1) "
            "widths (32,64,96,128) at 64px",
            ModelConfig(
                generator=GeneratorConfig(
                    resolution=64, style_dim=128, n_mlp=4, channels=(128, 128, 128, 64, 32), lr_mlp=1.0
                ),
                encoder=EncoderConfig(units=(1, 2, 2, 1), widths=(32, 64, 96, 128), input_size=64, se_reduction=8),
                iterations=3,
            ),
        ),
        "256": Setup(
            "256",
            "G 256px config F (channel multiplier 2) style 512 + IR-SE50 at 256px",
            ModelConfig(generator=GeneratorConfig(resolution=256), encoder=irse50_256, iterations=STEPS),
            batches={"generator": (1, 8), "encoder": (1, 8), "invert": (1,)},
            repeats=2,
        ),
        "1024": Setup(
            "1024",
            "FFHQ shape: G 1024px config F style 512 + IR-SE50 at 256px (ReStyle / IntereStyle)",
            ModelConfig(generator=GeneratorConfig(resolution=1024), encoder=irse50_256, iterations=STEPS),
            batches={"generator": (1,), "encoder": (), "invert": (1,)},  # the encoder is the 256 config's
            repeats=2,
        ),
    }


SETUPS = _setups()


def build_model(config: ModelConfig, seed: int = SEED) -> IntereStyleModel:
    """Random weights with non-trivial noise strengths, biases and BatchNorm statistics; reference noise."""
    torch.manual_seed(seed)
    model = IntereStyleModel(config)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith(("noise.weight", "activate.bias", "running_mean", "to_rgb1.bias")):
                tensor.normal_(0, 0.1)
            elif name.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
        model.latent_avg.copy_(model.decoder.mean_latent(256).expand(model.n_latent, -1))
        use_reference_noise(model.decoder, seed)
    return model.eval()


# -- analytic FLOP counts ---------------------------------------------------------------------------------
def _conv(h: int, w: int, c_in: int, c_out: int, k: int) -> int:
    """2 * multiply-accumulates of a k x k convolution producing an h x w map."""
    return 2 * h * w * c_in * c_out * k * k


def generator_flops(g: GeneratorConfig) -> int:
    """FLOPs per image of the synthesis network from W+ (mapping not run).

    Counted per layer: modulated 3x3 convolutions (the upsampling ones as a stride-2 transposed convolution,
    k^2 taps per *input* pixel), the 4x4 blur after them, the 1x1 ``to_rgb`` convolutions, the upsampling
    FIR of the RGB skip (nonzero taps only), and every style's modulation linear layer. Demodulation, noise,
    bias and activations are elementwise and not counted.
    """
    d, widths, taps = g.style_dim, g.widths(), len(g.blur_kernel)
    c = widths[4]
    total = _conv(4, 4, c, c, 3) + _conv(4, 4, c, 3, 1) + 2 * d * (c + c)
    for log_res in range(3, g.log_size + 1):
        r = 2**log_res
        c_in, c_out = widths[r // 2], widths[r]
        total += _conv(r // 2, r // 2, c_in, c_out, 3)  # transposed conv on the input grid
        total += 2 * r * r * c_out * taps * taps  # blur (depthwise)
        total += _conv(r, r, c_out, c_out, 3)
        total += _conv(r, r, c_out, 3, 1) + 2 * r * r * 3 * (taps * taps) // 4  # to_rgb + skip upsampling
        total += 2 * d * (c_in + c_out + c_out)  # modulation of the three layers
    return total


def encoder_flops(e: EncoderConfig, n_styles: int, style_dim: int) -> int:
    """FLOPs per image of an IR-SE encoder: every convolution and linear layer (BatchNorm, PReLU, pooling,
    the squeeze-excitation gate and the pyramid's bilinear upsampling are elementwise and not counted)."""
    s, w = e.input_size, e.widths
    total = _conv(s, s, e.input_nc, w[0], 3)
    res, c_in = s, w[0]
    resolutions = []
    for units, width in zip(e.stage_units, w, strict=True):
        for i in range(units):
            stride = 2 if i == 0 else 1
            out = res // stride
            total += _conv(res, res, c_in, width, 3) + _conv(out, out, width, width, 3)
            if c_in != width:
                total += _conv(out, out, c_in, width, 1)
            if e.mode == "ir_se":
                total += 2 * 2 * width * (width // e.se_reduction)
            res, c_in = out, width
        resolutions.append(res)

    def style_block(spatial: int) -> int:
        flops, c, r = 0, w[3], spatial
        for _ in range(max(int(math.log2(spatial)), 1)):
            r = max(r // 2, 1)
            flops += _conv(r, r, c, style_dim, 3)
            c = style_dim
        return flops + 2 * style_dim * style_dim

    if e.kind in ("backbone", "progressive-backbone"):
        return total + n_styles * style_block(s // 16)
    # Lateral 1x1 convolutions: latlayer1 on stage 3's output (input/8), latlayer2 on stage 2's (input/4).
    total += _conv(resolutions[2], resolutions[2], w[2], w[3], 1) + _conv(resolutions[1], resolutions[1], w[1], w[3], 1)
    for i in range(n_styles):
        total += style_block(s // 16 if i < 3 else s // 8 if i < 7 else s // 4)
    return total


def flops_per_image(bench: str, config: ModelConfig) -> int:
    g = config.generator
    if bench == "generator":
        return generator_flops(g)
    enc = encoder_flops(config.encoder, g.n_latent, g.style_dim)
    if bench == "encoder":
        return enc
    # The average image is decoded once per run (fast path) or per batch (reference): not counted.
    return STEPS * (enc + generator_flops(g))


# -- workloads --------------------------------------------------------------------------------------------
@dataclass
class Workload:
    fast: Callable[[], object]
    reference: Callable[[], object]
    difference: Callable[[], float]  # max |fast - reference| over the outputs


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.float() - b.float()).abs().max().item()


def make_workload(
    bench: str, model: IntereStyleModel, batch: int, device: torch.device, twin: IntereStyleModel | None = None
) -> Workload:
    """The fast path runs ``model``; the reference runs ``twin`` (``model`` in the community's NCHW layout)."""
    twin = community_layout(model) if twin is None else twin
    gen = torch.Generator().manual_seed(SEED + batch)
    dtype = model.dtype
    if bench == "generator":
        noise = torch.randn(batch, model.n_latent, model.style_dim, generator=gen)
        w = (model.latent_avg.detach().float().cpu() + 0.7 * noise).to(device, dtype)

        def fast_g() -> torch.Tensor:
            return model.decoder(w)

        def ref_g() -> torch.Tensor:
            return reference_synthesis(twin.decoder, w, noise_seed=SEED)

        return Workload(fast_g, ref_g, lambda: _max_diff(fast_g(), ref_g()))
    s = model.input_size
    if bench == "encoder":
        x = (torch.rand(batch, model.config.encoder.input_nc, s, s, generator=gen) * 2 - 1).to(device, dtype)

        def fast_e() -> torch.Tensor:
            return model.encoder(x)

        def ref_e() -> torch.Tensor:
            return reference_encode(twin.encoder, x)

        return Workload(fast_e, ref_e, lambda: _max_diff(fast_e(), ref_e()))
    images = (torch.rand(batch, 3, s, s, generator=gen) * 2 - 1).to(device, dtype)

    def fast_i() -> tuple[torch.Tensor, torch.Tensor]:
        result = invert(model, images, iterations=STEPS, batch_size=batch, progress=False)
        return result.step_latents, result.images

    def ref_i() -> tuple[torch.Tensor, torch.Tensor]:
        return reference_invert(twin, images, STEPS, batch_size=batch, noise_seed=SEED)

    def diff_i() -> float:
        (fl, fi), (rl, ri) = fast_i(), ref_i()
        return max(_max_diff(fl, rl), _max_diff(fi, ri))

    return Workload(fast_i, ref_i, diff_i)


# -- measurement ------------------------------------------------------------------------------------------
class QuietGate:
    """Waits, before each timed call, until other processes leave the CPUs alone.

    On a shared machine a test run of someone else's can slow a two-thread PyTorch program ten-fold (its
    threads wait for each other at every operator). Before each timed call this samples ``/proc/stat`` and
    waits (at most ``max_wait`` seconds) until the CPU time spent outside this idle process, niced work
    excepted (a niced process yields to us), is under ``threshold`` cores. It counts the calls that had to
    start anyway.
    """

    def __init__(self, max_wait: float, threshold: float = 0.3, window: float = 0.25) -> None:
        self.max_wait, self.threshold, self.window = max_wait, threshold, window
        self.calls = self.noisy = 0
        self.waited = 0.0

    @staticmethod
    def _busy_ticks() -> tuple[int, int] | None:
        try:
            fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        user, _nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        return user + system + irq + softirq + steal, user + system + idle + iowait + irq + softirq + steal + _nice

    def busy_cores(self) -> float | None:
        """Cores kept busy by others (not niced) over one window while this process sleeps."""
        before = self._busy_ticks()
        time.sleep(self.window)
        after = self._busy_ticks()
        if before is None or after is None or after[1] == before[1]:
            return None
        return (after[0] - before[0]) / (after[1] - before[1]) * (os.cpu_count() or 1)

    def wait(self) -> None:
        if self.max_wait <= 0:
            return
        self.calls += 1
        start = time.perf_counter()
        while True:
            busy = self.busy_cores()
            if busy is None or busy < self.threshold:
                break
            if time.perf_counter() - start > self.max_wait:
                self.noisy += 1
                break
        self.waited += time.perf_counter() - start

    def summary(self) -> str:
        if self.max_wait <= 0:
            return "quiet gate off"
        return (
            f"{self.calls} timed calls, {self.noisy} started while other processes kept >= {self.threshold} "
            f"cores busy (after waiting {self.max_wait:.0f} s); {self.waited:.0f} s spent waiting"
        )


GATE = QuietGate(0)
CLOCK: Callable[[], float] = time.perf_counter


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device: torch.device) -> float:
    GATE.wait()
    _sync(device)
    start = CLOCK()
    with torch.no_grad():
        fn()
    _sync(device)
    return CLOCK() - start


def interleaved(work: Workload, repeats: int, device: torch.device) -> tuple[float, float]:
    """Median seconds per call of the fast path and the reference, alternating which runs first."""
    fast, ref = [], []
    for r in range(repeats):
        order = [(work.fast, fast), (work.reference, ref)]
        for fn, out in order if r % 2 == 0 else order[::-1]:
            out.append(time_call(fn, device))
    return statistics.median(fast), statistics.median(ref)


def matmul_gflops(device: torch.device, dtype: torch.dtype = torch.float32, n: int = 2048, repeats: int = 7) -> float:
    """Median GFLOP/s of an n x n matmul (2 n^3 FLOPs)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    times = [time_call(lambda: a @ b, device) for _ in range(repeats + 1)][1:]
    return 2 * n**3 / statistics.median(times) / 1e9


def _status_kib(field_name: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def probe_memory(setup: str, bench: str, batch: int, path: str, threads: int) -> float:
    """Peak resident-set growth (MiB) of one call, in this (fresh) process. CPU only."""
    torch.set_num_threads(threads)
    model = build_model(SETUPS[setup].config)
    work = make_workload(bench, model, batch, torch.device("cpu"))
    fn = work.fast if path == "fast" else work.reference
    before = _status_kib("VmRSS")
    if before is not None and _reset_peak_rss():
        with torch.no_grad():
            fn()
        peak = _status_kib("VmHWM")
        assert peak is not None
        return (peak - before) / 1024
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux; only grows past the old peak
    with torch.no_grad():
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024


def peak_memory_subprocess(setup: str, bench: str, batch: int, path: str, threads: int) -> float | None:
    cmd = [sys.executable, __file__, "--probe-memory", f"{setup}:{bench}:{batch}:{path}", "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"  (memory probe failed: {proc.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
        return None
    return float(proc.stdout.strip().splitlines()[-1])


def cuda_peak_memory(fn: Callable[[], object], device: torch.device) -> float:
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    with torch.no_grad():
        fn()
    torch.cuda.synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - base) / 2**20


# -- start-up costs ---------------------------------------------------------------------------------------
_IMPORT_SNIPPET = "import time; t = time.perf_counter(); import interestyle; print(time.perf_counter() - t)"
_FIRST_IMAGE_SNIPPET = """
import sys, time
import numpy as np
import torch
import interestyle
torch.set_num_threads(int(sys.argv[2]))
image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
t = time.perf_counter()
model = interestyle.load_encoder(sys.argv[1])
first = interestyle.invert(model, image).to_pil()[0]
print(time.perf_counter() - t)
"""


def _run_python(code: str, *args: str) -> float:
    GATE.wait()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def startup_times(repeats: int, threads: int) -> tuple[float, float]:
    """Median seconds of ``import interestyle``, and of ``load_encoder`` + ``invert`` of one 64x64 image
    with the demo-sized model, each in a fresh interpreter (after the import)."""
    imports = [_run_python(_IMPORT_SNIPPET) for _ in range(repeats)]
    with tempfile.TemporaryDirectory() as tmp:
        build_model(SETUPS["demo"].config).save_pretrained(tmp)
        first = [_run_python(_FIRST_IMAGE_SNIPPET, tmp, str(threads)) for _ in range(repeats)]
    return statistics.median(imports), statistics.median(first)


# -- the report -------------------------------------------------------------------------------------------
@dataclass
class Row:
    setup: str
    bench: str
    dtype: str
    batch: int
    fast_ips: float
    ref_ips: float
    diff: float
    gflops: float
    mem_fast: float | None
    mem_ref: float | None
    load: float

    @property
    def speedup(self) -> float:
        return self.fast_ips / self.ref_ips


def _fmt_mem(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def print_table(rows: list[Row], matmul: float, *, header: bool = True) -> None:
    if header:
        print(
            "| config | bench | dtype | batch | fast img/s | ref img/s | speed-up | max abs diff | fast GFLOP/s "
            "| % of matmul | peak MiB fast | peak MiB ref | load |"
        )
        print("|" + "---|" * 13)
    for r in rows:
        print(
            f"| {r.setup} | {r.bench} | {r.dtype} | {r.batch} | {r.fast_ips:.2f} | {r.ref_ips:.2f} | "
            f"{r.speedup:.2f}x | {r.diff:.1e} | {r.gflops:.1f} | {100 * r.gflops / matmul:.0f}% | "
            f"{_fmt_mem(r.mem_fast)} | {_fmt_mem(r.mem_ref)} | {r.load:.1f} |",
            flush=True,
        )


def machine_summary(device: torch.device) -> str:
    """The machine (``machine.describe()``, with torch's thread count as set for the run), and the GPU on cuda."""
    text = f"Machine: {describe()}"
    if device.type == "cuda":
        text += f"; GPU: {torch.cuda.get_device_name(device)}"
    return text


@contextlib.contextmanager
def _section(title: str) -> Iterator[None]:
    print(f"\n## {title}\n", flush=True)
    start = time.perf_counter()
    yield
    print(f"\n({title}: {time.perf_counter() - start:.0f} s)", flush=True)


def run(args: argparse.Namespace) -> list[Row]:
    global GATE, CLOCK
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    GATE = QuietGate(args.quiet_wait if args.clock == "wall" else 0)
    CLOCK = time.perf_counter if args.clock == "wall" else time.process_time
    print(f"# interestyle {interestyle.__version__} speed benchmark")
    print(machine_summary(device))
    print(f"Command: python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}")
    if args.clock == "cpu":
        print("Clock: CPU time of this process (one thread: little affected by other processes; img/s per core)")
    else:
        print("Clock: wall time")
    matmul_before = matmul_gflops(device)
    print(f"fp32 matmul 2048x2048: {matmul_before:.0f} GFLOP/s (start of run)")
    rows: list[Row] = []
    for name in args.configs:
        setup = SETUPS[name]
        with _section(f"{name}: {setup.description}"):
            print_table([], matmul_before)
            for dtype_name in args.dtypes:
                model = build_model(setup.config).to(device, DTYPES[dtype_name])
                twin = community_layout(model)
                for bench in BENCHES:
                    batches = setup.batches.get(bench, args.batches)
                    for batch in [b for b in args.batches if b in batches]:
                        rows.append(_measure(args, setup, (model, twin), bench, batch, dtype_name, device))
                        print_table(rows[-1:], matmul_before, header=False)
                del model, twin
    matmul_after = matmul_gflops(device)
    print(f"\nfp32 matmul 2048x2048: {matmul_after:.0f} GFLOP/s (end of run)")
    print(f"Quiet gate: {GATE.summary()}")
    matmul = max(matmul_before, matmul_after)
    print(f"\n## Results (GFLOP/s compared with {matmul:.0f}, the better matmul figure of the run)\n")
    print_table(rows, matmul)
    if not args.skip_startup:
        with _section("start-up"):
            imp, first = startup_times(3, args.threads)
            print(f"import interestyle: {imp:.2f} s (median of 3 fresh interpreters)")
            print(
                f"load_encoder(demo-sized folder) + invert of one 64x64 image, after the import, "
                f"{args.threads} thread(s), wall time: {first:.2f} s"
            )
    _print_targets(rows, matmul)
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in rows], indent=2))
    return rows


def _measure(
    args: argparse.Namespace,
    setup: Setup,
    models: tuple[IntereStyleModel, IntereStyleModel],
    bench: str,
    batch: int,
    dtype_name: str,
    device: torch.device,
) -> Row:
    model, twin = models
    work = make_workload(bench, model, batch, device, twin)
    with torch.no_grad():
        # The difference run doubles as the warm-up of both paths (one-time kernel selection, allocations).
        # Half precision is compared with the fp32 reference.
        diff = work.difference() if dtype_name == "fp32" else _half_vs_fp32(setup, model, bench, batch, device)
    repeats = min(args.repeats, setup.repeats or args.repeats)
    t_fast, t_ref = interleaved(work, repeats, device)
    mem_fast = mem_ref = None
    if args.memory:
        if device.type == "cuda":
            mem_fast, mem_ref = cuda_peak_memory(work.fast, device), cuda_peak_memory(work.reference, device)
        else:
            mem_fast = peak_memory_subprocess(setup.name, bench, batch, "fast", args.threads)
            mem_ref = peak_memory_subprocess(setup.name, bench, batch, "reference", args.threads)
    return Row(
        setup=setup.name,
        bench=bench,
        dtype=dtype_name,
        batch=batch,
        fast_ips=batch / t_fast,
        ref_ips=batch / t_ref,
        diff=diff,
        gflops=flops_per_image(bench, setup.config) * batch / t_fast / 1e9,
        mem_fast=mem_fast,
        mem_ref=mem_ref,
        load=os.getloadavg()[0],
    )


def _half_vs_fp32(setup: Setup, model: IntereStyleModel, bench: str, batch: int, device: torch.device) -> float:
    """Half-precision fast path against the fp32 reference on the same (rounded) weights and inputs."""
    reference = build_model(setup.config).to(device)
    reference.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    half = make_workload(bench, model, batch, device, twin=model)
    full = make_workload(bench, reference, batch, device)
    out, ref = half.fast(), full.reference()
    if isinstance(out, tuple):
        return max(_max_diff(a, b) for a, b in zip(out, ref, strict=True))  # type: ignore[arg-type]
    return _max_diff(out, ref)  # type: ignore[arg-type]


def _print_targets(rows: list[Row], matmul: float) -> None:
    print("\n## Targets (CPU, fp32, batch 8)\n")
    for row in rows:
        if row.batch != 8 or row.dtype != "fp32":
            continue
        if row.bench == "generator":
            print(f"- {row.setup} generator speed-up {row.speedup:.2f}x (target >= 1.5x)")
        if row.bench == "invert":
            print(f"- {row.setup} invert speed-up {row.speedup:.2f}x (target >= 1.3x)")
        share = row.gflops / matmul
        print(f"- {row.setup} {row.bench} at {100 * share:.0f}% of matmul GFLOP/s (target >= 40%)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="demo,256,1024", help=f"comma-separated, from {list(SETUPS)}")
    parser.add_argument("--batches", default="1,8,32", help="batch sizes (each config may run a subset)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per path (median reported)")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1), help="torch CPU threads")
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", default=default_device, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--dtypes", default=None, help="fp32 on the CPU; default fp32,fp16,bf16 on CUDA")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time (default) or this process's CPU time (with --threads 1: robust on a busy machine)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=20.0,
        help="before each timed call wait up to this many seconds for other processes to go quiet (0: off)",
    )
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip the peak-memory probes")
    parser.add_argument("--skip-startup", action="store_true", help="skip the import / first-image timings")
    parser.add_argument("--quick", action="store_true", help="demo config, 3 repeats (about a minute or two)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--probe-memory", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.configs, args.repeats = "demo", min(args.repeats, 3)
    args.configs = [c for c in args.configs.split(",") if c]
    unknown = [c for c in args.configs if c not in SETUPS]
    if unknown:
        parser.error(f"unknown config(s) {unknown}; choose from {list(SETUPS)}")
    args.batches = [int(b) for b in args.batches.split(",") if b]
    if args.dtypes is None:
        args.dtypes = "fp32,fp16,bf16" if args.device.startswith("cuda") else "fp32"
    args.dtypes = [d for d in args.dtypes.split(",") if d]
    if any(d not in DTYPES for d in args.dtypes):
        parser.error(f"--dtypes must be among {list(DTYPES)}")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.clock == "cpu" and (args.threads != 1 or args.device != "cpu"):
        parser.error("--clock cpu measures one CPU thread: use it with --threads 1 --device cpu")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.probe_memory:
        setup, bench, batch, path = args.probe_memory.split(":")
        print(probe_memory(setup, bench, int(batch), path, args.threads))
        return 0
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
