import pytest
from django.conf import settings


@pytest.mark.django_db
def test_healthz_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_answers_head_with_gets_status_and_no_body(client):
    response = client.head("/healthz")

    assert response.status_code == 200
    assert response.content == b""


def test_healthz_answers_head_with_503_when_the_database_does_not_answer(client, database_down):
    response = client.head("/healthz")

    assert response.status_code == 503
    assert response.content == b""


def test_healthz_is_503_naming_the_database_when_it_does_not_answer(client, database_down, caplog):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable (OperationalError)"}
    assert "the database did not answer" in caplog.text


def test_healthz_is_503_for_a_browser_with_a_session_cookie_too(client, database_down):
    """Pages look up the logged-in user's time zone first; the database being down must not
    turn the health check's answer into a 500."""
    client.cookies[settings.SESSION_COOKIE_NAME] = "a" * 32

    response = client.get("/healthz")

    assert response.status_code == 503
