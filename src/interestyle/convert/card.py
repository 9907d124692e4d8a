"""The ``README.md`` model card of a converted model, with YAML front matter the Hugging Face Hub reads."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .._version import __version__
from .registry import Conversion

__all__ = ["CardFacts", "model_card"]

_LICENSE_ID = re.compile(r"^[a-z0-9][a-z0-9.+-]*$")

_UPSTREAM = {
    "stylegan2": "https://github.com/rosinality/stylegan2-pytorch",
    "psp": "https://github.com/eladrich/pixel2style2pixel",
    "e4e": "https://github.com/omertov/encoder4editing",
    "restyle-psp": "https://github.com/yuval-alaluf/restyle-encoder",
    "restyle-e4e": "https://github.com/yuval-alaluf/restyle-encoder",
    "interestyle": "https://github.com/seungjun-moon/interestyle",
    "stylegan2-ada": "https://github.com/NVlabs/stylegan2-ada-pytorch",
    "interfacegan": "https://github.com/genforce/interfacegan",
    "ganspace": "https://github.com/harskish/ganspace",
}


@dataclass(frozen=True)
class CardFacts:
    """What the card states about the source."""

    source_name: str
    sha256: str
    kind: str
    how_chosen: str
    license: str | None = None
    location: str = "MODEL"  # what the usage example loads: the Hub repo id or the local folder
    also: tuple[tuple[str, str], ...] = ()  # further source files merged into the folder: (name, sha256)


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
    upstream = _UPSTREAM.get(facts.kind)
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
        f"Weights of the `{facts.kind}` checkpoint `{facts.source_name}`"
        + (f" (from [{upstream}]({upstream}))" if upstream else "")
        + f", converted by `interestyle convert` (interestyle {__version__}). Nothing here is pickled: "
        f"{files}.",
        "",
        "## Source",
        "",
        *sources,
        f"- kind: `{facts.kind}` ({facts.how_chosen})",
        f"- license: {facts.license or 'not stated: set it to the license of the original weights'}",
        "",
        "## Load it",
        "",
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
