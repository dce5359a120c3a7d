"""Training: ``rasa train nlu`` into the model cache, only when the project changed.

The model for a project is ``<cache_dir>/models/<fingerprint>.tar.gz`` (see
:mod:`nlu.project`). Training writes into a temporary directory and renames the result into
place, so a model file is always complete; a file lock stops two processes (``make test`` and a
pytest session, say) from training the same model twice.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from nlu.environment import ensure_rasa_env, file_lock, subprocess_env
from nlu.processes import spawn, stop
from nlu.project import RasaProject, model_path, models_dir


class TrainingError(RuntimeError):
    """``rasa train`` failed; the message holds the end of its output."""


def _stream(proc: subprocess.Popen[bytes], out: TextIO, keep: int = 4000) -> str:
    """Copy the process output to ``out`` chunk by chunk (progress bars redraw with ``\\r``, so
    reading whole lines would hide them); return the last ``keep`` characters."""
    assert proc.stdout is not None
    tail = ""
    fd = proc.stdout.fileno()
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        text = chunk.decode("utf-8", "replace")
        out.write(text)
        out.flush()
        tail = (tail + text)[-keep:]
    return tail


def train_model(cache_dir: Path, project: RasaProject | None = None, out: TextIO = sys.stderr,
                force: bool = False, num_threads: int | None = None) -> tuple[Path, bool]:
    """Ensure a trained model for ``project`` exists; return ``(model path, trained now)``.

    Creates the Rasa environment first when it is missing. With ``force``, retrains even when a
    cached model exists.
    """
    project = project or RasaProject()
    target = model_path(cache_dir, project)
    if target.is_file() and not force:
        os.utime(target)  # recently used: prune_models keeps it
        return target, False
    rasa = ensure_rasa_env(cache_dir, out=out)
    directory = models_dir(cache_dir)
    directory.mkdir(parents=True, exist_ok=True)
    with file_lock(directory / f".{target.name}.lock"):
        if target.is_file() and not force:
            return target, False
        name = target.name.removesuffix(".tar.gz")
        threads = num_threads or os.cpu_count() or 1
        with tempfile.TemporaryDirectory(prefix=".train-", dir=directory) as tmp:
            cmd = [
                str(rasa), "train", "nlu",
                "--config", str(project.config), "--domain", str(project.domain),
                "--nlu", str(project.data), "--out", tmp, "--fixed-model-name", name,
                "--num-threads", str(threads),
            ]
            print(f"Training the NLU model {name[:12]}... from {project.root}", file=out, flush=True)
            started = time.monotonic()
            # Spawned to die with us (nlu.processes): an interrupted start leaves no training.
            proc = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=subprocess_env(project), cwd=tmp)
            try:
                tail = _stream(proc, out)
            except BaseException:  # interrupted (Ctrl-C): the training must not outlive us
                stop(proc)
                raise
            if proc.wait() != 0:
                raise TrainingError(f"rasa train failed ({proc.returncode}):\n{tail[-2000:]}")
            produced = Path(tmp) / f"{name}.tar.gz"
            if not produced.is_file():
                raise TrainingError(f"rasa train wrote no model at {produced}:\n{tail[-2000:]}")
            os.replace(produced, target)
        seconds = time.monotonic() - started
        # How long it took, for docs/benchmarks.md (bench/bench_nlu.py reads it).
        training_info_path(target).write_text(json.dumps({
            "seconds": round(seconds, 1), "threads": threads,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }) + "\n")
        print(f"Trained in {seconds:.0f} s: {target}", file=out, flush=True)
    prune_models(cache_dir)
    return target, True


def training_info_path(model: Path) -> Path:
    """The JSON beside a model saying how its training went (seconds, threads, when)."""
    return model.with_name(model.name.removesuffix(".tar.gz") + ".json")


def ensure_model(cache_dir: Path, project: RasaProject | None = None, out: TextIO = sys.stderr) -> Path:
    """The trained model for ``project``, training it first if needed."""
    return train_model(cache_dir, project, out=out)[0]


def prune_models(cache_dir: Path, keep: int = 5) -> list[Path]:
    """Delete all but the ``keep`` most recently used models; return what was deleted."""
    directory = models_dir(cache_dir)
    models = sorted(directory.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    removed = models[keep:]
    for path in removed:
        path.unlink(missing_ok=True)
        training_info_path(path).unlink(missing_ok=True)
    day_ago = time.time() - 86400
    for leftover in directory.glob(".train-*"):  # an interrupted training's temporary directory
        if leftover.stat().st_mtime < day_ago:
            shutil.rmtree(leftover, ignore_errors=True)
    return removed
