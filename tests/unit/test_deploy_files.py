"""The deployment files (deploy/, .dockerignore, docs/deploy.md) against the code they drive.

The Dockerfiles cannot be built here (no base images), so what can go stale is checked
instead: every `frontdoor ...` command they, the systemd units and the guide run must parse
with the real CLI (a renamed command or option fails), every file they COPY must exist and
pass .dockerignore, every setting they name must be a real one, and every metric the guide
names must be one the server exports.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer

from frontdoor.cli import app
from frontdoor.server import Metrics
from frontdoor.settings import Settings
from nlu.server import free_port
from tests.unit.test_nlu_server import cache  # noqa: F401 - fixture: a stand-in rasa

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted((ROOT / "deploy" / "docker").glob("*.Dockerfile"))
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
ENV_EXAMPLE = ROOT / "deploy" / "systemd" / "frontdoor.env.example"
GUIDE = ROOT / "docs" / "deploy.md"
README = ROOT / "README.md"
# Setting names as they appear in prose and files: FRONTDOOR_*, TELEGRAM_*, SLACK_*.
SETTING_NAME = re.compile(r"\b(?:FRONTDOOR|TELEGRAM|SLACK)_[A-Z0-9_]*[A-Z0-9]\b")
METRIC_NAME = re.compile(r"\bfrontdoor_[a-z_]+\b")
# A Dockerfile's shell form runs several commands joined by these ...
SHELL_SEPARATORS = re.compile(r"&&|\|\||;|\|")
# ... and may redirect their output ("> /dev/null", "2>&1"): not arguments.
REDIRECTION = re.compile(r"(?:^|\s)\d*[<>]{1,2}&?\s*\S+")


@dataclass(frozen=True)
class Invocation:
    """One `frontdoor ...` command line found in a file."""

    where: str
    args: tuple[str, ...]


# Reading the files ---------------------------------------------------------------------------
def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, rest = whole.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    assert not pending, f"{path.name} ends inside a continued instruction"
    return instructions


def command_words(form: str) -> list[list[str]]:
    """The commands of a RUN/CMD/ENTRYPOINT: exec form (a JSON array) or shell form."""
    if form.startswith("["):
        return [list(json.loads(form))]
    return [shlex.split(REDIRECTION.sub(" ", part)) for part in SHELL_SEPARATORS.split(form)
            if part.strip()]


def frontdoor_args(words: list[str]) -> tuple[str, ...] | None:
    """The arguments after the `frontdoor` executable among ``words``, if it is there.

    The executable is `frontdoor` or a path ending in /bin/frontdoor, with arguments after it
    and no option before it: in `sudo -u frontdoor ...` or `useradd ... frontdoor` the word
    names the user.
    """
    for index, word in enumerate(words):
        if (word == "frontdoor" or word.endswith("/bin/frontdoor")) \
                and index + 1 < len(words) and not (index and words[index - 1].startswith("-")):
            return tuple(words[index + 1:])
    return None


def dockerfile_invocations(path: Path) -> list[Invocation]:
    found = []
    for keyword, rest in dockerfile_instructions(path):
        if keyword in ("RUN", "CMD", "ENTRYPOINT"):
            for words in command_words(rest):
                args = frontdoor_args(words)
                if args is not None:
                    found.append(Invocation(f"{path.name} {keyword}", args))
    return found


def unit_invocations(path: Path) -> list[Invocation]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().startswith("Exec"):
            # Exec prefixes: "-" ignore failure, "@" argv0, "+"/"!" privileges, ":" no expansion.
            args = frontdoor_args(shlex.split(value.strip().lstrip("-@+!:")))
            if args is not None:
                found.append(Invocation(f"{path.name} {key.strip()}", args))
    return found


def guide_invocations(text: str) -> list[Invocation]:
    """Commands in the guide's shell code blocks (```sh)."""
    found = []
    for block in re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            command = line.split(" #", 1)[0].strip()
            if not command or command.startswith("#"):
                continue
            for words in command_words(command):
                args = frontdoor_args(words)
                if args is not None:
                    found.append(Invocation(f"deploy.md: {line.strip()}", args))
    return found


# Checking them -------------------------------------------------------------------------------
def resolve(invocation: Invocation) -> Any:
    """Parse the invocation with the real CLI (the command object typer builds for `frontdoor`);
    fail if a command or option does not exist or an argument is refused."""
    command: Any = typer.main.get_command(app)
    args = [a for a in invocation.args if a != "--help"]
    path = ["frontdoor"]
    # Groups have subcommands (typer's command classes, whichever click they build on).
    while getattr(command, "commands", None) is not None:
        assert args, f"{invocation.where}: `{' '.join(path)}` is a group, not a command"
        sub = command.commands.get(args[0])
        assert sub is not None, f"{invocation.where}: no command `{' '.join(path)} {args[0]}`"
        path.append(args.pop(0))
        command = sub
    try:
        command.make_context(" ".join(path), list(args))
    except Exception as exc:  # the parser's usage errors: no such option, bad value, missing
        raise AssertionError(f"{invocation.where}: `{' '.join(invocation.args)}` is refused: "
                             f"{exc}") from None
    return command


def all_invocations() -> list[Invocation]:
    found = [i for path in DOCKERFILES for i in dockerfile_invocations(path)]
    found += [i for path in UNITS for i in unit_invocations(path)]
    found += guide_invocations(GUIDE.read_text(encoding="utf-8"))
    return found


def test_the_deployment_files_are_there() -> None:
    names = {p.name for p in DOCKERFILES} | {p.name for p in UNITS}
    assert {"app.Dockerfile", "rasa.Dockerfile", "frontdoor.service"} <= names
    assert GUIDE.is_file() and ENV_EXAMPLE.is_file()
    assert "docs/deploy.md" in README.read_text(encoding="utf-8")


def test_every_frontdoor_command_they_run_exists() -> None:
    invocations = all_invocations()
    commands = {" ".join(i.args[:2]) for i in invocations}
    # What the images and units are for; the guide adds the operator's commands.
    assert {"serve --no-migrate", "db upgrade", "nlu serve", "nlu train"} <= commands
    for invocation in invocations:
        resolve(invocation)


def test_the_images_run_the_commands_they_are_for() -> None:
    cmds = {path.name: [i.args for i in dockerfile_invocations(path) if i.where.endswith("CMD")]
            for path in DOCKERFILES}
    assert cmds["app.Dockerfile"] == [("serve", "--no-migrate")]
    assert [args[:2] for args in cmds["rasa.Dockerfile"]] == [("nlu", "serve")]
    # In a container Rasa must listen beyond the container's own loopback.
    assert "0.0.0.0" in cmds["rasa.Dockerfile"][0]


def test_a_renamed_command_or_option_is_caught(tmp_path: Path) -> None:
    """The check itself can fail: commands and options the CLI does not have are refused."""
    dockerfile = tmp_path / "made-up.Dockerfile"
    dockerfile.write_text('FROM python:3.11-slim\n'
                          'RUN pip install . \\\n    && frontdoor db migrate\n'
                          'CMD ["frontdoor", "serve", "--no-migrations"]\n')
    unit = tmp_path / "made-up.service"
    unit.write_text("[Service]\nExecStart=-/opt/venv/bin/frontdoor nlu serve --hots 0.0.0.0\n"
                    "ExecStartPre=/opt/venv/bin/frontdoor outbox\n")
    invocations = dockerfile_invocations(dockerfile) + unit_invocations(unit)
    assert [i.args for i in invocations] == [
        ("db", "migrate"), ("serve", "--no-migrations"), ("nlu", "serve", "--hots", "0.0.0.0"),
        ("outbox",)]
    for invocation in invocations:
        with pytest.raises(AssertionError):
            resolve(invocation)


def test_the_app_image_python_satisfies_the_project() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = tuple(int(x) for x in project["requires-python"].removeprefix(">=").split("."))
    bases = {path.name: [rest for keyword, rest in dockerfile_instructions(path) if keyword == "FROM"]
             for path in DOCKERFILES}
    version = re.fullmatch(r"python:(\d+)\.(\d+)-slim", bases["app.Dockerfile"][-1])
    assert version is not None
    assert (int(version[1]), int(version[2])) >= needed
    assert bases["rasa.Dockerfile"][-1] == "python:3.10-slim"  # Rasa 3.6 runs on 3.8 to 3.10


def test_every_copied_file_exists_and_passes_dockerignore() -> None:
    ignore_lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    # The context is "everything excluded, then these back in": each source needs its "!".
    assert "*" in ignore_lines
    copied = 0
    for path in DOCKERFILES:
        for keyword, rest in dockerfile_instructions(path):
            if keyword not in ("COPY", "ADD") or "--from=" in rest:
                continue
            words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
            for source in [w for w in words if not w.startswith("--")][:-1]:
                assert (ROOT / source).exists(), f"{path.name} copies {source}, not in the repo"
                assert f"!{source}" in ignore_lines, f".dockerignore keeps {source} out"
                copied += 1
    assert copied >= 2 * 6


def documented_settings() -> set[str]:
    names = {name.upper() for name in Settings.model_fields}
    return names | set(re.findall(r"^\| `([A-Z0-9_]+)`", README.read_text(encoding="utf-8"), re.M))


def test_every_setting_they_name_is_real() -> None:
    known = documented_settings()
    sources = [*DOCKERFILES, *UNITS, ENV_EXAMPLE, GUIDE]
    named = {(path.name, name) for path in sources
             for name in SETTING_NAME.findall(path.read_text(encoding="utf-8"))}
    assert len({name for _, name in named}) > 10
    assert sorted(f"{where}: {name}" for where, name in named if name not in known) == []
    keys = [line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    assert keys and sorted(set(keys) - known) == []
    assert "FRONTDOOR_MADE_UP" not in known  # the check can fail


def test_every_metric_the_guide_names_is_exported() -> None:
    exported: set[str] = set()
    for family in Metrics().registry.collect():
        # A counter family is named without "_total"; Prometheus shows its samples with it.
        exported.add(family.name + "_total" if family.type == "counter" else family.name)
    named = set(METRIC_NAME.findall(GUIDE.read_text(encoding="utf-8")))
    assert named, "the guide names no metric"
    assert sorted(named - exported) == []
    # Every exported family is in the guide, under the name Prometheus shows.
    assert {"frontdoor_inbound_total", "frontdoor_outbox_items", "frontdoor_outbox_delivered",
            "frontdoor_outbox_dead_lettered"} <= named


# `frontdoor nlu serve --host`, which the Rasa image and a shared Rasa rely on ----------------
def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/status", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_nlu_serve_listens_where_host_says_and_stops_on_sigterm(
        cache: Path, tmp_path: Path) -> None:  # noqa: F811 - fixture
    model = tmp_path / "model.tar.gz"
    model.write_text("model")
    port = free_port("127.0.0.2")
    env = {**os.environ, "FRONTDOOR_CACHE_DIR": str(cache)}
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("frontdoor")), "nlu", "serve", "--host", "127.0.0.2",
         "--port", str(port), "--model", str(model)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not _answers(f"http://127.0.0.2:{port}") and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.1)
        assert _answers(f"http://127.0.0.2:{port}")
        assert not _answers(f"http://127.0.0.1:{port}")  # bound to the address given, only
        proc.send_signal(signal.SIGTERM)
        # It ends by the signal it got (the status its sender expects), after stopping Rasa.
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
        assert not _answers(f"http://127.0.0.2:{port}")  # the Rasa child was stopped too
    finally:
        if proc.poll() is None:  # the test failed early: the graceful way stops Rasa too
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
