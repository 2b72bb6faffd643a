"""SDK tests talk to a real server: pytest-django's live_server, with the project's own fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from versus import VersusClient
from versus_testing import image_bytes

# The project's fixtures: owners, their tokens, per-test media storage, eager Celery, fast
# password hashing.
from tests.conftest import (  # noqa: F401
    _eager_celery,
    _fast_password_hashing,
    _media_root,
    _no_connection_outlives_the_suite,
    other_owner,
    owner,
    token_for,
)


@pytest.fixture
def make_client(live_server: Any) -> Iterator[Callable[..., VersusClient]]:
    """Build clients against the live server; fast retries, no progress bar unless asked."""
    made: list[VersusClient] = []

    def build(user: Any | None = None, **kwargs: Any) -> VersusClient:
        kwargs.setdefault("backoff", 0.01)
        kwargs.setdefault("progress", False)
        token = token_for(user) if user is not None else None
        client = VersusClient(url=live_server.url, token=token, **kwargs)
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


@pytest.fixture
def versus(make_client: Callable[..., VersusClient], owner: Any) -> VersusClient:  # noqa: F811
    """The SDK as the owner."""
    return make_client(owner)


@pytest.fixture
def other_versus(
    make_client: Callable[..., VersusClient],
    other_owner: Any,  # noqa: F811
) -> VersusClient:
    """The SDK as another owner."""
    return make_client(other_owner)


@pytest.fixture
def png_paths(tmp_path: Path) -> list[Path]:
    """One PNG file per prompt of PROMPTS."""
    paths = [tmp_path / "mountain.png", tmp_path / "city.png"]
    for path, color in zip(paths, ["red", "blue"], strict=True):
        path.write_bytes(image_bytes(color))
    return paths
