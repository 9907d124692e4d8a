"""``interestyle app``: the interactive editor in the browser, served on 127.0.0.1."""

from __future__ import annotations

import argparse
from typing import Any

from ..app import MAX_QUEUE
from ..app.session import DEFAULT_MODEL, REFINE_STEPS
from .options import MODEL_HELP, add_device_option, positive_int, resolve_device

EPILOG = """\
examples:
  interestyle app
  interestyle app --model ./model --baseline ./restyle-model --port 7861

Serves on http://127.0.0.1:PORT only (never a share link), offline, with Gradio's analytics off; open the
address it prints in a browser. Edit sliders: a directions.safetensors set in the model's folder, or else
the model's first five principal directions (PCA 1-5). Needs the optional extra: pip install 'interestyle[app]'.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "app",
        help="an interactive editor in the browser (Gradio, on 127.0.0.1)",
        description="Invert, edit and style-mix photos in the browser.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", "-m", default=DEFAULT_MODEL, help=MODEL_HELP)
    parser.add_argument("--baseline", help="a second model to compare against (folder or repo id)")
    parser.add_argument("--port", type=positive_int, help="port on 127.0.0.1 (default: the first free from 7860)")
    add_device_option(parser)
    parser.add_argument(
        "--refine-steps",
        type=positive_int,
        default=REFINE_STEPS,
        metavar="STEPS",
        help=f"steps of the Refine box's pivotal tuning (default {REFINE_STEPS})",
    )
    parser.add_argument(
        "--max-queue",
        type=positive_int,
        default=MAX_QUEUE,
        metavar="N",
        help=f"requests that may wait at once; more are told the app is busy, to try again (default {MAX_QUEUE})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..app import Editor, launch, require_gradio

    require_gradio()  # without Gradio: the one-line install hint before any model is loaded
    editor = Editor.load(
        args.model, baseline=args.baseline, device=resolve_device(args.device), refine_steps=args.refine_steps
    )
    launch(editor, port=args.port, max_queue=args.max_queue)
    return 0
