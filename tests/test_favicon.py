"""The site's icon: linked by every page and answered at /favicon.ico, never a 404."""

from urllib.request import urlopen

import pytest
from django.templatetags.static import static

from tests.factories import UserFactory
from voiceproject.roles import SUPERVISORS

pytestmark = pytest.mark.django_db

ICON_LINK = f'<link rel="icon" href="{static("voice/favicon.svg")}" type="image/svg+xml">'


@pytest.mark.parametrize("url", ["/login/", "/calls/", "/admin/", "/api/docs/"])
def test_every_page_links_the_icon(client, url):
    client.force_login(UserFactory(is_staff=True, groups=[SUPERVISORS]))

    response = client.get(url)

    assert response.status_code == 200
    assert ICON_LINK in response.content.decode()


def test_the_linked_icon_is_served_as_svg(live_server):
    with urlopen(live_server.url + static("voice/favicon.svg")) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("image/svg+xml")
        assert response.read().startswith(b"<svg ")


def test_favicon_ico_sends_browsers_to_the_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"] == static("voice/favicon.svg")
    assert "max-age=86400" in response["Cache-Control"]
