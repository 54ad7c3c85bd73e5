"""Template helpers for the call log pages."""

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from django import template
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.forms import BoundField, ChoiceField
from django.template import Context
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from calls import access
from calls.constants import FamilyKind, FamilyOutcome
from calls.log.families import Family
from calls.models import Call
from calls.quality import summary
from voiceproject.twilio_ids import is_web_url

register = template.Library()


@register.filter
def can_view_call_log(user: AbstractBaseUser | AnonymousUser) -> bool:
    return access.can_view_call_log(user)


@register.filter
def web_url(value: str) -> str:
    """The URL when it is http or https, else empty: a page links to nothing else."""
    return value if is_web_url(value) else ""


@register.filter
def quality_reasons(tags: object) -> list[str]:
    """Why a leg is poor, in words, from its stored Insights tags."""
    return summary.quality_reasons(tags if isinstance(tags, list) else [])


@register.filter
def quality_figures(edges: object) -> list[str]:
    """A leg's worst average of each statistic, in words, from its stored edge figures."""
    return summary.quality_figures(edges if isinstance(edges, dict) else {})


@register.filter
def seconds(value: float | None) -> str:
    """Format a number of seconds as m:ss or h:mm:ss; empty when unknown."""
    if value is None:
        return ""
    minutes, second = divmod(int(value), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}" if hours else f"{minute}:{second:02d}"


@register.simple_tag
def choice_select(bound_field: BoundField) -> SafeString:
    """Render a choice field as a plain <select>.

    Django's widgets render every <option> through the template engine, which cost a fifth of
    the call log page's time.
    """
    field = bound_field.field
    if not isinstance(field, ChoiceField):
        raise TypeError(f"choice_select renders choice fields, not {type(field).__name__}.")
    selected = str(bound_field.value() or "")
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, " selected" if str(value) == selected else "", label)
            for value, label in cast(Iterable[tuple[object, str]], field.choices)
        ),
    )
    return format_html(
        '<select name="{}" id="{}">{}</select>',
        bound_field.html_name,
        bound_field.id_for_label,
        options,
    )


@register.filter
def percent(value: float | None) -> str:
    """A share as a whole percentage; empty when there is none (nothing to divide by)."""
    return "" if value is None else f"{value * 100:.0f}%"


@register.simple_tag(takes_context=True)
def query_with(context: Context, **changes: object) -> str:
    """The current query string with some parameters replaced (or dropped when empty)."""
    query = context["request"].GET.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value not in (None, ""):
            query[name] = value
    return "?" + query.urlencode() if query else "?"


@register.simple_tag
def when(moment: datetime | None, pattern: str) -> SafeString:
    """A time in the current zone as `pattern` (Django's date format) says, in a <time>
    element carrying the exact instant; a dash when unknown. Give times their zone ("T")."""
    if moment is None:
        return format_html("{}", "—")
    local = timezone.localtime(moment)
    return format_html(
        '<time datetime="{}">{}</time>', local.isoformat(), format_date(local, pattern)
    )


def _or_dash(value: object) -> object:
    return "—" if value in (None, "") else value


@register.simple_tag
def leg_cells(leg: Call) -> SafeString:
    """The cells a leg shows on every page that lists legs: direction, numbers, agent, status
    and duration. Written here rather than in a template because a page of the call log has a
    hundred legs, and the template engine would take most of the page's time over them."""
    status = (
        format_html('<span class="status status-{}">{}</span>', leg.status, leg.status)
        if leg.status
        else "—"
    )
    return format_html(
        '<td data-label="Direction">{}</td><td class="number" data-label="From">{}</td>'
        '<td class="number" data-label="To">{}</td><td data-label="Agent">{}</td>'
        '<td data-label="Status">{}</td><td class="num" data-label="Duration">{}</td>',
        _or_dash(leg.direction),
        _or_dash(leg.from_number),
        _or_dash(leg.to_number),
        leg.agent.identity if leg.agent is not None else "",
        status,
        seconds(leg.duration),
    )


@register.simple_tag
def family_rows(families: list[Family], calls_url: str) -> SafeString:
    """The call list's rows: one <tbody> per family, its parent leg then its children, each
    opening the family's page (see leg_cells for why this is not a template)."""
    return format_html_join("", "{}", ((_family_tbody(family, calls_url),) for family in families))


def _family_tbody(family: Family, calls_url: str) -> SafeString:
    parent, legs = family.parent, len(family.children) + 1
    rows = [
        format_html(
            '<tr class="parent"><td data-label="Started"><a href="{}{}/" title="{}">{}</a></td>'
            '<td data-label="Call">{}</td>{}<td class="num" data-label="Legs">{}</td></tr>',
            calls_url,
            parent.sid,
            parent.sid,
            when(parent.start_time, "Y-m-d H:i:s T"),
            family_badges(parent),
            leg_cells(parent),
            legs,
        ),
        *(
            format_html(
                '<tr class="child"><td data-label="Started"><a href="{}{}/" title="{}">↳ {}</a>'
                '</td><td data-label="Call"></td>{}<td class="num" data-label="Legs"></td></tr>',
                calls_url,
                child.sid,
                child.sid,
                when(child.start_time, "H:i:s T"),
                leg_cells(child),
            )
            for child in family.children
        ),
    ]
    return format_html('<tbody class="family">{}</tbody>', mark_safe("".join(rows)))


@register.simple_tag
def family_badges(parent: Call) -> SafeString:
    """The family's kind and outcome (annotated as `outcome`) as two labels."""
    kind = parent.kind or ""
    outcome = getattr(parent, "outcome", "")
    kind_label = FamilyKind(kind).value if kind in FamilyKind.values else "unknown"
    outcome_label = FamilyOutcome(outcome).label if outcome in FamilyOutcome.values else "—"
    badges = format_html(
        '<span class="kind kind-{}">{}</span> <span class="outcome outcome-{}">{}</span>',
        kind or "unknown",
        kind_label,
        outcome or "unknown",
        outcome_label,
    )
    return badges + _handling_badges(parent)


def _handling_badges(parent: Call) -> SafeString:
    """How the call was handled in its conference: hold time, transfers, who ended it."""
    try:
        conference = parent.conference
    except ObjectDoesNotExist:
        return mark_safe("")
    parts = []
    if conference.hold_seconds:
        parts.append(f"held {seconds(conference.hold_seconds)}")
    if conference.transfers:
        parts.append(f"transferred {conference.transfers}x")
    if conference.ended_by:
        parts.append(f"ended by {conference.get_ended_by_display()}")
    return format_html_join("", ' <span class="handling">{}</span>', ((part,) for part in parts))


@register.simple_tag
def field_errors(bound_field: BoundField) -> SafeString:
    """A filter's errors, shown next to it."""
    return format_html_join(
        "", '<span class="field-error" role="alert">{}</span>', ((e,) for e in bound_field.errors)
    )
