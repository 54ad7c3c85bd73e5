from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from calls import tasks
from calls.models import Call, ReconcileRun, Recording
from voiceproject.admin import ReadOnlyAdmin

# More selected calls than this would ask Twilio for too much at once.
RECONCILE_ACTION_LIMIT = 50


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin[Call]):
    list_display = [
        "sid",
        "parent",
        "direction",
        "from_number",
        "to_number",
        "agent",
        "status",
        "start_time",
        "duration",
    ]
    list_filter = ["status", "direction"]
    list_select_related = ["parent", "agent"]
    search_fields = ["=sid", "=parent__sid", "from_number", "to_number"]
    show_full_result_count = False
    actions = ["reconcile_with_twilio"]

    def has_reconcile_permission(self, request: HttpRequest) -> bool:
        """Asking Twilio about calls rewrites them: it takes the permission to change calls,
        which this admin otherwise never uses (its rows are read-only)."""
        return request.user.has_perm("calls.change_call")

    @admin.action(description="Reconcile with Twilio", permissions=["reconcile"])
    def reconcile_with_twilio(self, request: HttpRequest, queryset: QuerySet[Call]) -> None:
        sids = list(queryset.values_list("sid", flat=True)[: RECONCILE_ACTION_LIMIT + 1])
        if len(sids) > RECONCILE_ACTION_LIMIT:
            self.message_user(
                request,
                f"Select at most {RECONCILE_ACTION_LIMIT} calls to reconcile at once.",
                messages.ERROR,
            )
            return
        queued = [sid for sid in sids if tasks.reconcile_call_enqueue(sid=sid)]
        already = len(sids) - len(queued)
        self.message_user(
            request,
            f"Asked Twilio about {len(queued)} call(s); reconcile runs show the outcome."
            + (f" {already} already waiting were not queued again." if already else ""),
        )


@admin.register(ReconcileRun)
class ReconcileRunAdmin(ReadOnlyAdmin[ReconcileRun]):
    """Each reconciliation pass, so supervisors can see failures and what was fixed."""

    list_display = [
        "started_at",
        "kind",
        "outcome",
        "call_sid",
        "since",
        "watermark",
        "pages",
        "calls_seen",
        "calls_created",
        "calls_updated",
        "recordings_seen",
        "errors",
        "error_message",
    ]
    list_filter = ["outcome", "kind"]
    search_fields = ["=call_sid", "error_message"]


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
