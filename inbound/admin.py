"""Supervisors define queues: members, routing, timings, the numbers that send callers to
them and what happens after the maximum wait; waiting callers and wrap-ups are read-only."""

from django import forms
from django.contrib import admin

from agents.forms import PhoneNumberField
from agents.models import CALL_HANDLING_FIELDS
from inbound.models import Queue, QueueCaller, QueueMember, QueueNumber, WrapUp
from voiceproject.admin import ReadOnlyAdmin


class QueueForm(forms.ModelForm[Queue]):
    class Meta:
        model = Queue
        fields = [
            "name",
            "routing",
            "ring_timeout",
            "wrap_up_seconds",
            "maximum_wait",
            "announce_every",
            *CALL_HANDLING_FIELDS,
        ]
        field_classes = {"forward_to": PhoneNumberField}
        labels = {"unanswered_policy": "after the maximum wait"}


class QueueMemberInline(admin.TabularInline[QueueMember, Queue]):
    model = QueueMember
    extra = 1
    autocomplete_fields = ["agent"]


class QueueNumberInline(admin.TabularInline[QueueNumber, Queue]):
    model = QueueNumber
    extra = 1
    verbose_name = "number sending its callers here"
    verbose_name_plural = "numbers sending their callers here"


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin[Queue]):
    form = QueueForm
    inlines = [QueueMemberInline, QueueNumberInline]
    list_display = ["name", "routing", "ring_timeout", "wrap_up_seconds", "maximum_wait"]
    search_fields = ["name"]


@admin.register(QueueCaller)
class QueueCallerAdmin(ReadOnlyAdmin[QueueCaller]):
    """Every caller's wait: arrival, outcome, wait and who answered."""

    list_display = ["arrived_at", "queue", "call_sid", "outcome", "wait_seconds", "agent"]
    list_filter = ["queue", "outcome"]
    list_select_related = ["queue", "agent"]
    date_hierarchy = "arrived_at"


@admin.register(WrapUp)
class WrapUpAdmin(ReadOnlyAdmin[WrapUp]):
    list_display = ["started_at", "ends_at", "agent"]
    list_filter = ["agent"]
    list_select_related = ["agent"]
