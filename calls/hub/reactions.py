"""What the hub does when Twilio reports on a party it invited: a blind transfer's new party
answering takes the customer off hold; nobody answering it leaves the customer no one to
talk to, so the call goes on to the unanswered-call policy, as a call nobody answered."""

import logging

from twilio.base.exceptions import TwilioRestException

from calls.hub.selectors import live_participants
from calls.models import ConferenceParticipant
from calls.participant_labels import CUSTOMER
from voiceproject.twilio_rest import TwilioUnavailable, twilio_rest_client

logger = logging.getLogger(__name__)


def hub_transfer_answered(*, participant_id: int) -> None:
    """The new party of a blind transfer joined: the customer comes off hold."""
    participant = ConferenceParticipant.objects.select_related("conference").get(pk=participant_id)
    conference = participant.conference
    customer = live_participants(conference).filter(label=CUSTOMER, hold=True).first()
    if customer is None or conference.ended_at is not None:
        return
    try:
        twilio_rest_client().conferences(conference.sid).participants(customer.call_sid).update(
            hold=False
        )
    except (TwilioRestException, TwilioUnavailable) as error:
        logger.warning("Customer of %s left on hold: %s", conference, error)
        return
    ConferenceParticipant.objects.filter(pk=customer.pk).update(hold=False)


def hub_transfer_unanswered(*, participant_id: int, unanswered_url: str) -> None:
    """Nobody took a blind transfer: the customer's call leaves the conference for the
    unanswered-call policy (our <Dial> action, asked as for a call nobody could be offered)."""
    participant = ConferenceParticipant.objects.select_related("conference").get(pk=participant_id)
    customer = live_participants(participant.conference).filter(label=CUSTOMER).first()
    if customer is None:
        return
    try:
        twilio_rest_client().calls(customer.call_sid).update(url=unanswered_url, method="POST")
    except (TwilioRestException, TwilioUnavailable) as error:
        logger.warning("Customer %s of an unanswered transfer: %s", customer.call_sid, error)


def transfer_target_joined(*, conference_sid: str, call_sid: str | None) -> int | None:
    """The participant whose joining takes the customer off hold, if this is one."""
    if call_sid is None:
        return None
    return (
        ConferenceParticipant.objects.filter(
            conference__sid=conference_sid, call_sid=call_sid, releases_hold=True
        )
        .values_list("id", flat=True)
        .first()
    )


def transfer_target_missed(*, call_sid: str) -> int | None:
    """The blind transfer's party, if this leg was one and ended without joining."""
    return (
        ConferenceParticipant.objects.filter(
            call_sid=call_sid, releases_hold=True, joined_at__isnull=True
        )
        .values_list("id", flat=True)
        .first()
    )
