"""Writes to agents' accounts and users' profiles: deactivation, the login switch, passwords
and time zones.

Saving a user's password or active flag revokes the API tokens it no longer allows
(tokens.signals); browser sessions end by themselves, because Django checks on every
request that the user is still active and that the session was made with the current
password.
"""

from django.contrib.auth.models import AbstractBaseUser, User
from django.db import transaction

from agents.constants import Availability, PresenceSource
from agents.models import Agent, UserProfile
from agents.validators import validate_time_zone
from presence.availability import presence_set


def user_account_manageable_by(*, manager: AbstractBaseUser, user: AbstractBaseUser) -> bool:
    """Whether `manager` may set `user`'s password or switch its login from an agent's page.

    Supervisors manage agents' logins only: an agent profile on a staff or superuser account
    must not let them take that account over. Superusers manage every account.
    """
    if getattr(manager, "is_superuser", False):
        return True
    return not (getattr(user, "is_staff", False) or getattr(user, "is_superuser", False))


@transaction.atomic
def agent_deactivate(*, agent: Agent, by: User) -> None:
    """Take an agent out of service for good, keeping its call history: it is never dialled
    again, gets no AccessToken, can no longer log in, and is offline."""
    agent.is_active = False
    agent.save(update_fields=["is_active", "updated_at"])
    user_login_set(user=agent.user, enabled=False, by=by)


@transaction.atomic
def agent_delete(*, agent: Agent, disable_login: bool, by: User) -> None:
    """Delete an agent without calls (the database refuses otherwise); with `disable_login`,
    its user can no longer log in either, rather than lingering as a login with no role."""
    user = agent.user
    agent.delete()
    if disable_login:
        user_login_set(user=user, enabled=False, by=by)


@transaction.atomic
def user_login_set(*, user: AbstractBaseUser, enabled: bool, by: User) -> None:
    """Enable or disable the user's login. Disabling also revokes its API tokens and takes
    its agent, if it has one, offline: calls must not ring someone who cannot log in."""
    user.is_active = enabled
    user.save(update_fields=["is_active"])
    agent = Agent.objects.filter(user_id=user.pk).first()
    if not enabled and agent is not None:
        presence_set(
            agent=agent,
            availability=Availability.OFFLINE,
            source=PresenceSource.ADMIN,
            changed_by=by,
            heartbeat=False,
        )


@transaction.atomic
def user_password_set(*, user: AbstractBaseUser, password: str) -> None:
    """Set a new password: every session made with the old one ends, API tokens are revoked."""
    user.set_password(password)
    user.save(update_fields=["password"])


@transaction.atomic
def user_time_zone_set(*, user: AbstractBaseUser, time_zone: str) -> None:
    """Show the user's times in this zone from her next request on; empty for the server's."""
    if time_zone:
        validate_time_zone(time_zone)
    UserProfile.objects.update_or_create(user=user, defaults={"time_zone": time_zone})
