"""Fixtures shared by the whole suite, including real processes for integration tests."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def wait_until(predicate, *, timeout: float, interval: float = 0.2, message: str = ""):
    """Polls ``predicate`` until it returns something truthy; fails the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout}s waiting for {message or predicate}")


def database_url_of_test_run() -> str:
    """The URL of the database this test run uses, for processes the test starts."""
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    user = quote(settings["USER"] or "")
    password = f":{quote(settings['PASSWORD'])}" if settings["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{settings['HOST']}:{settings['PORT'] or 5432}/"
        f"{settings['NAME']}"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_manage(*args, env_overrides: dict | None = None, timeout: float = 60):
    """Runs ``manage.py`` in a fresh interpreter, as a user would in a terminal."""
    env = {**os.environ, **(env_overrides or {})}
    env = {key: value for key, value in env.items() if value is not None}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Processes:
    """Starts long-running processes (workers, beat, web) and always stops them."""

    def __init__(self, tmp_path: Path, env: dict):
        self.tmp_path = tmp_path
        self.env = env
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, name: str, *command: str) -> Path:
        log = self.tmp_path / f"{name}.log"
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append((process, log))
        return log

    def interrupt(self, process: subprocess.Popen, timeout: float = 20) -> int:
        process.send_signal(signal.SIGINT)
        return process.wait(timeout=timeout)

    def stop_all(self):
        for process, _log in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


@pytest.fixture
def celery_queue() -> str:
    """A queue of this test's own, so no other worker on the broker takes its tasks."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def processes(tmp_path, celery_queue, transactional_db):
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": database_url_of_test_run(),
        "CELERY_DEFAULT_QUEUE": celery_queue,
        "PYTHONUNBUFFERED": "1",
    }
    manager = Processes(tmp_path, env)
    yield manager
    manager.stop_all()


@pytest.fixture
def convener(db):
    """A convener: staff in the Conveners group, not a superuser."""
    from django.contrib.auth import get_user_model

    from crm.roles import convener_group_ensure

    user = get_user_model().objects.create_user(
        "ada", password="x", first_name="Ada", last_name="Convener", is_staff=True
    )
    user.groups.add(convener_group_ensure())
    return user


@pytest.fixture
def convener_client(client, convener):
    client.force_login(convener)
    return client


@pytest.fixture(autouse=True)
def _cache_of_its_own(settings):
    """Each test reads and writes its own cache keys: rate-limit counters and cached figures
    left by another test (or another run in the same hour) never leak into it."""
    import copy

    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches


@pytest.fixture(autouse=True)
def _sign_caches_clear():
    """The sign page and campaign are cached per process for a few seconds; each test starts
    from the database."""
    from campaigns.views import sign_caches_clear

    sign_caches_clear()
    yield
    sign_caches_clear()
