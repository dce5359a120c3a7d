"""The Rasa project in ``nlu/rasa``: where its files are, its content hash, and its examples.

The model is named after a SHA-256 of the Rasa version (and the extra packages installed beside
it), ``config.yml``, ``domain.yml``, every file under ``data/`` and the custom components'
sources in ``components/`` (paths and bytes), so an unchanged project maps to the same cached model
and is never retrained, while any edit, or a Rasa upgrade, gives a new name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

RASA_VERSION = "3.6.21"
# Installed in the Rasa environment next to rasa: config.yml's JiebaTokenizer segments Chinese
# with jieba (Rasa does not depend on it). Part of the model's fingerprint, like the version.
RASA_EXTRA_PACKAGES = ("jieba==0.42.1",)
DEFAULT_PROJECT_DIR = Path(__file__).resolve().parent / "rasa"

# Rasa's inline entity annotations: "[240518K7QW93XZ](order_id)" and '[x]{"entity": "y"}'.
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<name>[^)]+)\)|\{[^}]*\})")


@dataclass(frozen=True)
class RasaProject:
    """The files of one Rasa project directory (the default one, or an operator's own)."""

    root: Path = DEFAULT_PROJECT_DIR

    @property
    def config(self) -> Path:
        return self.root / "config.yml"

    @property
    def domain(self) -> Path:
        return self.root / "domain.yml"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def components(self) -> Path:
        """Custom pipeline components (Python for the Rasa environment, which gets this
        directory on its ``PYTHONPATH`` so that ``config.yml`` can name them)."""
        return self.root / "components"

    @property
    def evaluation_dir(self) -> Path:
        """The evaluation sets (``dev_<lang>.yml``, ``final_<lang>.yml``): outside ``data/``,
        so training never sees them."""
        return self.root / "tests"

    def training_files(self) -> list[Path]:
        """Every file that goes into training, in a stable order."""
        data_files = sorted(p for p in self.data.rglob("*") if p.is_file())
        # Sources only: Rasa's import leaves __pycache__ beside them.
        component_files = sorted(self.components.glob("*.py")) if self.components.is_dir() else []
        return [self.config, self.domain, *data_files, *component_files]

    def fingerprint(self) -> str:
        """SHA-256 (hex) of the Rasa version and the training files' relative paths and bytes."""
        digest = hashlib.sha256(f"rasa=={RASA_VERSION}\n".encode())
        digest.update("".join(f"{package}\n" for package in RASA_EXTRA_PACKAGES).encode())
        for path in self.training_files():
            rel = path.relative_to(self.root).as_posix()
            content = path.read_bytes()
            digest.update(f"{rel}\n{len(content)}\n".encode())
            digest.update(content)
        return digest.hexdigest()


def models_dir(cache_dir: Path) -> Path:
    """Where trained models are cached."""
    return cache_dir / "models"


def model_path(cache_dir: Path, project: RasaProject | None = None) -> Path:
    """The cached model file for ``project`` as it is now (it may not be trained yet)."""
    project = project or RasaProject()
    return models_dir(cache_dir) / f"{project.fingerprint()}.tar.gz"


def strip_annotations(text: str) -> str:
    """The plain text of a Rasa example: ``"where is [123-...](order_id)"`` -> ``"where is 123-..."``."""
    return _ANNOTATION.sub(lambda m: m.group("text"), text)


def read_examples(path: Path) -> list[tuple[str, str]]:
    """``(text, intent)`` pairs of a Rasa NLU YAML file (annotations stripped), in file order.

    Only ``nlu:`` items with ``intent`` and ``examples`` are read; regexes and lookups are not
    examples.
    """
    document: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pairs: list[tuple[str, str]] = []
    for item in document.get("nlu") or []:
        if not isinstance(item, dict) or "intent" not in item:
            continue
        intent = str(item["intent"])
        for line in str(item.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                pairs.append((strip_annotations(line[2:].strip()), intent))
    return pairs


def read_training_examples(project: RasaProject | None = None) -> list[tuple[str, str]]:
    """All training examples of ``project`` (every YAML file under ``data/``)."""
    project = project or RasaProject()
    pairs: list[tuple[str, str]] = []
    for path in sorted(project.data.rglob("*.yml")):
        pairs.extend(read_examples(path))
    return pairs
