"""docs/api.md documents every public name: each ``__all__`` entry of ``interestyle`` and its subpackages.

A name counts as documented when a ``::: path`` directive of the page resolves to the same object, or to
the module that defines it (mkdocstrings then renders its public members); a constant or type alias needs
its own directive. Dunder metadata (``__version__``) is exempt.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

import interestyle

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = [p.name for p in (ROOT / "src" / "interestyle").iterdir() if (p / "__init__.py").is_file()]
PACKAGES = ["interestyle", *sorted(f"interestyle.{name}" for name in SUBPACKAGES)]
DIRECTIVES = re.findall(r"^::: ([\w.]+)\s*$", (ROOT / "docs" / "api.md").read_text(), flags=re.M)


def resolve(path: str) -> object:
    """Import the longest module prefix of ``path`` and get the rest as attributes."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for part in parts[i:]:
            obj = getattr(obj, part)
        return obj
    raise ModuleNotFoundError(path)


def is_code(obj: object) -> bool:
    return inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismodule(obj)


def documented() -> tuple[set[int], set[str]]:
    """Ids of the objects the page documents, and the directive paths themselves."""
    ids = set()
    for path in DIRECTIVES:
        obj = resolve(path)
        ids.add(id(obj))
        if inspect.ismodule(obj):
            ids.update(
                id(member)
                for name, member in vars(obj).items()
                if not name.startswith("_") and getattr(member, "__module__", None) == obj.__name__
            )
    return ids, set(DIRECTIVES)


def public_names() -> list[tuple[str, str]]:
    out = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        out += [(package, name) for name in getattr(module, "__all__", []) if not name.startswith("__")]
    return out


def test_every_directive_resolves():
    assert len(DIRECTIVES) > 50
    for path in DIRECTIVES:
        resolve(path)


def test_every_public_name_is_documented():
    ids, paths = documented()
    missing = []
    for package, name in public_names():
        obj = getattr(importlib.import_module(package), name)
        if is_code(obj):
            found = id(obj) in ids
        else:
            module = getattr(obj, "__module__", None)
            found = f"{package}.{name}" in paths or f"{module}.{name}" in paths
        if not found:
            missing.append(f"{package}.{name}")
    assert not missing, f"add to docs/api.md: {missing}"


@pytest.mark.parametrize("package", PACKAGES)
def test_public_functions_and_classes_have_docstrings(package):
    module = importlib.import_module(package)
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert (inspect.getdoc(obj) or "").strip(), f"{package}.{name} has no docstring"


def test_the_rule_can_fail(monkeypatch):
    monkeypatch.setattr(interestyle, "__all__", [*interestyle.__all__, "undocumented_helper"], raising=True)
    monkeypatch.setattr(interestyle, "undocumented_helper", lambda: None, raising=False)
    with pytest.raises(AssertionError, match=r"interestyle\.undocumented_helper"):
        test_every_public_name_is_documented()


def test_dir_of_the_package_shows_its_public_names_only():
    names = set(dir(interestyle))
    assert names == {*interestyle.__all__, "IntereStylePipeline"}
    assert not {"Any", "TYPE_CHECKING", "annotations"} & names


SPHINX_ROLE = re.compile(r":(mod|class|func|meth|attr|data|exc|obj):`")
# how mkdocstrings (griffe) reads the first line of a Returns section: "name (type): description"
NAMED_RETURN = re.compile(r"^\w+\s*(\(.+\))?:")


def _docstrings() -> list[tuple[str, str]]:
    import ast

    out = []
    for path in sorted((ROOT / "src" / "interestyle").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in [tree, *ast.walk(tree)]:
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                doc = ast.get_docstring(node)
                if doc:
                    out.append((f"{path.relative_to(ROOT)}:{getattr(node, 'name', '<module>')}", doc))
    return out


def test_docstrings_cross_reference_in_markdown_not_in_sphinx_roles():
    # mkdocstrings renders :class:`X` as the raw text; [`X`][interestyle.X] is a link on the API page
    offenders = [where for where, doc in _docstrings() if SPHINX_ROLE.search(doc)]
    assert not offenders, offenders


def test_returns_sections_do_not_start_with_what_reads_as_a_name():
    # "Returns: The :class:`X` ..." used to render as a table whose name column read "The"
    offenders = []
    for where, doc in _docstrings():
        lines = doc.splitlines()
        for i, line in enumerate(lines[:-1]):
            if line.strip() in ("Returns:", "Yields:") and NAMED_RETURN.match(lines[i + 1].strip()):
                offenders.append(f"{where}: {lines[i + 1].strip()}")
    assert not offenders, offenders
