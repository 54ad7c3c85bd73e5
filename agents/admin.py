from django.contrib import admin
from django.db.models import Count
from django.utils import timezone

from agents.constants import Availability, PresenceSource
from agents.forms import AgentCreationForm
from agents.models import CALL_HANDLING_FIELDS, Agent, PhoneNumber, PresenceChange, TwimlApp
from agents.presence import agents_with_current_availability, presence_set_many
from agents.setup_admin import apps_selected, numbers_selected, sync_action
from voiceproject.admin import ReadOnlyAdmin


@admin.register(TwimlApp)
class TwimlAppAdmin(admin.ModelAdmin):
    list_display = [
        "friendly_name",
        "sid",
        "apn_credential_sid",
        "fcm_credential_sid",
        "agent_count",
    ]
    search_fields = ["friendly_name", "sid", "description"]
    # Explicit: a counting (GROUP BY) query drops the model's default ordering, and the
    # agent form's TwiML App picker pages through this list.
    ordering = ["friendly_name"]
    actions = [
        sync_action(
            description="Set the selected apps' Twilio URLs to this server",
            selection=apps_selected,
        )
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(number_of_agents=Count("agents"))

    @admin.display(description="agents", ordering="number_of_agents")
    def agent_count(self, app):
        return app.number_of_agents


# How the agent's Twilio client is set up, shown in the list and both forms.
TWILIO_CLIENT_FIELDS = ["twiml_app", "caller_id", "incoming_allowed", "is_active"]


def availability_action(availability: Availability):
    """An admin action that sets the selected agents' availability, recording who did."""

    @admin.action(description=f"Make selected agents {availability.label.lower()}")
    def action(modeladmin, request, queryset):
        presence_set_many(
            agents=queryset,
            availability=availability,
            source=PresenceSource.ADMIN,
            changed_by=request.user,
            now=timezone.now(),
        )

    action.__name__ = f"make_{availability.value}"
    return action


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = [
        "identity",
        "user",
        "full_name",
        *TWILIO_CLIENT_FIELDS,
        "current_availability",
        "availability_since",
    ]
    list_filter = ["is_active", "incoming_allowed", "availability", "twiml_app"]
    actions = [availability_action(choice) for choice in Availability]
    list_select_related = ["user", "twiml_app"]
    search_fields = ["identity", "user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["twiml_app"]
    fields = [
        "user",
        "identity",
        *TWILIO_CLIENT_FIELDS,
        "current_availability",
        "availability_since",
        *CALL_HANDLING_FIELDS,
    ]
    # Availability changes only through the actions, which record each change.
    readonly_fields = ["user", "current_availability", "availability_since"]
    add_fieldsets = [
        ("Login", {"fields": ["username", "first_name", "last_name", "email"]}),
        ("Password", {"fields": ["password1", "password2"]}),
        (
            "Twilio client",
            {"fields": ["identity", *TWILIO_CLIENT_FIELDS]},
        ),
    ]

    def get_queryset(self, request):
        return agents_with_current_availability(super().get_queryset(request), now=timezone.now())

    @admin.display(description="name", ordering="user__last_name")
    def full_name(self, agent):
        return agent.user.get_full_name()

    @admin.display(description="availability", ordering="current_availability")
    def current_availability(self, agent):
        return Availability(agent.current_availability).label

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = AgentCreationForm
            kwargs["fields"] = None
        return super().get_form(request, obj, change, **kwargs)


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    list_display = ["number", "friendly_name", "agent_list"]
    search_fields = ["number", "friendly_name", "agents__identity"]
    list_filter = ["agents"]
    filter_horizontal = ["agents"]
    actions = [
        sync_action(
            description="Set the selected numbers' Twilio URLs to this server",
            selection=numbers_selected,
        )
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("agents")

    @admin.display(description="rings")
    def agent_list(self, number):
        return ", ".join(agent.identity for agent in number.agents.all())


@admin.register(PresenceChange)
class PresenceChangeAdmin(ReadOnlyAdmin):
    """Every change of availability, for measuring agents' time available."""

    list_display = [
        "changed_at",
        "agent",
        "from_availability",
        "to_availability",
        "source",
        "changed_by",
    ]
    list_filter = ["source", "to_availability", "agent"]
    list_select_related = ["agent", "changed_by"]
    date_hierarchy = "changed_at"
