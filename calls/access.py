"""Who may see and do what with calls, recordings and the agents' directory: the one place
pages, API, CSV export and template tags ask.

Every rule is a permission, so any group given it (in the admin) may do what the role
groups may (voiceproject.roles says what each is given). Holders of `calls.view_call`
(Analysts, Supervisors) see every family and recording; an agent sees the families in which
one leg is its own; anyone else sees nothing. Which recordings follow from these rules is
calls.recordings.selectors.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, Permission, PermissionsMixin
from django.db.models import Q, QuerySet

from agents.models import Agent
from agents.selectors import agent_get_for_user
from calls.family_facts import families_of, family_handler_id
from calls.models import Call

VIEW_EVERY_CALL = ("calls", "view_call")  # (app label, codename) of the permission

User = AbstractBaseUser | AnonymousUser


def call_log_sees_everything(user: User) -> bool:
    """Whether the user may see every family: a superuser, or `calls.view_call` held.

    The same answer as `user.has_perm("calls.view_call")` under Django's ModelBackend, in one
    query where that takes two. Cached on the user object, like Django's permission cache:
    asked several times a request.
    """
    cached: bool | None = getattr(user, "_call_log_sees_everything", None)
    if cached is None:
        cached = _holds_view_every_call(user)
        setattr(user, "_call_log_sees_everything", cached)  # noqa: B010
    return cached


def _holds_view_every_call(user: User) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if getattr(user, "is_superuser", False):
        return True
    app_label, codename = VIEW_EVERY_CALL
    return (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .filter(Q(user__id=user.pk) | Q(group__user__id=user.pk))
        .exists()
    )


def call_log_agent_id(user: User) -> int | None:
    """The id of the user's agent profile, whose legs (and their families) the user may see."""
    if not hasattr(user, "_call_log_agent_id"):
        agent_id = (
            Agent.objects.filter(user_id=user.pk).values_list("id", flat=True).first()
            if user.is_authenticated
            else None
        )
        setattr(user, "_call_log_agent_id", agent_id)  # noqa: B010
    cached: int | None = getattr(user, "_call_log_agent_id")  # noqa: B009
    return cached


def can_view_call_log(user: User) -> bool:
    return call_log_sees_everything(user) or call_log_agent_id(user) is not None


def stats_agent_limited_to(user: User) -> int | None:
    """The one agent whose figures the user may see in the statistics (the user's own), or
    None for holders of `calls.view_call`, who see every agent's: an agent never sees a
    colleague's answer rate, not even over the calls they shared."""
    if call_log_sees_everything(user):
        return None
    return call_log_agent_id(user)


def call_families_visible_to(user: User) -> QuerySet[Call]:
    """Parent legs of the families the user may see: all of them for holders of
    `calls.view_call`; for an agent, the families in which one leg is the agent's own."""
    parents = Call.objects.filter(parent__isnull=True).select_related("agent")
    if call_log_sees_everything(user):
        return parents
    agent_id = call_log_agent_id(user)
    if agent_id is None:
        return parents.none()
    return parents.filter(id__in=families_of(Call.objects.filter(agent_id=agent_id)))


DELETE_ANY_VOICEMAIL = "calls.delete_recording"


def may_delete_any_voicemail(user: User) -> bool:
    """Whether the user may delete anyone's voicemail, not only her own (Supervisors)."""
    return isinstance(user, PermissionsMixin) and user.has_perm(DELETE_ANY_VOICEMAIL)


WRITE_ANY_DISPOSITION = "calls.change_familydisposition"


def may_write_family_disposition(user: User, parent: Call) -> bool:
    """Whether the user may write this family's disposition and note: the agent who handled
    it (family_facts.family_handler_id), or a holder of `calls.change_familydisposition`
    (Supervisors) for any family. Seeing a family (analysts) is not enough."""
    if isinstance(user, PermissionsMixin) and user.has_perm(WRITE_ANY_DISPOSITION):
        return True
    agent_id = call_log_agent_id(user)
    return agent_id is not None and user.is_active and agent_id == family_handler_id(parent)


BLOCK_CALLERS = "inbound.add_blockedcaller"


def may_block_callers(user: User) -> bool:
    """Any active agent may block the caller of a call she can see (from its page), and
    holders of `inbound.add_blockedcaller` (Supervisors) too."""
    return _is_active_agent_or_holds(user, BLOCK_CALLERS)


VIEW_AGENTS = "agents.view_agent"


def can_view_agent_directory(user: User) -> bool:
    """Active agents pick colleagues from the directory; holders of `agents.view_agent`
    (Supervisors) oversee them."""
    return _is_active_agent_or_holds(user, VIEW_AGENTS)


def _is_active_agent_or_holds(user: User, permission: str) -> bool:
    if not user.is_authenticated:
        return False
    agent = agent_get_for_user(user=user)
    if agent is not None and agent.is_active:
        return True
    return isinstance(user, PermissionsMixin) and user.has_perm(permission)


MONITOR_CALLS = "calls.monitor_conference"


def may_monitor_calls(user: User) -> bool:
    """Whether the user may listen to, coach and join any live call (Supervisors)."""
    return isinstance(user, PermissionsMixin) and user.is_active and user.has_perm(MONITOR_CALLS)
