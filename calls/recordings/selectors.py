"""Who may listen to which recordings: the family's visibility rules (calls.access), and
an agent's own voicemail, which includes that of the numbers the agent rings for; and who may
delete voicemail: its owner, or a holder of `calls.delete_recording` (Supervisors)."""

from django.db.models import BooleanField, Expression, ExpressionWrapper, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from agents.models import PhoneNumber
from calls.access import (
    User,
    call_log_agent_id,
    call_log_sees_everything,
    may_delete_any_voicemail,
)
from calls.constants import RecordingKind
from calls.family_facts import families_of
from calls.models import Call, Recording


def _owned_voicemail(agent_id: int) -> Q:
    return Q(kind=RecordingKind.VOICEMAIL) & (
        Q(voicemail_agent_id=agent_id)
        | Q(voicemail_number__in=PhoneNumber.objects.filter(agents=agent_id))
    )


def recordings_visible_to(user: User) -> QuerySet[Recording]:
    """Every recording for holders of `calls.view_call`; for an agent, those of the families
    with one of the agent's legs, and the agent's voicemail."""
    recordings = Recording.objects.select_related("call")
    if call_log_sees_everything(user):
        return recordings
    agent_id = call_log_agent_id(user)
    if agent_id is None:
        return recordings.none()
    agent_families = families_of(Call.objects.filter(agent_id=agent_id))
    return recordings.annotate(family=Coalesce("call__parent_id", "call_id")).filter(
        Q(family__in=agent_families) | _owned_voicemail(agent_id)
    )


def voicemail_inbox_of(user: User) -> QuerySet[Recording]:
    """The voicemail a user's inbox lists: every one for supervisors and analysts, an
    agent's own and that of the agent's numbers otherwise; each annotated `deletable`,
    whether the user may delete it."""
    voicemail = Recording.objects.filter(kind=RecordingKind.VOICEMAIL).select_related(
        "call__agent__user", "voicemail_number", "voicemail_agent__user"
    )
    agent_id = call_log_agent_id(user)
    deletable: Expression = Value(False)
    if may_delete_any_voicemail(user):
        deletable = Value(True)
    elif agent_id is not None:
        deletable = ExpressionWrapper(_owned_voicemail(agent_id), output_field=BooleanField())
    if call_log_sees_everything(user):
        return voicemail.annotate(deletable=deletable)
    if agent_id is None:
        return voicemail.none()
    return voicemail.filter(_owned_voicemail(agent_id)).annotate(deletable=deletable)


def is_voicemail_owner(user: User, recording: Recording) -> bool:
    """Whether the user is the agent this voicemail was left for (directly or by number)."""
    agent_id = call_log_agent_id(user)
    if agent_id is None or recording.kind != RecordingKind.VOICEMAIL:
        return False
    return Recording.objects.filter(_owned_voicemail(agent_id), pk=recording.pk).exists()
