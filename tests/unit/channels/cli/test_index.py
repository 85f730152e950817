"""``itbot index`` reads its settings as `Settings` does, without loading pydantic to do it."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.channels.cli.index import IndexSettings
from bot.channels.cli.main import main
from bot.config import Settings

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(autouse=True)
def no_itbot_variables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.lower().startswith("itbot_"):
            monkeypatch.delenv(name)
    yield


def test_without_variables_the_defaults_are_those_of_settings() -> None:
    assert IndexSettings.from_environment() == IndexSettings.of(Settings()) == IndexSettings()


@pytest.mark.parametrize(
    "variables",
    [
        {"ITBOT_HOME": "/srv/itbot", "ITBOT_KB": "kb", "ITBOT_MODEL": "/models/mini"},
        {"itbot_home": "/srv/itbot", "Itbot_Kb": "./knowledge/", "ITBOT_BUILD_PRECISION": "int8"},
        {"ITBOT_MAX_TOKENS": "256", "ITBOT_HOME": ""},
        {"ITBOT_MAX_TOKENS": "16"},
        {"ITBOT_MAX_TOKENS": "512", "ITBOT_DATABASE_URL": "postgres://db/itbot"},
        {"ITBOT_MAX_ARTICLE_BYTES": "5000000"},
        {"itbot_max_article_bytes": "1"},
        {"ITBOT_MAX_ARTICLE_BYTES": "0005000"},
    ],
)
def test_each_variable_is_read_as_settings_reads_it(
    variables: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    assert IndexSettings.from_environment() == IndexSettings.of(Settings())


@pytest.mark.parametrize("value", [" 256", "0256", "2.5e2", "256.0"])
def test_a_token_count_written_unusually_is_left_to_settings(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ITBOT_MAX_TOKENS", value)
    try:
        expected = IndexSettings.of(Settings())
    except ValidationError:
        with pytest.raises(ValidationError):
            IndexSettings.from_environment()
    else:
        assert IndexSettings.from_environment() == expected


@pytest.mark.parametrize("value", ["8", "513", "many", ""])
def test_a_bad_token_count_is_refused_as_settings_refuses_it(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ITBOT_MAX_TOKENS", value)
    with pytest.raises(ValidationError) as caught:
        IndexSettings.from_environment()
    with pytest.raises(ValidationError) as expected:
        Settings()
    assert caught.value.errors() == expected.value.errors()


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "lots", ""])
def test_a_bad_article_size_limit_is_refused_as_settings_refuses_it(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ITBOT_MAX_ARTICLE_BYTES", value)
    with pytest.raises(ValidationError) as caught:
        IndexSettings.from_environment()
    with pytest.raises(ValidationError) as expected:
        Settings()
    assert caught.value.errors() == expected.value.errors()


def test_the_index_paths_are_those_of_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITBOT_HOME", "/srv/itbot")
    index, settings = IndexSettings.from_environment(), Settings()
    assert (index.index_root, index.models_dir) == (settings.index_root, settings.models_dir)


def index_environment(tmp_path: Path) -> dict[str, str]:
    """``ITBOT_*`` for an ``itbot index`` that stops at exit code 2: a model folder without weights."""
    return {
        "ITBOT_HOME": str(tmp_path / "home"),
        "ITBOT_KB": str(tmp_path / "no-kb"),
        "ITBOT_MODEL": str(tmp_path),
    }


def run_in_a_new_process(tmp_path: Path, code: str) -> list[str]:
    """What the Python ``code`` prints in a fresh interpreter with `index_environment`, as words."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().startswith("itbot_") and k != "OPENBLAS_NUM_THREADS"
    }
    env.update(index_environment(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_itbot_index_never_imports_pydantic(tmp_path: Path) -> None:
    code = (
        "import sys; from bot.channels.cli.main import main; code = main(['index']); "
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_settings')))"
    )
    assert run_in_a_new_process(tmp_path, code) == ["2", "[]"]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through /proc")
def test_itbot_index_runs_numpy_without_blas_worker_threads(tmp_path: Path) -> None:
    code = (
        "import os, sys; from bot.channels.cli.main import main; code = main(['index']); "
        "print(code, 'numpy' in sys.modules, len(os.listdir('/proc/self/task')))"
    )
    assert run_in_a_new_process(tmp_path, code) == ["2", "True", "1"]


def test_as_the_console_script_itbot_index_spares_the_shutdown_its_garbage_collections(
    tmp_path: Path,
) -> None:
    code = (
        "import gc, sys; from bot.channels.cli.main import main; sys.argv = ['itbot', 'index']; "
        "print(main(), gc.get_freeze_count() > 0)"
    )
    assert run_in_a_new_process(tmp_path, code) == ["2", "True"]


def test_called_in_process_itbot_index_leaves_the_garbage_collector_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in index_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    frozen = gc.get_freeze_count()
    try:
        assert main(["index"]) == 2
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert gc.get_freeze_count() == frozen
