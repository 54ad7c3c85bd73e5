"""End a user's API tokens when its password changes or it is deactivated; forget the token
owners this process remembers whenever one of them may have changed."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from agents.models import Agent, TwimlApp
from tokens.api_tokens import api_tokens_revoke_stale
from tokens.authentication import recent_token_owners
from tokens.models import ApiToken


@receiver(post_save, sender=get_user_model())
def user_saved(
    sender: type[User],
    instance: User,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    # Every login saves last_login alone; neither the password nor is_active changed then.
    if update_fields is not None and not {"password", "is_active"} & update_fields:
        return
    api_tokens_revoke_stale(user=instance)


def token_owner_changed(sender: type[Model], **kwargs: Any) -> None:
    """A user, agent, TwiML App or token changed here: read them afresh. Other processes
    do within RecentTokenOwners.MAX_AGE."""
    recent_token_owners.clear()


for owner_model in (get_user_model(), Agent, TwimlApp, ApiToken):
    for signal in (post_save, post_delete):
        signal.connect(token_owner_changed, sender=owner_model, weak=False)
