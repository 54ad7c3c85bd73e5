"""Password change and reset cannot be used to guess a password or flood a mailbox.

Counts live in the real Redis cache (REDIS_URL), under a key prefix of each test's own
(tests/conftest.py: own_cache_keys).
"""

import pytest

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-long-password-42"


def change_password(client, old_password: str):
    return client.post(
        "/password_change/",
        {"old_password": old_password, "new_password1": NEW_PASSWORD,
         "new_password2": NEW_PASSWORD},
    )  # fmt: skip


def test_wrong_current_passwords_stop_being_checked_at_the_login_failure_limit(client, settings):
    user = UserFactory()
    client.force_login(user)

    guesses = [
        change_password(client, "guess").status_code for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    right = change_password(client, DEFAULT_PASSWORD)

    assert set(guesses) == {200}
    assert right.status_code == 429
    assert "Too many wrong current passwords" in right.content.decode()
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_one_users_wrong_guesses_leave_another_free_to_change_hers(client, settings):
    guesser = UserFactory()
    client.force_login(guesser)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        change_password(client, "guess")
    other = UserFactory()
    client.force_login(other)

    response = change_password(client, DEFAULT_PASSWORD)

    assert response.status_code == 302
    other.refresh_from_db()
    assert other.check_password(NEW_PASSWORD)


def test_resets_for_one_address_send_at_most_the_mail_limit_and_answer_alike(
    client, settings, mailoutbox
):
    settings.PASSWORD_RESET_CLIENT_LIMIT = 100
    UserFactory(email="alice@example.com")

    answers = [
        client.post("/password_reset/", {"email": "Alice@example.com"})["Location"]
        for _ in range(20)
    ]
    unknown = client.post("/password_reset/", {"email": "nobody@example.com"})["Location"]

    assert len(mailoutbox) == settings.PASSWORD_RESET_MAIL_LIMIT
    assert set(answers) == {unknown} == {"/password_reset/done/"}


def test_reset_requests_from_one_client_beyond_the_limit_answer_429(client, settings, mailoutbox):
    settings.PASSWORD_RESET_CLIENT_LIMIT = 2
    UserFactory(email="bob@example.com")

    answers = [
        client.post("/password_reset/", {"email": f"someone{number}@example.com"}).status_code
        for number in range(2)
    ]
    refused = client.post("/password_reset/", {"email": "bob@example.com"})

    assert answers == [302, 302]
    assert refused.status_code == 429
    assert "Too many reset requests" in refused.content.decode()
    assert mailoutbox == []


UNREACHABLE_REDIS_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
    }
}


def test_a_password_is_changed_and_reset_mail_sent_while_the_cache_does_not_answer(
    client, settings, mailoutbox
):
    settings.CACHES = UNREACHABLE_REDIS_CACHE
    user = UserFactory(email="alice@example.com")
    client.force_login(user)

    changed = change_password(client, DEFAULT_PASSWORD)
    client.logout()
    reset = client.post("/password_reset/", {"email": "alice@example.com"})

    assert changed.status_code == 302
    assert reset.status_code == 302
    assert len(mailoutbox) == 1
