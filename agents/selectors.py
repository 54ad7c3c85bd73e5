"""Reads of agents and users' profiles for pages and the API."""

from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from agents.models import Agent, CallHandling, PhoneNumber, UserProfile
from voiceproject.time_zones import is_time_zone
from voiceproject.twilio_ids import client_identity, is_identity


def agent_get_for_user(*, user: AbstractBaseUser | AnonymousUser) -> Agent | None:
    """Return the user's agent with its TwiML App, active or not; None if it has none (as
    anonymous visitors have none).

    When the agent was loaded along with the user (tokens.authentication does so), use it
    instead of asking the database again.
    """
    if not user.is_authenticated:
        return None
    # The reverse one-to-one that Django caches the agent on (_meta.get_field("agent")).
    agent_relation = get_user_model().agent.related
    if agent_relation.is_cached(user):
        cached = agent_relation.get_cached_value(user)
        return cached if isinstance(cached, Agent) else None
    try:
        return Agent.objects.select_related("twiml_app").get(user_id=user.pk)
    except Agent.DoesNotExist:
        return None


class NotAnActiveAgent(Exception):
    """The user has no agent profile, or its agent is inactive; the message says which."""


def active_agent_for_user(*, user: AbstractBaseUser | AnonymousUser, purpose: str) -> Agent:
    """Return the user's active agent, or raise NotAnActiveAgent saying it cannot `purpose`."""
    agent = agent_get_for_user(user=user)
    if agent is None:
        raise NotAnActiveAgent(
            f"This user is not an agent, so it cannot {purpose}; "
            "a supervisor can make it one in the admin."
        )
    if not agent.is_active:
        raise NotAnActiveAgent(f"The agent {agent.identity!r} is inactive, so it cannot {purpose}.")
    return agent


def user_profile_get(*, user: AbstractBaseUser) -> UserProfile | None:
    """Return the user's profile, None if she has none; asked once per user object (kept on
    it, as Django keeps a one-to-one it loaded)."""
    relation = get_user_model().profile.related
    if relation.is_cached(user):
        cached = relation.get_cached_value(user)
        return cached if isinstance(cached, UserProfile) else None
    profile = UserProfile.objects.filter(user_id=user.pk).first()
    relation.set_cached_value(user, profile)
    return profile


def user_time_zone(*, user: AbstractBaseUser | AnonymousUser) -> ZoneInfo | None:
    """Return the zone the user chose for herself; None for the server's TIME_ZONE.

    Anonymous users have none, and neither has a user whose zone this server's zoneinfo no
    longer knows (renamed in a tzdata update): her times fall back to the server's.
    """
    if not user.is_authenticated:
        return None
    profile = user_profile_get(user=user)
    if profile is None or not is_time_zone(profile.time_zone):
        return None
    return ZoneInfo(profile.time_zone)


# Whose unanswered-call policy applies to a call: a number's or an agent's.
PolicyOwner = PhoneNumber | Agent


def policy_owner_of_leg(*, from_address: str, to_address: str) -> PolicyOwner | None:
    """The agent an agent called, or the number a phone called; None for an agent's call to
    a phone number (the agent heard it ring out)."""
    if client_identity(from_address) is not None:
        callee = client_identity(to_address) or to_address
        if not is_identity(callee):
            return None
        return Agent.objects.filter(identity=callee).select_related("user").first()
    return PhoneNumber.objects.filter(number=to_address).first()


def recording_policy_owner(*, from_address: str, to_address: str) -> CallHandling | None:
    """Whose recording policy a call follows: the calling agent for a softphone's call, the
    number called for a call from the phone network."""
    caller = client_identity(from_address)
    if caller is not None:
        return Agent.objects.filter(identity=caller, is_active=True).first()
    return PhoneNumber.objects.filter(number=to_address).first()
