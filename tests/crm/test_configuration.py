"""Start-up configuration: bad values stop with one clear line; production passes check --deploy."""

import secrets

import pytest

from tests.conftest import run_manage

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "crm.example.org",
}


@pytest.mark.parametrize(
    ("overrides", "variable", "hint"),
    [
        ({"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY", "required"),
        ({"DATABASE_URL": "mysql://root@localhost/crm"}, "DATABASE_URL", "postgres://"),
        ({"DATABASE_URL": "postgres:///"}, "DATABASE_URL", "names no database"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL", "sqlite:///"),
        ({"CELERY_BROKER_URL": "kafka://localhost"}, "CELERY_BROKER_URL", "redis://"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL", "redis://"),
        ({"CONN_MAX_AGE": "sixty"}, "CONN_MAX_AGE", "whole number"),
        ({"CONN_MAX_AGE": "-1"}, "CONN_MAX_AGE", "at least 0"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG", "true or false"),
        ({"EMAIL_URL": "pigeon://coop"}, "EMAIL_URL", "smtp"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line_naming_the_variable(overrides, variable, hint):
    result = run_manage("check", env_overrides=overrides)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Configuration error: {variable} ")
    assert hint in lines[0]


def test_production_settings_pass_the_deploy_check_without_a_warning():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_turns_on_secure_cookies_hsts_and_https_redirect():
    script = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS)"
    )
    result = run_manage("shell", "-c", script, env_overrides=PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-6:] == ["False", "True", "True", "True", "31536000", "True"]


def test_preflight_names_an_unreachable_database_in_one_line():
    result = run_manage(
        "preflight", env_overrides={"DATABASE_URL": "postgres://crm@127.0.0.1:9/crm"}
    )

    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("CommandError: DATABASE_URL: cannot reach postgresql")


def test_preflight_names_an_unreachable_broker_and_hides_its_password():
    result = run_manage(
        "preflight", env_overrides={"CELERY_BROKER_URL": "redis://:s3cret@127.0.0.1:9/0"}
    )

    assert result.returncode == 1
    assert "CELERY_BROKER_URL: cannot reach the broker" in result.stderr
    assert "s3cret" not in result.stderr


def test_an_anymail_provider_is_configured_from_the_environment():
    script = "from django.conf import settings as s; print(s.EMAIL_BACKEND, s.ANYMAIL)"
    result = run_manage(
        "shell",
        "-c",
        script,
        env_overrides={
            "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
            "ANYMAIL_POSTMARK_SERVER_TOKEN": "token-123",
        },
    )

    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last == "anymail.backends.postmark.EmailBackend {'POSTMARK_SERVER_TOKEN': 'token-123'}"
