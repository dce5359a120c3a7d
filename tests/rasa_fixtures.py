"""The ``rasa_url`` fixture: a Rasa server with the trained model, once per test session.

With ``FRONTDOOR_NLU_URL`` set, that server is used as it is. Otherwise the model is trained if
the project changed (cached per user, so usually instant), a server is started on a free port
of 127.0.0.1, and it is stopped when the session ends. Registered by tests/conftest.py with
``pytest_plugins = ["tests.rasa_fixtures"]``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from frontdoor.settings import load_settings


@pytest.fixture(scope="session")
def rasa_url() -> Iterator[str]:
    """Base URL of a Rasa server answering ``/model/parse`` with the current model."""
    from nlu.server import nlu_service

    settings = load_settings()
    external = os.environ.get("FRONTDOOR_NLU_URL") or settings.frontdoor_nlu_url
    with nlu_service(external, settings.frontdoor_cache_dir, port=0, out=sys.stderr) as url:
        yield url
