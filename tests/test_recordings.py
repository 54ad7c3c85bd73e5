"""Recordings and voicemail: callbacks stored once in any order, the media proxy against the
fake Twilio API, the family API and page, the voicemail inbox, reconciliation and retention."""

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.utils import format_datetime

import pytest
import requests
from django.db import connection
from django.test import Client
from django.utils import timezone

from calls.models import Call, ReconcileRun, Recording, RecordingEvent
from calls.reconcile.runs import reconcile_recent_recordings
from calls.recordings.media import MEDIA_CHUNK_BYTES, MEDIA_MAX_REDIRECTS
from calls.recordings.retention import recordings_delete_expired
from tests.conftest import TEST_ACCOUNT_SID
from tests.factories import (
    DEFAULT_PASSWORD,
    AgentFactory,
    CallFactory,
    PhoneNumberFactory,
    RecordingFactory,
    UserFactory,
    api_token_header,
    random_sid,
)
from tests.twilio_requests import post_signed, post_signed_over_http, recording_callback
from tokens.models import ApiToken
from twilio_fakes.rest import FakeTwilio, Media
from voiceproject.roles import ANALYSTS, SUPERVISORS

pytestmark = pytest.mark.django_db

RECORDING_PATH = "/twilio/recording/"


def a_recorded_call_s_callbacks(call_sid: str, recording_sid: str) -> list[dict[str, str]]:
    return [
        recording_callback(call_sid, recording_sid, "in-progress"),
        recording_callback(call_sid, recording_sid, "completed"),
    ]


def media_url(sid: str, extension: str = "mp3") -> str:
    return f"/recordings/{sid}.{extension}"


def logged_in(client, user):
    client.force_login(user)
    return client


# ----- Callbacks -----


def test_a_recording_callback_is_stored_on_its_leg(client):
    call = CallFactory()
    sid = random_sid("RE")
    response = post_signed(client, RECORDING_PATH, recording_callback(call.sid, sid, "completed"))
    assert response.status_code == 204
    recording = Recording.objects.get()
    assert (recording.sid, recording.call, recording.kind, recording.status) == (
        sid,
        call,
        "call",
        "completed",
    )
    assert (recording.channels, recording.duration, recording.source) == (2, 42, "DialVerb")
    assert recording.started_at.isoformat() == "2026-11-02T09:30:05+00:00"
    assert recording.events.get().parameters["RecordingStatus"] == "completed"


@pytest.mark.parametrize("seed", range(4))
def test_duplicated_and_shuffled_callbacks_converge_on_one_row(client, seed):
    call = CallFactory()
    recordings = [random_sid("RE") for _ in range(3)]
    deliveries = [form for sid in recordings for form in a_recorded_call_s_callbacks(call.sid, sid)]
    deliveries *= 2
    random.Random(seed).shuffle(deliveries)
    for form in deliveries:
        assert post_signed(client, RECORDING_PATH, form).status_code == 204
    assert sorted(Recording.objects.values_list("sid", "status", "duration")) == sorted(
        (sid, "completed", 42) for sid in recordings
    )
    assert RecordingEvent.objects.count() == 6


def test_a_late_in_progress_never_overwrites_completed(client):
    call = CallFactory()
    sid = random_sid("RE")
    post_signed(client, RECORDING_PATH, recording_callback(call.sid, sid, "completed"))
    post_signed(client, RECORDING_PATH, recording_callback(call.sid, sid, "in-progress"))
    assert Recording.objects.values_list("status", "duration").get() == ("completed", 42)


def test_a_recording_of_an_unknown_call_creates_a_placeholder_leg(client):
    call_sid = random_sid("CA")
    post_signed(client, RECORDING_PATH, recording_callback(call_sid, random_sid("RE"), "completed"))
    leg = Call.objects.get(sid=call_sid)
    assert (leg.status, leg.account_sid, leg.recordings.count()) == ("", TEST_ACCOUNT_SID, 1)


def test_a_completed_voicemail_belongs_to_its_number_and_marks_the_call(client):
    line = PhoneNumberFactory()
    call = CallFactory(to_number=line.number)
    form = recording_callback(
        call.sid, random_sid("RE"), "completed", RecordingSource="RecordVerb", RecordingChannels="1"
    )
    post_signed(client, f"{RECORDING_PATH}?number={line.pk}", form)
    voicemail = Recording.objects.get()
    assert (voicemail.kind, voicemail.voicemail_number, voicemail.channels) == (
        "voicemail",
        line,
        1,
    )
    call.refresh_from_db()
    assert call.voicemail_left is True


def test_an_absent_voicemail_marks_nothing_on_the_call(client):
    call = CallFactory()
    form = recording_callback(call.sid, random_sid("RE"), "absent", RecordingSource="RecordVerb")
    post_signed(client, RECORDING_PATH, form)
    call.refresh_from_db()
    assert call.voicemail_left is False


def test_a_voicemail_for_an_agent_since_removed_is_kept_without_owner(client):
    call = CallFactory()
    form = recording_callback(call.sid, random_sid("RE"), "completed", RecordingSource="RecordVerb")
    post_signed(client, f"{RECORDING_PATH}?agent=999999", form)
    assert Recording.objects.values_list("kind", "voicemail_agent").get() == ("voicemail", None)


def test_an_in_progress_recording_of_unknown_duration_is_stored_then_completed(client):
    """Twilio's in-progress callback says RecordingDuration=-1: not known yet."""
    call = CallFactory()
    sid = random_sid("RE")
    in_progress = recording_callback(call.sid, sid, "in-progress", RecordingDuration="-1")
    assert post_signed(client, RECORDING_PATH, in_progress).status_code == 204
    assert Recording.objects.values_list("status", "duration").get() == ("in-progress", None)
    post_signed(client, RECORDING_PATH, recording_callback(call.sid, sid, "completed"))
    assert Recording.objects.values_list("status", "duration").get() == ("completed", 42)


@pytest.mark.parametrize(
    "changes",
    [
        {"RecordingChannels": "-1", "RecordingDuration": "-1", "ErrorCode": "-1"},
        {
            "RecordingChannels": "",
            "RecordingDuration": "",
            "RecordingStartTime": "",
            "ErrorCode": "",
        },
        {"RecordingTrack": "both", "ConferenceSid": "", "CallbackSource": "recording-events"},
    ],
)
def test_unknown_values_and_extra_parameters_in_a_recording_callback_are_taken(client, changes):
    call = CallFactory()
    form = recording_callback(call.sid, random_sid("RE"), "absent", **changes)
    assert post_signed(client, RECORDING_PATH, form).status_code == 204
    recording = Recording.objects.get()
    assert recording.status == "absent"
    assert recording.events.get().parameters == form


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"RecordingSid": "RE123"}, b"RecordingSid"),
        ({"RecordingStatus": "lost"}, b"RecordingStatus"),
        ({"RecordingChannels": "3"}, b"RecordingChannels"),
        ({"RecordingDuration": "1.5"}, b"RecordingDuration"),
        ({"RecordingStartTime": "yesterday"}, b"RecordingStartTime"),
        ({"RecordingStartTime": "Mon, 02 Nov 2099 09:30:05 +0000"}, b"RecordingStartTime"),
        ({"RecordingSource": "Dial\x00Verb"}, b"NUL byte"),
        ({"CallSid": ""}, b"CallSid"),
    ],
)
def test_a_malformed_recording_callback_is_refused_and_nothing_stored(client, changes, reason):
    form = recording_callback(random_sid("CA"), random_sid("RE"), "completed", **changes)
    response = post_signed(client, RECORDING_PATH, form)
    assert response.status_code == 400
    assert reason in response.content
    assert not Recording.objects.exists()
    assert not Call.objects.exists()


def test_a_forged_recording_callback_is_refused_and_nothing_stored(client):
    form = recording_callback(random_sid("CA"), random_sid("RE"), "completed")
    response = client.post(RECORDING_PATH, form, headers={"X-Twilio-Signature": "forged"})
    assert response.status_code == 403
    assert not Recording.objects.exists()


def test_a_recording_callback_for_another_account_is_refused(client):
    form = recording_callback(
        random_sid("CA"), random_sid("RE"), "completed", AccountSid=random_sid("AC")
    )
    assert post_signed(client, RECORDING_PATH, form).status_code == 403
    assert not Recording.objects.exists()


def test_a_database_outage_answers_503(client, database_down):
    form = recording_callback(random_sid("CA"), random_sid("RE"), "completed")
    assert post_signed(client, RECORDING_PATH, form).status_code == 503


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicated_callbacks_and_dial_actions_give_one_row_each(live_server):
    """Twilio's deliveries for ten unanswered calls, each left a voicemail, sent three times
    over, shuffled, sixteen at a time: one recording and one event per delivery."""
    line = PhoneNumberFactory()
    calls = [CallFactory(to_number=line.number) for _ in range(10)]
    deliveries = []
    for call in calls:
        parent = {
            "AccountSid": TEST_ACCOUNT_SID,
            "CallSid": call.sid,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "From": call.from_number,
            "To": call.to_number,
        }
        action = parent | {"DialCallStatus": "no-answer", "DialCallSid": random_sid("CA")}
        deliveries.append(("/twilio/dial/?offered=alice", action))
        sid = random_sid("RE")
        for form in a_recorded_call_s_callbacks(call.sid, sid):
            form["RecordingSource"] = "RecordVerb"
            deliveries.append((f"{RECORDING_PATH}?number={line.pk}", form))
    deliveries *= 3
    random.Random(7).shuffle(deliveries)

    def send(delivery):
        path, form = delivery
        return post_signed_over_http(live_server.url + path, form).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(send, deliveries))
    assert set(statuses) <= {200, 204}
    assert Recording.objects.filter(kind="voicemail", status="completed").count() == 10
    assert RecordingEvent.objects.count() == 20
    assert Call.objects.count() == 10
    assert Call.objects.filter(unanswered=True, voicemail_left=True).count() == 10


# ----- Listening through the media proxy -----


@pytest.fixture
def analyst():
    return UserFactory(groups=[ANALYSTS])


def test_an_analyst_hears_the_audio_through_our_server(client, fake_twilio, analyst):
    recording = RecordingFactory()
    fake_twilio.add_recording(recording.call.sid, sid=recording.sid, media=b"ID3 audio bytes")
    response = logged_in(client, analyst).get(media_url(recording.sid))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mpeg"
    assert response["Content-Length"] == "15"
    assert b"".join(response.streaming_content) == b"ID3 audio bytes"
    # Twilio's host and our credentials stay on the server.
    assert fake_twilio.base_url not in str(response.headers)


def test_wav_is_served_with_twilios_content_type(client, fake_twilio, analyst):
    recording = RecordingFactory()
    fake_twilio.add_recording(recording.call.sid, sid=recording.sid, media=b"RIFF....WAVE")
    response = logged_in(client, analyst).get(media_url(recording.sid, "wav"))
    assert response["Content-Type"] == "audio/x-wav"


def test_a_range_request_seeks(client, fake_twilio, analyst):
    recording = RecordingFactory()
    fake_twilio.add_recording(recording.call.sid, sid=recording.sid, media=bytes(range(100)))
    response = logged_in(client, analyst).get(
        media_url(recording.sid), headers={"Range": "bytes=10-19"}
    )
    assert response.status_code == 206
    assert response["Content-Range"] == "bytes 10-19/100"
    assert b"".join(response.streaming_content) == bytes(range(10, 20))


def test_a_recording_larger_than_the_buffer_streams_whole_in_chunks(client, fake_twilio, analyst):
    recording = RecordingFactory()
    audio = random.Random(3).randbytes(MEDIA_CHUNK_BYTES * 5 + 123)
    fake_twilio.add_recording(recording.call.sid, sid=recording.sid, media=audio)
    response = logged_in(client, analyst).get(media_url(recording.sid))
    chunks = list(response.streaming_content)
    assert b"".join(chunks) == audio
    assert max(len(chunk) for chunk in chunks) <= MEDIA_CHUNK_BYTES


def test_a_recording_twilio_no_longer_has_is_404(client, fake_twilio, analyst):
    recording = RecordingFactory()
    assert logged_in(client, analyst).get(media_url(recording.sid)).status_code == 404


def test_twilio_failing_is_a_502_not_a_500(client, fake_twilio, analyst):
    recording = RecordingFactory()
    fake_twilio.add_recording(recording.call.sid, sid=recording.sid)
    fake_twilio.fail_next(1, 500)
    assert logged_in(client, analyst).get(media_url(recording.sid)).status_code == 502


def test_twilio_s_redirect_to_its_own_host_is_followed_with_range(client, fake_twilio, analyst):
    recording = RecordingFactory()
    stored = fake_twilio.add_recording(random_sid("CA"), media=bytes(range(100)))
    fake_twilio.redirect(fake_twilio.media_url(recording.sid), fake_twilio.media_url(stored["sid"]))
    response = logged_in(client, analyst).get(
        media_url(recording.sid), headers={"Range": "bytes=90-"}
    )
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == bytes(range(90, 100))


@pytest.fixture
def elsewhere():
    """Another server, that no request of ours may reach."""
    server = FakeTwilio(account_sid=TEST_ACCOUNT_SID, credentials=set()).start()
    yield server
    server.stop()


def test_a_redirect_to_another_host_is_a_bad_gateway_and_never_followed(
    client, fake_twilio, analyst, elsewhere, caplog
):
    recording = RecordingFactory()
    target = elsewhere.media_url(recording.sid)
    fake_twilio.redirect(fake_twilio.media_url(recording.sid), target)
    response = logged_in(client, analyst).get(media_url(recording.sid))
    assert response.status_code == 502
    assert elsewhere.requests == []
    assert "127.0.0.1" not in response.content.decode() + str(response.headers)
    assert "redirected recording" in caplog.text


def test_a_redirect_loop_is_a_bad_gateway(client, fake_twilio, analyst):
    recording = RecordingFactory()
    fake_twilio.redirect(fake_twilio.media_url(recording.sid), fake_twilio.media_url(recording.sid))
    assert logged_in(client, analyst).get(media_url(recording.sid)).status_code == 502
    assert len(fake_twilio.requests) == 1 + MEDIA_MAX_REDIRECTS


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads pg_stat_activity")
def test_a_stream_in_progress_holds_no_database_transaction(live_server, fake_twilio):
    alice = AgentFactory()
    recording = RecordingFactory(call=CallFactory(agent=alice))
    fake_twilio.add_recording(
        recording.call.sid, sid=recording.sid, media=Media(size=20 * MEDIA_CHUNK_BYTES)
    )
    with requests.get(
        live_server.url + media_url(recording.sid),
        headers=api_token_header(alice.user),
        stream=True,
        timeout=10,
    ) as response:
        assert response.status_code == 200
        assert next(response.iter_content(MEDIA_CHUNK_BYTES))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
            )
            assert cursor.fetchone() == (0,)


def test_anonymous_listeners_are_sent_to_log_in(client, fake_twilio):
    recording = RecordingFactory()
    response = client.get(media_url(recording.sid))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert fake_twilio.requests == []


def test_an_agent_hears_recordings_of_her_calls_and_nobody_elses(client, fake_twilio):
    alice = AgentFactory()
    hers = RecordingFactory(call=CallFactory(agent=alice))
    theirs = RecordingFactory()
    for recording in (hers, theirs):
        fake_twilio.add_recording(recording.call.sid, sid=recording.sid)
    logged_in(client, alice.user)
    assert client.get(media_url(hers.sid)).status_code == 200
    assert client.get(media_url(theirs.sid)).status_code == 404


def test_a_user_without_a_role_hears_nothing(client, fake_twilio):
    recording = RecordingFactory()
    fake_twilio.add_recording(recording.call.sid, sid=recording.sid)
    assert logged_in(client, UserFactory()).get(media_url(recording.sid)).status_code == 404


def test_a_deleted_recording_cannot_be_played(client, fake_twilio, analyst):
    recording = RecordingFactory(deleted_at=timezone.now())
    fake_twilio.add_recording(recording.call.sid, sid=recording.sid)
    assert logged_in(client, analyst).get(media_url(recording.sid)).status_code == 404


def test_an_agent_hears_voicemail_left_on_her_number_and_it_counts_as_listened(client, fake_twilio):
    alice = AgentFactory()
    line = PhoneNumberFactory()
    line.agents.add(alice)
    voicemail = RecordingFactory(kind="voicemail", voicemail_number=line)
    fake_twilio.add_recording(voicemail.call.sid, sid=voicemail.sid)
    assert logged_in(client, alice.user).get(media_url(voicemail.sid)).status_code == 200
    voicemail.refresh_from_db()
    assert voicemail.listened_at is not None


def test_a_supervisor_playing_a_voicemail_leaves_it_new_for_its_owner(client, fake_twilio):
    voicemail = RecordingFactory(kind="voicemail", voicemail_agent=AgentFactory())
    fake_twilio.add_recording(voicemail.call.sid, sid=voicemail.sid)
    logged_in(client, UserFactory(groups=[SUPERVISORS])).get(media_url(voicemail.sid))
    voicemail.refresh_from_db()
    assert voicemail.listened_at is None


# ----- Listening from mobile apps, with an API token -----


def device_login(client, user) -> dict[str, str]:
    """Log a device in as mobile apps do, and return the header it then sends."""
    login = client.post(
        "/api/auth/token/", {"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 200
    return {"Authorization": f"Token {login.json()['token']}"}


def test_an_app_plays_the_api_s_media_url_with_its_api_token(client, fake_twilio):
    alice = AgentFactory()
    recording = RecordingFactory(call=CallFactory(agent=alice))
    fake_twilio.add_recording(recording.call.sid, sid=recording.sid, media=bytes(range(100)))
    token = device_login(client, alice.user)
    family = client.get(f"/api/calls/{recording.call.sid}/", headers=token).json()
    media = family["recordings"][0]["media_url"]

    response = client.get(media, headers={**token, "Range": "bytes=10-19"})

    assert response.status_code == 206
    assert response["Content-Range"] == "bytes 10-19/100"
    assert b"".join(response.streaming_content) == bytes(range(10, 20))


def test_an_api_token_hears_only_what_its_user_may(client, fake_twilio):
    alice = AgentFactory()
    theirs = RecordingFactory()
    fake_twilio.add_recording(theirs.call.sid, sid=theirs.sid)
    response = client.get(media_url(theirs.sid), headers=api_token_header(alice.user))
    assert response.status_code == 404
    assert fake_twilio.requests == []


def test_an_agent_s_api_token_plays_her_voicemail_and_marks_it_listened(client, fake_twilio):
    alice = AgentFactory()
    voicemail = RecordingFactory(kind="voicemail", voicemail_agent=alice)
    fake_twilio.add_recording(voicemail.call.sid, sid=voicemail.sid)
    response = client.get(media_url(voicemail.sid), headers=api_token_header(alice.user))
    assert response.status_code == 200
    voicemail.refresh_from_db()
    assert voicemail.listened_at is not None


@pytest.mark.parametrize(
    "authorization", ["Token 0123456789abcdef", "Token", "token a b", "TOKEN never-issued"]
)
def test_a_bad_api_token_is_refused_with_401_never_sent_to_log_in(
    client, fake_twilio, analyst, authorization
):
    recording = RecordingFactory()
    fake_twilio.add_recording(recording.call.sid, sid=recording.sid)
    # A session does not rescue a request that sends a token: the token decides, as in the API.
    logged_in(client, analyst)
    response = client.get(media_url(recording.sid), headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert fake_twilio.requests == []


def test_a_token_logged_out_or_of_a_changed_password_no_longer_plays(client, fake_twilio):
    alice = AgentFactory()
    recording = RecordingFactory(call=CallFactory(agent=alice))
    fake_twilio.add_recording(recording.call.sid, sid=recording.sid)
    logged_out, changed = device_login(client, alice.user), device_login(client, alice.user)
    assert client.delete("/api/auth/token/", headers=logged_out).status_code == 204
    alice.user.set_password("a new passphrase 2026")
    alice.user.save()
    for header in (logged_out, changed):
        assert client.get(media_url(recording.sid), headers=header).status_code == 401


def test_an_expired_api_token_no_longer_plays(client, fake_twilio):
    alice = AgentFactory()
    recording = RecordingFactory(call=CallFactory(agent=alice))
    header = api_token_header(alice.user)
    ApiToken.objects.update(
        created_at=timezone.now() - timedelta(days=2), expires_at=timezone.now()
    )
    assert client.get(media_url(recording.sid), headers=header).status_code == 401


# ----- The family API and page -----


def test_the_family_api_lists_its_recordings_with_our_media_url(client, analyst):
    parent = CallFactory()
    child = CallFactory(parent=parent, direction="outbound-dial")
    recording = RecordingFactory(call=parent, duration=42, channels=2, source="DialVerb")
    logged_in(client, analyst)
    body = client.get(f"/api/calls/{child.sid}/").json()
    assert body["recordings"] == [
        {
            "sid": recording.sid,
            "call_sid": parent.sid,
            "kind": "call",
            "status": "completed",
            "duration": 42,
            "channels": 2,
            "source": "DialVerb",
            "started_at": None,
            "media_url": f"http://testserver/recordings/{recording.sid}.mp3",
        }
    ]


def test_a_deleted_recording_is_listed_without_media_url(client, analyst):
    recording = RecordingFactory(deleted_at=timezone.now())
    body = logged_in(client, analyst).get(f"/api/calls/{recording.call.sid}/").json()
    assert body["recordings"][0]["media_url"] is None


def test_the_family_page_has_an_audio_player_on_our_url(client, analyst):
    recording = RecordingFactory()
    page = logged_in(client, analyst).get(f"/calls/{recording.call.sid}/").content.decode()
    assert f'<audio controls preload="metadata" src="/recordings/{recording.sid}.mp3">' in page


def test_the_family_page_says_who_missed_the_call_and_that_a_voicemail_was_left(client, analyst):
    call = CallFactory(unanswered=True, offered_to=["alice", "bob"], voicemail_left=True)
    page = logged_in(client, analyst).get(f"/calls/{call.sid}/").content.decode()
    assert "Nobody answered (rang alice, bob); the caller left a voicemail" in page


# ----- Voicemail inbox -----


def test_an_agent_s_inbox_holds_her_voicemail_and_her_numbers(client):
    alice = AgentFactory()
    line = PhoneNumberFactory()
    line.agents.add(alice)
    own = RecordingFactory(kind="voicemail", voicemail_agent=alice)
    numbers = RecordingFactory(kind="voicemail", voicemail_number=line, listened_at=timezone.now())
    elsewhere = RecordingFactory(kind="voicemail", voicemail_agent=AgentFactory())
    page = logged_in(client, alice.user).get("/recordings/voicemail/").content.decode()
    assert own.sid in page
    assert numbers.sid in page
    assert elsewhere.sid not in page
    assert page.count("not-listened") == 1


def test_supervisors_and_analysts_see_every_voicemail(client, analyst):
    voicemail = [RecordingFactory(kind="voicemail", voicemail_agent=AgentFactory()) for _ in "ab"]
    page = logged_in(client, analyst).get("/recordings/voicemail/").content.decode()
    assert all(message.sid in page for message in voicemail)


def test_the_inbox_sends_anyone_without_a_role_to_log_in(client):
    response = logged_in(client, UserFactory()).get("/recordings/voicemail/")
    assert response.status_code == 302


def colleague_voicemail_for(alice):
    """bob called alice, who did not answer: the parent leg is bob's, the voicemail alice's."""
    bob = AgentFactory(identity="bob", user=UserFactory(first_name="Bob", last_name="Brown"))
    call = CallFactory(from_number="client:bob", to_number="alice", agent=bob)
    return RecordingFactory(call=call, kind="voicemail", voicemail_agent=alice)


def test_a_colleague_s_voicemail_names_the_colleague_and_offers_to_call_back(client):
    alice = AgentFactory(identity="alice")
    colleague_voicemail_for(alice)
    page = logged_in(client, alice.user).get("/recordings/voicemail/").content.decode()
    assert "Bob Brown (bob)" in page
    assert "client:bob" not in page
    assert 'href="/phone/?dial=bob">Call back</a>' in page


def test_a_caller_s_voicemail_offers_to_call_the_number_back(client):
    alice = AgentFactory()
    RecordingFactory(
        call=CallFactory(from_number="+12125550123"), kind="voicemail", voicemail_agent=alice
    )
    page = logged_in(client, alice.user).get("/recordings/voicemail/").content.decode()
    assert 'href="/phone/?dial=%2B12125550123">Call back</a>' in page


@pytest.mark.parametrize("from_number", ["anonymous", "+266696687", ""])
def test_a_withheld_or_unknown_caller_cannot_be_called_back(client, from_number):
    alice = AgentFactory()
    RecordingFactory(
        call=CallFactory(from_number=from_number), kind="voicemail", voicemail_agent=alice
    )
    page = logged_in(client, alice.user).get("/recordings/voicemail/").content.decode()
    assert "Call back" not in page


def delete_url(voicemail) -> str:
    return f"/recordings/voicemail/{voicemail.sid}/delete/"


def test_the_owner_deletes_her_voicemail_at_twilio_and_keeps_the_call(client, fake_twilio):
    alice = AgentFactory()
    voicemail = colleague_voicemail_for(alice)
    fake_twilio.add_recording(voicemail.call.sid, sid=voicemail.sid)
    logged_in(client, alice.user)
    assert "deleted at Twilio too" in client.get(delete_url(voicemail)).content.decode()
    assert fake_twilio.deleted_recordings == []
    page = client.post(delete_url(voicemail), follow=True).content.decode()
    assert "Deleted the voicemail from Bob Brown (bob): Twilio no longer has the recording" in page
    assert fake_twilio.deleted_recordings == [voicemail.sid]
    voicemail.refresh_from_db()
    assert voicemail.deleted_at is not None
    assert voicemail.sid not in client.get("/recordings/voicemail/").content.decode()


def test_a_supervisor_deletes_anyone_s_voicemail(client, fake_twilio):
    voicemail = colleague_voicemail_for(AgentFactory())
    fake_twilio.add_recording(voicemail.call.sid, sid=voicemail.sid)
    logged_in(client, UserFactory(groups=[SUPERVISORS])).post(delete_url(voicemail))
    assert fake_twilio.deleted_recordings == [voicemail.sid]


def test_an_analyst_may_hear_but_not_delete_someone_s_voicemail(client, fake_twilio, analyst):
    voicemail = colleague_voicemail_for(AgentFactory())
    page = logged_in(client, analyst).get("/recordings/voicemail/").content.decode()
    assert voicemail.sid in page
    assert "Delete" not in page
    assert client.post(delete_url(voicemail)).status_code == 403
    assert fake_twilio.deleted_recordings == []


def test_another_agent_cannot_even_find_someone_s_voicemail_to_delete(client, fake_twilio):
    voicemail = colleague_voicemail_for(AgentFactory())
    assert logged_in(client, AgentFactory().user).post(delete_url(voicemail)).status_code == 404
    assert fake_twilio.deleted_recordings == []


def test_deleting_a_voicemail_needs_the_csrf_token(fake_twilio):
    alice = AgentFactory()
    voicemail = colleague_voicemail_for(alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.user)
    assert client.post(delete_url(voicemail)).status_code == 403
    assert fake_twilio.deleted_recordings == []


def test_a_voicemail_twilio_fails_to_delete_is_kept_and_the_owner_told(
    client, fake_twilio, settings
):
    settings.TWILIO_API_RETRIES = 0
    alice = AgentFactory()
    voicemail = colleague_voicemail_for(alice)
    fake_twilio.add_recording(voicemail.call.sid, sid=voicemail.sid)
    fake_twilio.fail_next(1, 500)
    page = logged_in(client, alice.user).post(delete_url(voicemail), follow=True)
    assert "Twilio did not delete the voicemail from Bob Brown (bob), so it is kept" in (
        page.content.decode()
    )
    voicemail.refresh_from_db()
    assert (voicemail.deleted_at, voicemail.deletion_attempts) == (None, 1)


# ----- Reconciliation -----


def test_reconciliation_finds_recordings_whose_callbacks_never_came(fake_twilio):
    call = CallFactory()
    line = PhoneNumberFactory()
    missed = CallFactory(to_number=line.number)
    fake_twilio.add_recording(call.sid, duration=30)
    fake_twilio.add_recording(missed.sid, source="RecordVerb", channels=1)
    fake_twilio.add_recording(
        random_sid("CA"), start_time=timezone.now() - timedelta(days=5)
    )  # older than the first look back
    run = reconcile_recent_recordings()
    assert (run.outcome, run.recordings_seen) == (ReconcileRun.Outcome.SUCCEEDED, 2)
    assert call.recordings.get().duration == 30
    voicemail = missed.recordings.get()
    assert (voicemail.kind, voicemail.voicemail_number) == ("voicemail", line)
    missed.refresh_from_db()
    assert missed.voicemail_left is True


def test_reconciliation_stores_a_recording_in_progress_with_its_duration_unknown(fake_twilio):
    # The REST API lists a recording still in progress with duration "-1".
    call = CallFactory()
    fake_twilio.add_recording(call.sid, status="in-progress", duration=-1)
    run = reconcile_recent_recordings()
    assert (run.outcome, run.errors) == ("succeeded", 0)
    assert call.recordings.values_list("status", "duration").get() == ("in-progress", None)


def test_reconciling_twice_changes_nothing(fake_twilio):
    call = CallFactory()
    fake_twilio.add_recording(call.sid)
    reconcile_recent_recordings()
    reconcile_recent_recordings()
    assert Recording.objects.count() == 1


def test_a_failing_listing_is_recorded_on_the_run(fake_twilio, settings):
    settings.TWILIO_API_RETRIES = 0
    fake_twilio.fail_next(1, 500)
    with pytest.raises(Exception, match="Twilio API unavailable"):
        reconcile_recent_recordings()
    assert ReconcileRun.objects.get().outcome == ReconcileRun.Outcome.FAILED


# ----- Retention -----


def old_recording(fake_twilio, days: int = 40):
    recording = RecordingFactory()
    Recording.objects.filter(pk=recording.pk).update(
        created_at=timezone.now() - timedelta(days=days)
    )
    fake_twilio.add_recording(recording.call.sid, sid=recording.sid)
    return recording


def test_retention_deletes_old_recordings_at_twilio_and_keeps_the_row(fake_twilio, settings):
    settings.RECORDING_RETENTION_DAYS = 30
    old = old_recording(fake_twilio)
    recent = old_recording(fake_twilio, days=2)
    outcome = recordings_delete_expired(now=timezone.now())
    assert (outcome.deleted, outcome.failed) == (1, 0)
    assert fake_twilio.deleted_recordings == [old.sid]
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.deleted_at is not None
    assert recent.deleted_at is None


def test_without_retention_nothing_is_deleted(fake_twilio, settings):
    settings.RECORDING_RETENTION_DAYS = None
    old_recording(fake_twilio, days=4000)
    recordings_delete_expired(now=timezone.now())
    assert fake_twilio.deleted_recordings == []


def test_a_recording_already_gone_at_twilio_is_marked_deleted(fake_twilio, settings):
    settings.RECORDING_RETENTION_DAYS = 30
    old = old_recording(fake_twilio)
    del fake_twilio.recordings[old.sid]
    recordings_delete_expired(now=timezone.now())
    old.refresh_from_db()
    assert old.deleted_at is not None


def test_a_failed_deletion_is_noted_and_retried_next_run(fake_twilio, settings):
    settings.RECORDING_RETENTION_DAYS = 30
    settings.TWILIO_API_RETRIES = 0
    old = old_recording(fake_twilio)
    fake_twilio.fail_next(1, 500)
    assert recordings_delete_expired(now=timezone.now()).failed == 1
    old.refresh_from_db()
    assert (old.deleted_at, old.deletion_attempts) == (None, 1)
    assert "Twilio API unavailable" in old.deletion_error

    assert recordings_delete_expired(now=timezone.now()).deleted == 1
    old.refresh_from_db()
    assert (old.deleted_at is not None, old.deletion_error) == (True, "")
    assert fake_twilio.deleted_recordings == [old.sid]


def test_recording_start_times_read_like_twilios(client):
    # RFC 2822 as Twilio writes it, in another zone: stored as the same instant.
    call = CallFactory()
    started = timezone.now().replace(microsecond=0)
    form = recording_callback(
        call.sid, random_sid("RE"), "completed", RecordingStartTime=format_datetime(started)
    )
    post_signed(client, RECORDING_PATH, form)
    assert Recording.objects.get().started_at == started


def test_a_recording_twilio_describes_impossibly_is_skipped_and_counted(fake_twilio):
    call = CallFactory()
    fake_twilio.add_recording(call.sid)
    fake_twilio.add_recording(call.sid, duration=10**9)
    run = reconcile_recent_recordings()
    assert (run.outcome, run.recordings_seen, run.errors) == ("succeeded", 2, 1)
    assert "longer than a call can last" in run.error_message
    assert call.recordings.count() == 1
