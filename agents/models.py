from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.expressions import Combinable
from django.db.models.functions import Lower
from django.utils import timezone

from agents.constants import Availability, PresenceSource, UnansweredPolicy
from agents.validators import (
    validate_application_sid,
    validate_e164,
    validate_identity,
    validate_push_credential_sid,
    validate_time_zone,
)
from voiceproject.twilio_ids import (
    E164_MAX_LENGTH,
    E164_REGEX,
    IDENTITY_MAX_LENGTH,
    IDENTITY_REGEX,
    client_address,
    sid_regex,
)


def push_credential_sid_field(
    *, verbose_name: str, help_text: str
) -> models.CharField[str | int | Combinable, str]:
    """A push credential's SID (CR…), optional: apps without mobile users need none."""
    return models.CharField(
        verbose_name,
        max_length=34,
        blank=True,
        validators=[validate_push_credential_sid],
        help_text=help_text,
    )


class TwimlApp(models.Model):
    """A Twilio TwiML App: its SID goes into each agent's token as the outgoing application."""

    sid = models.CharField(
        "application SID",
        max_length=34,
        unique=True,
        validators=[validate_application_sid],
        help_text="The TwiML App's SID from the Twilio Console (AP…).",
    )
    friendly_name = models.CharField(max_length=64)
    # iOS rings through APNs and Android through FCM, each with its own credential; a token
    # carries the one for the platform that asks for it.
    apn_credential_sid = push_credential_sid_field(
        verbose_name="APN push credential SID",
        help_text="The APNs (VoIP) push credential iOS apps receive calls with (CR…).",
    )
    fcm_credential_sid = push_credential_sid_field(
        verbose_name="FCM push credential SID",
        help_text="The FCM push credential Android apps receive calls with (CR…).",
    )
    description = models.TextField(blank=True)

    class Meta:
        verbose_name = "TwiML App"
        ordering = ["friendly_name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sid__regex=sid_regex("AP")),
                name="twimlapp_sid_format",
            ),
            *(
                models.CheckConstraint(
                    condition=models.Q((field, ""))
                    | models.Q((f"{field}__regex", sid_regex("CR"))),
                    name=f"twimlapp_{field}_format",
                )
                for field in ("apn_credential_sid", "fcm_credential_sid")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.friendly_name} ({self.sid})"


# The fields of CallHandling, in the order forms show them.
CALL_HANDLING_FIELDS = (
    "unanswered_policy",
    "unanswered_greeting",
    "forward_to",
    "record_calls",
    "recording_announcement",
)


class CallHandling(models.Model):
    """What happens to calls nobody answers, and whether calls are recorded.

    A phone number's settings apply to calls to it; an agent's to calls to the agent from a
    colleague (unanswered) and to the agent's own outgoing calls (recording).
    """

    unanswered_policy = models.CharField(
        max_length=9,
        choices=UnansweredPolicy.choices,
        default=UnansweredPolicy.VOICEMAIL,
        help_text="What a caller hears when nobody answers or nobody can take the call.",
    )
    unanswered_greeting = models.TextField(
        blank=True,
        help_text="Spoken before the voicemail beep, or as the message; a default when empty.",
    )
    forward_to = models.CharField(
        max_length=E164_MAX_LENGTH,
        blank=True,
        validators=[validate_e164],
        help_text="E.164 number rung by the forward policy (a mobile, another office).",
    )
    record_calls = models.BooleanField(
        default=False,
        help_text="Record answered calls in two channels (caller and agent apart).",
    )
    recording_announcement = models.TextField(
        blank=True,
        help_text="Spoken to the caller before a recorded call is connected; none when empty.",
    )

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=models.Q(unanswered_policy__in=UnansweredPolicy.values),
                name="%(class)s_unanswered_policy_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(forward_to="") | models.Q(forward_to__regex=E164_REGEX),
                name="%(class)s_forward_to_e164",
            ),
            # Forwarding needs somewhere to forward to.
            models.CheckConstraint(
                condition=~models.Q(unanswered_policy=UnansweredPolicy.FORWARD)
                | ~models.Q(forward_to=""),
                name="%(class)s_forward_has_number",
                violation_error_message="The forward policy needs a number to forward to.",
            ),
        ]

    def clean(self) -> None:
        errors = self.forward_errors()
        if errors:
            raise ValidationError(errors)

    def forward_errors(self) -> dict[str, str]:
        """Refuse a forward to one of our own numbers: it would ring our agents, who would not
        answer either, and forward again."""
        if self.forward_to and PhoneNumber.objects.filter(number=self.forward_to).exists():
            return {"forward_to": forward_loop_message(self.forward_to)}
        return {}


def forward_loop_message(number: str) -> str:
    return (
        f"{number} is one of your own numbers: forwarding to it would loop back to your "
        "agents. Forward to a number outside this server (a mobile, another office)."
    )


class Agent(CallHandling):
    """A user who may place and take calls with a Voice SDK as one Twilio client identity."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent"
    )
    identity = models.CharField(
        max_length=IDENTITY_MAX_LENGTH,
        unique=True,
        validators=[validate_identity],
        help_text="Twilio client identity: letters, digits and underscores, "
        f"at most {IDENTITY_MAX_LENGTH} characters.",
    )
    twiml_app = models.ForeignKey(
        TwimlApp,
        verbose_name="TwiML App",
        on_delete=models.PROTECT,
        related_name="agents",
        help_text="The app whose Voice URL handles this agent's outgoing calls.",
    )
    caller_id = models.CharField(
        "caller ID",
        max_length=E164_MAX_LENGTH,
        blank=True,
        validators=[validate_e164],
        help_text="Shown to the people this agent dials: one of your phone numbers, or a "
        "number verified in Twilio (Phone Numbers → Verified Caller IDs).",
    )
    caller_id_verified = models.BooleanField(
        "verified caller ID",
        default=False,
        # Also in the database: rows written by code (or migrations) that predate the flag.
        db_default=False,
        help_text="The caller ID is not one of your phone numbers but is verified in Twilio; "
        "the setup doctor checks that it is.",
    )
    incoming_allowed = models.BooleanField(
        default=True, help_text="Whether this agent's devices may receive calls."
    )
    is_active = models.BooleanField(
        default=True, help_text="Inactive agents get no token and are never dialled."
    )
    availability = models.CharField(
        max_length=9,
        choices=Availability.choices,
        default=Availability.OFFLINE,
        help_text="Whether the agent wants calls; change it with the actions of the agent list.",
    )
    availability_since = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Last heartbeat of the browser softphone that set the availability; "
        "empty when it was set otherwise and does not lapse.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["identity"]
        constraints = [
            *CallHandling.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(availability__in=Availability.values),
                name="agent_availability_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(identity__regex=IDENTITY_REGEX),
                name="agent_identity_format",
            ),
            models.CheckConstraint(
                condition=models.Q(caller_id="") | models.Q(caller_id__regex=E164_REGEX),
                name="agent_caller_id_e164",
            ),
            # Twilio matches identities exactly, but `Alice` beside `alice` is a mistake
            # waiting to ring the wrong person.
            models.UniqueConstraint(
                Lower("identity"),
                name="agent_identity_unique_ignoring_case",
                violation_error_message="An agent with this identity already exists "
                "(identities are compared regardless of case).",
            ),
        ]

    def __str__(self) -> str:
        return self.identity

    def clean(self) -> None:
        """Refuse a caller ID Twilio would refuse (error 13214) before any call fails."""
        errors = self.forward_errors()
        if (
            self.caller_id
            and not self.caller_id_verified
            and not PhoneNumber.objects.filter(number=self.caller_id).exists()
        ):
            errors["caller_id"] = (
                f"{self.caller_id} is not one of your phone numbers, so Twilio would refuse "
                "calls with it (error 13214). Add it under Phone numbers, or tick “verified "
                "caller ID” if it is verified in Twilio."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def display_name(self) -> str:
        """The name colleagues see: the user's full name, else the identity."""
        return self.user.get_full_name() or self.identity

    @property
    def client_address(self) -> str:
        """The address Twilio uses for this agent in From/To: client:<identity>."""
        return client_address(self.identity)


class PhoneNumber(CallHandling):
    """One of our Twilio numbers and the agents whose devices ring when it is called."""

    number = models.CharField(
        max_length=E164_MAX_LENGTH,
        unique=True,
        validators=[validate_e164],
        help_text="E.164, for example +14155550100.",
    )
    friendly_name = models.CharField(max_length=64, blank=True)
    agents = models.ManyToManyField(
        Agent,
        blank=True,
        related_name="phone_numbers",
        help_text="Agents who ring simultaneously when this number is called.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            *CallHandling.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(number__regex=E164_REGEX),
                name="phonenumber_e164",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.friendly_name} {self.number}".strip()

    def forward_errors(self) -> dict[str, str]:
        """Refuse a loop either way: a forward to this very number, or this number becoming
        ours while an agent or another number forwards to it."""
        if self.forward_to and self.forward_to == self.number:
            return {"forward_to": forward_loop_message(self.forward_to)}
        errors = super().forward_errors()
        forwarding = [
            *(f"agent {agent}" for agent in Agent.objects.filter(forward_to=self.number)),
            *(
                f"number {number}"
                for number in PhoneNumber.objects.filter(forward_to=self.number).exclude(pk=self.pk)
            ),
        ]
        if self.number and forwarding:
            errors["number"] = (
                f"Unanswered calls to {', '.join(forwarding)} are forwarded to {self.number}: "
                "as one of your own numbers it would loop back to your agents. Change that "
                "forward first."
            )
        return errors


class PresenceChange(models.Model):
    """One change of an agent's availability, kept so that analysts can measure time available."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="presence_changes")
    from_availability = models.CharField("from", max_length=9, choices=Availability.choices)
    to_availability = models.CharField("to", max_length=9, choices=Availability.choices)
    changed_at = models.DateTimeField()
    source = models.CharField(max_length=9, choices=PresenceSource.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The user who made the change; empty when a timeout did.",
    )

    class Meta:
        ordering = ["-changed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(from_availability=models.F("to_availability")),
                name="presencechange_changes",
            ),
            models.CheckConstraint(
                condition=models.Q(from_availability__in=Availability.values)
                & models.Q(to_availability__in=Availability.values)
                & models.Q(source__in=PresenceSource.values),
                name="presencechange_values_valid",
            ),
        ]
        indexes = [models.Index(fields=["agent", "changed_at"], name="presencechange_agent_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.from_availability} → {self.to_availability}"


class UserProfile(models.Model):
    """What a user chooses for herself, agent or not: the time zone her pages speak.

    A user without a row, or with an empty zone, sees the server's TIME_ZONE.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="The zone times, dates and statistics are shown in; the server's when empty.",
    )

    class Meta:
        verbose_name = "profile"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.time_zone or 'server time zone'}"
