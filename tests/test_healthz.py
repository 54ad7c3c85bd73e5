import socket
import sqlite3

import pytest
from django.db import connection


@pytest.fixture
def database_unreachable():
    """Point the default connection at a database that cannot be reached; restore it after."""
    original = connection.settings_dict.copy()
    keeper = None
    if connection.vendor == "sqlite":
        # Closing the last connection to an in-memory database destroys it: hold one open.
        keeper = sqlite3.connect(original["NAME"], uri=True)
        connection.settings_dict["NAME"] = "/nonexistent-directory/db.sqlite3"
    else:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port))
    connection.close()
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(original)
    if keeper is not None:
        keeper.close()


@pytest.mark.django_db
def test_healthz_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db(transaction=True)
def test_healthz_is_503_naming_the_database_when_it_does_not_answer(
    client, database_unreachable, caplog
):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable (OperationalError)"}
    assert "the database did not answer" in caplog.text
