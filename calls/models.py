import re

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls.constants import (
    ADDRESS_MAX_LENGTH,
    CONFERENCE_STATUS_RANK,
    DISPOSITION_NAME_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    RECORDING_SOURCE_MAX_LENGTH,
    TERMINAL_STATUSES,
    CallDirection,
    CallStatus,
    ConferenceStatus,
    DialResult,
    FamilyKind,
    HubActionKind,
    HubEndedBy,
    PartyRole,
    RecordingKind,
    RecordingStatus,
)
from voiceproject.twilio_ids import CALL_SID_REGEX, IDENTITY_MAX_LENGTH, sid_regex


def blank_or_one_of(field: str, values: list[str]) -> Q:
    """The field is blank or one of `values`, as one regular expression: PostgreSQL reads a
    check constraint's stored form again on every write of a row, and an IN list is stored
    six times longer (a tenth of the database's CPU for a Twilio callback)."""
    return Q(**{f"{field}__regex": f"^({'|'.join(re.escape(value) for value in values)})?$"})


class Call(models.Model):
    """One Twilio call leg. Children (legs created by <Dial>) point to their parent leg.

    A row may start as a placeholder, known only by its SID because a child's callback named
    it as parent; later callbacks or reconciliation fill in the rest.
    """

    # Unique through Meta.constraints: a unique field would also get a second index for LIKE
    # searches, which nothing here makes, to update on every callback.
    sid = models.CharField("call SID", max_length=34)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    account_sid = models.CharField(max_length=34, blank=True, db_default="")
    direction = models.CharField(
        max_length=24, choices=CallDirection.choices, blank=True, db_default=""
    )
    from_number = models.CharField("from", max_length=ADDRESS_MAX_LENGTH, blank=True, db_default="")
    to_number = models.CharField("to", max_length=ADDRESS_MAX_LENGTH, blank=True, db_default="")
    status = models.CharField(max_length=16, choices=CallStatus.choices, blank=True, db_default="")
    # Ordering of the status last applied: Twilio's per-leg SequenceNumber and Timestamp.
    sequence_number = models.PositiveIntegerField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    start_time_from_twilio = models.BooleanField(
        db_default=False,
        help_text="The start time is Twilio's (a Timestamp or the REST API), not our clock's "
        "when a request without a Timestamp came.",
    )
    answer_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField("duration (s)", null=True, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=5, null=True, blank=True)
    price_unit = models.CharField(max_length=3, blank=True, db_default="")
    agent = models.ForeignKey(
        "agents.Agent",
        null=True,
        blank=True,
        # An agent with calls is deactivated, never deleted: its history stays whole.
        on_delete=models.PROTECT,
        related_name="calls",
        db_index=False,  # call_agent_start_idx leads with it
        help_text="Our agent on this leg, when From or To is one of our clients.",
    )
    error_code = models.PositiveIntegerField(null=True, blank=True)
    error_url = models.URLField(max_length=1000, blank=True, db_default="")
    # Facts about the whole family, kept on its parent by calls.call_table as legs arrive;
    # calls.family_facts reads them (the outcome). Empty or unset on child legs.
    kind = models.CharField(
        max_length=8,
        choices=FamilyKind.choices,
        blank=True,
        db_default="",
        help_text="Who called whom; empty while nothing tells yet (a placeholder parent).",
    )
    dial_result = models.PositiveSmallIntegerField(
        choices=DialResult.choices, db_default=DialResult.NONE
    )
    child_answer_time = models.DateTimeField(
        null=True, blank=True, help_text="When the first child leg was answered."
    )
    answered_by = models.ForeignKey(
        "agents.Agent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="answered_calls",
        db_index=False,  # only parents have one: call_answered_by_start_idx
        help_text="The agent whose leg answered the call (inbound and internal calls).",
    )
    # The missed-call facts, on the parent leg, written by our <Dial> action webhook and the
    # voicemail's recording callbacks (calls.call_table).
    dial_status = models.CharField(
        max_length=16,
        blank=True,
        db_default="",
        help_text="DialCallStatus of the last <Dial> this leg made (completed, no-answer, ...).",
    )
    unanswered = models.BooleanField(
        db_default=False,
        help_text="Nobody we offered the call to answered it, or nobody could take it.",
    )
    offered_to = models.JSONField(
        null=True,
        blank=True,
        help_text="The client identities our <Dial> rang, when nobody answered; [] when "
        "nobody could take the call.",
    )
    voicemail_left = models.BooleanField(
        db_default=False, help_text="The caller left a voicemail on this leg."
    )
    blocked = models.BooleanField(
        db_default=False,
        help_text="Rejected before anything rang: the caller is on the blocklist.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_time", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["sid"], name="call_sid_unique"),
            models.CheckConstraint(condition=Q(sid__regex=CALL_SID_REGEX), name="call_sid_format"),
            models.CheckConstraint(
                condition=blank_or_one_of("status", CallStatus.values), name="call_status_valid"
            ),
            models.CheckConstraint(
                condition=blank_or_one_of("direction", CallDirection.values),
                name="call_direction_valid",
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="call_not_own_parent"),
            models.CheckConstraint(
                condition=Q(end_time__isnull=True)
                | Q(start_time__isnull=True)
                | Q(end_time__gte=F("start_time")),
                name="call_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(start_time_from_twilio=False) | Q(start_time__isnull=False),
                name="call_twilio_start_is_set",
            ),
            models.CheckConstraint(
                condition=blank_or_one_of("kind", FamilyKind.values), name="call_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(dial_result__in=DialResult.values), name="call_dial_result_valid"
            ),
        ]
        indexes = [
            # The call log lists parents newest first and nests their children.
            models.Index(
                fields=["-start_time", "-id"],
                condition=Q(parent__isnull=True),
                name="call_parent_start_idx",
            ),
            # The call log sorted by duration, both ways.
            models.Index(
                fields=["duration", "id"],
                condition=Q(parent__isnull=True),
                name="call_parent_duration_idx",
            ),
            # A leg's family, COALESCE(parent_id, id): families of filtered legs and the
            # legs of a family are index lookups (calls.family_facts.family_id).
            models.Index(Coalesce("parent", "id"), name="call_family_idx"),
            models.Index(fields=["agent", "start_time"], name="call_agent_start_idx"),
            models.Index(fields=["from_number"], name="call_from_idx"),
            models.Index(fields=["to_number"], name="call_to_idx"),
            models.Index(fields=["status", "start_time"], name="call_status_start_idx"),
            # Statistics and filters by family kind over a period, and who answered.
            models.Index(
                fields=["kind", "start_time"],
                condition=Q(parent__isnull=True),
                name="call_parent_kind_start_idx",
            ),
            models.Index(
                fields=["answered_by", "start_time"],
                condition=Q(parent__isnull=True),
                name="call_answered_by_start_idx",
            ),
            # The statistics read every family of a period: these carry the columns they
            # count, so PostgreSQL answers from the indexes (index-only scans) without
            # visiting the table's rows.
            models.Index(
                fields=["start_time"],
                include=[
                    "id",
                    "kind",
                    "status",
                    "dial_result",
                    "child_answer_time",
                    "voicemail_left",
                    "answered_by",
                    "blocked",
                ],
                condition=Q(parent__isnull=True),
                name="call_parent_stats_idx",
            ),
            models.Index(
                fields=["parent"],
                include=["id", "agent", "status", "duration"],
                condition=Q(parent__isnull=False, agent__isnull=False),
                name="call_agent_leg_stats_idx",
            ),
            # Families still going on (outcome in-progress): few, whatever the table's size.
            models.Index(
                fields=["-start_time", "-id"],
                condition=Q(parent__isnull=True) & ~Q(status__in=sorted(TERMINAL_STATUSES)),
                name="call_parent_live_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.sid


class CallEvent(models.Model):
    """One delivery from Twilio about a leg (status callback or webhook), stored once."""

    # Indexed by callevent_call_idx, which leads with it.
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events", db_index=False)
    status = models.CharField(max_length=16, choices=CallStatus.choices, blank=True, db_default="")
    sequence_number = models.PositiveIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField(null=True, blank=True)
    callback_source = models.CharField(max_length=64, blank=True, db_default="")
    parameters = models.JSONField(help_text="The form parameters exactly as Twilio sent them.")
    # SHA-256 of the sorted parameters: a redelivery of the same callback has the same digest.
    # Unique through Meta.constraints (no second index for LIKE searches, as on Call.sid).
    delivery_digest = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["call", "timestamp", "sequence_number", "id"]
        indexes = [models.Index(fields=["call", "received_at"], name="callevent_call_idx")]
        constraints = [
            models.UniqueConstraint(fields=["delivery_digest"], name="callevent_digest_unique")
        ]

    def __str__(self) -> str:
        return f"{self.call_id} {self.status} #{self.sequence_number}"


class StaleLegCheck(models.Model):
    """When the stale sweep last asked Twilio about a leg not final that had gone silent.

    One row per leg: a leg Twilio says is still live is asked about again only once it has
    been silent for RECONCILE_STALE_AFTER since that answer.
    """

    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="stale_check")
    checked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.call_id} checked {self.checked_at:%Y-%m-%d %H:%M}"


class ReconcileRun(models.Model):
    """One pass of reconciliation against Twilio's Calls API, kept for supervisors to see."""

    class Kind(models.TextChoices):
        RECENT = "recent"
        STALE = "stale"
        SINGLE = "single", "single call"
        RECORDINGS = "recordings", "recent recordings"

    class Outcome(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    outcome = models.CharField(max_length=9, choices=Outcome.choices, default=Outcome.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(
        default=timezone.now, help_text="Last progress; a running run silent for long is abandoned."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    call_sid = models.CharField(
        "call SID", max_length=34, blank=True, help_text="The leg a single-call run asked about."
    )
    since = models.DateTimeField(
        null=True, blank=True, help_text="Calls started after this time were listed."
    )
    watermark = models.DateTimeField(
        null=True, blank=True, help_text="The next run lists calls from here (minus an overlap)."
    )
    pages = models.PositiveIntegerField(default=0)
    calls_seen = models.PositiveIntegerField(default=0)
    calls_created = models.PositiveIntegerField(default=0)
    calls_updated = models.PositiveIntegerField(default=0)
    recordings_seen = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # The lock: one run of each job at a time. Jobs of different kinds (and single-call
            # runs of different calls) run side by side: the call table's upserts already take
            # concurrent webhooks, so they never conflict.
            models.UniqueConstraint(
                fields=["kind", "call_sid"],
                condition=Q(outcome="running"),
                name="reconcile_one_running_per_job",
            )
        ]
        indexes = [
            models.Index(fields=["kind", "outcome", "-started_at"], name="reconcile_last_idx")
        ]

    def __str__(self) -> str:
        return f"{self.kind} run {self.started_at:%Y-%m-%d %H:%M} ({self.outcome})"


class ReconcileRequest(models.Model):
    """A call someone asked to reconcile, kept until its run is recorded.

    The outbox of single-call runs: the request is stored first and its task handed to the
    broker after, so a broker outage delays the run but never loses it.
    """

    call_sid = models.CharField("call SID", max_length=34, unique=True)
    requested_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When its task reached the broker; empty until then."
    )

    def __str__(self) -> str:
        return f"{self.call_sid} requested {self.requested_at:%Y-%m-%d %H:%M}"


class Recording(models.Model):
    """One Twilio recording: a recorded call (two channels) or a voicemail.

    Written only by calls.recordings.writer, from recording status callbacks and the
    Recordings API; the media stays at Twilio and is streamed through our server.
    """

    sid = models.CharField("recording SID", max_length=34, unique=True)
    call = models.ForeignKey(
        Call,
        on_delete=models.CASCADE,
        related_name="recordings",
        help_text="The leg of the callback's CallSid (the parent leg for <Dial> recordings).",
    )
    kind = models.CharField(max_length=9, choices=RecordingKind.choices)
    source = models.CharField(
        max_length=RECORDING_SOURCE_MAX_LENGTH,
        blank=True,
        db_default="",
        help_text="RecordingSource: DialVerb, RecordVerb, ...",
    )
    status = models.CharField(
        max_length=12, choices=RecordingStatus.choices, blank=True, db_default=""
    )
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    duration = models.PositiveIntegerField("duration (s)", null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    error_code = models.PositiveIntegerField(null=True, blank=True)
    # Whose voicemail it is: the number called, or the agent called by a colleague.
    voicemail_number = models.ForeignKey(
        "agents.PhoneNumber",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="voicemails",
    )
    voicemail_agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="voicemails"
    )
    listened_at = models.DateTimeField(
        null=True, blank=True, help_text="When its owner first played this voicemail."
    )
    deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When retention deleted the media at Twilio."
    )
    deletion_attempts = models.PositiveIntegerField(db_default=0)
    deletion_error = models.TextField(
        blank=True, db_default="", help_text="Why the last deletion at Twilio failed."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sid__regex=sid_regex("RE")), name="recording_sid_format"
            ),
            models.CheckConstraint(
                condition=Q(status="") | Q(status__in=RecordingStatus.values),
                name="recording_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=RecordingKind.values), name="recording_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(channels__isnull=True) | Q(channels__in=[1, 2]),
                name="recording_channels_valid",
            ),
            # Only a voicemail belongs to a number or an agent.
            models.CheckConstraint(
                condition=Q(kind=RecordingKind.VOICEMAIL)
                | Q(voicemail_number__isnull=True, voicemail_agent__isnull=True),
                name="recording_owner_only_for_voicemail",
            ),
        ]
        indexes = [
            models.Index(fields=["call"], name="recording_call_idx"),
            models.Index(
                fields=["created_at"],
                condition=Q(deleted_at__isnull=True),
                name="recording_retention_idx",
            ),
            models.Index(
                fields=["-created_at"],
                condition=Q(kind=RecordingKind.VOICEMAIL),
                name="recording_voicemail_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.sid


class RecordingEvent(models.Model):
    """One recording status callback, stored once with its raw parameters."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(
        max_length=12, choices=RecordingStatus.choices, blank=True, db_default=""
    )
    parameters = models.JSONField(help_text="The form parameters exactly as Twilio sent them.")
    delivery_digest = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recording", "received_at", "id"]

    def __str__(self) -> str:
        return f"{self.recording_id} {self.status}"


class StatsDay(models.Model):
    """One local day of the call statistics, rolled up by calls.log.rollup: its StatsHour and
    StatsAgentDay rows hold the day's parts, counted in `time_zone` with the service level
    target of the time. A day a change marked since (StatsDirtyDay) is counted live until it
    is rolled up again."""

    time_zone = models.CharField(max_length=64)
    day = models.DateField()
    service_level_seconds = models.PositiveIntegerField()
    rolled_up_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["time_zone", "day"], name="statsday_zone_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} ({self.time_zone})"


class StatsHour(models.Model):
    """The families of one kind that started in one hour of a rolled-up day, and the team's
    inbound figures among them (calls.log.stats_parts.Volume)."""

    # Indexed by the unique constraint, which leads with it; so are the next two models'.
    stats_day = models.ForeignKey(
        StatsDay, on_delete=models.CASCADE, related_name="volumes", db_index=False
    )
    hour = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, blank=True)
    calls = models.PositiveIntegerField()
    inbound = models.PositiveIntegerField()
    answered = models.PositiveIntegerField()
    answered_within_target = models.PositiveIntegerField()
    abandoned = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stats_day", "hour", "kind"], name="statshour_day_hour_kind_unique"
            ),
            models.CheckConstraint(condition=Q(hour__lte=23), name="statshour_hour_of_day"),
        ]

    def __str__(self) -> str:
        return f"{self.stats_day_id} {self.hour:02d}h {self.kind}"


class StatsAgentDay(models.Model):
    """One agent's inbound calls of a rolled-up day (calls.log.stats_parts.AgentCounts)."""

    stats_day = models.ForeignKey(
        StatsDay, on_delete=models.CASCADE, related_name="agent_counts", db_index=False
    )
    # Derived rows: they go with their agent (one with calls is never deleted anyway).
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+")
    offered = models.PositiveIntegerField()
    answered = models.PositiveIntegerField()
    answered_by_colleague = models.PositiveIntegerField()
    missed = models.PositiveIntegerField()
    talk_seconds = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stats_day", "agent"], name="statsagentday_day_agent_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stats_day_id} agent {self.agent_id}"


class StatsAnswerWait(models.Model):
    """How many of her calls of a rolled-up day an agent answered after waiting this many
    whole seconds: the histogram her median time to answer is read from."""

    stats_day = models.ForeignKey(
        StatsDay, on_delete=models.CASCADE, related_name="answer_waits", db_index=False
    )
    # Derived rows, as StatsAgentDay's.
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+")
    seconds = models.IntegerField()
    calls = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stats_day", "agent", "seconds"], name="statsanswerwait_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stats_day_id} agent {self.agent_id}: {self.calls} after {self.seconds} s"


class StatsDirtyDay(models.Model):
    """A UTC day whose rolled-up statistics a change may have made wrong: a database trigger
    on calls_call (migration 0011) writes one for each leg changed long after it started.

    A transaction marks a day once on PostgreSQL (its transaction id), so that marking takes
    no lock another writer could wait for; SQLite, which has no such id, marks every change.
    """

    utc_day = models.DateField()
    transaction_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["utc_day", "transaction_id"], name="statsdirtyday_once_a_transaction"
            )
        ]

    def __str__(self) -> str:
        return f"{self.utc_day} (transaction {self.transaction_id})"


class TwilioError(models.Model):
    """An error or warning Twilio logged for this account (its Debugger webhook or Event
    Streams), stored once by the event's id, with the leg it is about when it is one of ours."""

    event_id = models.CharField(max_length=64, unique=True)
    code = models.PositiveIntegerField()
    level = models.CharField(max_length=16, blank=True, db_default="")
    message = models.TextField(blank=True, db_default="")
    resource_sid = models.CharField(max_length=34, blank=True, db_default="")
    request_url = models.TextField(blank=True, db_default="")
    call = models.ForeignKey(
        Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="twilio_errors"
    )
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["occurred_at", "code"], name="twilioerror_time_code"),
            models.Index(fields=["resource_sid"], name="twilioerror_resource_sid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class CallQuality(models.Model):
    """A finished leg's Voice Insights summary, and when to ask Twilio for it again.

    Written only by calls.quality.fetching; `next_attempt_at` empty means asking is over
    (the summary is complete, or the leg is past Insights' 30 days).
    """

    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="quality")
    processing_state = models.CharField(
        max_length=8, blank=True, help_text="partial or complete; empty until Twilio answered."
    )
    call_state = models.CharField(max_length=32, blank=True)
    disconnected_by = models.CharField(max_length=32, blank=True)
    tags = models.JSONField(default=list, blank=True)
    edges = models.JSONField(
        default=dict, blank=True, help_text="Per edge: jitter, packet loss, MOS, RTT (avg, max)."
    )
    codec = models.CharField(max_length=32, blank=True)
    pdd_ms = models.PositiveIntegerField("post-dial delay (ms)", null=True, blank=True)
    last_sip_response_num = models.PositiveIntegerField(null=True, blank=True)
    poor = models.BooleanField(null=True, help_text="Unknown until Twilio answered.")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "call qualities"
        constraints = [
            models.CheckConstraint(
                condition=Q(processing_state__in=["", "partial", "complete"]),
                name="callquality_processing_state_valid",
            ),
            # A complete summary is final: nothing is asked again.
            models.CheckConstraint(
                condition=~Q(processing_state="complete") | Q(next_attempt_at__isnull=True),
                name="callquality_complete_is_final",
            ),
            models.CheckConstraint(
                condition=Q(processing_state="") | Q(poor__isnull=False),
                name="callquality_judged_when_fetched",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(next_attempt_at__isnull=False),
                name="callquality_due_idx",
            ),
            models.Index(fields=["call"], condition=Q(poor=True), name="callquality_poor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.call_id} {self.processing_state or 'not fetched'}"


class InsightsRefusal(models.Model):
    """An account whose Voice Insights summaries Twilio refused (404, or Insights not enabled).

    Recorded once; no summary of the account is asked for while it stands. Deleting it (in
    the admin, once Advanced Features are on) lets the sweep ask again.
    """

    account_sid = models.CharField("account SID", max_length=34, unique=True)
    status = models.PositiveSmallIntegerField(help_text="Twilio's HTTP status.")
    code = models.PositiveIntegerField(null=True, blank=True, help_text="Twilio's error code.")
    message = models.TextField(blank=True)
    call_sid = models.CharField("call SID", max_length=34, help_text="The leg it was asked about.")
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.account_sid}: HTTP {self.status}"


class Conference(models.Model):
    """A family's conference (calls.hub): every connected call meets in one, so that agents
    can hold, consult and transfer, and supervisors listen in.

    Made when the hub starts moving the family's legs in (status `moving`), or by the first
    callback of a conference the hub did not make. Its state is worked out again from its
    events (ConferenceEvent) whenever one arrives, so callbacks may come in any order.
    """

    friendly_name = models.CharField(max_length=128, unique=True)
    sid = models.CharField("conference SID", max_length=34, unique=True, null=True, blank=True)
    family = models.OneToOneField(
        Call,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="conference",
        help_text="The parent leg of the customer's call family; empty for a conference of "
        "this Twilio account that the hub did not make.",
    )
    status = models.CharField(max_length=11, choices=ConferenceStatus.choices)
    record = models.BooleanField(default=False, help_text="Recorded as one file.")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=8, choices=HubEndedBy.choices, blank=True)
    ending_call_sid = models.CharField(max_length=34, blank=True)
    ending_label = models.CharField(max_length=128, blank=True)
    reason_ended = models.CharField(max_length=128, blank=True)
    # The family's handling in numbers, for the call log and statistics.
    hold_seconds = models.PositiveIntegerField(default=0)
    holds = models.PositiveIntegerField(default=0, help_text="Times a party was put on hold.")
    transfers = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("monitor_conference", "Listen to, coach and join live calls")]
        constraints = [
            models.CheckConstraint(
                condition=Q(sid__isnull=True) | Q(sid__regex=sid_regex("CF")),
                name="conference_sid_format",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ConferenceStatus.values), name="conference_status_valid"
            ),
            models.CheckConstraint(
                condition=blank_or_one_of("ended_by", HubEndedBy.values),
                name="conference_ended_by_valid",
            ),
        ]
        indexes = [
            # Conferences still open, for the live board and reconciliation.
            models.Index(
                fields=["created_at"],
                condition=Q(ended_at__isnull=True),
                name="conference_open_idx",
            )
        ]

    def __str__(self) -> str:
        return self.friendly_name

    @property
    def is_over(self) -> bool:
        return (
            CONFERENCE_STATUS_RANK[ConferenceStatus(self.status)]
            >= CONFERENCE_STATUS_RANK[ConferenceStatus.COMPLETED]
        )


class ConferenceEvent(models.Model):
    """One conference status callback, as Twilio sent it; a retry (the same parameters) is
    kept once."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="events")
    event = models.CharField(max_length=64)
    sequence_number = models.PositiveIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField()
    call_sid = models.CharField(max_length=34, blank=True)
    label = models.CharField(max_length=128, blank=True)
    hold = models.BooleanField(null=True)
    muted = models.BooleanField(null=True)
    coaching = models.BooleanField(null=True)
    reason = models.CharField(max_length=128, blank=True)
    parameters = models.JSONField(help_text="The form parameters exactly as Twilio sent them.")
    delivery_digest = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sequence_number", "timestamp", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["conference", "delivery_digest"], name="conference_event_once"
            )
        ]

    def __str__(self) -> str:
        return self.event


class ConferenceParticipant(models.Model):
    """A leg that took part in a family's conference: invited by the hub, or seen joining.

    What it did (joined, held, left) is worked out from the conference's events; the call
    table holds the leg itself (linked to the family, see calls.hub).
    """

    conference = models.ForeignKey(
        Conference, on_delete=models.CASCADE, related_name="participants"
    )
    call_sid = models.CharField("call SID", max_length=34)
    label = models.CharField(max_length=128, blank=True)
    role = models.CharField(max_length=10, choices=PartyRole.choices)
    identity = models.CharField(max_length=IDENTITY_MAX_LENGTH, blank=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    reason_left = models.CharField(max_length=128, blank=True)
    hold = models.BooleanField(default=False)
    hold_since = models.DateTimeField(null=True, blank=True)
    hold_seconds = models.PositiveIntegerField(default=0)
    holds = models.PositiveIntegerField(default=0)
    muted = models.BooleanField(default=False)
    coaching = models.BooleanField(default=False)
    # Set by the hub when it invites the party: a blind transfer's new party takes the
    # customer off hold by joining; a consulted party is the target of a warm transfer.
    releases_hold = models.BooleanField(default=False)
    consulted = models.BooleanField(default=False)

    class Meta:
        ordering = ["invited_at", "joined_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["conference", "call_sid"], name="conference_participant_once"
            ),
            models.CheckConstraint(
                condition=Q(call_sid__regex=CALL_SID_REGEX), name="conference_participant_sid"
            ),
            models.CheckConstraint(
                condition=Q(role__in=PartyRole.values), name="conference_participant_role"
            ),
        ]
        indexes = [models.Index(fields=["identity", "left_at"], name="participant_identity_idx")]

    def __str__(self) -> str:
        return self.label or self.call_sid


class HubAction(models.Model):
    """What an agent or supervisor did to a conference through us, for the family's
    timeline: Twilio's events say what happened, these say who asked for it."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=14, choices=HubActionKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_identity = models.CharField(max_length=IDENTITY_MAX_LENGTH, blank=True)
    target = models.CharField(
        max_length=128, blank=True, help_text="The participant's label, or who was called."
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=HubActionKind.values),
                name="hub_action_kind_valid",
            )
        ]

    def __str__(self) -> str:
        return self.kind


class Disposition(models.Model):
    """One choice of the list agents pick a family's disposition from ("resolved", "call
    back"...), kept by supervisors in the admin. Retired, not deleted, once used: families
    keep theirs."""

    name = models.CharField(max_length=DISPOSITION_NAME_MAX_LENGTH, unique=True)
    active = models.BooleanField(default=True, help_text="Offered to agents.")
    order = models.PositiveSmallIntegerField(default=0, help_text="Lower comes first.")

    class Meta:
        ordering = ["order", "name"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="disposition_named")]

    def __str__(self) -> str:
        return self.name


class FamilyDisposition(models.Model):
    """A family's disposition and note, kept on its parent leg (one per family), written
    only by calls.dispositions.writer."""

    call = models.OneToOneField(
        Call,
        on_delete=models.CASCADE,
        related_name="family_disposition",
        help_text="The family's parent leg.",
    )
    # A disposition in use is retired (made inactive), never deleted.
    disposition = models.ForeignKey(
        Disposition, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True, db_default="")
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    written_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(disposition__isnull=False) | ~Q(note=""),
                name="familydisposition_says_something",
            )
        ]

    def __str__(self) -> str:
        return f"{self.call_id}: {self.disposition or 'no disposition'}"
