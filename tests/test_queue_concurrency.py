"""Twenty callers arriving within a second at two gunicorn processes on PostgreSQL: no
agent is offered two calls at once, and each caller rings a distinct agent or waits."""

import secrets
import xml.etree.ElementTree as ET
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db.models import Count

from agents.constants import Availability
from inbound.models import CallerOutcome, QueueCaller, QueueOffer
from tests.conftest import TEST_ACCOUNT_SID
from tests.factories import AgentFactory, PhoneNumberFactory, QueueFactory
from tests.queue_calls import rung
from tests.test_production import (  # noqa: F401  (fixtures)
    processes,
    production_environment,
    start_web_server,
)
from tests.twilio_requests import post_signed_over_http

pytestmark = pytest.mark.django_db(transaction=True)

SUPPORT_LINE = "+14155550100"
CALLERS = 20
AGENTS = 5


@pytest.fixture
def two_processes(production_environment, processes, tmp_path):  # noqa: F811
    env = {
        **production_environment,
        # No collected static files needed.
        "DEBUG": "1",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "10",
    }
    return start_web_server(processes, env, tmp_path)


def caller_form(sid: str, n: int) -> dict[str, str]:
    number = f"+1212555{n:04d}"
    return {
        "AccountSid": TEST_ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "From": number,
        "To": SUPPORT_LINE,
        "Caller": number,
        "Called": SUPPORT_LINE,
    }


def test_twenty_callers_at_once_never_ring_one_agent_twice(two_processes):
    queue = QueueFactory(
        agents=[
            AgentFactory(identity=f"agent_{n}", availability=Availability.AVAILABLE)
            for n in range(AGENTS)
        ],
        numbers=[PhoneNumberFactory(number=SUPPORT_LINE)],
    )
    wait_url = f"{two_processes}/twilio/queue/wait/?queue={queue.pk}"
    forms = [caller_form("CA" + secrets.token_hex(16), n) for n in range(CALLERS)]

    def arrives(form: dict[str, str]) -> list[str]:
        voice = post_signed_over_http(f"{two_processes}/twilio/voice/", form)
        assert voice.status_code == 200, voice.text
        answer = post_signed_over_http(wait_url, form)
        assert answer.status_code == 200, answer.text
        return rung(ET.fromstring(answer.content))

    with ThreadPoolExecutor(max_workers=CALLERS) as pool:
        offers = list(pool.map(arrives, forms))

    ringing = [identities for identities in offers if identities]
    assert all(len(identities) == 1 for identities in ringing)
    rung_agents = Counter(identities[0] for identities in ringing)
    assert rung_agents == Counter({f"agent_{n}": 1 for n in range(AGENTS)})
    arrivals = QueueCaller.objects.filter(outcome=CallerOutcome.WAITING).values_list(
        "arrived_at", flat=True
    )
    assert len(arrivals) == CALLERS
    assert (max(arrivals) - min(arrivals)).total_seconds() < 1
    open_offers = QueueOffer.objects.filter(closed_at__isnull=True)
    assert open_offers.count() == AGENTS
    assert not open_offers.values("agent").annotate(n=Count("id")).filter(n__gt=1).exists()
    # The agents went to the callers who arrived first.
    first = QueueCaller.objects.order_by("arrived_at", "id")[:AGENTS]
    assert set(open_offers.values_list("caller", flat=True)) == {caller.pk for caller in first}

    # Everyone comes back from the music at once: nobody else may ring a reserved agent.
    with ThreadPoolExecutor(max_workers=CALLERS) as pool:
        again = list(pool.map(lambda form: post_signed_over_http(wait_url, form), forms[:]))
    waiting_again = [
        ET.fromstring(answer.content)
        for answer, identities in zip(again, offers, strict=True)
        if not identities
    ]
    assert all(rung(document) == [] for document in waiting_again)
