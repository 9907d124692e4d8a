"""The editor under load: concurrent ``gradio_client`` clients against ``interestyle app`` on 127.0.0.1.

The server is the real command (``python -m interestyle app --model demo``) in a subprocess with its own
temporary folders. Each client samples a face, gets its mask, inverts it and moves a slider, ``--rounds``
times; every request must succeed. The server's resident memory is sampled throughout (``/proc``): the
peak (``VmHWM``), and the resident set after the first round against the end, to show it levels off; the
files left in its temporary folders are counted.

Then the queue limit: a second server with ``--max-queue 2`` gets its one worker held by a long refine,
two requests queued behind it, and ``--burst`` more at once: those must fail at once with gradio_client's
``QueueError`` ("Queue is full! Please try again."; a browser shows "This application is currently busy.
Please try again."), not wait for a timeout.

Usage::

    python benchmarks/app_load.py                     # 8 clients x 10 rounds, then the queue limit
    python benchmarks/app_load.py --clients 16 --rounds 20 --json load.json

Needs the app extra (``pip install 'interestyle[app]'``: Gradio and gradio_client).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from machine import describe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """``interestyle app`` in a subprocess; ``memory()`` reads its resident set and peak, in MiB."""

    process: subprocess.Popen[bytes]
    url: str
    temp: Path

    def memory(self) -> tuple[float, float]:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def files(self) -> tuple[int, int]:
        """Files under its temporary folders, and their size in KiB."""
        found = [p for p in self.temp.rglob("*") if p.is_file()]
        return len(found), sum(p.stat().st_size for p in found) // 1024

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(temp: Path, *args: str, timeout: float = 300.0) -> Server:
    """Start the app on a free port with ``temp`` as TMPDIR and Gradio's cache; wait until it answers."""
    port = free_port()
    env = {
        **os.environ,
        "TMPDIR": str(temp),
        "GRADIO_TEMP_DIR": str(temp / "gradio"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
    }
    command = [sys.executable, "-m", "interestyle", "app", "--model", "demo", "--port", str(port), *args]
    log = (temp / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited {process.returncode}: {(temp / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return Server(process, url, temp)
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"the app did not answer within {timeout:.0f} s")


@dataclass
class ClientLog:
    """One client's requests: (endpoint, seconds) of each success, and the errors."""

    timings: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def one_client(url: str, index: int, rounds: int, log: ClientLog, after_round: Callable[[int], None]) -> None:
    from gradio_client import Client, handle_file

    def call(endpoint: str, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            out = client.predict(*args, api_name=endpoint)
        except Exception as exc:
            log.errors.append(f"client {index} {endpoint}: {type(exc).__name__}: {exc}")
            raise
        log.timings.append((endpoint, time.perf_counter() - start))
        return out

    try:
        client = Client(url, verbose=False)
        for r in range(rounds):
            photo = call("/sample", index * 1000 + r)
            mask = call("/mask", handle_file(photo), "aligned-face")
            value = {k: handle_file(mask[k]) for k in ("background", "composite")} | {"layers": []}
            call("/invert", handle_file(photo), value, False, False)
            call("/edit", 2.0, 0, 0, 0, 0)
            after_round(r)
    except Exception as exc:
        if not log.errors:
            log.errors.append(f"client {index}: {type(exc).__name__}: {exc}")


def load_run(server: Server, clients: int, rounds: int) -> dict[str, Any]:
    """``clients`` threads of ``rounds`` rounds each, with the server's memory sampled every 0.2 s."""
    logs = [ClientLog() for _ in range(clients)]
    samples: list[tuple[float, float]] = []
    after_first: list[float] = []  # the resident set when every client has done its first round
    first_rounds = [0]
    lock = threading.Lock()

    def after_round(r: int) -> None:
        if r == 0:
            with lock:
                first_rounds[0] += 1
                if first_rounds[0] == clients:
                    after_first.append(server.memory()[0])

    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.perf_counter(), server.memory()[0]))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threads = [
        threading.Thread(target=one_client, args=(server.url, i, rounds, logs[i], after_round)) for i in range(clients)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    rss_end, peak = server.memory()
    timings = [t for log in logs for t in log.timings]
    by_endpoint: dict[str, list[float]] = {}
    for endpoint, s in timings:
        by_endpoint.setdefault(endpoint, []).append(s)
    files, kib = server.files()
    return {
        "clients": clients,
        "rounds": rounds,
        "requests": len(timings) + sum(len(log.errors) for log in logs),
        "failed": [e for log in logs for e in log.errors],
        "seconds": seconds,
        "latency_s": {
            e: {"median": statistics.median(v), "p95": sorted(v)[int(0.95 * (len(v) - 1))], "max": max(v)}
            for e, v in by_endpoint.items()
        },
        "rss_after_first_round_mib": after_first[0] if after_first else None,
        "rss_end_mib": rss_end,
        "peak_rss_mib": peak,
        "rss_max_sampled_mib": max(m for _, m in samples) if samples else None,
        "rss_by_quarter_mib": [samples[min(len(samples) - 1, len(samples) * q // 4)][1] for q in (1, 2, 3, 4)]
        if samples
        else [],
        "temp_files": files,
        "temp_kib": kib,
    }


def queue_limit_run(server: Server, burst: int) -> dict[str, Any]:
    """Hold the worker with a long refine, queue 2 behind it, then send ``burst`` more at once."""
    from gradio_client import Client, handle_file
    from gradio_client.utils import QueueError

    client = Client(server.url, verbose=False)
    photo = client.predict(1, api_name="/sample")
    mask = client.predict(handle_file(photo), "aligned-face", api_name="/mask")
    value = {k: handle_file(mask[k]) for k in ("background", "composite")} | {"layers": []}
    holders = [Client(server.url, verbose=False) for _ in range(3)]
    jobs = [c.submit(handle_file(photo), value, False, True, api_name="/invert") for c in holders]
    time.sleep(3.0)  # the first is running (its refine takes a while), the other two wait in the queue
    outcomes: list[tuple[str, float]] = []

    def extra() -> None:
        start = time.perf_counter()
        try:
            Client(server.url, verbose=False).predict(3, api_name="/sample")
            outcomes.append(("served", time.perf_counter() - start))
        except QueueError as exc:
            outcomes.append((f"QueueError: {exc}", time.perf_counter() - start))
        except Exception as exc:
            outcomes.append((f"{type(exc).__name__}: {exc}", time.perf_counter() - start))

    threads = [threading.Thread(target=extra) for _ in range(burst)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    held = []
    for job in jobs:
        try:
            job.result()
            held.append("served")
        except Exception as exc:
            held.append(f"{type(exc).__name__}: {exc}")
    refused = [s for kind, s in outcomes if kind.startswith("QueueError")]
    return {
        "burst": burst,
        "outcomes": sorted({kind for kind, _ in outcomes}),
        "refused": len(refused),
        "refused_within_s": max(refused) if refused else None,
        "held_requests": held,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=10, help="sample + mask + invert + edit, per client")
    parser.add_argument("--burst", type=int, default=6, help="requests sent past the queue limit at once")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    print(f"machine: {describe()}")
    figures: dict[str, Any] = {"machine": describe()}
    with tempfile.TemporaryDirectory(prefix="interestyle-load-") as tmp:
        (Path(tmp) / "load").mkdir()
        server = start_server(Path(tmp) / "load")
        try:
            rss, peak = server.memory()
            print(f"server up: {rss:.0f} MiB resident (peak {peak:.0f})")
            figures["load"] = result = load_run(server, args.clients, args.rounds)
        finally:
            server.stop()
        print(
            f"{result['clients']} clients x {result['rounds']} rounds: {result['requests']} requests in "
            f"{result['seconds']:.0f} s, {len(result['failed'])} failed"
        )
        for endpoint, lat in result["latency_s"].items():
            print(f"    {endpoint:8s} median {lat['median']:.2f} s, p95 {lat['p95']:.2f} s, max {lat['max']:.2f} s")
        first = result["rss_after_first_round_mib"]
        print(
            f"server memory: peak {result['peak_rss_mib']:.0f} MiB (VmHWM); resident "
            f"{first or float('nan'):.0f} MiB after every client's first round, {result['rss_end_mib']:.0f} at the end"
        )
        quarters = ", ".join(f"{m:.0f}" for m in result["rss_by_quarter_mib"])
        print(f"    resident at each quarter of the run: {quarters} MiB")
        print(f"left in its temporary folders: {result['temp_files']} files, {result['temp_kib']} KiB")
        for line in result["failed"][:10]:
            print(f"FAILED {line}")

        (Path(tmp) / "queue").mkdir()
        server = start_server(Path(tmp) / "queue", "--max-queue", "2", "--refine-steps", "400")
        try:
            figures["queue"] = queue = queue_limit_run(server, args.burst)
        finally:
            server.stop()
        print(
            f"queue limit 2, worker busy, 2 waiting, {queue['burst']} more at once: {queue['refused']} refused "
            f"(within {queue['refused_within_s'] or 0:.1f} s): {queue['outcomes']}"
        )
        print(f"    the held requests: {queue['held_requests']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    ok = not result["failed"] and queue["refused"] == args.burst
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
