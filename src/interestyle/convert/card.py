"""The ``README.md`` model card of a converted model, with YAML front matter the Hugging Face Hub reads."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .._version import __version__
from .registry import Conversion

__all__ = ["CardFacts", "model_card"]

_LICENSE_ID = re.compile(r"^[a-z0-9][a-z0-9.+-]*$")

# The code whose checkpoint layout each kind reads (a link for the reader, not a claim about who made the file).
_LAYOUT = {
    "stylegan2": "https://github.com/rosinality/stylegan2-pytorch",
    "psp": "https://github.com/eladrich/pixel2style2pixel",
    "e4e": "https://github.com/omertov/encoder4editing",
    "restyle-psp": "https://github.com/yuval-alaluf/restyle-encoder",
    "restyle-e4e": "https://github.com/yuval-alaluf/restyle-encoder",
    "stylegan2-ada": "https://github.com/NVlabs/stylegan2-ada-pytorch",
    "face-parsing": "https://github.com/zllrunning/face-parsing.PyTorch",
    "interfacegan": "https://github.com/genforce/interfacegan",
    "ganspace": "https://github.com/harskish/ganspace",
}

# The paper behind each kind's architecture or method: what the card credits.
_PAPERS = {
    "stylegan2": "Karras et al., *Analyzing and Improving the Image Quality of StyleGAN*, CVPR 2020",
    "stylegan2-ada": "Karras et al., *Training Generative Adversarial Networks with Limited Data*, NeurIPS 2020",
    "psp": "Richardson et al., *Encoding in Style: a StyleGAN Encoder for Image-to-Image Translation*, CVPR 2021",
    "e4e": "Tov et al., *Designing an Encoder for StyleGAN Image Manipulation*, SIGGRAPH 2021",
    "restyle-psp": "Alaluf et al., *ReStyle: A Residual-Based StyleGAN Encoder via Iterative Refinement*, ICCV 2021",
    "restyle-e4e": "Alaluf et al., *ReStyle: A Residual-Based StyleGAN Encoder via Iterative Refinement*, ICCV 2021",
    "interestyle": "Moon and Park, *IntereStyle: Encoding an Interest Region for Robust StyleGAN Inversion*, WACV 2023",
    "face-parsing": (
        "Yu et al., *BiSeNet: Bilateral Segmentation Network for Real-time Semantic Segmentation*, ECCV 2018"
    ),
    "arcface": "Deng et al., *ArcFace: Additive Angular Margin Loss for Deep Face Recognition*, CVPR 2019",
    "lpips": "Zhang et al., *The Unreasonable Effectiveness of Deep Features as a Perceptual Metric*, CVPR 2018",
    "interfacegan": "Shen et al., *Interpreting the Latent Space of GANs for Semantic Face Editing*, CVPR 2020",
    "ganspace": "Härkönen et al., *GANSpace: Discovering Interpretable GAN Controls*, NeurIPS 2020",
}


@dataclass(frozen=True)
class CardFacts:
    """What the card states about the source."""

    source_name: str
    sha256: str
    kind: str
    how_chosen: str
    license: str | None = None
    location: str = "MODEL"  # what the usage example loads: the Hub repo id, or the folder's name (never a full path)
    also: tuple[tuple[str, str], ...] = ()  # further source files merged into the folder: (name, sha256)
    folder_name: str = ""  # the output folder's own name


def check_license(license: str | None) -> str | None:
    """A Hub license identifier (``mit``, ``apache-2.0``, ``cc-by-nc-4.0``, ``other``...), or None."""
    if license is not None and not _LICENSE_ID.match(license):
        raise ValueError(
            f"license={license!r} is not a Hub license identifier: use lower-case ids such as 'mit', "
            "'apache-2.0', 'cc-by-nc-4.0' or 'other'"
        )
    return license


def model_card(facts: CardFacts, conversion: Conversion) -> str:
    """The card: front matter (library, tags, license or a placeholder comment) and a body that says where
    the weights came from, how they were read, and how to load them."""
    front = ["---", "library_name: interestyle"]
    if facts.license:
        front.append(f"license: {facts.license}")
    else:
        front.append("# license: fill in the license of the original weights (e.g. mit, apache-2.0, other)")
    front += ["tags:", "- stylegan2", "- gan-inversion", f"- {facts.kind}", "- interestyle-convert", "---"]
    layout = _LAYOUT.get(facts.kind)
    paper = _PAPERS.get(facts.kind)
    config = json.dumps(conversion.config, indent=2)
    n_params = sum(t.numel() for t in conversion.tensors.values())
    if conversion.directions is None:
        files, config_title = (
            "the model is `config.json` + `model.safetensors`",
            "Configuration (inferred from the tensor shapes)",
        )
    else:
        files, config_title = "the directions are `directions.safetensors` + `directions.json`", "directions.json"
    sources = [f"- file: `{facts.source_name}`", f"- sha256: `{facts.sha256}`"]
    for name, sha256 in facts.also:
        sources += [f"- file: `{name}`", f"- sha256: `{sha256}`"]
    lines = [
        *front,
        "",
        f"# {facts.source_name} ({facts.kind}), converted to safetensors",
        "",
        f"The checkpoint `{facts.source_name}`, of kind `{facts.kind}`"
        + (f" (the layout of [{layout}]({layout}))" if layout else "")
        + f" and converted by `interestyle convert` (interestyle {__version__}). Nothing here is pickled: "
        f"{files}.",
        "",
        "## Who made it",
        "",
        "The converter knows the file, not its authors: this card does not say who trained these weights, on "
        "what data, or under which license. Fill that in before you publish them.",
        *(["", f"The architecture and method: {paper}."] if paper else []),
        "",
        "## Source",
        "",
        *sources,
        f"- kind: `{facts.kind}` ({facts.how_chosen})",
        f"- license: {facts.license or 'not stated: set it to the license of the original weights'}",
        "",
        "## Load it",
        "",
        *(
            ["From the folder's parent directory (or give the folder's path, or its Hub repo id once uploaded):", ""]
            if facts.location == facts.folder_name
            else []
        ),
        "```python",
        conversion.usage.replace('"MODEL"', json.dumps(facts.location)),
        "```",
        "",
        f"## {config_title}",
        "",
        "```json",
        config,
        "```",
        "",
        f"{len(conversion.tensors)} tensors, {n_params:,} values; every tensor of the source is in the model "
        "or listed below as dropped.",
        "",
    ]
    if conversion.dropped:
        lines += ["## Dropped on purpose", "", *[f"- {line}" for line in conversion.dropped], ""]
    if conversion.notes:
        lines += ["## Notes", "", *[f"- {line}" for line in conversion.notes], ""]
    return "\n".join(lines)
