"""The Rasa environment: a Python 3.10 virtualenv with ``rasa==3.6.21``, kept in the user's cache.

Rasa 3.6 needs Python 3.8-3.10 and pins old libraries, so it never shares the app's venv. The
environment lives in ``<cache_dir>/rasa-<version>`` and is complete when its marker file
(written only after a verified install) is there. The packages the pipeline needs besides rasa
(``RASA_EXTRA_PACKAGES``: jieba) are listed in the marker once installed; an environment made
before they were needed gets them added on the next :func:`ensure_rasa_env`, not rebuilt.
:func:`ensure_rasa_env` is idempotent and safe to call from several processes at once (a file
lock serialises creation).

Python 3.10 is looked for, in order: ``$FRONTDOOR_RASA_PYTHON``; pyenv's versions
(``$PYENV_ROOT``, ``pyenv root``, ``~/.pyenv``); ``python3.10`` on PATH; ``uv python find 3.10``;
and finally ``uv python install 3.10``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from nlu.project import RASA_EXTRA_PACKAGES, RASA_VERSION, RasaProject

MARKER = "frontdoor-env.json"
PYTHON_ENV = "FRONTDOOR_RASA_PYTHON"


class RasaEnvironmentError(RuntimeError):
    """The Rasa environment could not be created (no Python 3.10, pip failed...)."""


def env_dir(cache_dir: Path) -> Path:
    """The Rasa virtualenv's directory for this Rasa version."""
    return cache_dir / f"rasa-{RASA_VERSION}"


def rasa_executable(cache_dir: Path) -> Path:
    """The ``rasa`` command inside the environment (which may not exist yet)."""
    return env_dir(cache_dir) / "bin" / "rasa"


def subprocess_env(project: RasaProject | None = None) -> dict[str, str]:
    """The environment for Rasa subprocesses: no telemetry (no network), less noise, and
    ``project``'s custom components importable (the bundled project's by default: a server
    is given only a model, and the bundled config names them)."""
    env = dict(os.environ)
    env.update({
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONWARNINGS": "ignore",
        "PYTHONUNBUFFERED": "1",
    })
    # The app's venv must not leak into the Rasa one.
    env.pop("VIRTUAL_ENV", None)
    env["PYTHONPATH"] = str((project or RasaProject()).components)
    return env


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (created if missing), held for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def is_complete(cache_dir: Path) -> bool:
    """True when the environment was installed and verified (its marker is there)."""
    directory = env_dir(cache_dir)
    return (directory / MARKER).is_file() and (directory / "bin" / "rasa").is_file()


def _marker(cache_dir: Path) -> dict[str, object]:
    try:
        data = json.loads((env_dir(cache_dir) / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def has_extra_packages(cache_dir: Path) -> bool:
    """True when the marker lists exactly the extra packages this version of Frontdoor needs."""
    return _marker(cache_dir).get("packages") == list(RASA_EXTRA_PACKAGES)


def _install_extra_packages(directory: Path, out: TextIO) -> None:
    """pip-install ``RASA_EXTRA_PACKAGES`` into the environment and check they import."""
    python = str(directory / "bin" / "python")
    print(f"Installing {', '.join(RASA_EXTRA_PACKAGES)} into the Rasa environment ...", file=out, flush=True)
    modules = ", ".join(package.split("==")[0] for package in RASA_EXTRA_PACKAGES)
    try:
        _run_streamed([python, "-m", "pip", "install", "--disable-pip-version-check",
                       *RASA_EXTRA_PACKAGES], out)
        _run_streamed([python, "-c", f"import {modules}"], out)
    except (OSError, RasaEnvironmentError) as exc:
        raise RasaEnvironmentError(
            f"could not install {', '.join(RASA_EXTRA_PACKAGES)} into {directory}: {exc}") from exc


def _python_version(python: Path | str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [str(python), "-c", "import sys, venv; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def _pyenv_roots() -> list[Path]:
    roots: list[Path] = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(Path(os.environ["PYENV_ROOT"]))
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30, check=True)
            roots.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    roots.append(Path.home() / ".pyenv")
    return roots


def _uv_find() -> str | None:
    uv = shutil.which("uv")
    if not uv:
        return None
    try:
        out = subprocess.run([uv, "python", "find", "3.10"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    return out.stdout.strip()


def find_python310(install: bool = True, out: TextIO = sys.stderr) -> Path:
    """A Python 3.10 interpreter (see the module docstring for where it looks).

    With ``install``, ``uv python install 3.10`` is tried when nothing else is found.
    """
    candidates: list[Path | str] = []
    if os.environ.get(PYTHON_ENV):
        candidates.append(os.environ[PYTHON_ENV])
    for root in _pyenv_roots():
        # Newest patch release first: "3.10.13" sorts after "3.10.9" by numbers, not by text.
        versions = sorted(
            root.glob("versions/3.10*/bin/python"),
            key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.parent.name.split(".")],
            reverse=True,
        )
        candidates.extend(versions)
    on_path = shutil.which("python3.10")
    if on_path:
        candidates.append(on_path)
    found = _uv_find()
    if found:
        candidates.append(found)
    for candidate in candidates:
        if _python_version(candidate) == (3, 10):
            return Path(candidate)
    uv = shutil.which("uv")
    if install and uv:
        print("No Python 3.10 found; installing one with uv ...", file=out, flush=True)
        subprocess.run([uv, "python", "install", "3.10"], check=False)
        found = _uv_find()
        if found and _python_version(found) == (3, 10):
            return Path(found)
    raise RasaEnvironmentError(
        "Rasa 3.6 needs Python 3.10 and none was found: install it with pyenv "
        "(`pyenv install 3.10`) or uv (`uv python install 3.10`), or point "
        f"{PYTHON_ENV} at a python3.10 executable."
    )


def _run_streamed(cmd: list[str], out: TextIO) -> None:
    """Run ``cmd``, copying its output to ``out`` as it comes; raise on failure."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=subprocess_env())
    assert proc.stdout is not None
    for raw in iter(proc.stdout.readline, b""):
        out.write(raw.decode("utf-8", "replace"))
        out.flush()
    if proc.wait() != 0:
        raise RasaEnvironmentError(f"command failed ({proc.returncode}): {' '.join(cmd)}")


def _verify(directory: Path) -> str | None:
    """The Python version of a working Rasa install in ``directory``, or None."""
    python = directory / "bin" / "python"
    if not (directory / "bin" / "rasa").is_file() or not python.is_file():
        return None
    try:
        result = subprocess.run(
            [str(python), "-c", "import sys, rasa; print(rasa.__version__, sys.version.split()[0])"],
            capture_output=True, text=True, timeout=300, env=subprocess_env(),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    words = result.stdout.split()
    if result.returncode == 0 and len(words) == 2 and words[0] == RASA_VERSION:
        return words[1]
    return None


def ensure_rasa_env(cache_dir: Path, out: TextIO = sys.stderr) -> Path:
    """Create the Rasa environment if it is missing or incomplete; return its ``rasa`` command.

    An environment that works but has no marker (installed by hand, or interrupted just before
    the marker) is verified and adopted rather than rebuilt.
    """
    directory = env_dir(cache_dir)
    if is_complete(cache_dir) and has_extra_packages(cache_dir):
        return rasa_executable(cache_dir)
    with file_lock(cache_dir / f".rasa-{RASA_VERSION}.lock"):
        if is_complete(cache_dir) and has_extra_packages(cache_dir):  # done while we waited
            return rasa_executable(cache_dir)
        if is_complete(cache_dir):  # made before the extra packages were needed: add them
            _install_extra_packages(directory, out)
            marker = {**_marker(cache_dir), "packages": list(RASA_EXTRA_PACKAGES)}
            (directory / MARKER).write_text(json.dumps(marker) + "\n")
            return rasa_executable(cache_dir)
        python_version = _verify(directory)
        if python_version is None:
            base = find_python310(out=out)
            if directory.exists() and _python_version(directory / "bin" / "python") != (3, 10):
                print(f"Removing the broken Rasa environment in {directory}", file=out, flush=True)
                shutil.rmtree(directory)
            if not directory.exists():
                print(f"Creating the Rasa environment in {directory} with {base}", file=out, flush=True)
                _run_streamed([str(base), "-m", "venv", str(directory)], out)
            pip = [str(directory / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
            print(f"Installing rasa=={RASA_VERSION} (a few minutes, once per machine) ...",
                  file=out, flush=True)
            _run_streamed([*pip, "--upgrade", "pip", "wheel"], out)
            _run_streamed([*pip, f"rasa=={RASA_VERSION}"], out)
            python_version = _verify(directory)
            if python_version is None:
                raise RasaEnvironmentError(f"rasa=={RASA_VERSION} did not install cleanly in {directory}")
        _install_extra_packages(directory, out)
        marker = {"rasa": RASA_VERSION, "python": python_version, "packages": list(RASA_EXTRA_PACKAGES)}
        (directory / MARKER).write_text(json.dumps(marker) + "\n")
        print(f"Rasa {RASA_VERSION} environment ready (Python {python_version})", file=out, flush=True)
    return rasa_executable(cache_dir)
