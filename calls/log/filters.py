"""The call log's filters, shared by its pages, its CSV export, its statistics and its API.

A value a filter does not understand is an error, never ignored: the pages show it next to
the field and list nothing, the CSV export and the API answer 400 naming the field.
"""

import django_filters
import phonenumbers
from django import forms
from django.conf import settings
from django.db.models import Q, QuerySet
from django_filters.constants import EMPTY_VALUES
from django_filters.widgets import DateRangeWidget

from agents.models import Agent
from calls.constants import (
    CallDirection,
    CallStatus,
    EndedBy,
    FamilyKind,
    FamilyOutcome,
    HubEndedBy,
    QualityVerdict,
)
from calls.family_facts import families_of, outcome_condition
from calls.log.paging import DEFAULT_SORT, SORTS
from calls.models import Call, Disposition
from voiceproject.twilio_ids import (
    client_address,
    client_identity,
    is_call_sid,
    is_identity,
    sid_error,
)

NUMBER_HELP = (
    "A phone number, international (+1 415 555 0100) or national ((415) 555-0100, read in "
    "the DEFAULT_PHONE_REGION), or client:<identity>, as From or To of any leg."
)


class CallFamilyForm(forms.Form):
    """The filters' form, with the sort order beside them: validated and documented with the
    filters, applied by the keyset pages (which read it from `CallFamilyFilter.sort_order`)."""

    sort = forms.ChoiceField(choices=list(SORTS.items()), required=False, label="Sort")

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        started = cleaned.get("started")
        if (
            isinstance(started, slice)
            and started.start
            and started.stop
            and started.start > started.stop
        ):
            self.add_error("started", "The start date is after the end date.")
        return cleaned


def phone_address(value: str) -> str:
    """The From/To address a number filter means: client:<identity> as it is, a phone number
    in E.164 (national formats read in DEFAULT_PHONE_REGION).

    Raises ValidationError for anything else.
    """
    value = value.strip()
    identity = client_identity(value)
    if identity is not None:
        if not is_identity(identity):
            raise forms.ValidationError("An identity has letters, digits and underscores only.")
        return value
    try:
        number = phonenumbers.parse(value, settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as error:
        raise forms.ValidationError("Enter a phone number or client:<identity>.") from error
    if not phonenumbers.is_possible_number(number):
        raise forms.ValidationError("This is not a possible phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def legs_found_by(term: str) -> Q | None:
    """Legs a search term finds, each by an exact match an index answers: a call SID finds
    its leg and that leg's children; an agent's identity (or client:<identity>) finds her legs;
    a phone number as people type it, or another client:<identity>, finds the legs from or to
    it. None when the term is none of these.

    The SID and the agent are looked up first: PostgreSQL scans every leg for an OR whose
    other half is a subquery.
    """
    term = term.strip()
    sid = term[:2].upper() + term[2:].lower()
    if is_call_sid(sid):
        leg_id = Call.objects.filter(sid=sid).values_list("id", flat=True).first()
        return Q(id=leg_id) | Q(parent_id=leg_id) if leg_id is not None else Q(pk__in=[])
    try:
        address = phone_address(term)
    except forms.ValidationError:
        if not is_identity(term):
            return None
        address = client_address(term)
    identity = client_identity(address)
    agent = Agent.objects.filter(identity=identity).first() if identity is not None else None
    if agent is not None:
        # Her legs, newest first from call_agent_start_idx: thousands, for a busy agent.
        return Q(agent=agent)
    return Q(from_number=address) | Q(to_number=address)


class PhoneAddressField(forms.CharField):
    def clean(self, value: str | None) -> str:
        text = super().clean(value)
        return phone_address(text) if text else ""


class CallSidField(forms.CharField):
    def clean(self, value: str | None) -> str:
        text: str = super().clean(value).strip()
        if text and not is_call_sid(text):
            raise forms.ValidationError(sid_error(name="A call SID", prefix="CA"))
        return text


class PhoneAddressFilter(django_filters.CharFilter):
    field_class = PhoneAddressField


class CallSidFilter(django_filters.CharFilter):
    field_class = CallSidField


def _agents() -> QuerySet[Agent]:
    return Agent.objects.order_by("identity")


YES_OR_NO = [("yes", "Yes"), ("no", "No")]


class CallFamilyFilter(django_filters.FilterSet):
    """Filters over parent legs (families).

    The date range, `kind`, `outcome`, `disposition` and `answered_by` describe the family
    (its parent);
    every other filter matches a family when one of its legs matches them all together.
    """

    started = django_filters.DateFromToRangeFilter(
        field_name="start_time",
        label="Started",
        widget=DateRangeWidget(attrs={"type": "date"}),
    )
    kind = django_filters.ChoiceFilter(
        choices=FamilyKind.choices,
        empty_label="Any",
        help_text="Who called whom: a customer (inbound), an agent out (outbound), agent to "
        "agent (internal), anything else (other).",
    )
    outcome = django_filters.ChoiceFilter(
        choices=FamilyOutcome.choices,
        empty_label="Any",
        method="filter_outcome",
        help_text="How the family ended (in-progress until its parent leg ends).",
    )
    disposition = django_filters.ModelChoiceFilter(
        queryset=Disposition.objects.all(),
        field_name="family_disposition__disposition",
        to_field_name="name",
        empty_label="Any",
        help_text="The disposition picked for the family (by its name).",
    )
    answered_by = django_filters.ModelChoiceFilter(
        queryset=_agents(),
        to_field_name="identity",
        empty_label="Anyone",
        label="Answered by",
        help_text="The agent who answered an inbound or internal call.",
    )
    direction = django_filters.ChoiceFilter(
        choices=CallDirection.choices,
        empty_label="Any",
        help_text="Twilio's direction of a leg (a softphone's call out is an inbound parent).",
    )
    status = django_filters.ChoiceFilter(choices=CallStatus.choices, empty_label="Any")
    agent = django_filters.ModelChoiceFilter(
        queryset=_agents(),
        to_field_name="identity",
        empty_label="Any",
        help_text="An agent on any leg: rung, answering, or calling.",
    )
    number = PhoneAddressFilter(method="filter_number", label="Number", help_text=NUMBER_HELP)
    sid = CallSidFilter(label="Call SID", help_text="Any leg's SID finds its family.")
    quality = django_filters.ChoiceFilter(
        choices=QualityVerdict.choices,
        empty_label="Any",
        method="filter_quality",
        help_text="A leg's quality by its Voice Insights summary (poor: Twilio tagged it).",
    )
    disconnected_by = django_filters.ChoiceFilter(
        choices=EndedBy.choices,
        field_name="quality__disconnected_by",
        empty_label="Anyone",
        label="Disconnected by",
        help_text="Who hung up a leg, by its Voice Insights summary.",
    )
    ended_by = django_filters.ChoiceFilter(
        choices=HubEndedBy.choices,
        field_name="conference__ended_by",
        empty_label="Anyone",
        label="Ended by",
        help_text="Who ended a call that met in a conference: the customer, an agent, or the "
        "system (a transfer nobody answered, the API).",
    )
    held = django_filters.ChoiceFilter(
        choices=YES_OR_NO,
        empty_label="Either",
        method="filter_held",
        label="Put on hold",
        help_text="Families whose customer was put on hold (yes) or never was (no).",
    )
    transferred = django_filters.ChoiceFilter(
        choices=YES_OR_NO,
        empty_label="Either",
        method="filter_transferred",
        label="Transferred",
        help_text="Families transferred at least once (yes) or never (no).",
    )

    LEG_FILTERS = frozenset(
        {"direction", "status", "agent", "number", "sid", "quality", "disconnected_by"}
    )

    class Meta:
        model = Call
        fields: list[str] = []
        form = CallFamilyForm

    @property
    def sort_order(self) -> str:
        """The sort order asked for, when valid; the keyset paginator applies it."""
        if not self.is_bound or "sort" in self.form.errors:
            return DEFAULT_SORT
        return self.form.cleaned_data.get("sort") or DEFAULT_SORT

    @property
    def refused(self) -> dict[str, list[str]]:
        """Each field with a value the filters do not accept, and why; empty when all are
        understood. Nothing may be listed while this is not empty."""
        if not self.is_bound:
            return {}
        return {field: list(errors) for field, errors in self.form.errors.items()}

    @property
    def filters_only_by_period(self) -> bool:
        """Whether the families are filtered by their start date alone (or by nothing)."""
        if not self.is_bound or self.refused:
            return False
        return all(
            self.form.cleaned_data.get(name) in EMPTY_VALUES
            for name in self.filters
            if name != "started"
        )

    def filter_queryset(self, queryset: QuerySet[Call]) -> QuerySet[Call]:
        if self.refused:
            return queryset.none()
        legs = Call.objects.all()
        any_leg_filter = False
        for name in self.filters:
            value = self.form.cleaned_data.get(name)
            if value in EMPTY_VALUES:
                continue
            if name in self.LEG_FILTERS:
                legs = self.filters[name].filter(legs, value)
                any_leg_filter = True
            else:
                queryset = self.filters[name].filter(queryset, value)
        if any_leg_filter:
            queryset = queryset.filter(id__in=families_of(legs))
        return queryset

    def filter_number(self, legs: QuerySet[Call], name: str, value: str) -> QuerySet[Call]:
        return legs.filter(Q(from_number=value) | Q(to_number=value))

    def filter_quality(self, legs: QuerySet[Call], name: str, value: str) -> QuerySet[Call]:
        return legs.filter(quality__poor=value == QualityVerdict.POOR)

    def filter_held(self, parents: QuerySet[Call], name: str, value: str) -> QuerySet[Call]:
        held = Q(conference__holds__gt=0)
        return parents.filter(held if value == "yes" else ~held)

    def filter_transferred(self, parents: QuerySet[Call], name: str, value: str) -> QuerySet[Call]:
        transferred = Q(conference__transfers__gt=0)
        return parents.filter(transferred if value == "yes" else ~transferred)

    def filter_outcome(self, parents: QuerySet[Call], name: str, value: str) -> QuerySet[Call]:
        return parents.filter(outcome_condition(value))
