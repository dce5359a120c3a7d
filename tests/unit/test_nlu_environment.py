"""Finding Python 3.10 and adopting or refusing a Rasa environment, with stand-in executables."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from nlu import environment
from nlu.environment import MARKER, RasaEnvironmentError, ensure_rasa_env, env_dir, find_python310


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_explicit_python_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python = _script(tmp_path / "py310", 'echo "3 10"')
    monkeypatch.setenv("FRONTDOOR_RASA_PYTHON", str(python))
    assert find_python310(install=False) == python


def test_pyenv_versions_are_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "pyenv"
    _script(root / "versions" / "3.10.9" / "bin" / "python", 'echo "3 10"')
    newest = _script(root / "versions" / "3.10.13" / "bin" / "python", 'echo "3 10"')
    _script(root / "versions" / "3.11.7" / "bin" / "python", 'echo "3 11"')
    monkeypatch.delenv("FRONTDOOR_RASA_PYTHON", raising=False)
    monkeypatch.setenv("PYENV_ROOT", str(root))
    assert find_python310(install=False) == newest


def test_wrong_version_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_RASA_PYTHON", str(_script(tmp_path / "py", 'echo "3 12"')))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no pyenv, python3.10 or uv to find
    with pytest.raises(RasaEnvironmentError, match="Python 3.10"):
        find_python310(install=False)


def test_working_env_without_marker_is_adopted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment installed by hand is verified and marked, not rebuilt."""
    directory = env_dir(tmp_path)
    _script(directory / "bin" / "python", 'echo "3.6.21 3.10.13"')
    rasa = _script(directory / "bin" / "rasa", "exit 0")

    def no_build(*_args: object, **_kwargs: object) -> Path:
        raise AssertionError("must not look for a Python to rebuild with")

    monkeypatch.setattr(environment, "find_python310", no_build)
    assert ensure_rasa_env(tmp_path, out=io.StringIO()) == rasa
    assert '"python": "3.10.13"' in (directory / MARKER).read_text()
    assert ensure_rasa_env(tmp_path, out=io.StringIO()) == rasa  # marked: nothing run again


def test_broken_env_without_python_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def none_found(*_args: object, **_kwargs: object) -> Path:
        raise RasaEnvironmentError("Rasa 3.6 needs Python 3.10 and none was found")

    monkeypatch.setattr(environment, "find_python310", none_found)
    with pytest.raises(RasaEnvironmentError):
        ensure_rasa_env(tmp_path, out=io.StringIO())
    assert not (env_dir(tmp_path) / MARKER).exists()


def test_env_made_before_jieba_gets_the_extra_packages(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A complete environment whose marker predates RASA_EXTRA_PACKAGES gets them pip-installed
    (and import-checked) in place, then is marked; it is not rebuilt."""
    directory = env_dir(tmp_path)
    calls = tmp_path / "calls.txt"
    _script(directory / "bin" / "python", f'echo "$@" >> {calls}\necho "3.6.21 3.10.13"')
    rasa = _script(directory / "bin" / "rasa", "exit 0")
    (directory / MARKER).write_text('{"rasa": "3.6.21", "python": "3.10.13"}\n')

    def no_build(*_args: object, **_kwargs: object) -> Path:
        raise AssertionError("must not look for a Python to rebuild with")

    monkeypatch.setattr(environment, "find_python310", no_build)
    assert not environment.has_extra_packages(tmp_path)
    assert ensure_rasa_env(tmp_path, out=io.StringIO()) == rasa
    ran = calls.read_text().splitlines()
    assert any("pip install" in line and "jieba==0.42.1" in line for line in ran), ran
    assert any(line == "-c import jieba" for line in ran), ran
    assert environment.has_extra_packages(tmp_path)
    assert '"python": "3.10.13"' in (directory / MARKER).read_text()
    calls.unlink()
    assert ensure_rasa_env(tmp_path, out=io.StringIO()) == rasa
    assert not calls.exists()  # marked: nothing run again


def test_failed_extra_install_leaves_the_env_unmarked(tmp_path: Path) -> None:
    directory = env_dir(tmp_path)
    _script(directory / "bin" / "python", 'case "$*" in *pip*) exit 1;; esac\necho "3.6.21 3.10.13"')
    _script(directory / "bin" / "rasa", "exit 0")
    (directory / MARKER).write_text('{"rasa": "3.6.21", "python": "3.10.13"}\n')
    with pytest.raises(RasaEnvironmentError, match="jieba"):
        ensure_rasa_env(tmp_path, out=io.StringIO())
    assert not environment.has_extra_packages(tmp_path)
