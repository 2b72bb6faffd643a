"""Shared fixtures: owners with API tokens, API clients, and the services switch."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test.utils import override_settings
from knox.models import AuthToken
from rest_framework.test import APIClient

from config.celery import app as celery_app


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tests marked `services` need PostgreSQL and Redis; skip them, saying why, without both."""
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgis"))
    if not missing and on_postgres:
        return
    reason = (
        f"needs PostgreSQL and Redis: set {' and '.join(missing)}"
        if missing
        else "needs PostgreSQL: DATABASE_URL is not a postgres:// URL"
    )
    for item in items:
        if "services" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def _no_connection_outlives_the_suite(request: pytest.FixtureRequest) -> Iterator[None]:
    """On PostgreSQL, end every other session on the test database before pytest-django
    drops it.

    A live server's thread keeps its database connection until its client's keep-alive socket
    closes, which can be after the last test; the drop then fails with "database is being
    accessed by other users" and leaves the test database behind (seen now and then in
    ``.ci/run``). The test database is set up here, so that this runs before it is dropped.
    """
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgis")):
        yield
        return
    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    yield
    from django.db import connection

    with blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Passwords hashed with MD5 in tests, as Django's testing docs advise: the production
    hasher (PBKDF2, a million iterations) takes about 0.3 s per user, which was most of the
    suite's time (two in three tests create one). Nothing here tests the hasher itself."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test stores media in its own folder, never in the project's media/."""
    root = tmp_path_factory.mktemp("media")
    settings.MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": "/media/"},
        },
    }
    return


@pytest.fixture(autouse=True)
def _no_pending_refreshes() -> None:
    """Each test starts with no ratings refresh known to be pending (ids are reused)."""
    from evaluation.tasks import pending_forget

    pending_forget()


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    """Tasks run in the test's thread unless a test drives a real worker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def owner(db: None) -> Any:
    return get_user_model().objects.create_user("owner", password="owner-pass-123")


@pytest.fixture
def other_owner(db: None) -> Any:
    return get_user_model().objects.create_user("intruder", password="intruder-pass-123")


def token_for(user: Any) -> str:
    return AuthToken.objects.create(user=user, expiry=None)[1]


def client_for(user: Any | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


@pytest.fixture
def api(owner: Any) -> APIClient:
    """The API as the owner, authenticated by token."""
    return client_for(owner)


@pytest.fixture
def other_api(other_owner: Any) -> APIClient:
    """The API as another owner."""
    return client_for(other_owner)


@pytest.fixture
def anon_api() -> APIClient:
    """The API without credentials."""
    return APIClient()
