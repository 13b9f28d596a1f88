"""The /healthz endpoint that load balancers and operators probe."""

import json

import pytest

import crm
from celerytasks import app as celery_app
from tests.conftest import run_manage


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_version(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "version": crm.__version__}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch):
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:9/0")
    monkeypatch.setitem(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"] == "error"
    assert response.json()["database"] == "ok"


def test_healthz_is_503_when_the_database_is_down():
    script = (
        "from django.test import Client; import json; "
        "r = Client().get('/healthz', HTTP_HOST='localhost'); "
        "print(json.dumps({'status': r.status_code, **r.json()}))"
    )
    result = run_manage(
        "shell", "-c", script, env_overrides={"DATABASE_URL": "postgres://crm@127.0.0.1:9/crm"}
    )

    reply = json.loads(result.stdout.strip().splitlines()[-1])
    assert reply["status"] == 503
    assert reply["database"] == "error"
    assert reply["broker"] == "ok"


@pytest.mark.django_db
def test_healthz_answers_only_get(client):
    assert client.post("/healthz").status_code == 405
