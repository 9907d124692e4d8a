"""The documentation site: every page is in the navigation, and the FAQ answers the questions people ask."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_navigation_lists_every_page():
    nav = set(re.findall(r"^\s+- [^:]+: ([\w/-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), flags=re.M))
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert nav == pages


def test_faq_answers_the_common_questions():
    headings = [h.lower() for h in re.findall(r"^## (.+)$", (ROOT / "docs" / "faq.md").read_text(), flags=re.M)]
    for topic in ("aligned", "gpu", "extension", "memory", "domain"):
        assert any(topic in h for h in headings), f"no FAQ entry about {topic!r}: {headings}"
