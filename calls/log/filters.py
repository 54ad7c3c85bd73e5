"""The call log's filters, shared by its pages, its CSV export and its API."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django_filters.constants import EMPTY_VALUES
from django_filters.widgets import DateRangeWidget

from agents.models import Agent
from calls.constants import CallDirection, CallStatus
from calls.log.families import families_of
from calls.log.paging import DEFAULT_SORT, SORTS
from calls.models import Call


class CallFamilyForm(forms.Form):
    """The filters' form, with the sort order beside them: validated and documented with the
    filters, applied by the keyset pages (which read it from `CallFamilyFilter.sort_order`)."""

    sort = forms.ChoiceField(choices=list(SORTS.items()), required=False, label="Sort")


class CallFamilyFilter(django_filters.FilterSet):
    """Filters over parent legs (families).

    The date range bounds the family's start; every other filter matches a family when one of
    its legs matches them all together (so `agent=alice&status=no-answer` finds the calls Alice
    missed).
    """

    started = django_filters.DateFromToRangeFilter(
        field_name="start_time",
        label="Started",
        widget=DateRangeWidget(attrs={"type": "date"}),
    )
    direction = django_filters.ChoiceFilter(choices=CallDirection.choices, empty_label="Any")
    status = django_filters.ChoiceFilter(choices=CallStatus.choices, empty_label="Any")
    agent = django_filters.ModelChoiceFilter(
        queryset=Agent.objects.order_by("identity"), to_field_name="identity", empty_label="Any"
    )
    number = django_filters.CharFilter(
        method="filter_number",
        label="Number",
        help_text="A phone number or client:<identity>, as From or To of any leg.",
    )
    sid = django_filters.CharFilter(label="Call SID", help_text="Any leg's SID finds its family.")

    LEG_FILTERS = frozenset({"direction", "status", "agent", "number", "sid"})

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

    def filter_queryset(self, queryset: QuerySet[Call]) -> QuerySet[Call]:
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
        value = value.strip()
        return legs.filter(Q(from_number=value) | Q(to_number=value))
