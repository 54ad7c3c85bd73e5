# Annotations stay unevaluated: WithAnnotations[Model, TypedDict] is for mypy only and
# fails when subscripted at run time.
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django_stubs_ext import WithAnnotations

from agents.constants import Availability, PresenceSource
from agents.forms import (
    AgentChangeForm,
    AgentCreationForm,
    AgentFormBase,
    PhoneNumberForm,
    UserProfileForm,
)
from agents.models import (
    CALL_HANDLING_FIELDS,
    Agent,
    PhoneNumber,
    PresenceChange,
    TwimlApp,
    UserProfile,
)
from agents.services import (
    agent_deactivate,
    agent_delete,
    user_account_manageable_by,
    user_login_set,
    user_password_set,
)
from agents.setup_admin import apps_selected, numbers_selected, sync_action
from presence.availability import agents_with_current_availability, presence_set_many
from voiceproject.admin import ReadOnlyAdmin, admin_user
from voiceproject.lockout import login_lockouts_lift

if TYPE_CHECKING:
    # django-stubs names the type of fieldsets only privately.
    from django.contrib.admin.options import _FieldsetSpec as FieldsetSpec


class AgentCount(TypedDict):
    """What TwimlAppAdmin.get_queryset annotates on each app."""

    number_of_agents: int


class CurrentAvailability(TypedDict):
    """What AgentAdmin.get_queryset annotates on each agent."""

    current_availability: str


@admin.register(TwimlApp)
class TwimlAppAdmin(admin.ModelAdmin[TwimlApp]):
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[TwimlApp]:
        return super().get_queryset(request).annotate(number_of_agents=Count("agents"))

    @admin.display(description="agents", ordering="number_of_agents")
    def agent_count(self, app: WithAnnotations[TwimlApp, AgentCount]) -> int:
        return app.number_of_agents


AdminAction = Callable[[admin.ModelAdmin[Agent], HttpRequest, QuerySet[Agent]], None]


def availability_action(availability: Availability) -> AdminAction:
    """An admin action that sets the selected agents' availability, recording who did."""

    @admin.action(description=f"Make selected agents {availability.label.lower()}")
    def action(
        modeladmin: admin.ModelAdmin[Agent], request: HttpRequest, queryset: QuerySet[Agent]
    ) -> None:
        presence_set_many(
            agents=queryset,
            availability=availability,
            source=PresenceSource.ADMIN,
            changed_by=admin_user(request),
        )

    action.__name__ = f"make_{availability.value}"
    return action


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin[Agent]):
    # Short headers and values: with the filters beside it, the list has 930 px at 1280.
    list_display = [
        "identity",
        "full_name",
        "app",
        "caller_id",
        "incoming",
        "active",
        "current_availability",
        "since",
        "login_enabled",
    ]
    list_filter = ["is_active", "incoming_allowed", "availability", "twiml_app"]
    actions = [
        *(availability_action(choice) for choice in Availability),
        "deactivate_agents",
        "lift_login_lockouts",
    ]
    list_select_related = ["user", "twiml_app"]
    search_fields = ["identity", "user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["twiml_app"]
    change_form_template = "admin/agents/agent/change_form.html"
    delete_confirmation_template = "admin/agents/agent/delete_confirmation.html"
    delete_selected_confirmation_template = "admin/agents/agent/delete_selected_confirmation.html"
    twilio_fields = tuple(AgentFormBase.Meta.fields)
    add_fieldsets: ClassVar[FieldsetSpec] = [
        ("Login", {"fields": ["username", "first_name", "last_name", "email", "time_zone"]}),
        ("Password", {"fields": ["password1", "password2"]}),
        ("Twilio client", {"fields": twilio_fields}),
        ("Phone numbers", {"fields": ["phone_numbers"]}),
    ]
    change_fieldsets: ClassVar[FieldsetSpec] = [
        ("Login", {"fields": ["username", "login_enabled", "time_zone"]}),
        ("Twilio client", {"fields": twilio_fields}),
        ("Phone numbers", {"fields": ["phone_numbers"]}),
        ("Unanswered calls and recording", {"fields": CALL_HANDLING_FIELDS}),
        # Availability changes only through the actions, which record each change.
        ("Availability", {"fields": ["current_availability", "availability_since"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agent]:
        return agents_with_current_availability(super().get_queryset(request), now=timezone.now())

    @admin.display(description="name", ordering="user__last_name")
    def full_name(self, agent: Agent) -> str:
        return agent.user.get_full_name()

    @admin.display(description="incoming", boolean=True, ordering="incoming_allowed")
    def incoming(self, agent: Agent) -> bool:
        return agent.incoming_allowed

    @admin.display(description="active", boolean=True, ordering="is_active")
    def active(self, agent: Agent) -> bool:
        return agent.is_active

    @admin.display(description="since", ordering="availability_since")
    def since(self, agent: Agent) -> str:
        return timezone.localtime(agent.availability_since).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="TwiML App", ordering="twiml_app__friendly_name")
    def app(self, agent: Agent) -> str:
        """The app's name: with its SID it would take a third of the list's width."""
        return agent.twiml_app.friendly_name

    @admin.display(description="username")
    def username(self, agent: Agent) -> str:
        """The login, as text: a link to the users' admin would only show supervisors a 403."""
        return agent.user.get_username()

    @admin.display(description="login", boolean=True, ordering="user__is_active")
    def login_enabled(self, agent: Agent) -> bool:
        return agent.user.is_active

    @admin.display(description="availability", ordering="current_availability")
    def current_availability(self, agent: WithAnnotations[Agent, CurrentAvailability]) -> str:
        return Availability(agent.current_availability).label

    def get_fieldsets(self, request: HttpRequest, obj: Agent | None = None) -> FieldsetSpec:
        return self.add_fieldsets if obj is None else self.change_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Agent | None = None) -> list[str]:
        if obj is None:
            return []
        readonly = ["username", "current_availability", "availability_since"]
        if not user_account_manageable_by(manager=admin_user(request), user=obj.user):
            readonly.append("login_enabled")
        return readonly

    def get_form(
        self, request: HttpRequest, obj: Agent | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Agent]]:
        kwargs["form"] = AgentChangeForm if obj else AgentCreationForm
        kwargs["fields"] = None
        return super().get_form(request, obj, change, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: Agent, form: forms.ModelForm[Agent], change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        # The field is shown read-only to those who may not switch this login; never trust
        # its absence from a POST as "off".
        manager = admin_user(request)
        if "login_enabled" in form.changed_data and user_account_manageable_by(
            manager=manager, user=obj.user
        ):
            user_login_set(user=obj.user, enabled=form.cleaned_data["login_enabled"], by=manager)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        agent = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "password_manageable": agent is not None
            and self.has_change_permission(request, agent)
            and user_account_manageable_by(manager=admin_user(request), user=agent.user),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_model(self, request: HttpRequest, obj: Agent) -> None:
        manager = admin_user(request)
        agent_delete(
            agent=obj,
            disable_login=user_account_manageable_by(manager=manager, user=obj.user),
            by=manager,
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        for agent in queryset.select_related("user"):
            self.delete_model(request, agent)

    @admin.action(
        description="Deactivate (keeps call history; disables the login)", permissions=["change"]
    )
    def deactivate_agents(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        manager = admin_user(request)
        manageable = [
            agent
            for agent in queryset.select_related("user")
            if user_account_manageable_by(manager=manager, user=agent.user)
        ]
        for agent in manageable:
            agent_deactivate(agent=agent, by=manager)
        self.message_user(
            request,
            f"Deactivated {len(manageable)} agent(s): they are no longer dialled, get no "
            "token and cannot log in; their calls stay in the log.",
        )
        skipped = queryset.count() - len(manageable)
        if skipped:
            self.message_user(
                request,
                f"Left {skipped} agent(s) whose login belongs to a staff member alone: "
                "only a superuser may disable it.",
                messages.WARNING,
            )

    @admin.action(
        description="Lift login lockouts (forget failed logins from every address)",
        permissions=["change"],
    )
    def lift_login_lockouts(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        agents = list(queryset.select_related("user"))
        for agent in agents:
            login_lockouts_lift(username=agent.user.get_username())
        self.message_user(
            request,
            f"Lifted the login lockouts of {len(agents)} agent(s): they may log in again "
            "from any address.",
        )

    def get_deleted_objects(
        self, objs: Sequence[Agent] | QuerySet[Agent], request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        """Name the calls that protect an agent by their count, not one line per leg."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected:
            # Listing a protected call also counts it as "needs delete permission", which
            # would hide the real reason behind a permission message.
            perms_needed = set()
            calls_by_agent = (
                Agent.objects.filter(pk__in=[agent.pk for agent in objs])
                .annotate(number_of_calls=Count("calls"))
                .filter(number_of_calls__gt=0)
            )
            protected = [
                f"{agent.identity}: {agent.number_of_calls} call leg(s)" for agent in calls_by_agent
            ]
        return deleted, model_count, perms_needed, protected

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/password/",
                self.admin_site.admin_view(self.password_view),
                name="agents_agent_password",
            ),
            *super().get_urls(),
        ]

    def password_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Set a new password for the agent's login, as a supervisor may without reaching the
        users' admin; the agent's other sessions end and its API tokens are revoked."""
        agent = self.get_object(request, unquote(object_id))
        if agent is None:
            raise Http404("No such agent.")
        if not (
            self.has_change_permission(request, agent)
            and user_account_manageable_by(manager=admin_user(request), user=agent.user)
        ):
            raise PermissionDenied
        form = SetPasswordForm(agent.user, request.POST or None)
        if request.method == "POST" and form.is_valid():
            user_password_set(user=agent.user, password=form.cleaned_data["new_password1"])
            self.log_change(request, agent, "Set a new password.")
            self.message_user(
                request,
                f"Set a new password for {agent.user.get_username()}: its other sessions "
                "have ended and its API tokens are revoked.",
            )
            return HttpResponseRedirect(
                reverse("admin:agents_agent_change", args=[quote(agent.pk)])
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Set the password of {agent.user.get_username()}",
            "form": form,
            "opts": self.opts,
            "original": agent,
        }
        return TemplateResponse(request, "admin/agents/agent/password.html", context)


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin[PhoneNumber]):
    form = PhoneNumberForm
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[PhoneNumber]:
        return super().get_queryset(request).prefetch_related("agents")

    @admin.display(description="rings")
    def agent_list(self, number: PhoneNumber) -> str:
        return ", ".join(agent.identity for agent in number.agents.all())


@admin.register(PresenceChange)
class PresenceChangeAdmin(ReadOnlyAdmin[PresenceChange]):
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


class UserProfileInline(admin.StackedInline[UserProfile, User]):
    model = UserProfile
    form = UserProfileForm
    can_delete = False


# Superusers' users admin, with each user's profile; supervisors set agents' zones on the
# agents' pages, never seeing this one.
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class UserAdmin(auth_admin.UserAdmin[User]):
    inlines = [*auth_admin.UserAdmin.inlines, UserProfileInline]

    def save_model(
        self, request: HttpRequest, obj: User, form: forms.ModelForm[User], change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        # The same switch as on an agent's page, with what disabling a login brings.
        if change and "is_active" in form.changed_data:
            user_login_set(user=obj, enabled=obj.is_active, by=admin_user(request))
