"""The packages of ``aanlevering`` import each other in one direction, without cycles.

Why: a cycle between packages means none of them can be understood, tested or
changed on its own, and import order starts to matter (a function-level import
"to break the cycle" only hides it). This test reads every module of
``src/aanlevering`` with :mod:`ast` (nothing is imported, so it is fast and sees
imports inside functions too) and checks two things:

- the package graph has no cycle (independent of the declared order below);
- every import points down :data:`LAYERS`: to a package of a lower layer, or
  to one listed before it in its own layer. A wrong-direction import fails
  with the importing file and line.

"Package" means a sub-package (``aanlevering.fhir``) or a top-level module
(``aanlevering.errors``); imports inside one package are free. Imports under
``if TYPE_CHECKING:`` are not counted: they never run, and exist only for
annotations. Imports by name at run time (the event registry's
``EVENT_MODULES``, the CLI's sub-command modules) are plug-in lists, not
``import`` statements, and are not counted either.

To place a new package, add it to the layer whose packages it may use; if an
import fails here, move the shared part down instead of reordering the layers
around it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "src" / "aanlevering"

#: The allowed direction, lowest layer first. A package may import packages of
#: lower layers and packages listed before it in its own layer, nothing else.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "leaf modules",
        (
            "errors",
            "arrow_counts",
            "switches",
            "demo_mode",
            "private_files",
            "settings",
            "periods",
            "pseudonym_types",
            "tls",
            "bounded_answers",
            "json_input",
            "yaml_input",
            "actor",
            "operator_text",
            "progress",
            "worker_processes",
            "whole_files",
            "shown_urls",
            "shown_names",
            "withheld_traceback",
            "process_space",
            "temp_folders",
        ),
    ),
    ("core models", ("catalogue", "events")),
    (
        "stages",
        (
            "extract",
            "pseudonym",
            "validate",
            "obligation",
            "optout",
            "fhir",
            "deliver",
            "output",
            "demo",
        ),
    ),
    ("services", ("counterparts", "projections", "onboard")),
    ("composition", ("pipeline", "retract", "runs")),
    ("entry points", ("cli", "airflow")),
)

#: Each package's place in the total order LAYERS declares.
RANK = {
    package: rank
    for rank, package in enumerate(package for _, packages in LAYERS for package in packages)
}
LAYER_OF = {package: layer for layer, packages in LAYERS for package in packages}
DIRECTION = " -> ".join(layer for layer, _ in LAYERS)


@dataclass(frozen=True)
class Import:
    """One import statement of a project module, resolved to absolute module names."""

    file: Path
    line: int
    source: str  # package of the importing module
    target: str  # package of the imported module
    module: str  # imported module, for the message


def module_name(path: Path, root: Path = ROOT) -> str:
    """``aanlevering.fhir.patient`` for ``src/aanlevering/fhir/patient.py``."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str) -> str | None:
    """The sub-package or top-level module of a project module (None: not ours, or the root)."""
    parts = module.split(".")
    if parts[0] != ROOT.name or len(parts) < 2:
        return None
    return parts[1]


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Ids of the import nodes under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        ):
            for statement in node.body:
                hidden.update(id(inner) for inner in ast.walk(statement))
    return hidden


def imported_modules(source: str, module: str, *, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, absolute module) of every import in ``source``, at any depth, minus TYPE_CHECKING.

    ``from a.b import c`` yields ``a.b`` once; ``from aanlevering import fhir``
    yields ``aanlevering.fhir`` (the root's names are its packages).
    """
    tree = ast.parse(source)
    hidden = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = package[: len(package) - (node.level - 1)]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            if "." in origin:
                yield node.lineno, origin
            else:
                for alias in node.names:
                    yield node.lineno, f"{origin}.{alias.name}"


def project_imports(root: Path = ROOT) -> list[Import]:
    """Every import from one package of ``aanlevering`` into another."""
    found: list[Import] = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        source = package_of(module)
        if source is None:
            continue  # aanlevering/__init__.py: the root imports nothing of ours
        for line, imported in imported_modules(
            path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py"
        ):
            target = package_of(imported)
            if target is not None and target != source:
                found.append(Import(path, line, source, target, imported))
    return found


def _where(item: Import) -> str:
    return f"{item.file.relative_to(ROOT.parents[1])}:{item.line}"


def find_cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected groups of two or more packages (Tarjan), each sorted."""
    graph: dict[str, set[str]] = defaultdict(set)
    for item in imports:
        graph[item.source].add(item.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_every_package_has_its_place_in_the_layers() -> None:
    present = {
        path.stem if path.is_file() else path.name
        for path in ROOT.iterdir()
        if (path.suffix == ".py" and path.name != "__init__.py")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    declared = [package for _, packages in LAYERS for package in packages]
    assert len(declared) == len(set(declared)), "a package is declared in two places"
    assert present - set(declared) == set(), "new packages: add them to LAYERS"
    assert set(declared) - present == set(), "LAYERS names packages that no longer exist"


def test_no_import_cycle_between_packages() -> None:
    imports = project_imports()
    cycles = find_cycles(imports)
    lines = []
    for group in cycles:
        lines.append("cycle: " + " <-> ".join(group))
        lines.extend(
            f"  {_where(item)}: {item.source} imports {item.module}"
            for item in imports
            if item.source in group and item.target in group
        )
    assert cycles == [], "\n".join(lines)


def test_imports_point_down_the_layers() -> None:
    wrong = [
        f"{_where(item)}: {item.source} ({LAYER_OF.get(item.source, 'not in LAYERS')}) "
        f"imports {item.module} ({item.target}, {LAYER_OF.get(item.target, 'not in LAYERS')})"
        for item in project_imports()
        if RANK.get(item.target, -1) >= RANK.get(item.source, -1)
    ]
    assert wrong == [], (
        f"imports must point down the layers ({DIRECTION}), or within a layer to a package "
        "listed before the importer in LAYERS:\n" + "\n".join(wrong)
    )


def test_the_scanner_sees_imports_in_functions_and_skips_type_checking_blocks() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import aanlevering.errors\n"
        "from aanlevering.catalogue import model\n"
        "from . import sibling\n"
        "from ..events.store import EventStore\n"
        "if TYPE_CHECKING:\n"
        "    from aanlevering.cli.main import main\n"
        "def late() -> None:\n"
        "    if True:\n"
        "        from aanlevering.pipeline import run_delivery\n"
    )
    found = list(imported_modules(source, "aanlevering.fhir.patient", is_package=False))
    assert found == [
        (1, "typing.TYPE_CHECKING"),
        (2, "aanlevering.errors"),
        (3, "aanlevering.catalogue"),
        (4, "aanlevering.fhir"),
        (5, "aanlevering.events.store"),
        (10, "aanlevering.pipeline"),
    ]
    from_init = list(
        imported_modules("from .model import X\n", "aanlevering.fhir", is_package=True)
    )
    assert from_init == [(1, "aanlevering.fhir.model")]
    from_root = list(
        imported_modules("from aanlevering import cli, errors\n", "m", is_package=False)
    )
    assert from_root == [(1, "aanlevering.cli"), (1, "aanlevering.errors")]


def test_the_cycle_finder_reports_a_cycle_and_only_its_members() -> None:
    def edge(source: str, target: str) -> Import:
        return Import(ROOT / "x.py", 1, source, target, f"aanlevering.{target}")

    imports = [edge("a", "b"), edge("b", "c"), edge("c", "a"), edge("c", "d"), edge("d", "e")]
    assert find_cycles(imports) == [["a", "b", "c"]]
    assert find_cycles(imports[3:]) == []
