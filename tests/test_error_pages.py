"""Our own 403, 404 and 500 pages, in the site's look, with DEBUG off."""

import pytest
from django.template.loader import render_to_string

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_unknown_page_answers_our_404(client):
    client.force_login(UserFactory())

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert b"There is no such page" in response.content
    assert b'class="topbar"' in response.content


def test_forbidden_page_answers_our_403(client):
    client.force_login(UserFactory(is_staff=True))

    response = client.get("/admin/twilio-setup/")

    assert response.status_code == 403
    assert b"You may not open this page" in response.content


def test_server_error_page_renders_without_a_request_or_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        page = render_to_string("500.html")

    assert "Something went wrong on our side" in page
    assert 'class="topbar"' in page
