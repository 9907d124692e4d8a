"""``interestyle demo``: the method on held-out occluded faces, offline, in one labelled grid."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..demo import COLUMNS, run_demo
from ..directions import Direction, shipped_directions
from ..hub import load_encoder
from ..synthetic import DEMO_DOMAIN, DOMAINS
from ..synthetic.faces_v2 import EDIT_ATTRIBUTES
from .options import positive_int
from .outputs import save_png

DEFAULT_EDIT = "grey_hair"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="show the method on held-out occluded synthetic faces, offline",
        description=(
            "Invert held-out occluded faces of the synthetic domain with a baseline and an IntereStyle encoder, "
            f"edit and style-mix the result, and write one grid ({' | '.join(COLUMNS)}) with the errors."
        ),
    )
    parser.add_argument("--out", default="demo.png", help="the grid PNG (default demo.png)")
    parser.add_argument("--model", default="demo", help="the IntereStyle model (default: the embedded demo model)")
    parser.add_argument("--baseline", default="demo-baseline", help="the baseline model ('none' for none)")
    parser.add_argument("-n", type=positive_int, default=4, help="faces, one row each (default 4)")
    parser.add_argument(
        "--edit",
        help=f"the edit: a direction shipped with the model (the demo model's: {', '.join(EDIT_ATTRIBUTES)}; "
        f"default {DEFAULT_EDIT}); without this option, a model that ships no directions uses its first principal one",
    )
    parser.add_argument(
        "--strength",
        type=float,
        help="edit strength in the direction's units, as in interestyle edit (the demo model's: ranges of the "
        "attribute, 1 = its whole range; default: the direction's recommended strength, else 2 standard "
        "deviations of W along it)",
    )
    parser.add_argument(
        "--mix-layers",
        choices=("coarse", "middle", "fine"),
        default="fine",
        help="style vectors the style mix takes from the style source, the next row's face (default fine: its "
        "colours on this face's shape)",
    )
    parser.add_argument(
        "--domain",
        choices=DOMAINS,
        default=DEMO_DOMAIN,
        help=f"synthetic face domain the models were trained on (default {DEMO_DOMAIN}: the embedded models')",
    )
    parser.set_defaults(func=run)


def _shipped_direction(model: str, name: str | None) -> Direction | None:
    """The direction ``name`` shipped in the model's folder. Without a name: `DEFAULT_EDIT` when the
    model ships it, else None (the demo then uses a principal direction)."""
    directions = shipped_directions(model)
    if directions is None:
        if name is None:
            return None
        raise ValueError(f"--edit {name!r}: {model} ships no directions (directions.safetensors)")
    if name is None:
        return directions.get(DEFAULT_EDIT)
    if name not in directions:
        raise ValueError(f"--edit {name!r} is not among the model's directions: {', '.join(directions)}")
    return directions[name]


def run(args: argparse.Namespace) -> int:
    model = load_encoder(args.model)
    baseline = None if args.baseline == "none" else load_encoder(args.baseline)
    direction = _shipped_direction(args.model, args.edit)
    report = run_demo(
        model,
        baseline,
        n=args.n,
        direction=direction,
        strength=args.strength,
        mix_layers=args.mix_layers,
        domain=args.domain,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(report.grid, out)
    print(report.summary())
    print(f"wrote {args.out}")
    return 0
