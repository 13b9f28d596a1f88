"""Reads configuration from the environment, turning any bad value into one clear line.

Settings call these helpers instead of django-environ directly so that a malformed value stops
start-up with a message naming the variable (``ConfigError`` is a ``SystemExit``, so Python prints
the message and exits without a traceback) rather than a stack trace deep inside Django.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import environ

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(SystemExit):
    """A configuration value is missing or malformed; the message names the variable."""

    def __init__(self, name: str, problem: str):
        super().__init__(f"Configuration error: {name} {problem}")


def read_dotenv(path: Path) -> None:
    """Loads KEY=VALUE lines from ``path`` if it exists; real environment variables win."""
    if path.is_file():
        environ.Env.read_env(str(path), overwrite=False)


def get_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def get_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(name, f"must be true or false (got {raw!r}).")


def get_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = get_str(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be a whole number (got {raw!r}).") from None
    if minimum is not None and value < minimum:
        raise ConfigError(name, f"must be at least {minimum} (got {value}).")
    return value


def get_list(name: str, default: list[str]) -> list[str]:
    raw = get_str(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


_DB_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql", "psql"}


def get_database(name: str, default: str) -> dict:
    """Parses a database URL; only SQLite and PostgreSQL are supported."""
    url = get_str(name, default)
    scheme = urlsplit(url).scheme
    if scheme not in _DB_SCHEMES:
        raise ConfigError(
            name,
            f"must be a sqlite:/// or postgres:// URL (got {url!r}).",
        )
    config = environ.Env.db_url_config(url)
    if not config.get("NAME"):
        raise ConfigError(name, f"names no database (got {url!r}).")
    if scheme != "sqlite" and not config.get("HOST"):
        raise ConfigError(name, f"names no host (got {url!r}).")
    return config


_BROKER_SCHEMES = {"filesystem", "redis", "rediss", "amqp", "pyamqp", "memory"}


def get_broker_url(name: str, default: str) -> str:
    url = get_str(name, default)
    scheme = urlsplit(url).scheme
    if scheme not in _BROKER_SCHEMES:
        raise ConfigError(
            name,
            f"must be filesystem://, redis://, rediss:// or amqp:// (got {url!r}).",
        )
    return url


def get_redis_url(name: str) -> str | None:
    url = get_str(name)
    if url is not None and urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(name, f"must be a redis:// or rediss:// URL (got {url!r}).")
    return url


def get_email(name: str) -> dict | None:
    url = get_str(name)
    if url is None:
        return None
    scheme = urlsplit(url).scheme
    if scheme not in environ.Env.EMAIL_SCHEMES:
        known = ", ".join(sorted(environ.Env.EMAIL_SCHEMES))
        raise ConfigError(name, f"must use one of {known} (got {url!r}).")
    return environ.Env.email_url_config(url)
