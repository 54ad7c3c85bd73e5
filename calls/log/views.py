"""The call log pages: families, one family, CSV export and statistics."""

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib.auth.decorators import user_passes_test
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from calls.access import call_families_visible_to, can_view_call_log, stats_agent_limited_to
from calls.log import charts
from calls.log.export import CSV_HEADER, call_export_rows
from calls.log.families import ALL_EVENTS, call_family_get
from calls.log.filters import CallFamilyFilter
from calls.log.paging import SORTS, InvalidCursor, call_family_page
from calls.log.stats import call_stats_for, queue_figures_for, stats_period
from calls.quality.selectors import poor_call_shares
from voiceproject.streams import stream_limited

# Anyone who may not see the call log goes to the login page, as Django does for staff pages.
call_log_required = user_passes_test(can_view_call_log)
CSV_ROWS_PER_CHUNK = 1000


def _filters(request: HttpRequest, data: QueryDict | None = None) -> CallFamilyFilter:
    return CallFamilyFilter(
        request.GET if data is None else data, queryset=call_families_visible_to(request.user)
    )


@require_GET
@call_log_required
def call_list(request: HttpRequest) -> HttpResponse:
    """Families newest first (or as sorted), filtered, one keyset page at a time."""
    filters = _filters(request)
    try:
        page = call_family_page(
            filters.qs, sort=filters.sort_order, cursor=request.GET.get("cursor")
        )
    except InvalidCursor as error:
        raise Http404("This page of the call log does not exist.") from error
    return render(
        request,
        "calls/list.html",
        {"filters": filters, "page": page, "sort": filters.sort_order, "sorts": SORTS},
    )


@require_GET
@call_log_required
def call_detail(request: HttpRequest, sid: str) -> HttpResponse:
    """Any leg's SID opens its family: legs, callback timeline and raw parameters."""
    family = call_family_get(
        sid=sid,
        families=call_families_visible_to(request.user),
        all_events=request.GET.get("events") == ALL_EVENTS,
    )
    if family is None:
        raise Http404("No call with this SID that you may see.")
    return render(request, "calls/detail.html", {"family": family, "sid": sid})


def _csv_chunks(rows: Iterable[tuple[Any, ...]]) -> Iterator[str]:
    """CSV text for these rows, a chunk of rows at a time (one socket write per chunk)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, CSV_ROWS_PER_CHUNK)):
        writer.writerows(chunk)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


@require_GET
@call_log_required
@stream_limited
def call_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Stream every leg of the filtered families as CSV, one row per leg with its parent.

    Filters it does not understand answer 400 naming each field and why, as the API does:
    a spreadsheet of the whole table would pass for the filtered one.
    """
    filters = _filters(request)
    if filters.refused:
        return JsonResponse(filters.refused, status=400)
    rows = call_export_rows(filters.qs, time_zone=timezone.get_current_timezone_name())
    response = StreamingHttpResponse(_csv_chunks(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="calls-{stamp}.csv"'
    return response


@require_GET
@call_log_required
def call_statistics(request: HttpRequest) -> HttpResponse:
    """Charts with their numbers over the filtered families (the last 30 days by default,
    at most STATS_MAX_DAYS)."""
    data, first_day, last_day = stats_period(request.GET)
    filters = _filters(request, data)
    stats = call_stats_for(request.user, filters, first_day=first_day, last_day=last_day)
    per_day = charts.stacked_bar_chart(
        stats.per_day,
        series=stats.kinds,
        label=lambda day: day.strftime("%b %d"),
        every=max(len(stats.per_day) // 10, 1),
    )
    per_hour = charts.stacked_bar_chart(
        stats.per_hour, series=stats.kinds, label=lambda hour: f"{hour:02d}", every=2
    )
    return render(
        request,
        "calls/stats.html",
        {
            "filters": filters,
            "stats": stats,
            "queue_figures": queue_figures_for(
                request.user, first_day=first_day, last_day=last_day
            ),
            "per_day": per_day,
            "per_hour": per_hour,
            "quality": poor_call_shares(
                filters.qs, only_agent_id=stats_agent_limited_to(request.user)
            ),
            "time_zone": timezone.get_current_timezone_name(),
        },
    )
