"""The arrows point inward: ``core`` and ``indexer`` know nothing of chat SDKs, web frameworks or the DB.

Each module is checked twice: its source (every ``import``, function-level ones included, parsed
with ``ast``) and what importing it really loads (a fresh interpreter per module, ``sys.modules``).

Above the core the packages are layered as DESIGN.md draws them: ``channels -> conversations ->
tickets/notices -> interactions (the stored records) -> core -> indexer``. Only ``channels`` (and the
app around it) may know a chat SDK or a web framework; no package imports one above it, and the
packages import each other without a cycle.
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEUTRAL_PACKAGES = ("bot/core", "indexer")
# Chat SDKs, web frameworks and database layers belong to channels/, main.py and the stores.
FORBIDDEN = (
    "slack_bolt",
    "slack_sdk",
    "fastapi",
    "starlette",
    "microsoft_agents",
    "botbuilder",
    "sqlalchemy",
    "sqlmodel",
)
# What the core may not reach into: the adapters, the app, and the database-backed areas.
OUTER_LAYERS = ("bot.channels", "bot.main", "bot.interactions", "bot.db")
# The model toolchain: only the one-off ONNX export may load it, never the query path.
MODEL_TOOLCHAIN = ("torch", "transformers", "sentence_transformers")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = sorted(module_name(p) for package in NEUTRAL_PACKAGES for p in (ROOT / package).rglob("*.py"))
CORE_MODULES = [m for m in MODULES if m.startswith("bot.core")]


def source_path(module: str) -> Path:
    path = ROOT / Path(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imported_names(module: str) -> set[str]:
    """Every module the source of ``module`` names in an import statement."""
    path = source_path(module)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> set[str]:
    """The modules ``source`` (code of a module in ``package``) imports, relative imports resolved."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - (node.level - 1)])
                base = f"{anchor}.{base}" if base else anchor
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


PROBE = (
    "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(list(sys.modules)))"
)


def loaded_by(module: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"importing {module} failed:\n{done.stderr[-2000:]}"
    return set(json.loads(done.stdout))


@functools.cache
def loaded_by_every_module() -> dict[str, set[str]]:
    """For each module, what a fresh interpreter holds after importing it (probed in parallel, once)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(MODULES, pool.map(loaded_by, MODULES), strict=True))


@pytest.fixture
def loaded() -> dict[str, set[str]]:
    return loaded_by_every_module()


def test_the_neutral_packages_are_found() -> None:
    assert "bot.core.assistant" in MODULES
    assert "indexer.store" in MODULES


@pytest.mark.parametrize("module", MODULES)
def test_source_imports_no_chat_sdk_web_framework_or_database_layer(module: str) -> None:
    assert sorted(n for n in imported_names(module) if within(n, FORBIDDEN)) == []


@pytest.mark.parametrize("module", MODULES)
def test_importing_loads_no_chat_sdk_web_framework_or_database_layer(
    module: str, loaded: dict[str, set[str]]
) -> None:
    assert sorted(n for n in loaded[module] if within(n, FORBIDDEN)) == []


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_source_imports_nothing_from_channels_app_or_database_areas(module: str) -> None:
    assert sorted(n for n in imported_names(module) if within(n, OUTER_LAYERS)) == []


@pytest.mark.parametrize("module", CORE_MODULES)
def test_importing_core_loads_nothing_from_channels_app_or_database_areas(
    module: str, loaded: dict[str, set[str]]
) -> None:
    assert sorted(n for n in loaded[module] if within(n, OUTER_LAYERS)) == []


def test_importing_the_assistant_does_not_load_torch_or_transformers(loaded: dict[str, set[str]]) -> None:
    assert sorted(n for n in loaded["bot.core.assistant"] if within(n, MODEL_TOOLCHAIN)) == []


def test_importing_the_index_builder_does_not_load_torch_or_transformers(loaded: dict[str, set[str]]) -> None:
    assert sorted(n for n in loaded["indexer.build"] if within(n, MODEL_TOOLCHAIN)) == []


def test_importing_the_index_builder_does_not_load_bm25s_or_scipy(loaded: dict[str, set[str]]) -> None:
    # A rebuild after one edit must stay well under a second: bm25s (with SciPy) is for searching.
    assert sorted(n for n in loaded["indexer.build"] if within(n, ("bm25s", "scipy"))) == []


def test_the_import_walk_sees_imports_inside_functions() -> None:
    # A check that finds nothing proves nothing: the walk must see the imports a module hides.
    source = "def export():\n    import torch\n    from slack_sdk import WebClient\n"
    assert {"torch", "slack_sdk", "slack_sdk.WebClient"} <= imports_in(source, "indexer")


def test_the_import_walk_resolves_relative_imports() -> None:
    source = "from . import fusion\nfrom ..channels import slack\nfrom ..db import engine\n"
    assert imports_in(source, "bot.core") == {
        "bot.core",
        "bot.core.fusion",
        "bot.channels",
        "bot.channels.slack",
        "bot.db",
        "bot.db.engine",
    }


def test_the_import_walk_sees_the_real_lazy_imports() -> None:
    assert "faiss" in imported_names("indexer.dense")  # imported inside methods
    assert "indexer.onnx_export.export_onnx" in imported_names("indexer.encoder")  # inside a function


# -- the layers above the core -------------------------------------------------------------------

# Chat SDKs and web frameworks: only bot/channels, bot/main and the console's pages may import them.
CHANNEL_ONLY = ("slack_bolt", "slack_sdk", "fastapi", "starlette", "microsoft_agents", "botbuilder")
BELOW_CHANNELS = ("bot/conversations", "bot/tickets", "bot/notices", "bot/interactions", "bot/core")
LAYERED_MODULES = sorted(module_name(p) for package in BELOW_CHANNELS for p in (ROOT / package).rglob("*.py"))
# Each package may import only packages of a lower rank (tickets and notices share one rank; the
# cycle check keeps them from importing each other both ways).
RANK = {
    "bot.channels": 5,
    "bot.conversations": 4,
    "bot.tickets": 3,
    "bot.notices": 3,
    "bot.interactions": 2,
    "bot.core": 1,
    "indexer": 0,
}


def package_of(module: str) -> str | None:
    """The layered package ``module`` belongs to, or None for one outside them (config, db, ...)."""
    return next((p for p in RANK if within(module, (p,))), None)


def package_imports() -> dict[str, set[str]]:
    """For each layered package, the other layered packages its modules' source imports."""
    graph: dict[str, set[str]] = {package: set() for package in RANK}
    for package in RANK:
        for path in (ROOT / Path(*package.split("."))).rglob("*.py"):
            for name in imported_names(module_name(path)):
                target = package_of(name)
                if target is not None and target != package:
                    graph[package].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle in ``graph`` as the nodes along it (first node repeated at the end), or []."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        for target in sorted(graph.get(node, ())):
            found = visit(target, [*path, node])
            if found:
                return found
        done.add(node)
        return []

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return []


def test_the_layered_modules_are_found() -> None:
    assert "bot.conversations.flow" in LAYERED_MODULES
    assert "bot.tickets.escalation" in LAYERED_MODULES
    assert "bot.notices.matching" in LAYERED_MODULES


@pytest.mark.parametrize("module", LAYERED_MODULES)
def test_below_the_channels_no_source_imports_a_chat_sdk_or_web_framework(module: str) -> None:
    assert sorted(n for n in imported_names(module) if within(n, CHANNEL_ONLY)) == []


@pytest.mark.parametrize("package", ["bot.conversations", "bot.tickets", "bot.notices", "bot.interactions"])
def test_importing_a_package_below_the_channels_loads_no_chat_sdk_or_web_framework(package: str) -> None:
    # One interpreter imports every module of the package: whatever any of them pulls in shows.
    modules = [m for m in LAYERED_MODULES if within(m, (package,))]
    probe = "import importlib, json, sys\nfor m in sys.argv[1:]: importlib.import_module(m)\n"
    probe += "print(json.dumps(list(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe, *modules], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"importing {package} failed:\n{done.stderr[-2000:]}"
    assert sorted(n for n in json.loads(done.stdout) if within(n, CHANNEL_ONLY)) == []


@pytest.mark.parametrize("module", LAYERED_MODULES)
def test_no_module_imports_a_package_above_its_own(module: str) -> None:
    own = package_of(module)
    assert own is not None
    above = sorted(
        n
        for n in imported_names(module)
        if (p := package_of(n)) is not None and p != own and RANK[p] > RANK[own]
    )
    assert above == []


def test_tickets_and_notices_import_neither_conversations_nor_channels() -> None:
    graph = package_imports()
    assert graph["bot.tickets"] & {"bot.conversations", "bot.channels"} == set()
    assert graph["bot.notices"] & {"bot.conversations", "bot.channels"} == set()


def test_conversations_do_not_import_channels() -> None:
    assert "bot.channels" not in package_imports()["bot.conversations"]


def test_the_packages_import_each_other_without_a_cycle() -> None:
    assert find_cycle(package_imports()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    # A check that finds nothing proves nothing: two packages importing each other are a cycle.
    graph = {"bot.tickets": {"bot.core", "bot.conversations"}, "bot.conversations": {"bot.tickets"}}
    assert find_cycle(graph) == ["bot.conversations", "bot.tickets", "bot.conversations"]
    assert find_cycle({"bot.tickets": {"bot.core"}, "bot.core": set()}) == []
