"""Twilio's conferences, faked: the Conference and Participant resources, the calls that join
and leave them, and the signed status callbacks Twilio sends about both.

`rest` serves the REST side (Conferences, Participants, call updates) from a `Conferences`;
tests drive the rest of the world with its methods, as the people on the calls would:

- `join(call_sid, name, ...)`: a live call runs `<Dial><Conference>name</Conference></Dial>`;
- `ring(call_sid)`, `answer(call_sid)`, `not_answer(call_sid, status)`: the phone a
  Participants API call dialled rings, is picked up, or is not (busy, no-answer, failed);
- `hang_up(call_sid)`: the person on a live call hangs up;
- `report_call_status(call_sid, url, events)`: a call's own status callbacks go to url.

Every change appends the callbacks Twilio would send, in order, to `callbacks` (URL, form and
X-Twilio-Signature for the account's Auth Token); `deliver_pending()` posts the ones not yet
posted to the live server, or tests post, shuffle or repeat them as they like.

What Twilio documents and the fake does ("Conference" TwiML and REST pages):
- a conference starts (`conference-start`, status `in-progress`) once two participants are in
  and one of them has startConferenceOnEnter; until then they wait (status `init`);
- its status callback URL and events come from the participant that made it (the first);
- it ends (`conference-end`) when its last participant leaves, when a participant with
  endConferenceOnExit leaves (the others leave with `moderator_ended_conference`) or when it is
  updated to `completed` (everyone leaves with `conference_ended_via_api`);
- a participant leaving for any reason but a redirect ends its call: the fake takes the TwiML
  after `<Dial>` to be empty, and a call the Participants API made has none.
Conference SequenceNumbers start at 1; a call's own (call progress events) at 0.
"""

import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit
from xml.etree import ElementTree

import requests

from twilio_fakes.scenarios import API_VERSION, status_callback_parameters
from twilio_fakes.signing import twilio_signature

CONFERENCE_SID = re.compile(r"CF[0-9a-f]{32}")
# Conference statuses.
INIT, IN_PROGRESS, COMPLETED = "init", "in-progress", "completed"
# The events a conference's statusCallbackEvent can ask for, each StatusCallbackEvent sent
# under one of them.
CONFERENCE_EVENTS = frozenset(
    {"start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement"}
)
CONFERENCE_EVENT_GROUPS = {
    "conference-start": "start",
    "conference-end": "end",
    "participant-join": "join",
    "participant-leave": "leave",
    "participant-mute": "mute",
    "participant-unmute": "mute",
    "participant-hold": "hold",
    "participant-unhold": "hold",
    "participant-modify": "modify",
    "announcement-end": "announcement",
}
DEFAULT_CONFERENCE_EVENTS = "start end"
# A call's status callback events (call progress events) and the default one.
CALL_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
DEFAULT_CALL_EVENTS = "completed"
# ReasonParticipantLeft, as Twilio words it.
PARTICIPANT_HUNG_UP = "participant_hung_up"
PARTICIPANT_UPDATED_VIA_API = "participant_updated_via_api"
PARTICIPANT_ADD_FAILED = "participant_add_failed"
CONFERENCE_ENDED_VIA_API = "conference_ended_via_api"
MODERATOR_ENDED_CONFERENCE = "moderator_ended_conference"
# ReasonConferenceEnded (the resource's reason_conference_ended).
REASON_ENDED_VIA_API = "conference-ended-via-api"
# Call statuses: not yet answered, and ended.
UNANSWERED = frozenset({"queued", "ringing"})
NOT_ANSWERED = frozenset({"busy", "no-answer", "failed", "canceled"})
ENDED = NOT_ANSWERED | {"completed"}
# Participant statuses as the Participants API shows them, by the call's status.
PARTICIPANT_STATUSES = {"queued": "queued", "ringing": "ringing", "in-progress": "connected"}
# Twilio's error for changing a call that is not live.
CALL_NOT_IN_PROGRESS = (21220, "Call is not in-progress. Cannot redirect.")


class TwilioError(Exception):
    """An error answer of Twilio's REST API: HTTP status, Twilio error code and message."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(path: str) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


def bad_request(message: str, code: int = 20001) -> TwilioError:
    return TwilioError(400, code, message)


def rfc2822(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC))


def twilio_boolean(value: bool) -> str:
    """A boolean as Twilio writes it in a callback form."""
    return "true" if value else "false"


@dataclass(frozen=True)
class Callback:
    """One request Twilio sends: the form it posts to url, signed with the account's token."""

    url: str
    parameters: dict[str, str]
    signature: str

    def post(self, origin: str | None = None) -> requests.Response:
        """Deliver it over real HTTP, form-encoded and signed, as Twilio does; to `origin`
        (scheme and host) instead of the URL's own, as a proxy or tunnel forwards it, still
        signed for the URL Twilio requested."""
        url = self.url
        if origin:
            parts = urlsplit(url)
            url = origin.rstrip("/") + urlunsplit(("", "", parts.path, parts.query, ""))
        return requests.post(
            url,
            data=self.parameters,
            headers={"X-Twilio-Signature": self.signature},
            timeout=10,
        )


@dataclass(eq=False)
class Participant:
    """A call in a conference: the Participant resource's settings and status."""

    call_sid: str
    conference: "Conference"
    created: datetime
    label: str | None = None
    muted: bool = False
    hold: bool = False
    coaching: bool = False
    call_sid_to_coach: str | None = None
    end_conference_on_exit: bool = False
    start_conference_on_enter: bool = True
    status: str = "queued"
    updated: datetime = field(init=False)

    def __post_init__(self):
        self.updated = self.created

    @property
    def connected(self) -> bool:
        return self.status == "connected"


@dataclass(eq=False)
class Conference:
    """A conference room: its resource's fields, where its events go, who is in it."""

    sid: str
    friendly_name: str
    created: datetime
    callback_url: str | None
    events: frozenset[str]
    status: str = INIT
    reason_ended: str | None = None
    call_sid_ending: str | None = None
    # Live participants by call SID, in the order they were added.
    participants: dict[str, Participant] = field(default_factory=dict)
    # The SequenceNumber of the last callback sent.
    sequence: int = 0
    updated: datetime = field(init=False)

    def __post_init__(self):
        self.updated = self.created


@dataclass
class CallProgress:
    """Where a call's own status callbacks go, for which events, and the next SequenceNumber."""

    url: str
    events: frozenset[str]
    sequence: int = 0


def twilio_conference(conference: Conference, account_sid: str) -> dict:
    """Build a Conference resource as Twilio serialises it."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Conferences/{conference.sid}.json"
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "call_sid_ending_conference": conference.call_sid_ending,
        "date_created": rfc2822(conference.created),
        "date_updated": rfc2822(conference.updated),
        "friendly_name": conference.friendly_name,
        "reason_conference_ended": conference.reason_ended,
        "region": "us1",
        "sid": conference.sid,
        "status": conference.status,
        "subresource_uris": {
            "participants": uri.replace(".json", "/Participants.json"),
            "recordings": uri.replace(".json", "/Recordings.json"),
        },
        "uri": uri,
    }


def twilio_participant(participant: Participant, account_sid: str) -> dict:
    """Build a Participant resource as Twilio serialises it (booleans as JSON booleans)."""
    conference_sid = participant.conference.sid
    return {
        "account_sid": account_sid,
        "call_sid": participant.call_sid,
        "call_sid_to_coach": participant.call_sid_to_coach,
        "coaching": participant.coaching,
        "conference_sid": conference_sid,
        "date_created": rfc2822(participant.created),
        "date_updated": rfc2822(participant.updated),
        "end_conference_on_exit": participant.end_conference_on_exit,
        "hold": participant.hold,
        "label": participant.label,
        "muted": participant.muted,
        "start_conference_on_enter": participant.start_conference_on_enter,
        "status": participant.status,
        "uri": f"/{API_VERSION}/Accounts/{account_sid}/Conferences/{conference_sid}"
        f"/Participants/{participant.call_sid}.json",
    }


def conference_in_twiml(twiml: str) -> tuple[str, dict[str, str]] | None:
    """The name and attributes of the <Conference> a <Dial> of this TwiML joins, None when it
    joins none. Raises ValueError for text that is not XML."""
    try:
        root = ElementTree.fromstring(twiml)
    except ElementTree.ParseError as error:
        raise ValueError(f"TwiML is not XML: {error}") from error
    for dial in root.iter("Dial"):
        conference = dial.find("Conference")
        if conference is not None:
            return (conference.text or "").strip(), dict(conference.attrib)
    return None


def _parse_boolean(name: str, value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() not in ("true", "false"):
        raise bad_request(f"{name} must be true or false, not {value!r}.")
    return value.lower() == "true"


def _parse_events(name: str, values: Iterable[str], allowed: frozenset[str]) -> frozenset[str]:
    """Events given as repeated parameters or space-separated, each one of allowed."""
    events = frozenset(word for value in values for word in value.split())
    if unknown := sorted(events - allowed):
        raise bad_request(f"{name} has unknown events: {', '.join(unknown)}.")
    return events


def _matches_date(value: datetime, filters: dict[str, str], name: str) -> bool:
    """Twilio's DateCreated filters: that day, on or before (<), on or after (>)."""
    day = value.astimezone(UTC).date()
    tests = [
        (name, lambda bound: day == bound),
        (f"{name}<", lambda bound: day <= bound),
        (f"{name}>", lambda bound: day >= bound),
    ]
    for key, test in tests:
        if key not in filters:
            continue
        try:
            bound = date.fromisoformat(filters[key])
        except ValueError as error:
            raise bad_request(f"{key} must be a date written YYYY-MM-DD.") from error
        if not test(bound):
            return False
    return True


class Conferences:
    """Every conference of the fake account, the calls in them, and the callbacks they made.

    `calls` is the fake's call store (get, put); `add_call` makes a Call resource in it;
    `auth_token` says the token callbacks are signed with (it changes when tokens rotate).
    One lock guards it all: the HTTP server's threads and the test's driver share it.
    """

    def __init__(
        self,
        *,
        account_sid: str,
        calls,
        add_call: Callable[..., dict],
        auth_token: Callable[[], str],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.account_sid = account_sid
        self.calls = calls
        self.add_call = add_call
        self.auth_token = auth_token
        self.now = now
        self.lock = threading.RLock()
        self.by_sid: dict[str, Conference] = {}
        # The conference each live participant's call is in.
        self.membership: dict[str, Participant] = {}
        self.progress: dict[str, CallProgress] = {}
        self.callbacks: list[Callback] = []
        self.delivered = 0

    # The driver: what the people on the calls do.

    def join(
        self,
        call_sid: str,
        name: str,
        *,
        label: str | None = None,
        start_conference_on_enter: bool = True,
        end_conference_on_exit: bool = False,
        muted: bool = False,
        coach: str | None = None,
        status_callback: str | None = None,
        status_callback_event: str = DEFAULT_CONFERENCE_EVENTS,
    ) -> dict:
        """A live call joins conference `name` as `<Dial><Conference>` TwiML makes it do, with
        the noun's attributes; the Participant resource. A call the fake does not know yet is
        made, inbound and in progress. Raises TwilioError when Twilio would fail the call (an
        ended call, a coach SID that is no participant of that conference)."""
        with self.lock:
            call = self.calls.get(call_sid) or self.add_call(
                call_sid, status="in-progress", start_time=self.now()
            )
            if call["status"] != "in-progress":
                raise TwilioError(400, *CALL_NOT_IN_PROGRESS)
            self._leave_for_redirect(call_sid)
            events = _parse_events(
                "statusCallbackEvent", [status_callback_event], CONFERENCE_EVENTS
            )
            participant = self._enter(
                self._live_named(name) or self._open(name, status_callback, events),
                call_sid,
                label=label,
                muted=muted,
                coaching=coach is not None,
                call_sid_to_coach=coach,
                end_conference_on_exit=end_conference_on_exit,
                start_conference_on_enter=start_conference_on_enter,
            )
            self._connect(participant)
            return twilio_participant(participant, self.account_sid)

    def ring(self, call_sid: str) -> None:
        """The phone a Participants API call dialled starts ringing."""
        with self.lock:
            call = self._call(call_sid)
            if call["status"] != "queued":
                raise ValueError(f"call {call_sid} is {call['status']}, not queued")
            self._set_call_status(call, "ringing")

    def answer(self, call_sid: str) -> None:
        """The person a Participants API call dialled answers: the call joins its conference."""
        with self.lock:
            call = self._call(call_sid)
            if call["status"] == "queued":
                self._set_call_status(call, "ringing")
            if call["status"] != "ringing":
                raise ValueError(f"call {call_sid} is {call['status']}, not ringing")
            self._set_call_status(call, "in-progress")
            self._connect(self.membership[call_sid])

    def not_answer(self, call_sid: str, status: str = "no-answer") -> None:
        """A Participants API call ends unanswered (no-answer, busy, failed): the participant
        is never added."""
        if status not in NOT_ANSWERED - {"canceled"}:
            raise ValueError(f"not an unanswered call's status: {status!r}")
        with self.lock:
            call = self._call(call_sid)
            if call["status"] not in UNANSWERED:
                raise ValueError(f"call {call_sid} is {call['status']}, not ringing")
            self._end_call(call, status, PARTICIPANT_ADD_FAILED, kicked=False)

    def hang_up(self, call_sid: str) -> None:
        """The person on a live call hangs up; if it is in a conference, it leaves it."""
        with self.lock:
            call = self._call(call_sid)
            if call["status"] != "in-progress":
                raise ValueError(f"call {call_sid} is {call['status']}, not in progress")
            self._end_call(call, "completed", PARTICIPANT_HUNG_UP, kicked=False)

    def report_call_status(
        self, call_sid: str, url: str, events: str = DEFAULT_CALL_EVENTS
    ) -> None:
        """Send the call's status callbacks to url from now on, for these events, as the
        TwiML App's Status Callback URL (`completed`) or a noun's statusCallbackEvent asks."""
        with self.lock:
            self._call(call_sid)
            self.progress[call_sid] = CallProgress(
                url, _parse_events("events", [events], CALL_EVENTS)
            )

    def named(self, name: str) -> dict | None:
        """The Conference resource called name: the live one, else the newest ended one."""
        with self.lock:
            found = self._live_named(name) or max(
                (c for c in self.by_sid.values() if c.friendly_name == name),
                key=lambda conference: conference.created,
                default=None,
            )
            return found and twilio_conference(found, self.account_sid)

    def deliver_pending(self, origin: str | None = None) -> list[requests.Response]:
        """Post every callback not posted yet, in order, over real HTTP (to `origin` if given,
        see Callback.post); their answers."""
        with self.lock:
            pending = self.callbacks[self.delivered :]
            self.delivered = len(self.callbacks)
        return [callback.post(origin) for callback in pending]

    # The REST API: each answers a resource or raises TwilioError.

    def list_conferences(self, filters: dict[str, str]) -> list[dict]:
        """Conferences newest first, filtered by FriendlyName, Status and DateCreated."""
        if filters.get("Status") not in (None, INIT, IN_PROGRESS, COMPLETED):
            raise bad_request("Status must be one of init, in-progress, completed.")
        with self.lock:
            found = [
                conference
                for conference in self.by_sid.values()
                if filters.get("FriendlyName", conference.friendly_name) == conference.friendly_name
                and filters.get("Status", conference.status) == conference.status
                and _matches_date(conference.created, filters, "DateCreated")
                and _matches_date(conference.updated, filters, "DateUpdated")
            ]
            found.sort(key=lambda conference: (conference.created, conference.sid), reverse=True)
            return [twilio_conference(conference, self.account_sid) for conference in found]

    def fetch_conference(self, path: str, sid: str) -> dict:
        with self.lock:
            return twilio_conference(self._conference(path, sid), self.account_sid)

    def update_conference(self, path: str, sid: str, form: dict[str, str]) -> dict:
        """End a conference (Status=completed) or announce to it (AnnounceUrl)."""
        with self.lock:
            conference = self._conference(path, sid)
            status = form.get("Status")
            if status not in (None, COMPLETED):
                raise bad_request("Status must be completed.")
            if conference.status == COMPLETED:
                raise bad_request(f"Conference {sid} is already completed and cannot be updated.")
            if form.get("AnnounceUrl"):
                self._event(conference, "announcement-end", AnnounceUrl=form["AnnounceUrl"])
            if status == COMPLETED:
                self._end(conference, REASON_ENDED_VIA_API, None, CONFERENCE_ENDED_VIA_API)
            return twilio_conference(conference, self.account_sid)

    def list_participants(self, path: str, key: str, filters: dict[str, str]) -> list[dict]:
        """The conference's live participants, filtered by Muted, Hold and Coaching."""
        wanted = {
            name: _parse_boolean(name, filters[name], False)
            for name in ("Muted", "Hold", "Coaching")
            if name in filters
        }
        with self.lock:
            conference = self._conference(path, key)
            return [
                twilio_participant(participant, self.account_sid)
                for participant in conference.participants.values()
                if all(
                    getattr(participant, name.lower()) == value for name, value in wanted.items()
                )
            ]

    def create_participant(self, path: str, key: str, pairs: list[tuple[str, str]]) -> dict:
        """Dial To from From (or CallerId) into conference key: a CF SID, or a friendly name
        that makes the conference (init) when no live one has it."""
        form = dict(pairs)
        if not form.get("From"):
            raise bad_request("A 'From' phone number is required.", 21603)
        if not form.get("To"):
            raise bad_request("A 'To' phone number is required.", 21604)
        call_events = _parse_events(
            "StatusCallbackEvent",
            [value for name, value in pairs if name == "StatusCallbackEvent"]
            or [DEFAULT_CALL_EVENTS],
            CALL_EVENTS,
        )
        conference_events = _parse_events(
            "ConferenceStatusCallbackEvent",
            [value for name, value in pairs if name == "ConferenceStatusCallbackEvent"]
            or [DEFAULT_CONFERENCE_EVENTS],
            CONFERENCE_EVENTS,
        )
        timeout = form.get("Timeout", "60")
        if not timeout.isdigit() or not 5 <= int(timeout) <= 600:
            raise bad_request("Timeout must be a whole number of seconds from 5 to 600.")
        settings = {
            "label": form.get("Label") or None,
            "muted": _parse_boolean("Muted", form.get("Muted"), False),
            "end_conference_on_exit": _parse_boolean(
                "EndConferenceOnExit", form.get("EndConferenceOnExit"), False
            ),
            "start_conference_on_enter": _parse_boolean(
                "StartConferenceOnEnter", form.get("StartConferenceOnEnter"), True
            ),
        }
        _parse_boolean("EarlyMedia", form.get("EarlyMedia"), True)
        coach = form.get("CallSidToCoach") or None
        coaching = _parse_boolean("Coaching", form.get("Coaching"), coach is not None)
        with self.lock:
            if CONFERENCE_SID.fullmatch(key):
                conference = self._conference(path, key)
                if conference.status == COMPLETED:
                    raise bad_request(f"Conference {key} is completed: no participant can join.")
            else:
                conference = self._live_named(key) or self._open(
                    key, form.get("ConferenceStatusCallback"), conference_events
                )
            call_sid = "CA" + secrets.token_hex(16)
            participant = self._enter(
                conference,
                call_sid,
                coaching=coaching,
                call_sid_to_coach=coach if coaching else None,
                **settings,
            )
            self.add_call(
                call_sid,
                status="queued",
                direction="outbound-api",
                from_=form.get("CallerId") or form["From"],
                to=form["To"],
            )
            if form.get("StatusCallback"):
                self.progress[call_sid] = CallProgress(form["StatusCallback"], call_events)
            self._call_event(call_sid, "initiated")
            return {**twilio_participant(participant, self.account_sid), "queue_time": "0"}

    def fetch_participant(self, path: str, key: str, participant_key: str) -> dict:
        with self.lock:
            participant = self._participant(path, key, participant_key)
            return twilio_participant(participant, self.account_sid)

    def update_participant(
        self, path: str, key: str, participant_key: str, form: dict[str, str]
    ) -> dict:
        """Hold, mute, coach, or change EndConferenceOnExit; each change sends its event."""
        with self.lock:
            participant = self._participant(path, key, participant_key)
            coaching = _parse_boolean(
                "Coaching", form.get("Coaching"), participant.coaching or "CallSidToCoach" in form
            )
            coach = form.get("CallSidToCoach") or participant.call_sid_to_coach
            self._check_coaching(participant.conference, coaching, coach)
            settings = {
                "hold": _parse_boolean("Hold", form.get("Hold"), participant.hold),
                "muted": _parse_boolean("Muted", form.get("Muted"), participant.muted),
                "end_conference_on_exit": _parse_boolean(
                    "EndConferenceOnExit",
                    form.get("EndConferenceOnExit"),
                    participant.end_conference_on_exit,
                ),
                "coaching": coaching,
                "call_sid_to_coach": coach if coaching else None,
            }
            changed = {
                name for name, value in settings.items() if getattr(participant, name) != value
            }
            events = []
            if "hold" in changed:
                events.append("participant-hold" if settings["hold"] else "participant-unhold")
            if "muted" in changed:
                events.append("participant-mute" if settings["muted"] else "participant-unmute")
            if changed - {"hold", "muted"} or {"BeepOnExit", "WaitUrl"} & form.keys():
                events.append("participant-modify")
            for name, value in settings.items():
                setattr(participant, name, value)
            participant.updated = self.now()
            for event in events:
                self._event(participant.conference, event, participant)
            if form.get("AnnounceUrl"):
                self._event(
                    participant.conference,
                    "announcement-end",
                    participant,
                    AnnounceUrl=form["AnnounceUrl"],
                )
            return twilio_participant(participant, self.account_sid)

    def delete_participant(self, path: str, key: str, participant_key: str) -> None:
        """Remove a participant: it leaves, its call ends, the conference may end (kicked)."""
        with self.lock:
            participant = self._participant(path, key, participant_key)
            self._end_call(
                self._call(participant.call_sid),
                "completed" if participant.connected else "canceled",
                PARTICIPANT_UPDATED_VIA_API,
                kicked=True,
            )

    def update_call(self, path: str, call_sid: str, form: dict[str, str]) -> dict:
        """End a call (Status) or give it new instructions (Twiml, Url); the Call resource.

        `canceled` hangs up a queued or ringing call and leaves a live one alone; `completed`
        hangs up either. New TwiML takes a call out of its conference, and into the one its
        `<Dial><Conference>` names.
        """
        status = form.get("Status")
        if status not in (None, "canceled", "completed"):
            raise bad_request("Status must be canceled or completed.")
        with self.lock:
            call = self.calls.get(call_sid)
            if call is None:
                raise not_found(path)
            live = call["status"]
            if live in ENDED:
                raise TwilioError(400, *CALL_NOT_IN_PROGRESS)
            if status and live in UNANSWERED:
                self._end_call(call, "canceled", PARTICIPANT_UPDATED_VIA_API, kicked=False)
            elif status == "completed":
                self._end_call(call, "completed", PARTICIPANT_UPDATED_VIA_API, kicked=False)
            elif status is None and (form.get("Twiml") or form.get("Url")):
                if live != "in-progress":
                    raise TwilioError(400, *CALL_NOT_IN_PROGRESS)
                self._redirect(call_sid, form.get("Twiml"))
            return call

    # How conferences behave.

    def _redirect(self, call_sid: str, twiml: str | None) -> None:
        """New instructions take a call out of its conference, into the one they dial."""
        try:
            joined = conference_in_twiml(twiml) if twiml else None
        except ValueError as error:
            raise bad_request(str(error), 12100) from error
        if joined is None:
            self._leave_for_redirect(call_sid)
        else:
            name, attributes = joined

            def flag(attribute: str, default: bool) -> bool:
                return _parse_boolean(attribute, attributes.get(attribute), default)

            self.join(
                call_sid,
                name,
                label=attributes.get("participantLabel"),
                start_conference_on_enter=flag("startConferenceOnEnter", True),
                end_conference_on_exit=flag("endConferenceOnExit", False),
                muted=flag("muted", False),
                coach=attributes.get("coach"),
                status_callback=attributes.get("statusCallback"),
                status_callback_event=attributes.get(
                    "statusCallbackEvent", DEFAULT_CONFERENCE_EVENTS
                ),
            )

    def _leave_for_redirect(self, call_sid: str) -> None:
        """A call given new instructions leaves its conference; the call goes on."""
        participant = self.membership.get(call_sid)
        if participant is not None:
            self._leave(participant, PARTICIPANT_UPDATED_VIA_API, "in-progress")
            self._after_leave(participant, kicked=False)

    def _open(self, name: str, callback_url: str | None, events: frozenset[str]) -> Conference:
        conference = Conference(
            sid="CF" + secrets.token_hex(16),
            friendly_name=name,
            created=self.now(),
            callback_url=callback_url,
            events=events,
        )
        self.by_sid[conference.sid] = conference
        return conference

    def _enter(self, conference: Conference, call_sid: str, **settings) -> Participant:
        """Add a participant; a conference made for it and refused it is forgotten."""
        label = settings.get("label")
        try:
            if label and any(other.label == label for other in conference.participants.values()):
                raise bad_request(f"A participant labelled {label!r} is already in the conference.")
            self._check_coaching(conference, settings["coaching"], settings["call_sid_to_coach"])
        except TwilioError:
            if not conference.participants and conference.status == INIT:
                del self.by_sid[conference.sid]
            raise
        participant = Participant(
            call_sid=call_sid, conference=conference, created=self.now(), **settings
        )
        conference.participants[call_sid] = participant
        self.membership[call_sid] = participant
        return participant

    def _check_coaching(self, conference: Conference, coaching: bool, coach: str | None) -> None:
        if not coaching:
            return
        if not coach:
            raise bad_request("CallSidToCoach is required when Coaching is true.")
        coached = conference.participants.get(coach)
        if coached is None or not coached.connected:
            raise bad_request(f"CallSidToCoach {coach} is not a participant of this conference.")

    def _connect(self, participant: Participant) -> None:
        conference = participant.conference
        participant.status = "connected"
        participant.updated = self.now()
        self._event(conference, "participant-join", participant)
        connected = [other for other in conference.participants.values() if other.connected]
        if (
            conference.status == INIT
            and len(connected) >= 2
            and any(other.start_conference_on_enter for other in connected)
        ):
            conference.status = IN_PROGRESS
            conference.updated = self.now()
            self._event(conference, "conference-start")

    def _end_call(self, call: dict, status: str, reason: str, *, kicked: bool) -> None:
        """A call ends with status; in a conference, it leaves for reason first."""
        participant = self.membership.get(call["sid"])
        if participant is not None:
            self._leave(participant, reason, status)
        self._set_call_status(call, status)
        if participant is not None:
            self._after_leave(participant, kicked=kicked)

    def _leave(self, participant: Participant, reason: str, call_status: str) -> None:
        conference = participant.conference
        del conference.participants[participant.call_sid]
        del self.membership[participant.call_sid]
        was_connected = participant.connected
        participant.status = "complete" if was_connected else "failed"
        participant.updated = self.now()
        self._event(
            conference,
            "participant-leave",
            participant,
            ReasonParticipantLeft=reason,
            ParticipantCallStatus=call_status,
        )

    def _after_leave(self, participant: Participant, *, kicked: bool) -> None:
        """The conference ends if the one who left ends it on exit, or was the last one."""
        conference = participant.conference
        how = "kicked" if kicked else "left"
        if conference.status == COMPLETED:
            return
        if participant.end_conference_on_exit and participant.status == "complete":
            self._end(
                conference,
                f"participant-with-end-conference-on-exit-{how}",
                participant,
                MODERATOR_ENDED_CONFERENCE,
            )
        elif not conference.participants:
            self._end(conference, f"last-participant-{how}", participant, "")

    def _end(
        self,
        conference: Conference,
        reason: str,
        ending: Participant | None,
        participants_reason: str,
    ) -> None:
        """Everyone still in leaves (their calls end), then the conference ends."""
        for participant in list(conference.participants.values()):
            status = "completed" if participant.connected else "canceled"
            self._leave(participant, participants_reason, status)
            self._set_call_status(self._call(participant.call_sid), status)
        conference.status = COMPLETED
        conference.reason_ended = reason
        conference.call_sid_ending = ending.call_sid if ending else None
        conference.updated = self.now()
        ending_fields = {}
        if ending is not None:
            ending_fields["CallSidEndingConference"] = ending.call_sid
            if ending.label:
                ending_fields["ParticipantLabelEndingConference"] = ending.label
        self._event(conference, "conference-end", ReasonConferenceEnded=reason, **ending_fields)

    # Calls and callbacks.

    def _call(self, call_sid: str) -> dict:
        call = self.calls.get(call_sid)
        if call is None:
            raise ValueError(f"no call {call_sid}")
        return call

    def _set_call_status(self, call: dict, status: str) -> None:
        now = self.now()
        call["status"] = status
        call["date_updated"] = rfc2822(now)
        if status == "in-progress":
            call["start_time"] = rfc2822(now)
        if status in ENDED:
            call["end_time"] = rfc2822(now)
            started = call["start_time"] and parsedate_to_datetime(call["start_time"])
            call["duration"] = str(int((now - started).total_seconds()) if started else 0)
        participant = self.membership.get(call["sid"])
        if participant is not None and status in PARTICIPANT_STATUSES:
            participant.status = PARTICIPANT_STATUSES[status]
            participant.updated = now
        event = {"ringing": "ringing", "in-progress": "answered"}.get(status, "completed")
        self._call_event(call["sid"], event)

    def _call_event(self, call_sid: str, event: str) -> None:
        """A call progress event of a call the Participants API made, if it asked for it."""
        progress = self.progress.get(call_sid)
        if progress is None or event not in progress.events:
            return
        call = self._call(call_sid)
        leg = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call_sid,
            "Direction": call["direction"],
            "From": call["from"],
            "To": call["to"],
            "Caller": call["from"],
            "Called": call["to"],
        }
        status = "initiated" if event == "initiated" else call["status"]
        duration = int(call["duration"] or 0)
        parameters = status_callback_parameters(
            leg, status, self.now(), progress.sequence, duration
        )
        progress.sequence += 1
        self._send(progress.url, parameters)

    def _event(
        self,
        conference: Conference,
        event: str,
        participant: Participant | None = None,
        **extra: str,
    ) -> None:
        """A conference status callback, if the conference asked for this kind of event."""
        if not conference.callback_url or CONFERENCE_EVENT_GROUPS[event] not in conference.events:
            return
        conference.sequence += 1
        parameters = {
            "AccountSid": self.account_sid,
            "ConferenceSid": conference.sid,
            "FriendlyName": conference.friendly_name,
            "StatusCallbackEvent": event,
            "SequenceNumber": str(conference.sequence),
            "Timestamp": rfc2822(self.now()),
        }
        if participant is not None:
            parameters |= {
                "CallSid": participant.call_sid,
                "Muted": twilio_boolean(participant.muted),
                "Hold": twilio_boolean(participant.hold),
                "Coaching": twilio_boolean(participant.coaching),
                "EndConferenceOnExit": twilio_boolean(participant.end_conference_on_exit),
                "StartConferenceOnEnter": twilio_boolean(participant.start_conference_on_enter),
            }
            if participant.label:
                parameters["ParticipantLabel"] = participant.label
        self._send(conference.callback_url, parameters | extra)

    def _send(self, url: str, parameters: dict[str, str]) -> None:
        signature = twilio_signature(url, parameters, self.auth_token())
        self.callbacks.append(Callback(url, parameters, signature))

    # Finding things by what the URL names.

    def _live_named(self, name: str) -> Conference | None:
        return next(
            (
                conference
                for conference in self.by_sid.values()
                if conference.friendly_name == name and conference.status != COMPLETED
            ),
            None,
        )

    def _conference(self, path: str, key: str) -> Conference:
        """The conference a URL names by SID, or (for participants) by a live one's name."""
        conference = self.by_sid.get(key) or self._live_named(key)
        if conference is None:
            raise not_found(path)
        return conference

    def _participant(self, path: str, key: str, participant_key: str) -> Participant:
        """A live participant named by its call SID or its label."""
        conference = self._conference(path, key)
        participant = conference.participants.get(participant_key) or next(
            (p for p in conference.participants.values() if p.label == participant_key), None
        )
        if participant is None:
            raise not_found(path)
        return participant
