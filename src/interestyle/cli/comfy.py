"""``interestyle comfy``: put the IntereStyle nodes into a ComfyUI (or take them out)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..comfy.shim import SHIM_NAME, install, uninstall, write_shim

EPILOG = f"""\
examples:
  pip install interestyle                      (into the Python environment that runs ComfyUI)
  interestyle comfy install ~/ComfyUI          writes ~/ComfyUI/custom_nodes/{SHIM_NAME}/
  interestyle comfy install ~/ComfyUI --uninstall
  interestyle comfy shim ~/more-nodes/{SHIM_NAME}   the same package anywhere (a custom_nodes folder of an
                                               extra-model-paths YAML, or a folder to publish to the Comfy Registry)

Installing again updates the shim (or does nothing when it is up to date); restart ComfyUI to load it. The
nodes are listed under "IntereStyle".
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "comfy",
        help="install the IntereStyle nodes into ComfyUI",
        description="Install the IntereStyle nodes into a ComfyUI, or write their shim package elsewhere.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    put = actions.add_parser("install", help=f"write custom_nodes/{SHIM_NAME} into a ComfyUI folder")
    put.add_argument(
        "comfyui", metavar="PATH_TO_COMFYUI", help="the folder holding ComfyUI's main.py and custom_nodes/"
    )
    put.add_argument("--uninstall", action="store_true", help="remove the shim instead")
    put.set_defaults(func=run)
    shim = actions.add_parser("shim", help="write the shim package into a folder of your choice")
    shim.add_argument("folder", metavar="FOLDER", help=f"the package folder to write (e.g. .../{SHIM_NAME})")
    shim.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "shim":
        report = write_shim(args.folder)
        print(f"{'wrote' if report.changed else 'up to date:'} {report.folder}")
        return 0
    if args.uninstall:
        report = uninstall(args.comfyui)
        print(f"removed {report.folder}" if report.changed else f"not installed: {report.folder} does not exist")
        return 0
    report = install(args.comfyui)
    print(f"installed {report.folder}" if report.changed else f"already installed, up to date: {report.folder}")
    print(
        f"The nodes need interestyle in the Python that runs ComfyUI (this one is {sys.executable}); restart "
        "ComfyUI to load them.",
        file=sys.stderr,
    )
    return 0
