"""Queues: callers wait their turn for the queue's members, one offer at a time per agent."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from agents.models import Agent, CallHandling, PhoneNumber
from voiceproject.twilio_ids import CALL_SID_REGEX


class QueueRouting(models.TextChoices):
    """Which free members a waiting caller rings."""

    LONGEST_IDLE = "longest-idle", "longest idle first, one agent at a time"
    RING_ALL = "ring-all", "every free member at once"


class Queue(CallHandling):
    """Callers waiting their turn for a group of agents.

    The call-handling fields say what happens when a caller has waited the maximum wait
    (voicemail, forward, message) and whether answered calls are recorded.
    """

    name = models.CharField(max_length=64, unique=True)
    routing = models.CharField(
        max_length=12, choices=QueueRouting.choices, default=QueueRouting.LONGEST_IDLE
    )
    ring_timeout = models.PositiveSmallIntegerField(
        "ring timeout (s)",
        default=20,
        validators=[MinValueValidator(5), MaxValueValidator(600)],
        help_text="How long one offer rings before the next agent is tried.",
    )
    wrap_up_seconds = models.PositiveSmallIntegerField(
        "wrap-up (s)",
        default=30,
        validators=[MaxValueValidator(3600)],
        help_text="After a call the agent takes no call for this long (she can end it early).",
    )
    maximum_wait = models.PositiveIntegerField(
        "maximum wait (s)",
        default=600,
        validators=[MinValueValidator(10), MaxValueValidator(4 * 3600)],
        help_text="After this long, the caller goes to the queue's unanswered-call policy.",
    )
    announce_every = models.PositiveSmallIntegerField(
        "announce every (s)",
        default=30,
        validators=[MinValueValidator(10), MaxValueValidator(3600)],
        help_text="How often a waiting caller hears her position and expected wait.",
    )
    members: "models.ManyToManyField[Agent, QueueMember]" = models.ManyToManyField(
        Agent, through="QueueMember", related_name="queues"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            *CallHandling.Meta.constraints,
            models.CheckConstraint(
                condition=Q(routing__in=QueueRouting.values), name="queue_routing_valid"
            ),
            models.CheckConstraint(
                condition=Q(ring_timeout__gte=5, ring_timeout__lte=600),
                name="queue_ring_timeout_range",
            ),
            models.CheckConstraint(
                condition=Q(maximum_wait__gte=10), name="queue_maximum_wait_range"
            ),
            models.CheckConstraint(
                condition=Q(announce_every__gte=10), name="queue_announce_every_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class QueueMember(models.Model):
    """An agent who takes the queue's calls; `order` breaks ties between agents idle as long."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="memberships")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="queue_memberships")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["queue", "order", "agent"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "agent"], name="queuemember_once"),
        ]

    def __str__(self) -> str:
        return f"{self.queue_id}: {self.agent_id}"


class QueueNumber(models.Model):
    """A phone number whose callers wait in the queue instead of ringing its agents."""

    number = models.OneToOneField(PhoneNumber, on_delete=models.CASCADE, related_name="queue_link")
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="numbers")

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number_id} → {self.queue_id}"


class CallerOutcome(models.TextChoices):
    """How a caller's wait ended; `waiting` until it does."""

    WAITING = "waiting"
    ANSWERED = "answered"
    ABANDONED = "abandoned", "hung up while waiting"
    TIMED_OUT = "timed-out", "waited the maximum wait"


class QueueCaller(models.Model):
    """One caller's wait in a queue: the queue's own bookkeeping, in arrival order."""

    call_sid = models.CharField("call SID", max_length=34)
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="callers")
    arrived_at = models.DateTimeField()
    outcome = models.CharField(
        max_length=9, choices=CallerOutcome.choices, default=CallerOutcome.WAITING
    )
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When the wait ended: answered, hung up or timed out."
    )
    wait_seconds = models.PositiveIntegerField(null=True, blank=True)
    agent = models.ForeignKey(
        Agent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="queue_calls",
        help_text="The agent who answered.",
    )
    announced_at = models.DateTimeField(
        null=True, blank=True, help_text="When the caller last heard her position."
    )

    class Meta:
        ordering = ["arrived_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["call_sid"], name="queuecaller_sid_unique"),
            models.CheckConstraint(
                condition=Q(call_sid__regex=CALL_SID_REGEX), name="queuecaller_sid_format"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=CallerOutcome.values), name="queuecaller_outcome_valid"
            ),
            # A wait that ended has its end and its length; a wait going on has neither.
            models.CheckConstraint(
                condition=(
                    Q(outcome=CallerOutcome.WAITING, ended_at__isnull=True, wait_seconds=None)
                    | (
                        ~Q(outcome=CallerOutcome.WAITING)
                        & Q(ended_at__gte=F("arrived_at"), wait_seconds__isnull=False)
                    )
                ),
                name="queuecaller_ended_has_wait",
            ),
            models.CheckConstraint(
                condition=Q(outcome=CallerOutcome.ANSWERED) | Q(agent__isnull=True),
                name="queuecaller_agent_only_when_answered",
            ),
        ]
        indexes = [
            models.Index(
                fields=["queue", "arrived_at", "id"],
                condition=Q(outcome=CallerOutcome.WAITING),
                name="queuecaller_waiting_idx",
            ),
            models.Index(fields=["arrived_at"], name="queuecaller_arrived_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.call_sid} in {self.queue_id} ({self.outcome})"


class OfferResult(models.TextChoices):
    """How an offer to an agent closed; empty while it rings."""

    RINGING = ""
    ANSWERED = "answered"
    NOT_ANSWERED = "not-answered"
    CALLER_LEFT = "caller-left", "caller hung up"
    EXPIRED = "expired", "no word from Twilio"


class QueueOffer(models.Model):
    """A waiting caller ringing an agent: the agent's reservation while it rings.

    An agent has at most one offer ringing (a partial unique index): two callers, or two
    server processes, never ring the same agent at once.
    """

    caller = models.ForeignKey(QueueCaller, on_delete=models.CASCADE, related_name="offers")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="queue_offers")
    offered_at = models.DateTimeField()
    expires_at = models.DateTimeField(
        help_text="After this, an offer Twilio never reported on no longer holds the agent."
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=12, choices=OfferResult.choices, blank=True, default="")

    class Meta:
        ordering = ["offered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent"],
                condition=Q(closed_at__isnull=True),
                name="queueoffer_one_ringing_per_agent",
                violation_error_message="This agent is already being offered a call.",
            ),
            models.CheckConstraint(
                condition=Q(result__in=OfferResult.values), name="queueoffer_result_valid"
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True, result="")
                | Q(closed_at__isnull=False) & ~Q(result=""),
                name="queueoffer_closed_has_result",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("offered_at")), name="queueoffer_expires_after"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.caller_id} → {self.agent_id}"


class WrapUp(models.Model):
    """An agent's time after a queue call to finish its work; routing skips her until it ends.

    One row per answered queue call, kept: occupancy counts wrap-up time.
    """

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="wrap_ups")
    caller = models.OneToOneField(QueueCaller, on_delete=models.CASCADE, related_name="wrap_up")
    started_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gte=F("started_at")), name="wrapup_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["agent", "ends_at"], name="wrapup_agent_ends_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} until {self.ends_at}"
