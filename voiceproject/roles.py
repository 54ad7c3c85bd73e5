"""The two staff roles, as Django groups, and what each may do in agents, calls and inbound.

Project-level so that agents need not know about calls; the roles data migration keeps its own
copy of these definitions.
"""

from django.contrib.auth.models import Group, Permission

SUPERVISORS = "Supervisors"
ANALYSTS = "Analysts"

# Group name -> (app label, model, actions) the group is granted. Access is decided by these
# permissions alone (calls.access), never by the group's name.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    SUPERVISORS: [
        ("agents", "twimlapp", ("add", "change", "delete", "view")),
        # Viewing agents also opens the agents' directory (/api/agents/, calls.access).
        ("agents", "agent", ("add", "change", "delete", "view")),
        ("agents", "phonenumber", ("add", "change", "delete", "view")),
        ("agents", "presencechange", ("view",)),
        # Changing a call means asking Twilio about it again (the admin's reconcile action).
        ("calls", "call", ("change", "view")),
        ("calls", "callevent", ("view",)),
        ("calls", "reconcilerun", ("view",)),
        # Twilio's own error reports, counted per code per day.
        ("calls", "twilioerror", ("view",)),
        # The conference hub: listen to, whisper to and join live calls.
        ("calls", "conference", ("view", "monitor")),
        # Recordings and voicemail: seen where a failed retention deletion is explained, and
        # anyone's voicemail deleted from the inbox (agents may delete their own).
        ("calls", "recording", ("delete", "view")),
        # The dispositions agents pick from, and any family's disposition and note (agents
        # write those of the calls they handled, calls.access).
        ("calls", "disposition", ("add", "change", "delete", "view")),
        ("calls", "familydisposition", ("change", "view")),
        # The blocklist: numbers and prefixes whose calls are rejected (agents add to it from
        # a finished call's page).
        ("inbound", "blockedcaller", ("add", "change", "delete", "view")),
        # Devices logged in to the API: seen, and logged out by deleting them.
        ("tokens", "apitoken", ("delete", "view")),
        # Failed logins (django-axes): a lockout is lifted by deleting its attempt.
        ("axes", "accessattempt", ("delete", "view")),
        # Numbers' business hours and menus.
        *(
            ("inbound", model, ("add", "change", "delete", "view"))
            for model in (
                "schedule",
                "weeklyinterval",
                "holiday",
                "numberhours",
                "menu",
                "menuoption",
            )
        ),
        # Queues: their members and the numbers that send callers to them; every caller's
        # wait and every wrap-up, read-only.
        *(
            ("inbound", model, ("add", "change", "delete", "view"))
            for model in ("queue", "queuemember", "queuenumber")
        ),
        ("inbound", "queuecaller", ("view",)),
        ("inbound", "wrapup", ("view",)),
    ],
    ANALYSTS: [
        ("agents", "presencechange", ("view",)),
        ("calls", "call", ("view",)),
        ("calls", "callevent", ("view",)),
    ],
}


def roles_create(*, group_model: type[Group], permission_model: type[Permission]) -> None:
    """Create each role's group with its permissions; safe to repeat.

    Takes the models as arguments so that the data migration can pass its historical ones.
    """
    for group_name, grants in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=group_name)
        for app_label, model, actions in grants:
            codenames = [f"{action}_{model}" for action in actions]
            group.permissions.add(
                *permission_model.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )
