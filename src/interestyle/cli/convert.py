"""``interestyle convert SRC --out DIR``: an official checkpoint into a safetensors model folder."""

from __future__ import annotations

import argparse
import sys

from .options import add_progress_option


def _units(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not four comma-separated integers, e.g. 3,4,14,3") from None


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from ..convert import kind_names

    parser = subparsers.add_parser(
        "convert",
        help="convert an official .pt / .pkl checkpoint into a hub-ready safetensors model folder",
        description=(
            "Convert a StyleGAN2 (rosinality .pt or NVlabs .pkl), pSp, e4e, ReStyle or IntereStyle checkpoint into "
            "config.json + model.safetensors + a README.md model card. A .pt is read with "
            "torch.load(weights_only=True) only, an NVlabs .pkl with a reader that runs none of its code; the "
            "config comes from the tensor shapes."
        ),
    )
    parser.add_argument(
        "source",
        metavar="SRC",
        nargs="+",
        help="the .pt / .pth checkpoint or NVlabs .pkl network; or direction files (InterFaceGAN .pt / .npy, "
        "GANSpace .pt / .npz), several of which merge into one directions folder",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (new or empty)")
    parser.add_argument(
        "--kind", default="auto", choices=("auto", *kind_names()), help="checkpoint kind (default: detect it)"
    )
    parser.add_argument(
        "--generator",
        metavar="STYLEGAN_PT",
        help="StyleGAN2 .pt (with g_ema), NVlabs .pkl or converted generator folder, for checkpoints without "
        "decoder weights",
    )
    parser.add_argument(
        "--backbone", metavar="PT", help="a second checkpoint some kinds need: torchvision's AlexNet for --kind lpips"
    )
    parser.add_argument(
        "--encoder-units",
        type=_units,
        metavar="N,N,N,N",
        help="IR-SE units per stage, only when the tensors cannot show them (e.g. 3,4,14,3)",
    )
    parser.add_argument("--iterations", type=int, help="default refinement steps stored in the config")
    parser.add_argument(
        "--lr-mlp",
        type=float,
        help="the generator's mapping-network learning-rate multiplier, not stored in checkpoints (default 0.01)",
    )
    parser.add_argument("--license", help="Hub license id for the model card (e.g. mit, other)")
    parser.add_argument("--overwrite", action="store_true", help="replace the converted files in a non-empty DIR")
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="also create and upload to this Hub repository")
    parser.add_argument("--private", action="store_true", help="create the Hub repository as private")
    add_progress_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..convert import convert_checkpoint

    result = convert_checkpoint(
        args.source[0] if len(args.source) == 1 else args.source,
        args.out,
        kind=args.kind,
        generator=args.generator,
        backbone=args.backbone,
        encoder_units=args.encoder_units,
        iterations=args.iterations,
        lr_mlp=args.lr_mlp,
        license=args.license,
        overwrite=args.overwrite,
        push_to_hub=args.push_to_hub,
        private=args.private,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    print(result.summary())
    return 0
