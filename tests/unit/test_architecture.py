"""The walls between the rooms, read from the source: who may import what, no import cycles
(imports inside functions included), and no source file over about 400 lines without a reason
stated at its top."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "adapters", "storage", "nlu", "frontdoor")
PLATFORM_SDKS = frozenset({"slack_bolt", "slack_sdk", "telegram"})
MAX_LINES = 400
# A longer file says why in its first lines, after this marker.
LONG_FILE_MARKER = "Longer than 400 lines because"


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue  # Alembic's generated revisions
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imported_names(name: str, path: Path) -> Iterator[str]:
    """Every module name an import statement anywhere in the file names (functions too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _project_module(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Project imports per module, and the outside packages each one imports."""
    inside: dict[str, set[str]] = {}
    outside: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        inside[name], outside[name] = set(), set()
        for imported in _imported_names(name, path):
            target = _project_module(imported)
            if target is None:
                outside[name].add(imported.partition(".")[0])
            elif target != name:
                inside[name].add(target)
    return inside, outside


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


INSIDE, OUTSIDE = _graph()


def test_there_are_no_import_cycles_even_through_imports_inside_functions() -> None:
    assert _cycles(INSIDE) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_engine_knows_no_sdk_no_sqlalchemy_and_no_outer_room() -> None:
    offenders = {name: sorted((OUTSIDE[name] & (PLATFORM_SDKS | {"sqlalchemy", "rasa"}))
                              | {m for m in INSIDE[name] if not m.startswith("bot")})
                 for name in MODULES if name.startswith("bot")}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_platform_sdks_are_imported_only_in_adapters() -> None:
    offenders = {name: sorted(OUTSIDE[name] & PLATFORM_SDKS) for name in MODULES
                 if not name.startswith("adapters")}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_sqlalchemy_is_imported_only_in_storage() -> None:
    offenders = [name for name in MODULES
                 if "sqlalchemy" in OUTSIDE[name] and not name.startswith("storage")]
    assert offenders == []


# Custom pipeline components run inside the Rasa environment (its own Python), which the
# training and serving commands point at this directory; they are the one place Rasa is imported.
RASA_COMPONENTS = "nlu.rasa.components."


def test_rasa_is_never_imported_only_talked_to_by_nlu() -> None:
    assert [name for name in MODULES
            if "rasa" in OUTSIDE[name] and not name.startswith(RASA_COMPONENTS)] == []
    assert [name for name in MODULES if name.startswith(RASA_COMPONENTS)] != []
    # The app never imports a component: it would need Rasa in the app's environment.
    assert [name for name, imported in INSIDE.items()
            if any(module.startswith(RASA_COMPONENTS) for module in imported)] == []
    talks_rasa = [name for name, path in MODULES.items()
                  if "/model/parse" in path.read_text() and not name.startswith("nlu")]
    assert talks_rasa == []


def test_the_graph_sees_imports_inside_functions() -> None:
    # storage.notify is imported inside build_server: the graph must see it.
    assert "storage.notify" in INSIDE["frontdoor.serve_app"]


def test_no_source_file_is_over_400_lines_without_a_reason_at_its_top() -> None:
    long_ones = {}
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        if len(lines) > MAX_LINES and LONG_FILE_MARKER not in "\n".join(lines[:15]):
            long_ones[name] = len(lines)
    assert long_ones == {}


def test_no_test_or_benchmark_file_is_over_400_lines_without_a_reason_at_its_top() -> None:
    long_ones = {}
    for room in ("tests", "bench"):
        for path in (ROOT / room).rglob("*.py"):
            lines = path.read_text().splitlines()
            if len(lines) > MAX_LINES and LONG_FILE_MARKER not in "\n".join(lines[:15]):
                long_ones[str(path.relative_to(ROOT))] = len(lines)
    assert long_ones == {}


def test_mypy_strict_covers_every_room() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True
    assert sorted(config["files"]) == sorted(PACKAGES)
