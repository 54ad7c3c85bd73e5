"""Reads of agents for pages and the API."""

from agents.models import Agent


def agent_get_for_user(*, user) -> Agent | None:
    """Return the user's agent with its TwiML App, active or not; None if it has none.

    When the agent was loaded along with the user (tokens.authentication does so), use it
    instead of asking the database again.
    """
    agent_relation = user._meta.get_field("agent")
    if agent_relation.is_cached(user):
        return agent_relation.get_cached_value(user)
    try:
        return Agent.objects.select_related("twiml_app").get(user_id=user.pk)
    except Agent.DoesNotExist:
        return None


class NotAnActiveAgent(Exception):
    """The user has no agent profile, or its agent is inactive; the message says which."""


def active_agent_for_user(*, user, purpose: str) -> Agent:
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
