"""The image's gunicorn settings (`gunicorn.conf.py`) and the WSGI module it serves."""

from __future__ import annotations

import gc
import os
import runpy
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from gunicorn.config import Config

from tests.ports import free_port
from tests.test_operations import SECRET, run_django

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "gunicorn.conf.py"


def gunicorn_config(monkeypatch: pytest.MonkeyPatch, **env: str) -> Config:
    """`gunicorn.conf.py` read as gunicorn reads it, with `env` as the environment."""
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        namespace = runpy.run_path(str(CONFIG))
    finally:
        gc.enable()  # the file pauses collection for the master's import of the application
    config = Config()
    for name, value in namespace.items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_the_defaults_are_four_preloaded_gthread_workers_of_four_threads(monkeypatch):
    config = gunicorn_config(monkeypatch)
    assert config.worker_class_str == "gthread"
    assert (config.workers, config.threads) == (4, 4)
    assert config.address == [("0.0.0.0", 8000)]
    assert config.preload_app
    assert config.keepalive == 5
    assert config.accesslog == "-"
    # Recycling a gthread worker resets the connections it holds (benoitc/gunicorn#3038).
    assert config.max_requests == 0


def test_the_server_is_sized_from_the_environment(monkeypatch):
    config = gunicorn_config(
        monkeypatch, WEB_CONCURRENCY="2", GUNICORN_THREADS="8", GUNICORN_BIND="127.0.0.1:9000"
    )
    assert (config.workers, config.threads) == (2, 8)
    assert config.address == [("127.0.0.1", 9000)]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WEB_CONCURRENCY", "four", "WEB_CONCURRENCY must be a whole number, not 'four'"),
        ("GUNICORN_THREADS", "-1", "GUNICORN_THREADS must be 0 or more, not -1"),
    ],
)
def test_a_bad_size_stops_the_server_with_the_variable_named(monkeypatch, name, value, message):
    with pytest.raises(SystemExit, match=message):
        gunicorn_config(monkeypatch, **{name: value})


def test_workers_collect_only_what_they_create(monkeypatch):
    namespace: dict[str, Any] = {}
    try:
        namespace = runpy.run_path(str(CONFIG))
        assert not gc.isenabled(), "no collection while the master imports the application"
        namespace["pre_fork"](None, None)
        assert gc.get_freeze_count() > 0, "the master's objects are frozen before a fork"
        assert gc.isenabled(), "collection resumes, and the worker inherits it"
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_image_runs_gunicorn_with_this_file_and_no_flags_of_its_own():
    text = (ROOT / "Dockerfile").read_text()
    cmd = next(line for line in text.splitlines() if line.startswith("CMD "))
    words = [word.strip('",') for word in shlex.split(cmd[4:].strip("[]"))]
    assert words == ["gunicorn", "-c", "gunicorn.conf.py", "config.wsgi:application"]


def test_the_wsgi_module_imports_the_urlconf_before_the_first_request():
    code = (
        "import sys; import config.wsgi; "
        "print('matchmaking.api' in sys.modules, 'metrics.api' in sys.modules)"
    )
    done = run_django(code, {"DEBUG": "0", "SECRET_KEY": SECRET})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_the_configured_server_answers_through_django_and_logs_the_request(tmp_path):
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "VERSUS_ENV_FILE": os.devnull,
        "DEBUG": "0",
        "SECRET_KEY": SECRET,
        "VERSUS_HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        # A request still in a worker when it is told to stop holds the stop up to the graceful
        # timeout (30 s by default, as long as the wait below): seen once in CI, where the
        # suites run side by side and a first try can time out at the client while the worker
        # boots. What this test checks is the answer and its log line, not how long a stop takes.
        "GUNICORN_CMD_ARGS": "--graceful-timeout 5",
    }
    log = tmp_path / "gunicorn.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(gunicorn), "-c", str(CONFIG), "config.wsgi:application"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        status = None
        deadline = time.monotonic() + 60
        while status is None and time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"gunicorn exited: {log.read_text()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=5)
            except urllib.error.HTTPError as answer:
                status = answer.status
            except OSError:
                time.sleep(0.1)
        assert status == 404, log.read_text()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            pytest.fail(f"gunicorn did not stop within 30 s of SIGTERM: {log.read_text()}")
    text = log.read_text()
    assert text.count("Booting worker") == 2
    assert '"GET /no-such-page/ HTTP/1.1" 404' in text
