"""The import contract: which part of ``interestyle`` may import which, checked on the source by an AST walk.

docs/architecture.md states the same rules for people. A *unit* is a subpackage (``masks``), a top-level
module (``hub``) or the package root (``interestyle``). Every import statement counts: at module level,
inside functions and under ``TYPE_CHECKING`` alike, together with the package ``__init__`` files Python
runs on the way (importing ``interestyle.masks.protocol`` from outside ``masks`` runs
``masks/__init__.py``) and the modules the registries load by name (:func:`dynamic_imports`): moving an
import into a function is no way around a rule. The one rule that tells the two apart is the optional
backends': those must be imported inside functions.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "interestyle"

THIN_LAYERS = ("interestyle", "__main__", "pipelines", "cli", "app", "demo", "comfy")
"""The public face and the front ends over the API: nothing below them imports them."""
LADDER: tuple[tuple[str, ...], ...] = (
    ("nn",),
    ("models",),
    ("hub", "directions", "inversion", "editing", "lossnets", "pivotal", "evaluation"),
    THIN_LAYERS,
)
"""``nn`` <- ``models`` <- what is built on the models <- the thin layers: no unit imports a higher rung."""
MODEL_FREE = ("masks", "align", "images", "synthetic", "metrics", "results")
LEAVES = ("interestyle.masks.morphology",)
"""Modules the rest of their package builds on: they import no other module of it."""
FOUNDATIONS = ("validation", "blur")
"""Top-level modules every part may use: each imports only the ones before it in this tuple."""
LOADING = ("hub", "locate", "serialization", "models", "masks", "directions", "lossnets", "pivotal")
OPTIONAL_BACKENDS = ("mediapipe", "accelerate", "gradio", "comfy", "yaml")
BACKEND_ADAPTERS: Mapping[str, str] = {"interestyle.app.ui": "gradio"}
"""Modules that exist to wrap one backend: they import it at module level, and are themselves imported
only inside functions."""


@dataclass(frozen=True)
class Edge:
    """One module importing another (or, with ``external``, a third-party top-level name)."""

    importer: str
    target: str
    path: Path
    line: int
    statement: str
    in_function: bool
    type_only: bool = False  # under ``if TYPE_CHECKING:``
    implicit: bool = False  # a package __init__ run on the way to ``target``'s submodule
    external: bool = False
    registry: bool = False  # an entry a registry loads by name (see dynamic_imports)

    def where(self, src: Path) -> str:
        return f"{self.path.relative_to(src.parent)}:{self.line}: {self.statement}"


@dataclass
class Graph:
    src: Path
    modules: dict[str, Path]
    packages: set[str]
    edges: list[Edge]
    dynamic_sites: dict[str, int]  # module -> line of an importlib.import_module call

    def internal(self) -> list[Edge]:
        return [e for e in self.edges if not e.external]

    def successors(self) -> dict[str, list[Edge]]:
        out: dict[str, list[Edge]] = {m: [] for m in self.modules}
        for e in self.internal():
            out[e.importer].append(e)
        return out


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


# -- the walk --------------------------------------------------------------------------------------------
def _module_names(src: Path) -> tuple[dict[str, Path], set[str]]:
    modules, packages = {}, set()
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
            packages.add(".".join(parts))
        modules[".".join(parts)] = path
    return modules, packages


class _Imports(ast.NodeVisitor):
    """Import statements of one module, each with whether it runs inside a function or only for typing."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, bool, bool]] = []
        self.dynamic: list[int] = []
        self.functions = 0
        self.typing = 0

    def _function(self, node: ast.AST) -> None:
        self.functions += 1
        self.generic_visit(node)
        self.functions -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            self.typing += 1
            for child in node.body:
                self.visit(child)
            self.typing -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.found.append((node, self.functions > 0, self.typing > 0))

    visit_Import = visit_ImportFrom = _import

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if name in ("import_module", "__import__"):
            self.dynamic.append(node.lineno)
        self.generic_visit(node)


def _longest_module(name: str, modules: Mapping[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: Mapping[str, Path]):
    """(internal module names, external top-level names) that ``node`` imports."""
    internal, external = [], []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                internal.append(_longest_module(alias.name, modules))
            else:
                external.append(alias.name.split(".")[0])
        return internal, external
    if node.level:
        base_parts = module.split(".") if is_package else module.split(".")[:-1]
        base_parts = base_parts[: len(base_parts) - (node.level - 1)]
        base = ".".join([*base_parts, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    if base != PACKAGE and not base.startswith(PACKAGE + "."):
        return [], [base.split(".")[0]]
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        internal.append(candidate if candidate in modules else _longest_module(base, modules))
    return internal, external


def scan(src: Path, dynamic: Mapping[str, Sequence[str]] | None = None) -> Graph:
    """The import graph of ``src/interestyle``; ``dynamic`` adds the modules each registry loads by name."""
    dynamic = dynamic or {}
    modules, packages = _module_names(src)
    edges: list[Edge] = []
    sites: dict[str, int] = {}
    for module, path in modules.items():
        text = path.read_text(encoding="utf-8")
        visitor = _Imports()
        visitor.visit(ast.parse(text, str(path)))
        if visitor.dynamic:
            sites[module] = visitor.dynamic[0]
        for node, in_function, type_only in visitor.found:
            statement = " ".join((ast.get_source_segment(text, node) or "").split())
            internal, external = _targets(node, module, module in packages, modules)
            edge = Edge(module, "", path, node.lineno, statement, in_function, type_only)
            edges += [replace(edge, target=name, external=True) for name in external]
            for target in dict.fromkeys(t for t in internal if t is not None and t != module):
                edges += _with_parents(replace(edge, target=target), packages)
        for target in dynamic.get(module, ()):
            statement = f"importlib.import_module({target!r}) (a registry entry)"
            entry = Edge(module, target, path, sites.get(module, 1), statement, True, registry=True)
            edges += _with_parents(entry, packages)
    return Graph(src, modules, packages, edges, sites)


def _with_parents(edge: Edge, packages: set[str]) -> list[Edge]:
    """``edge`` and the edges to the packages whose ``__init__`` Python runs first (those not holding the
    importer, which are running already)."""
    out = [edge]
    parts = edge.target.split(".")
    for i in range(1, len(parts)):
        parent = ".".join(parts[:i])
        if parent in packages and edge.importer != parent and not edge.importer.startswith(parent + "."):
            out.append(replace(edge, target=parent, implicit=True))
    return out


# -- the rules -------------------------------------------------------------------------------------------
def _violation(graph: Graph, edge: Edge, rule: str, why: str) -> str:
    return f"{edge.where(graph.src)}\n    breaks '{rule}': {why}"


def _once_per_statement(violations: Iterable[str]) -> list[str]:
    """The first violation of each import statement (an import and the ``__init__`` it runs share one)."""
    first: dict[str, str] = {}
    for v in violations:
        first.setdefault(v.partition("\n")[0], v)
    return list(first.values())


def _reach(graph: Graph, sources: Iterable[str], forbidden: Callable[[str], bool], rule: str) -> list[str]:
    """One violation per import statement of a source module from which a forbidden module is reachable."""
    successors = graph.successors()
    found: dict[tuple[Path, int], str] = {}
    for start in sources:
        parent: dict[str, Edge] = {}
        queue = deque([start])
        seen = {start}
        while queue:
            current = queue.popleft()
            for edge in successors[current]:
                if edge.target in seen:
                    continue
                seen.add(edge.target)
                parent[edge.target] = edge
                if forbidden(edge.target):
                    path = [edge]
                    while path[0].importer != start:
                        path.insert(0, parent[path[0].importer])
                    key = (path[0].path, path[0].line)
                    chain = " -> ".join([start, *(e.target for e in path)])
                    found.setdefault(key, _violation(graph, path[0], rule, f"it reaches {edge.target} ({chain})"))
                else:
                    queue.append(edge.target)
    return list(found.values())


def _in_units(graph: Graph, units: Sequence[str]) -> list[str]:
    return [m for m in graph.modules if unit(m) in units]


def check_layers(graph: Graph) -> list[str]:
    rule = "layers: nn <- models <- hub, directions, inversion, editing, lossnets, pivotal <- thin layers"
    rung = {u: i for i, names in enumerate(LADDER) for u in names}
    out: list[str] = []
    for e in graph.internal():
        a, b = unit(e.importer), unit(e.target)
        if a == b or b not in rung:
            continue
        if a in rung and rung[b] > rung[a]:
            out.append(_violation(graph, e, rule, f"{a} (rung {rung[a]}) imports {b} (rung {rung[b]})"))
        elif a not in rung and b in THIN_LAYERS:
            out.append(_violation(graph, e, rule, f"{a} imports the thin layer {b}"))
    return _once_per_statement(out)


def check_model_free(graph: Graph) -> list[str]:
    rule = f"{', '.join(MODEL_FREE)} never import models"
    return _reach(graph, _in_units(graph, MODEL_FREE), lambda m: unit(m) == "models", rule)


def check_leaves(graph: Graph) -> list[str]:
    rule = f"{', '.join(LEAVES)} import(s) no other module of their package"
    return _once_per_statement(
        _violation(graph, e, rule, f"{e.importer} imports {e.target}")
        for e in graph.internal()
        if e.importer in LEAVES and unit(e.target) == unit(e.importer)
    )


def check_foundations(graph: Graph) -> list[str]:
    rule = f"{', '.join(FOUNDATIONS)} import nothing of the package but the ones before them"
    return _once_per_statement(
        _violation(graph, e, rule, f"{e.importer} imports {e.target}")
        for e in graph.internal()
        if unit(e.importer) in FOUNDATIONS
        and unit(e.target) != unit(e.importer)
        and unit(e.target) not in FOUNDATIONS[: FOUNDATIONS.index(unit(e.importer))]
    )


def check_lossnets(graph: Graph) -> list[str]:
    rule = "lossnets never imports training, convert or pivotal (they import it)"
    users = ("training", "convert", "pivotal")
    return _reach(graph, _in_units(graph, ["lossnets"]), lambda m: unit(m) in users, rule)


def check_convert_without_training(graph: Graph) -> list[str]:
    rule = "convert never imports training"
    return _reach(graph, _in_units(graph, ["convert"]), lambda m: unit(m) == "training", rule)


def check_training_only_from_cli(graph: Graph) -> list[str]:
    rule = "nothing imports training but cli"
    return _once_per_statement(
        _violation(graph, e, rule, f"{unit(e.importer)} imports {e.target}")
        for e in graph.internal()
        if unit(e.target) == "training" and unit(e.importer) not in ("training", "cli")
    )


def check_loading_without_convert(graph: Graph) -> list[str]:
    rule = f"loading code ({', '.join(LOADING)}) never imports convert"
    return _reach(graph, _in_units(graph, LOADING), lambda m: unit(m) == "convert", rule)


def check_no_root_import(graph: Graph) -> list[str]:
    rule = "no module imports the package root (interestyle/__init__.py)"
    return [
        _violation(graph, e, rule, f"{e.importer} imports {PACKAGE}; take the name from the module defining it")
        for e in graph.internal()
        if e.target == PACKAGE and e.importer != PACKAGE
    ]


def check_optional_backends(graph: Graph, adapters: Mapping[str, str] = BACKEND_ADAPTERS) -> list[str]:
    rule = f"optional backends ({', '.join(OPTIONAL_BACKENDS)}) are imported only inside functions"
    out = []
    for e in graph.edges:
        if e.in_function or e.type_only:
            continue
        if e.external and e.target in OPTIONAL_BACKENDS and adapters.get(e.importer) != e.target:
            out.append(_violation(graph, e, rule, f"{e.importer} imports {e.target} at module level"))
        elif not e.external and e.target in adapters:
            why = f"{e.importer} imports {e.target} (which imports {adapters[e.target]}) at module level"
            out.append(_violation(graph, e, rule, why))
    return _once_per_statement(out)


def _components(nodes: Iterable[str], successors: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(successors.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(successors.get(child, ()))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _cycle_in(component: Sequence[str], step: Callable[[str, str], Edge | None]) -> tuple[list[str], list[Edge]]:
    """One closed path through ``component``: its nodes (first = last) and one import per step."""
    start = component[0]
    queue: deque[tuple[str, list[str], list[Edge]]] = deque([(start, [start], [])])
    seen = {start}
    while queue:
        node, nodes, edges = queue.popleft()
        for other in component:
            edge = step(node, other)
            if edge is None:
                continue
            if other == start:
                return [*nodes, other], [*edges, edge]
            if other not in seen:
                seen.add(other)
                queue.append((other, [*nodes, other], [*edges, edge]))
    raise AssertionError(f"no cycle through {component}")


def _cycles(graph: Graph, what: str, nodes: Sequence[str], between: Mapping[tuple[str, str], Edge]) -> list[str]:
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in between:
        successors[a].append(b)
    out = []
    for component in _components(nodes, successors):
        chain, edges = _cycle_in(component, lambda a, b: between.get((a, b)))
        lines = "\n      ".join(e.where(graph.src) for e in edges)
        out.append(f"import cycle between {what}: {' -> '.join(chain)}\n      {lines}")
    return out


# A registry's entries import the registry's types, and the registry loads them by name only when asked:
# a loop by design (convert.registry <-> its kinds), so registry loads count for every rule but these two.
def check_module_cycles(graph: Graph) -> list[str]:
    between: dict[tuple[str, str], Edge] = {}
    for e in graph.internal():
        if not e.registry:
            between.setdefault((e.importer, e.target), e)
    return _cycles(graph, "modules", sorted(graph.modules), between)


def check_package_cycles(graph: Graph) -> list[str]:
    between: dict[tuple[str, str], Edge] = {}
    for e in graph.internal():
        if unit(e.importer) != unit(e.target) and not e.registry:
            between.setdefault((unit(e.importer), unit(e.target)), e)
    return _cycles(graph, "packages", sorted({unit(m) for m in graph.modules}), between)


DEPENDENCY_RULES: tuple[Callable[[Graph], list[str]], ...] = (
    check_layers,
    check_model_free,
    check_leaves,
    check_foundations,
    check_lossnets,
    check_convert_without_training,
    check_training_only_from_cli,
    check_loading_without_convert,
    check_no_root_import,
    check_optional_backends,
    check_module_cycles,
    check_package_cycles,
)


# -- the tree as it is -----------------------------------------------------------------------------------
def dynamic_imports() -> dict[str, list[str]]:
    """The modules each registry of the package loads by name (with ``importlib.import_module``)."""
    from interestyle.align.landmarks import _BUILTINS as LANDMARK_BUILTINS
    from interestyle.cli import COMMANDS
    from interestyle.convert.registry import KIND_MODULES

    return {
        "interestyle.convert.registry": [f"interestyle.convert.{name}" for name in KIND_MODULES],
        "interestyle.cli": [f"interestyle.cli.{name}" for name in COMMANDS],
        "interestyle.align.landmarks": [value.split(":")[0] for value in LANDMARK_BUILTINS.values()],
    }


@pytest.fixture(scope="module")
def graph() -> Graph:
    return scan(SRC, dynamic_imports())


@pytest.mark.parametrize("rule", DEPENDENCY_RULES, ids=lambda r: r.__name__.removeprefix("check_"))
def test_the_tree_keeps_the_import_contract(graph, rule):
    violations = rule(graph)
    assert not violations, f"{len(violations)} import(s) break the contract:\n" + "\n".join(violations)


def test_the_walk_sees_the_tree(graph):
    units = {unit(m) for m in graph.modules}
    assert {"nn", "models", "masks", "training", "convert", "lossnets", "cli"} <= units
    assert len(graph.internal()) > 200 and any(e.in_function for e in graph.internal())
    to_lossnets = [e for e in graph.edges if unit(e.importer) == "training" and e.target == "interestyle.lossnets"]
    assert to_lossnets and all(e.implicit for e in to_lossnets)  # the package __init__ run on the way
    assert any(e.importer == "interestyle.app" and e.target == "gradio" and e.type_only for e in graph.edges)


def test_every_dynamic_import_is_declared(graph):
    undeclared = sorted(set(graph.dynamic_sites) - set(dynamic_imports()))
    assert not undeclared, f"importlib.import_module in {undeclared}: add what it loads to dynamic_imports()"
    for module, targets in dynamic_imports().items():
        assert targets and all(t in graph.modules for t in targets), (module, targets)


def test_the_architecture_page_maps_every_unit(graph):
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    tree = page.split("```text", 1)[1].split("```", 1)[0]
    named = {line.split()[0] for line in tree.splitlines()[1:] if line.strip()}
    top = [m for m in graph.modules if m.count(".") == 1]
    units = {f"{unit(m)}/" if m in graph.packages else f"{unit(m)}.py" for m in top}
    assert units <= named, f"docs/architecture.md's module map lacks {sorted(units - named)}"
    for name in ("test_import_contract.py", *MODEL_FREE, *OPTIONAL_BACKENDS):
        assert name in page, name


def test_converting_never_loads_the_trainer(tmp_path):
    """What the static rules promise, at run time: auto-detection imports every kind, and no trainer."""
    checkpoint = tmp_path / "alex.pth"
    code = textwrap.dedent(
        f"""
        import sys, torch
        torch.save({{"lin0.model.1.weight": torch.zeros(1, 64, 1, 1)}}, {str(checkpoint)!r})
        from interestyle.convert import detect_kind, kinds, load_checkpoint
        assert len(kinds()) >= 9
        kind, why = detect_kind(load_checkpoint({str(checkpoint)!r}))
        assert kind.name == "lpips", (kind.name, why)
        print(sorted(m for m in sys.modules if m == "interestyle.training" or m.startswith("interestyle.training.")))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"converting loaded {result.stdout.strip()}"


# -- the rules can fail ----------------------------------------------------------------------------------
def make_tree(tmp_path: Path, files: Mapping[str, str]) -> Path:
    """A package ``interestyle`` under ``tmp_path/src`` with ``files`` (path -> source), ``__init__``s added."""
    src = tmp_path / "src"
    for name, text in {"__init__.py": "", **files}.items():
        path = src / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in [path.parent, *path.parent.parents]:
            if folder == src:
                break
            (folder / "__init__.py").touch()
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return src


CLEAN = {
    "errors.py": "",
    "nn/conv.py": "from ..errors import *\n",
    "models/net.py": "from ..nn.conv import *\n",
    "inversion.py": "from .models.net import *\nfrom .masks.resolve import *\n",
    "masks/morphology.py": "",
    "masks/resolve.py": "from .morphology import *\nfrom ..errors import *\n",
    "lossnets/arcface.py": "from ..models.net import *\n",
    "training/trainer.py": "from ..lossnets.arcface import *\nfrom ..inversion import *\n"
    "def run():\n    import accelerate\n",
    "convert/arcface.py": "from ..lossnets.arcface import *\n",
    "cli/train.py": "from ..training.trainer import *\nfrom .._version import __version__\n",
    "cli/app.py": "def run():\n    from ..app.ui import build\n",
    "app/ui.py": "import gradio\nfrom ..inversion import *\n",
    "_version.py": "__version__ = '0'\n",
    "validation.py": "",
    "blur.py": "from .validation import *\n",
}

BROKEN = [
    (check_layers, {"models/net.py": "from ..nn.conv import *\nfrom ..inversion import invert\n"}, "models/net.py:2"),
    (check_layers, {"masks/resolve.py": "def f():\n    from ..cli import train\n"}, "masks/resolve.py:2"),
    (check_model_free, {"masks/morphology.py": "from ..inversion import invert\n"}, "masks/morphology.py:1"),
    (check_leaves, {"masks/morphology.py": "def f():\n    from . import resolve\n"}, "masks/morphology.py:2"),
    (check_foundations, {"validation.py": "def f():\n    from .blur import x\n"}, "validation.py:2"),
    (check_foundations, {"blur.py": "from .validation import *\nfrom .errors import x\n"}, "blur.py:2"),
    (check_lossnets, {"lossnets/arcface.py": "def f():\n    from ..convert import arcface\n"}, "lossnets/arcface.py:2"),
    (
        check_convert_without_training,
        {"convert/arcface.py": "from ..training.trainer import x\n"},
        "convert/arcface.py:1",
    ),
    (check_training_only_from_cli, {"inversion.py": "def f():\n    from .training import trainer\n"}, "inversion.py:2"),
    (
        check_loading_without_convert,
        {"models/net.py": "def f():\n    from ..convert import arcface\n"},
        "models/net.py:2",
    ),
    (check_no_root_import, {"cli/train.py": "from .. import __version__\n"}, "cli/train.py:1"),
    (check_optional_backends, {"masks/resolve.py": "import mediapipe.python\n"}, "masks/resolve.py:1"),
    (check_optional_backends, {"cli/app.py": "from ..app.ui import build\n"}, "cli/app.py:1"),
    (check_module_cycles, {"masks/morphology.py": "def f():\n    from .resolve import x\n"}, "masks/morphology.py:2"),
    (check_package_cycles, {"nn/conv.py": "def f():\n    from ..models import net\n"}, "nn/conv.py:2"),
]


def test_a_clean_tree_breaks_no_rule(tmp_path):
    graph = scan(make_tree(tmp_path, CLEAN))
    assert len(graph.internal()) >= len(CLEAN)
    broken = [v for rule in DEPENDENCY_RULES for v in rule(graph)]
    assert not broken, broken


@pytest.mark.parametrize(("rule", "change", "where"), BROKEN, ids=lambda p: getattr(p, "__name__", None))
def test_each_rule_names_the_file_line_and_rule_it_catches(tmp_path, rule, change, where):
    graph = scan(make_tree(tmp_path, {**CLEAN, **change}))
    violations = rule(graph)
    assert violations, f"{rule.__name__} missed {change}"
    assert any(where in v for v in violations), violations
    expected = "import cycle between" if rule in (check_module_cycles, check_package_cycles) else "breaks '"
    assert all(expected in v for v in violations), violations
