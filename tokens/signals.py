"""End a user's API tokens when its password changes or it is deactivated."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models.signals import post_save
from django.dispatch import receiver

from tokens.api_tokens import api_tokens_revoke_stale


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
