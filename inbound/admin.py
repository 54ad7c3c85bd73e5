"""The admin where supervisors set numbers' business hours and menus, keep the blocklist
and define queues (members, routing, timings, the numbers that send callers to them and
what happens after the maximum wait); waiting callers and wrap-ups are read-only."""

from typing import Any
from xml.dom.minidom import parseString

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from agents.forms import PhoneNumberField
from agents.models import CALL_HANDLING_FIELDS
from calls.deliveries.signatures import public_url
from inbound.hours import first_overlap, is_open_at, opening_hours_of
from inbound.menus import menu_gather
from inbound.models import (
    BlockedCaller,
    Holiday,
    Menu,
    MenuOption,
    NumberHours,
    Queue,
    QueueCaller,
    QueueMember,
    QueueNumber,
    Schedule,
    WeeklyInterval,
    WrapUp,
)
from voiceproject.admin import ReadOnlyAdmin


def kept_forms(formset: forms.BaseFormSet[Any]) -> list[Any]:
    """The formset's forms that are filled in and not deleted."""
    return [
        form for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


class WeeklyIntervalFormSet(forms.BaseInlineFormSet[WeeklyInterval, Schedule, Any]):
    """Refuse intervals of one weekday that overlap: each moment is open once or closed."""

    def clean(self) -> None:
        super().clean()
        overlap = first_overlap(
            [
                (data["weekday"], data["opens_at"], data["closes_at"])
                for data in (form.cleaned_data for form in kept_forms(self))
                if all(data.get(name) is not None for name in ("weekday", "opens_at", "closes_at"))
            ]
        )
        if overlap is not None:
            earlier, later = (
                str(WeeklyInterval(weekday=weekday, opens_at=opens, closes_at=closes))
                for weekday, opens, closes in overlap
            )
            raise ValidationError(f"{earlier} and {later} overlap: make them one interval.")


class WeeklyIntervalInline(admin.TabularInline[WeeklyInterval, Schedule]):
    model = WeeklyInterval
    formset = WeeklyIntervalFormSet
    extra = 0


class HolidayInline(admin.TabularInline[Holiday, Schedule]):
    model = Holiday
    extra = 0


def schedule_open_now(schedule: Schedule) -> bool | None:
    """Whether the saved schedule is open; unknown for one not saved or in an unknown zone."""
    opening_hours = opening_hours_of(schedule) if schedule.pk is not None else None
    return None if opening_hours is None else is_open_at(opening_hours, timezone.now())


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin[Schedule]):
    list_display = ["name", "time_zone", "open_now"]
    search_fields = ["name"]
    readonly_fields = ["open_now"]
    inlines = [WeeklyIntervalInline, HolidayInline]

    @admin.display(description="open now?", boolean=True)
    def open_now(self, schedule: Schedule) -> bool | None:
        return schedule_open_now(schedule)


@admin.register(NumberHours)
class NumberHoursAdmin(admin.ModelAdmin[NumberHours]):
    list_display = ["phone_number", "schedule", "closed_action", "open_now"]
    list_select_related = ["phone_number", "schedule"]
    autocomplete_fields = ["schedule"]

    @admin.display(description="open now?", boolean=True)
    def open_now(self, hours: NumberHours) -> bool | None:
        return schedule_open_now(hours.schedule)


class MenuOptionFormSet(forms.BaseInlineFormSet[MenuOption, Menu, Any]):
    """What the database refuses across a menu's options, said on the form: one default,
    and each keyword once."""

    def clean(self) -> None:
        super().clean()
        kept = [form.cleaned_data for form in kept_forms(self)]
        if sum(1 for data in kept if data.get("is_default")) > 1:
            raise ValidationError("A menu has at most one default option.")
        keywords = [data["speech"].casefold() for data in kept if data.get("speech")]
        if len(keywords) != len(set(keywords)):
            raise ValidationError("Two options of this menu have the same spoken keyword.")

    def sets_a_new_default(self) -> bool:
        """Whether a form marks an option as the default that was not saved as it."""
        return any(
            form.has_changed() and form.cleaned_data.get("is_default") for form in kept_forms(self)
        )


class MenuOptionInline(admin.TabularInline[MenuOption, Menu]):
    model = MenuOption
    formset = MenuOptionFormSet
    extra = 0
    # Narrow enough for a row to fit beside the admin's menu at 1280 px.
    formfield_overrides = {
        models.CharField: {"widget": forms.TextInput(attrs={"size": 14})},
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 28})},
    }
    fields = ["key", "speech", "action", "agent", "queue", "forward_to", "message", "is_default"]


@admin.register(Menu)
class MenuAdmin(admin.ModelAdmin[Menu]):
    list_display = ["phone_number", "greeting", "repeats", "timeout"]
    list_select_related = ["phone_number"]
    inlines = [MenuOptionInline]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Show the TwiML Twilio receives when the number is called, as saved."""
        menu = self.get_object(request, object_id)
        preview = None
        if menu is not None:
            menu_url = public_url(request, reverse("webhooks:menu"))
            twiml = str(menu_gather(menu, menu_url=menu_url, attempt=1))
            # Indented to be read; the declaration as Twilio receives it.
            declaration, _ = twiml.split("?>", 1)
            body = parseString(twiml).toprettyxml(indent="  ").split("?>", 1)[1]
            preview = f"{declaration}?>{body}"
        extra_context = {**(extra_context or {}), "twiml_preview": preview}
        return super().change_view(request, object_id, form_url, extra_context)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Move the default from one option to another: the old one gives it up first, as
        the database holds one default per menu at every moment."""
        if isinstance(formset, MenuOptionFormSet) and formset.sets_a_new_default():
            MenuOption.objects.filter(menu=form.instance).update(is_default=False)
        super().save_formset(request, form, formset, change)


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
