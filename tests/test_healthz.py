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


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "head"])
def test_healthz_answers_a_load_balancer_asking_by_address(client, settings, method):
    """nginx's own probe and load balancers send Host: <address>:<port>, which no
    ALLOWED_HOSTS of a production server lists."""
    settings.ALLOWED_HOSTS = ["voice.example.com"]

    response = getattr(client, method)("/healthz", HTTP_HOST="127.0.0.1:8000")

    assert response.status_code == 200


@pytest.mark.django_db
def test_other_paths_still_refuse_a_host_allowed_hosts_does_not_list(client, settings, caplog):
    settings.ALLOWED_HOSTS = ["voice.example.com"]

    assert client.get("/healthz", HTTP_HOST="10.0.0.7").status_code == 200
    assert "Invalid HTTP_HOST" not in caplog.text
    assert client.get("/login/", HTTP_HOST="10.0.0.7").status_code == 400
    assert client.get("/healthz/", HTTP_HOST="10.0.0.7").status_code == 400
