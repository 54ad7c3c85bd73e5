from django.contrib import admin
from django.http import HttpRequest

from inbound.models import BlockedCaller


@admin.register(BlockedCaller)
class BlockedCallerAdmin(admin.ModelAdmin[BlockedCaller]):
    """The blocklist: supervisors add numbers or prefixes, and unblock by deleting."""

    list_display = ["number", "is_prefix", "reason", "added_by", "added_at"]
    list_filter = ["is_prefix"]
    search_fields = ["number", "reason"]
    fields = ["number", "is_prefix", "reason"]
    list_select_related = ["added_by"]

    def save_model(
        self, request: HttpRequest, obj: BlockedCaller, form: object, change: bool
    ) -> None:
        if not change:
            obj.added_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
