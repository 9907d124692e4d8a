"""``interestyle train CONFIG [--resume] [--max-steps N]``: train an encoder from a JSON or YAML config."""

from __future__ import annotations

import argparse
from typing import Any

from .options import add_progress_option


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train an IntereStyle (or baseline) encoder",
        description=(
            "Train an IntereStyle encoder (or, with baseline: true, the no-mask ReStyle-style baseline) "
            "against a frozen generator. Multi-GPU: accelerate launch -m interestyle train CONFIG."
        ),
    )
    parser.add_argument("config", help="training config, .json or .yaml (see docs/training.md)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in log.dir")
    parser.add_argument("--max-steps", type=int, default=None, metavar="N", help="stop after N steps in this call")
    add_progress_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..training import train

    result = train(args.config, resume=args.resume, max_steps=args.max_steps, progress=not args.no_progress)
    figures = ", ".join(f"{k} {v:.4g}" for k, v in result.validation.items())
    print(f"step {result.step}; checkpoint {result.checkpoint}" + (f"; {figures}" if figures else ""))
    return 0
