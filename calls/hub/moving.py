"""Moving a call whose <Dial> was answered into its family's conference.

The leg our <Dial> rang is moved by the REST API; that ends the <Dial>, and its action (our
<Dial> action webhook) answers the parent leg with the same conference (twiml_for_parent).
A move that fails leaves both legs bridged as they were: the call goes on, without hold or
transfer.
"""

import logging

from django.conf import settings
from twilio.base.exceptions import TwilioRestException

from agents.selectors import recording_policy_owner
from calls.conference_table import conference_begin_move, conference_move_failed
from calls.constants import ConferenceStatus
from calls.hub.twiml import RECORDING_CALLBACK_EVENTS, HubUrls, twiml_join_hub
from calls.models import Call, Conference
from calls.participant_labels import hub_name, label_of_leg
from voiceproject.twilio_rest import TwilioUnavailable, twilio_rest_client_for_a_page

logger = logging.getLogger(__name__)


def hub_takes_answered_leg(*, parent_sid: str) -> bool:
    """Whether an answered <Dial> child of this parent moves into a conference: not once a
    move began, nor for a forward of an unanswered call (the unanswered-call policy's, which
    connects the caller to someone outside). One query, none with the hub off."""
    return settings.CONFERENCE_HUB and (
        Call.objects.filter(sid=parent_sid, unanswered=False, conference__isnull=True).exists()
    )


def hub_move_answered_leg(*, leg_sid: str, family_sid: str, urls: HubUrls) -> bool:
    """Move the answered leg into the family's conference; False when it stays bridged."""
    family = Call.objects.filter(sid=family_sid).first()
    leg = Call.objects.filter(sid=leg_sid).first()
    if family is None or leg is None:
        return False
    owner = recording_policy_owner(from_address=family.from_number, to_address=family.to_number)
    record = owner is not None and owner.record_calls
    conference = conference_begin_move(family=family, name=hub_name(family.sid), record=record)
    if conference is None:
        return False
    twiml = twiml_join_hub(
        name=conference.friendly_name,
        family_sid=family.sid,
        label=label_of_leg(leg.to_number),
        end_on_exit=True,
        record=record,
        urls=urls,
    )
    try:
        twilio_rest_client_for_a_page().calls(leg_sid).update(twiml=twiml)
    except (TwilioRestException, TwilioUnavailable) as error:
        logger.warning("Call %s stays bridged; not moved into its conference: %s", leg_sid, error)
        conference_move_failed(conference=conference)
        if record:
            _record_bridged_call(family, urls)
        return False
    return True


def _record_bridged_call(family: Call, urls: HubUrls) -> None:
    """Record a call the hub could not move as its <Dial> would have: both sides, from now."""
    try:
        twilio_rest_client_for_a_page().calls(family.sid).recordings.create(
            recording_channels="dual",
            recording_status_callback=urls.recording_callback,
            recording_status_callback_event=RECORDING_CALLBACK_EVENTS.split(),
            recording_status_callback_method="POST",
        )
    except (TwilioRestException, TwilioUnavailable) as error:
        logger.error("Call %s is not recorded: %s", family.sid, error)


def twiml_for_parent(*, parent: Call, urls: HubUrls) -> str | None:
    """The parent leg's way into its conference once the <Dial> ended because its answered
    leg was moved; None when the family has no conference to join."""
    conference = Conference.objects.filter(family=parent).first()
    if conference is None or conference.status in (
        ConferenceStatus.FAILED,
        ConferenceStatus.COMPLETED,
    ):
        return None
    return twiml_join_hub(
        name=conference.friendly_name,
        family_sid=parent.sid,
        label=label_of_leg(parent.from_number),
        end_on_exit=True,
        record=conference.record,
        urls=urls,
    )
