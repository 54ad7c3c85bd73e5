"""The blocklist: calls from blocked numbers and prefixes are rejected with a busy signal
before anything rings, and their families end as blocked."""

import random
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from calls.models import Call
from inbound.models import BlockedCaller
from tests.call_log_data import call_family
from tests.conftest import SUPPORT_LINE, TEST_ACCOUNT_SID
from tests.factories import AgentFactory, UserFactory
from tests.twilio_requests import post_signed, replay
from twilio_fakes.scenarios import CallPlan, pstn_to_agents
from voiceproject.roles import ANALYSTS, SUPERVISORS

pytestmark = pytest.mark.django_db

CUSTOMER = "+12125550123"
PLAN = CallPlan(
    account_sid=TEST_ACCOUNT_SID,
    application_sid="AP" + "d" * 32,
    started_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
)
THAT_DAY = {"started_after": "2026-11-02", "started_before": "2026-11-02"}


def block(number: str, *, is_prefix: bool = False) -> BlockedCaller:
    return BlockedCaller.objects.create(number=number, is_prefix=is_prefix, reason="spam")


def voice_request(caller: str) -> dict[str, str]:
    """What Twilio posts to the Voice URL when `caller` calls the support line."""
    deliveries = pstn_to_agents(
        PLAN, random.Random(), caller=caller, number=SUPPORT_LINE, identities=["alice"]
    )
    return deliveries[0].parameters


def answer(client, caller: str) -> ET.Element:
    response = post_signed(client, "/twilio/voice/", voice_request(caller))
    assert response.status_code == 200
    return ET.fromstring(response.content)


def assert_rejected_busy(document: ET.Element):
    assert [(verb.tag, verb.attrib) for verb in document] == [("Reject", {"reason": "busy"})]


def assert_goes_on(document: ET.Element):
    """The call goes on to the agents (nobody is available in these tests, so straight to the
    unanswered-call policy): no <Reject>."""
    assert [verb.tag for verb in document] == ["Redirect"]


def test_a_blocked_number_is_rejected_busy_before_anything_rings(client, agents):
    block(CUSTOMER)

    assert_rejected_busy(answer(client, CUSTOMER))


def test_a_blocked_prefix_rejects_every_number_that_starts_with_it(client, agents):
    block("+1212", is_prefix=True)

    assert_rejected_busy(answer(client, CUSTOMER))


def test_a_number_not_on_the_blocklist_goes_on_to_the_agents(client, agents):
    block("+12125550124")
    block("+1415", is_prefix=True)

    assert_goes_on(answer(client, CUSTOMER))


@pytest.mark.parametrize("withheld", ["+266696687", "anonymous", "Anonymous", "", "+7378742833"])
def test_a_withheld_caller_is_never_matched_by_a_prefix(client, agents, withheld):
    block("+2", is_prefix=True)
    block("+7", is_prefix=True)

    assert_goes_on(answer(client, withheld))


def test_the_rejected_call_is_stored_and_marked_blocked(client, agents):
    block(CUSTOMER)
    form = voice_request(CUSTOMER)

    post_signed(client, "/twilio/voice/", form)

    parent = Call.objects.get(sid=form["CallSid"])
    assert (parent.from_number, parent.blocked) == (CUSTOMER, True)


def blocked_call_replayed(client) -> str:
    """A blocked caller's whole call as Twilio reports it: the Voice URL request, then the
    parent's end with status busy. Returns its SID."""
    deliveries = pstn_to_agents(
        CallPlan(**{**PLAN.__dict__, "outcome": "busy"}),
        random.Random(),
        caller=CUSTOMER,
        number=SUPPORT_LINE,
        identities=[],
    )
    replay(client, deliveries)
    return deliveries[0].parameters["CallSid"]


def test_a_blocked_call_ends_as_blocked_in_the_call_log_not_unanswered(client, agents):
    block(CUSTOMER)
    sid = blocked_call_replayed(client)
    client.force_login(UserFactory(groups=[ANALYSTS]))

    def listed(outcome: str) -> list[str]:
        response = client.get("/api/calls/", {"outcome": outcome})
        return [family["sid"] for family in response.json()["results"]]

    assert listed("blocked") == [sid]
    assert listed("unanswered") == []
    assert client.get(f"/api/calls/{sid}/").json()["family"]["outcome"] == "blocked"


def test_blocked_calls_are_neither_offered_nor_abandoned_in_the_statistics(client, agents):
    block(CUSTOMER)
    blocked_call_replayed(client)
    client.force_login(UserFactory(groups=[ANALYSTS]))

    team = client.get("/api/calls/stats/", THAT_DAY).json()["team"]

    assert (team["inbound"], team["abandoned"]) == (0, 0)


@pytest.mark.parametrize(
    ("number", "is_prefix"), [("+1900", False), ("12125550123", False), ("+", True), ("+1x", True)]
)
def test_an_entry_must_be_an_e164_number_or_prefix(number, is_prefix):
    entry = BlockedCaller(number=number, is_prefix=is_prefix, reason="spam")

    with pytest.raises(ValidationError):
        entry.full_clean()


def test_supervisors_may_manage_the_blocklist():
    supervisor = UserFactory(groups=[SUPERVISORS])

    assert all(
        supervisor.has_perm(f"inbound.{action}_blockedcaller")
        for action in ("add", "change", "delete", "view")
    )


def finished_inbound_call(agent) -> Call:
    return call_family(
        kind="inbound",
        from_number=CUSTOMER,
        answered_by=agent,
        children=[{"agent": agent, "to_number": f"client:{agent.identity}"}],
    )


def test_an_agent_blocks_the_caller_of_a_finished_call_with_a_reason(client):
    alice = AgentFactory(identity="alice")
    family = finished_inbound_call(alice)
    client.force_login(alice.user)

    confirmation = client.get(f"/calls/{family.sid}/block/")
    response = client.post(f"/calls/{family.sid}/block/", {"reason": "Abusive caller"})

    assert confirmation.status_code == 200
    assert response.status_code == 302
    entry = BlockedCaller.objects.get()
    assert (entry.number, entry.is_prefix, entry.reason, entry.added_by) == (
        CUSTOMER,
        False,
        "Abusive caller",
        alice.user,
    )


def test_the_family_page_offers_to_block_the_caller(client):
    alice = AgentFactory(identity="alice")
    family = finished_inbound_call(alice)
    client.force_login(alice.user)

    page = client.get(f"/calls/{family.sid}/").content.decode()

    assert f'href="/calls/{family.sid}/block/"' in page


def test_blocking_without_a_reason_is_refused(client):
    alice = AgentFactory(identity="alice")
    family = finished_inbound_call(alice)
    client.force_login(alice.user)

    response = client.post(f"/calls/{family.sid}/block/", {"reason": ""})

    assert response.status_code == 400
    assert not BlockedCaller.objects.exists()


def test_the_caller_of_a_call_still_ringing_cannot_be_blocked(client):
    alice = AgentFactory(identity="alice")
    family = call_family(kind="inbound", status="ringing", from_number=CUSTOMER)
    call_family(parent=family, agent=alice, start=None)
    client.force_login(alice.user)

    response = client.post(f"/calls/{family.sid}/block/", {"reason": "spam"})

    assert response.status_code == 400
    assert not BlockedCaller.objects.exists()


def test_an_analyst_may_not_block_callers(client):
    family = finished_inbound_call(AgentFactory(identity="alice"))
    client.force_login(UserFactory(groups=[ANALYSTS]))

    response = client.post(f"/calls/{family.sid}/block/", {"reason": "spam"})

    assert response.status_code == 403
    assert not BlockedCaller.objects.exists()


def test_an_agent_cannot_block_the_caller_of_a_call_she_cannot_see(client):
    family = finished_inbound_call(AgentFactory(identity="alice"))
    client.force_login(AgentFactory(identity="bob").user)

    response = client.post(f"/calls/{family.sid}/block/", {"reason": "spam"})

    assert response.status_code == 404


def test_a_supervisor_adds_a_prefix_in_the_admin_and_is_named_as_who_added_it(client):
    supervisor = UserFactory(groups=[SUPERVISORS], is_staff=True)
    client.force_login(supervisor)

    response = client.post(
        "/admin/inbound/blockedcaller/add/",
        {"number": "+1900", "is_prefix": "on", "reason": "Premium-rate spam"},
    )

    assert response.status_code == 302
    entry = BlockedCaller.objects.get()
    assert (entry.number, entry.is_prefix, entry.added_by) == ("+1900", True, supervisor)


def test_the_admin_refuses_a_number_that_is_not_e164(client):
    client.force_login(UserFactory(groups=[SUPERVISORS], is_staff=True))

    response = client.post(
        "/admin/inbound/blockedcaller/add/", {"number": "0800 123", "reason": "spam"}
    )

    assert response.status_code == 200
    assert "valid phone number in E.164" in response.content.decode()
    assert not BlockedCaller.objects.exists()
