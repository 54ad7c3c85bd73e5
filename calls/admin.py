from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from calls import tasks
from calls.log.filters import legs_found_by
from calls.models import (
    Call,
    CallEvent,
    Disposition,
    InsightsRefusal,
    ReconcileRequest,
    ReconcileRun,
    Recording,
    TwilioError,
)
from calls.reconcile.selectors import reconcile_overdue_jobs
from calls.twilio_errors.selectors import twilio_error_counts_by_day
from voiceproject.admin import ReadOnlyAdmin

# More selected calls than this would ask Twilio for too much at once.
RECONCILE_ACTION_LIMIT = 50


def family_page_link(call: Call) -> SafeString:
    """A link to the call log's page of the leg's family (parents and children alike)."""
    return format_html(
        '<a href="{}" title="{}">family</a>', reverse("calls:detail", args=[call.sid]), call.sid
    )


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin[Call]):
    list_display = [
        "started",
        "kind",
        "from_number",
        "to_number",
        "agent",
        "status",
        "talk_time",
        "family",
    ]
    list_display_links = ["started"]
    list_filter = ["status", "direction"]
    list_select_related = ["agent"]
    # The search itself is get_search_results; a field here shows the search box.
    search_fields = ["sid"]
    search_help_text = (
        "A call SID (its leg and that leg's children), an agent's identity (her legs), or a "
        "phone number (+1 415 555 0100, (415) 555-0100) or client:<identity> (legs from or "
        "to it)."
    )
    show_full_result_count = False
    actions = ["reconcile_with_twilio"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Call], search_term: str
    ) -> tuple[QuerySet[Call], bool]:
        """Exact matches the indexes answer, never a scan of every leg for a substring."""
        if not search_term.strip():
            return queryset, False
        found = legs_found_by(search_term)
        if found is None:
            self.message_user(
                request,
                "Search for a call SID, a phone number, client:<identity> or an agent's identity.",
                messages.WARNING,
            )
            return queryset.none(), False
        return queryset.filter(found), False

    @admin.display(description="start", ordering="start_time")
    def started(self, call: Call) -> str:
        if call.start_time is None:
            return "not started"
        return timezone.localtime(call.start_time).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="kind")
    def kind(self, call: Call) -> str:
        if call.parent_id is not None:
            return "↳ leg"
        return call.kind or "-"

    @admin.display(description="duration", ordering="duration")
    def talk_time(self, call: Call) -> str:
        if call.duration is None:
            return "-"
        minutes, seconds = divmod(call.duration, 60)
        return f"{minutes}:{seconds:02d}"

    @admin.display(description="call log")
    def family(self, call: Call) -> SafeString:
        return family_page_link(call)

    def has_reconcile_permission(self, request: HttpRequest) -> bool:
        """Asking Twilio about calls rewrites them: it takes the permission to change calls,
        which this admin otherwise never uses (its rows are read-only)."""
        return request.user.has_perm("calls.change_call")

    @admin.action(description="Reconcile with Twilio", permissions=["reconcile"])
    def reconcile_with_twilio(self, request: HttpRequest, queryset: QuerySet[Call]) -> None:
        """Queue one single-call run per call: the page answers at once, the runs' outcomes
        show under Reconcile runs."""
        sids = list(queryset.values_list("sid", flat=True)[: RECONCILE_ACTION_LIMIT + 1])
        if len(sids) > RECONCILE_ACTION_LIMIT:
            self.message_user(
                request,
                f"Select at most {RECONCILE_ACTION_LIMIT} calls to reconcile at once.",
                messages.ERROR,
            )
            return
        started = timezone.now()
        requested, queued = tasks.reconcile_calls_request(sids=sids)
        already = len(sids) - requested
        waiting = f" {already} already waiting were not queued again." if already else ""
        runs_url = reverse("admin:calls_reconcilerun_changelist") + "?kind__exact=single"
        if not tasks.runs_on_a_worker():
            failed = ReconcileRun.objects.filter(
                kind=ReconcileRun.Kind.SINGLE,
                call_sid__in=sids,
                started_at__gte=started,
                outcome=ReconcileRun.Outcome.FAILED,
            ).count()
            self.message_user(
                request,
                format_html(
                    "Reconciled {} call(s) here (no worker configured); {} failed.{} "
                    '<a href="{}">Reconcile runs</a> show each outcome.',
                    queued,
                    failed,
                    waiting,
                    runs_url,
                ),
                messages.ERROR if failed else messages.SUCCESS,
            )
            return
        if queued < requested:
            self.message_user(
                request,
                f"The task queue (Redis) is unreachable: {requested - queued} call(s) are "
                "recorded and will be queued for reconciliation as soon as it answers.",
                messages.WARNING,
            )
        if queued or already:
            self.message_user(
                request,
                format_html(
                    "Queued {} call(s) for reconciliation with Twilio.{} A worker runs them; "
                    '<a href="{}">Reconcile runs</a> show each outcome when it is done.',
                    queued,
                    waiting,
                    runs_url,
                ),
            )


@admin.register(CallEvent)
class CallEventAdmin(ReadOnlyAdmin[CallEvent]):
    """Every callback Twilio sent, as it arrived: what a leg's status was built from."""

    list_display = ["received_at", "call", "status", "sequence_number", "timestamp", "family"]
    list_filter = ["status"]
    list_select_related = ["call"]
    search_fields = ["=call__sid"]
    show_full_result_count = False
    fields = [
        "call",
        "status",
        "sequence_number",
        "timestamp",
        "callback_source",
        "received_at",
        "parameters",
        "delivery_digest",
    ]

    @admin.display(description="call log")
    def family(self, event: CallEvent) -> SafeString:
        return family_page_link(event.call)


@admin.register(ReconcileRun)
class ReconcileRunAdmin(ReadOnlyAdmin[ReconcileRun]):
    """Each reconciliation pass, so supervisors can see failures and what was fixed."""

    list_display = [
        "started_at",
        "kind",
        "outcome",
        "call_sid",
        "calls_seen",
        "calls_created",
        "calls_updated",
        "recordings_seen",
        "errors",
        "error_summary",
    ]
    list_filter = ["outcome", "kind"]
    search_fields = ["=call_sid", "error_message"]
    fieldsets = [
        (None, {"fields": ["kind", "outcome", "error_message", "call_sid"]}),
        ("When", {"fields": ["started_at", "heartbeat_at", "finished_at", "since", "watermark"]}),
        (
            "What it did",
            {
                "fields": [
                    *["pages", "calls_seen", "calls_created", "calls_updated"],
                    *["recordings_seen", "errors"],
                ]
            },
        ),
    ]
    readonly_fields = ["started_at"]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Say which scheduled jobs are late: a job that keeps failing or never runs leaves
        no new row to notice."""
        for job in reconcile_overdue_jobs(now=timezone.now()):
            self.message_user(request, str(job), messages.WARNING)
        return super().changelist_view(request, extra_context)

    @admin.display(description="error")
    def error_summary(self, run: ReconcileRun) -> str:
        message = run.error_message
        return message if len(message) <= 80 else message[:79] + "…"


@admin.register(ReconcileRequest)
class ReconcileRequestAdmin(ReadOnlyAdmin[ReconcileRequest]):
    """Calls asked about whose runs have not been recorded yet; "sent at" stays empty while
    Redis is unreachable."""

    list_display = ["requested_at", "call_sid", "sent_at"]
    search_fields = ["=call_sid"]


@admin.register(Recording)
class RecordingAdmin(ReadOnlyAdmin[Recording]):
    """Recordings and voicemail; retention failures show here until a run succeeds."""

    list_display = [
        "sid",
        "call",
        "kind",
        "status",
        "duration",
        "channels",
        "created_at",
        "listened_at",
        "deleted_at",
        "deletion_attempts",
        "deletion_error",
    ]
    list_filter = ["kind", "status", ("deleted_at", admin.EmptyFieldListFilter)]
    list_select_related = ["call"]
    search_fields = ["=sid", "=call__sid", "deletion_error"]
    show_full_result_count = False


# The admin's list of Twilio errors counts them per code for this many days.
TWILIO_ERROR_COUNT_DAYS = 7


@admin.register(TwilioError)
class TwilioErrorAdmin(ReadOnlyAdmin[TwilioError]):
    """Twilio's error reports, with how many of each code each day above the list."""

    list_display = ["occurred_at", "code", "level", "message", "resource_sid", "family"]
    list_filter = ["code", "level"]
    search_fields = ["=code", "=resource_sid", "=event_id"]
    date_hierarchy = "occurred_at"
    ordering = ["-occurred_at"]
    list_select_related = ["call"]
    change_list_template = "admin/calls/twilioerror/change_list.html"

    @admin.display(description="Call")
    def family(self, error: TwilioError) -> SafeString | str:
        return family_page_link(error.call) if error.call else ""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        since = timezone.now() - timedelta(days=TWILIO_ERROR_COUNT_DAYS)
        counts = twilio_error_counts_by_day(since=since)
        return super().changelist_view(
            request,
            {**(extra_context or {}), "counts": counts, "count_days": TWILIO_ERROR_COUNT_DAYS},
        )


@admin.register(InsightsRefusal)
class InsightsRefusalAdmin(ReadOnlyAdmin[InsightsRefusal]):
    """Deleting the refusal (once Insights is on) lets the call quality sweep ask again."""

    list_display = ["account_sid", "status", "code", "message", "call_sid", "recorded_at"]

    def has_delete_permission(
        self, request: HttpRequest, obj: InsightsRefusal | None = None
    ) -> bool:
        # Django's own rule (the delete permission), not ReadOnlyAdmin's refusal.
        return admin.ModelAdmin.has_delete_permission(self, request, obj)


@admin.register(Disposition)
class DispositionAdmin(admin.ModelAdmin[Disposition]):
    """The list agents pick a family's disposition from; retire one by unticking `active`
    (one in use cannot be deleted)."""

    list_display = ["name", "active", "order"]
    list_editable = ["active", "order"]
    list_filter = ["active"]
