"""Every command in README.md and docs/quickstart.md runs here, in document order, in a fresh folder.

The rule for what is not run (nothing else is skipped, and the test asserts it):

- creating the environment and installing into it, ``python3 -m venv ...`` and ``... pip install ...``:
  the test suite already runs inside an installed environment;
- running the test suite itself, ``... -m pytest ...``.

Each ``bash`` block is split into commands (lines, then ``&&``); ``.venv/bin/python`` becomes this
interpreter and ``.venv/bin/interestyle`` (or a bare ``interestyle``) becomes ``this interpreter -m
interestyle``, so the commands run the code under test. Each ``python`` block is executed in the same folder.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", "docs/quickstart.md"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
PYTHON = shlex.quote(sys.executable)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.M | re.S)

# what each page's commands must leave behind (so a command that silently did nothing fails)
OUTPUTS = {
    "README.md": ["demo.png", "photo.png", "reconstruction.png", "grey.png"],
    "docs/quickstart.md": [
        "demo.png",
        "photo.png",
        "mask.png",
        "reconstruction.png",
        "composite.png",
        "inverted/photo.composite.png",
        "edits/photo_grey_hair_+1.png",
        "mixed/grid.png",
    ],
}


def blocks(page: str) -> list[tuple[str, str]]:
    """The fenced blocks of ``page``: (language, text), in order."""
    return FENCE.findall((ROOT / page).read_text())


def commands(script: str) -> list[str]:
    """The commands of a bash block: continuation lines joined, comments and blanks dropped, split at ``&&``."""
    out = []
    for line in script.replace("\\\n", " ").splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith("#"):
            out += [part.strip() for part in line.split("&&")]
    return out


def skip_reason(command: str) -> str | None:
    """Why ``command`` is not run inside the test suite (the module docstring's rule), or None to run it."""
    if re.match(r"python3? -m venv\b", command) or re.search(r"\bpip install\b", command):
        return "installs"
    if re.search(r"\s-m pytest\b", command):
        return "runs the test suite"
    return None


def localize(command: str) -> str:
    """``command`` with the README's venv paths replaced by this interpreter."""
    assert not re.search(r"\.venv/bin/(?!python\b|interestyle\b)", command), f"no mapping for {command!r}"
    # ``interestyle`` in command position only (not the module name after ``-m``)
    command = re.sub(
        r"(^|[|;(]\s*)(\.venv/bin/)?interestyle(?=\s|$)", lambda m: f"{m[1]}{PYTHON} -m interestyle", command
    )
    return re.sub(r"(?<![\w/.-])\.venv/bin/python\b", lambda _: PYTHON, command)


def test_skip_rule():
    assert skip_reason("python3 -m venv .venv") == "installs"
    assert skip_reason(".venv/bin/pip install -e '.[dev,docs]'") == "installs"
    assert skip_reason(".venv/bin/python -m pytest -q") == "runs the test suite"
    assert skip_reason(".venv/bin/interestyle demo") is None
    assert skip_reason(".venv/bin/python examples/style_mix.py --out out") is None
    assert commands("a && b  # note\n# comment\n\nc \\\n  d\n") == ["a", "b", "c    d"]
    assert localize(".venv/bin/interestyle demo --out x.png") == f"{PYTHON} -m interestyle demo --out x.png"
    assert localize(".venv/bin/python -c 1") == f"{PYTHON} -c 1"
    assert localize(".venv/bin/python -m interestyle demo") == f"{PYTHON} -m interestyle demo"
    assert localize("interestyle demo | cat") == f"{PYTHON} -m interestyle demo | cat"


@pytest.mark.parametrize("page", PAGES)
def test_every_command_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = blocks(page)
    assert {language for language, _ in found} <= {"bash", "python"}, f"{page}: a block no test runs"
    ran, skipped, total = [], [], 0
    for i, (language, text) in enumerate(found):
        if language == "python":
            exec(compile(text, f"{page}, block {i}", "exec"), {"__name__": "__main__"})
            ran.append(f"python block {i}")
            total += 1
            continue
        for command in commands(text):
            total += 1
            if (reason := skip_reason(command)) is not None:
                skipped.append((command, reason))
                continue
            proc = subprocess.run(
                ["bash", "-c", localize(command)], capture_output=True, text=True, timeout=300, env=ENV
            )
            assert proc.returncode == 0, f"{page}: {command}\n{proc.stderr}"
            ran.append(command)
    assert len(ran) + len(skipped) == total and ran
    reasons = [reason for _, reason in skipped]
    assert "installs" in reasons and reasons.count("runs the test suite") == 1  # the two documented exceptions
    for name in OUTPUTS[page]:
        with Image.open(tmp_path / name) as image:
            assert image.format == "PNG", name


def test_readme_is_one_screen_with_two_commands_and_a_short_example():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 45
    (bash,) = [t for language, t in blocks("README.md") if language == "bash"]
    assert len(commands(bash.split("\n")[0])) > 1 and commands(bash)[-2:] == [
        ".venv/bin/interestyle demo",
        ".venv/bin/python -m pytest -q",
    ]
    assert "torch==2.13.0" in bash and "-e '.[dev,docs]'" in bash
    (python,) = [t for language, t in blocks("README.md") if language == "python"]
    assert len(python.strip().splitlines()) <= 10 and "load_encoder()" in python


def test_readme_picture_and_links_exist():
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#]+)\)", text)
    assert "docs/img/demo.png" in targets
    for target in targets:
        assert (ROOT / target).exists(), target


def test_cli_entry_point():
    proc = subprocess.run([sys.executable, "-m", "interestyle", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("interestyle ")
