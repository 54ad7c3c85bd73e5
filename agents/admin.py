from django.contrib import admin
from django.db.models import Count

from agents.forms import AgentCreationForm
from agents.models import Agent, PhoneNumber, TwimlApp
from agents.setup_admin import apps_selected, numbers_selected, sync_action


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


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = [
        "identity",
        "user",
        "full_name",
        "twiml_app",
        "caller_id",
        "incoming_allowed",
        "is_active",
    ]
    list_filter = ["is_active", "incoming_allowed", "twiml_app"]
    list_select_related = ["user", "twiml_app"]
    search_fields = ["identity", "user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["twiml_app"]
    fields = ["user", "identity", "twiml_app", "caller_id", "incoming_allowed", "is_active"]
    readonly_fields = ["user"]
    add_fieldsets = [
        ("Login", {"fields": ["username", "first_name", "last_name", "email"]}),
        ("Password", {"fields": ["password1", "password2"]}),
        (
            "Twilio client",
            {"fields": ["identity", "twiml_app", "caller_id", "incoming_allowed", "is_active"]},
        ),
    ]

    @admin.display(description="name", ordering="user__last_name")
    def full_name(self, agent):
        return agent.user.get_full_name()

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
